//! Reads. Each call opens its own short read transaction: redb reclaims pages only past the
//! oldest live reader, so no read transaction outlives a call.

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use ulid::Ulid;

use crate::Store;
use crate::error::Result;
use crate::event::{DeadLetter, Event, LoggedEvent};
use crate::tables;

/// One page of a history stream, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// Entries with their history sequence numbers, newest first.
    pub items: Vec<(u64, Event)>,
    /// Pass as `before` to get the next (older) page; `None` on the last page.
    pub next_before: Option<u64>,
}

impl Store {
    /// Up to `limit` events after log position `after`, in log order.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<LoggedEvent>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::EVENTS)?;
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in table.range(after + 1..)?.take(limit) {
            let (seq, bytes) = entry?;
            out.push(LoggedEvent {
                seq: seq.value(),
                event: Event::decode(bytes.value())?,
            });
        }
        Ok(out)
    }

    /// The event with id `id`, if it is in the log.
    pub fn event(&self, id: Ulid) -> Result<Option<LoggedEvent>> {
        let txn = self.db.begin_read()?;
        let Some(seq) = txn.open_table(tables::EVENT_IDS)?.get(id.0)? else {
            return Ok(None);
        };
        let seq = seq.value();
        let events = txn.open_table(tables::EVENTS)?;
        let bytes = events
            .get(seq)?
            .expect("event id index points into the log");
        Ok(Some(LoggedEvent {
            seq,
            event: Event::decode(bytes.value())?,
        }))
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

    /// A page of history stream `stream` of `org`, newest first, starting below `before`.
    pub fn history(
        &self,
        org: &str,
        stream: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage> {
        let scope = format!("{org}/{stream}");
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::HISTORY)?;
        let upper = before.unwrap_or(u64::MAX);
        let mut items = Vec::with_capacity(limit.min(1024));
        let mut more = false;
        for entry in table
            .range((scope.as_str(), 0)..(scope.as_str(), upper))?
            .rev()
        {
            let (key, bytes) = entry?;
            if items.len() == limit {
                more = true;
                break;
            }
            items.push((key.value().1, Event::decode(bytes.value())?));
        }
        let next_before = if more {
            items.last().map(|(seq, _)| *seq)
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
