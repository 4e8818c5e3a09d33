//! The write-ahead log: what makes a commit durable between two durable redb commits.
//!
//! The writer commits every group to redb without an fsync of redb's own (a non-durable commit
//! writes no page: they wait in redb's buffer), appends the group's durable batches here, and
//! fsyncs this one file before it answers them. A durable commit of redb (a checkpoint, every
//! 50 ms) records the number of the last group it holds, after which the log starts
//! over. After a crash, redb reopens at its last checkpoint and the groups logged after it are
//! applied again, in order, with the ids they were given the first time: what was acknowledged
//! is back, and nothing twice. The lazy batches of the executor are not logged: a restart redoes
//! them from the durable cursors anyway.
//!
//! Why: a durable redb commit writes every page the group touched plus the header, and persists
//! the allocator's state; appending one record to a file is one sequential write. The
//! durable-ingest benchmark (BENCHMARKS.md) measured the difference.
//!
//! Record: `len: u32 LE`, `crc32(payload): u32 LE`, `payload` = postcard of `(group, batches)`.
//! A record cut short or failing its checksum ends the log (it is the write a crash interrupted,
//! never acknowledged), and so does one whose group does not follow the one before (a record
//! from before the last checkpoint: the file is overwritten in place, see [`SIZE`]).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::write::WriteBatch;

/// Size of the log file. It is written once with zeros and then overwritten in place from its
/// start after each checkpoint: an fsync that need not also record a new file size (or newly
/// allocated blocks) took 130 us here against 230 us for an append. A group whose record does
/// not fit in what is left is committed to redb durably instead (see `write::Log`).
pub(crate) const SIZE: u64 = 32 << 20;

/// A group as logged: its number and its durable batches.
pub(crate) type Group = (u64, Vec<WriteBatch>);

/// The log file.
pub(crate) struct Wal {
    file: File,
    /// Where the next record goes: bytes written since the last checkpoint.
    len: u64,
}

impl Wal {
    /// Open (or create) the log at `path`, and read the groups it holds after group
    /// `checkpoint` (those before are in redb already), in order.
    pub(crate) fn open(path: &Path, checkpoint: u64) -> Result<(Self, Vec<Group>)> {
        let failed = |what: &str, e: std::io::Error| {
            Error::Wal(format!("cannot {what} `{}`: {e}", path.display()))
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| failed("open", e))?;
        let size = file.metadata().map_err(|e| failed("read", e))?.len();
        let mut groups = records(&file, size).map_err(|e| failed("read", e))?;
        groups.retain(|(group, _)| *group > checkpoint);
        if size < SIZE {
            file.seek(SeekFrom::End(0))
                .and_then(|_| file.write_all(&vec![0; (SIZE - size) as usize]))
                .and_then(|()| file.sync_all())
                .map_err(|e| failed("allocate", e))?;
        }
        Ok((Self { file, len: 0 }, groups))
    }

    /// Write `records` (made by [`record`]) after the last ones and make them durable: one
    /// write, one fsync. The caller checks that they fit.
    pub(crate) fn append(&mut self, records: &[Vec<u8>]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let bytes = records.concat();
        self.file
            .write_all_at(&bytes, self.len)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| Error::Wal(format!("cannot append: {e}")))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Every logged group is in a durable redb commit now: the next record goes at the start.
    /// What follows it in the file is older and is not read back: the records read back are
    /// those with increasing group numbers from the start.
    pub(crate) fn restart(&mut self) {
        self.len = 0;
    }
}

/// The record of group `group` (its durable batches).
pub(crate) fn record(group: u64, batches: &[&WriteBatch]) -> Result<Vec<u8>> {
    let payload = postcard::to_stdvec(&(group, batches))
        .map_err(|e| Error::Wal(format!("cannot encode group {group}: {e}")))?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| u64::from(len) + 8 <= SIZE)
        .ok_or_else(|| Error::Wal(format!("group {group} is too large to log")))?;
    let mut record = Vec::with_capacity(8 + payload.len());
    record.extend_from_slice(&len.to_le_bytes());
    record.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    record.extend_from_slice(&payload);
    Ok(record)
}

/// The records of `file` (`size` bytes long), from the start up to the first that is cut short,
/// fails its checksum, or does not follow the one before (an older record, left from before a
/// restart). Only those are read: the records since the last checkpoint, not the whole file.
fn records(file: &File, size: u64) -> std::io::Result<Vec<Group>> {
    let mut groups = Vec::new();
    let (mut offset, mut previous) = (0, 0);
    let mut header = [0; 8];
    while offset + 8 <= size {
        file.read_exact_at(&mut header, offset)?;
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        let end = offset + 8 + u64::from(len);
        if len == 0 || end > size {
            break;
        }
        let mut payload = vec![0; len as usize];
        file.read_exact_at(&mut payload, offset + 8)?;
        if crc32fast::hash(&payload) != crc {
            break;
        }
        let Ok((group, batches)) = postcard::from_bytes::<Group>(&payload) else {
            break;
        };
        if group <= previous {
            break;
        }
        previous = group;
        offset = end;
        groups.push((group, batches));
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(cursor: u64) -> WriteBatch {
        let mut batch = WriteBatch::new();
        batch.set_cursor("c", cursor);
        batch
    }

    fn cursors(groups: &[Group]) -> Vec<(u64, usize)> {
        groups.iter().map(|(g, b)| (*g, b.len())).collect()
    }

    #[test]
    fn groups_after_the_checkpoint_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wal");
        let (mut wal, groups) = Wal::open(&path, 0).unwrap();
        assert!(groups.is_empty());
        wal.append(&[record(1, &[&batch(1)]).unwrap()]).unwrap();
        let two = record(2, &[&batch(2), &batch(3)]).unwrap();
        wal.append(&[two, record(3, &[&batch(4)]).unwrap()])
            .unwrap();
        drop(wal);
        let (_, groups) = Wal::open(&path, 1).unwrap();
        assert_eq!(cursors(&groups), [(2, 2), (3, 1)]);
    }

    #[test]
    fn a_torn_or_corrupt_tail_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wal");
        let (one, two) = (
            record(1, &[&batch(1)]).unwrap(),
            record(2, &[&batch(2)]).unwrap(),
        );
        let (mut wal, _) = Wal::open(&path, 0).unwrap();
        wal.append(&[one.clone(), two.clone()]).unwrap();
        drop(wal);
        let whole = std::fs::read(&path).unwrap();
        let end = one.len() + two.len();
        // The second record half written (a crash while writing it).
        let mut torn = whole.clone();
        torn[one.len() + two.len() / 2..end].fill(0);
        std::fs::write(&path, &torn).unwrap();
        assert_eq!(cursors(&Wal::open(&path, 0).unwrap().1), [(1, 1)]);
        // A flipped byte in the second record's payload.
        let mut corrupt = whole;
        corrupt[end - 1] ^= 0xff;
        std::fs::write(&path, &corrupt).unwrap();
        assert_eq!(cursors(&Wal::open(&path, 0).unwrap().1), [(1, 1)]);
    }

    #[test]
    fn a_restart_overwrites_from_the_start_and_older_records_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wal");
        let (mut wal, _) = Wal::open(&path, 0).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE);
        let big: Vec<WriteBatch> = (0..20).map(batch).collect();
        let big: Vec<&WriteBatch> = big.iter().collect();
        wal.append(&[record(1, &big).unwrap(), record(2, &[&batch(2)]).unwrap()])
            .unwrap();
        wal.restart();
        wal.append(&[record(3, &[&batch(3)]).unwrap()]).unwrap();
        drop(wal);
        // Group 3 overwrote the start of group 1; group 2 is still in the file, but older.
        assert_eq!(cursors(&Wal::open(&path, 0).unwrap().1), [(3, 1)]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE);
    }
}
