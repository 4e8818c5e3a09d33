//! Reads. Each call opens its own short read transaction: redb reclaims pages only past the
//! oldest live reader, so no read transaction outlives a call.

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use ulid::Ulid;

use crate::Store;
use crate::error::{Error, Result};
use crate::event::{DeadLetter, Event, EventHead, LoggedEvent};
use crate::tables;

/// One page of a history stream, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// Entries, newest first.
    pub items: Vec<Event>,
    /// Pass as `before` to get the next (older) page; `None` on the last page.
    pub next_before: Option<Ulid>,
}

impl Store {
    /// Up to `limit` events after log position `after`, in log order.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<LoggedEvent>> {
        self.events_selected(after, limit, |_| true)
            .map(|(events, _)| events)
    }

    /// The events among the next `limit` log entries after `after` that `select` keeps (it sees
    /// each entry's [`EventHead`], so skipping one costs no decoding), in log order, and the
    /// position of the last entry looked at (`None` if there was none). Only durable entries are
    /// read.
    pub fn events_selected(
        &self,
        after: u64,
        limit: usize,
        mut select: impl FnMut(EventHead<'_>) -> bool,
    ) -> Result<(Vec<LoggedEvent>, Option<u64>)> {
        // Only what is durable: a group is committed before its write-ahead log is flushed.
        let durable = self.last_seq();
        if after >= durable {
            return Ok((Vec::new(), None));
        }
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::EVENTS)?;
        let mut out = Vec::new();
        let mut last = None;
        for entry in table.range(after + 1..=durable)?.take(limit) {
            let (seq, bytes) = entry?;
            let seq = seq.value();
            last = Some(seq);
            let bytes = bytes.value();
            if select(EventHead::decode(bytes)?) {
                out.push(LoggedEvent {
                    seq,
                    event: Event::decode(bytes)?,
                });
            }
        }
        Ok((out, last))
    }

    /// The position of consumer `name` in the log (0 before its first commit).
    pub fn cursor(&self, name: &str) -> Result<u64> {
        let txn = self.db.begin_read()?;
        Ok(txn
            .open_table(tables::CURSORS)?
            .get(name)?
            .map_or(0, |v| v.value()))
    }

    /// A plugin state value of stage `scope`.
    pub fn state(&self, scope: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        Ok(txn
            .open_table(tables::STATE)?
            .get((scope, key))?
            .map(|v| v.value().to_vec()))
    }

    /// Up to `limit` events waiting in the outbox of sink `scope`, oldest first, with their
    /// outbox sequence numbers.
    pub fn outbox(&self, scope: &str, limit: usize) -> Result<Vec<(u64, Event)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::OUTBOX)?;
        let mut out = Vec::new();
        for entry in table.range((scope, 0)..=(scope, u64::MAX))?.take(limit) {
            let (key, bytes) = entry?;
            out.push((key.value().1, Event::decode(bytes.value())?));
        }
        Ok(out)
    }

    /// Whether nothing waits in the outbox of sink `scope`.
    pub fn outbox_is_empty(&self, scope: &str) -> Result<bool> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::OUTBOX)?;
        Ok(table
            .range((scope, 0)..=(scope, u64::MAX))?
            .next()
            .is_none())
    }

    /// How many events wait in the outbox of sink `scope`.
    pub fn outbox_len(&self, scope: &str) -> Result<u64> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::OUTBOX)?;
        let mut n = 0;
        for entry in table.range((scope, 0)..=(scope, u64::MAX))? {
            entry?;
            n += 1;
        }
        Ok(n)
    }

    /// A page of history stream `stream` of `org`, newest first, starting below event id
    /// `before`.
    pub fn history(
        &self,
        org: &str,
        stream: &str,
        before: Option<Ulid>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let scope = format!("{org}/{stream}");
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::HISTORY)?;
        let log = txn.open_table(tables::EVENTS)?;
        let upper = before.map_or(u128::MAX, |id| id.0);
        let mut items = Vec::with_capacity(limit.min(1024));
        let mut more = false;
        for entry in table
            .range((scope.as_str(), 0)..(scope.as_str(), upper))?
            .rev()
        {
            let (_, bytes) = entry?;
            if items.len() == limit {
                more = true;
                break;
            }
            let bytes = bytes.value();
            items.push(match <[u8; 8]>::try_from(bytes) {
                // A reference to the log (see `tables::HISTORY`).
                Ok(seq) => {
                    let seq = u64::from_be_bytes(seq);
                    let stored = log.get(seq)?.ok_or(Error::Dangling("history entry"))?;
                    Event::decode(stored.value())?
                }
                Err(_) => Event::decode(bytes)?,
            });
        }
        let next_before = if more {
            items.last().map(|e| e.id)
        } else {
            None
        };
        Ok(HistoryPage { items, next_before })
    }

    /// Dead letters of `org`, oldest first.
    pub fn dead_letters(&self, org: &str) -> Result<Vec<DeadLetter>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::DLQ)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let letter = DeadLetter::decode(entry?.1.value())?;
            if letter.org == org {
                out.push(letter);
            }
        }
        Ok(out)
    }

    /// Dead letter `id`, if it exists.
    pub fn dead_letter(&self, id: Ulid) -> Result<Option<DeadLetter>> {
        let txn = self.db.begin_read()?;
        txn.open_table(tables::DLQ)?
            .get(id.0)?
            .map(|v| DeadLetter::decode(v.value()))
            .transpose()
    }

    /// Number of dead letters across all orgs.
    pub fn dead_letter_count(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(tables::DLQ)?.len()?)
    }
}
