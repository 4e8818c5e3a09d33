//! Scheduled-job tasks and their acks (the runs that reported in). Evaluation rules live in the
//! `tolerance` plugin; this module only keeps the facts.

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::error::Result;
use crate::inventory::decode;
use crate::tables;

/// A task: a job expected to ack regularly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Id, unique across orgs (assigned by the store).
    pub id: u64,
    /// Name, unique in its org.
    pub name: String,
    /// Datapoints of the evaluation window (days for `rolling`/`daily`).
    pub datapoints: u32,
    /// Missing datapoints tolerated.
    pub tolerance: u32,
    /// When the task was created (ms since epoch), or imported as created.
    pub created_ms: u64,
    /// Evaluation settings handed to the `tolerance` plugin as they are: a JSON object with any
    /// of `mode`, `timezone`, `cloudwatch`, `heartbeat`.
    pub settings: String,
}

/// One ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Ack id.
    pub id: u64,
    /// When the run happened (ms since epoch).
    pub time_ms: u64,
    /// Whether the run succeeded.
    pub ok: bool,
}

impl Store {
    /// Every task of `org`, by id.
    pub fn tasks(&self, org: &str) -> Result<Vec<Task>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::TASKS)?;
        let mut out = Vec::new();
        for entry in table.range((org, 0)..=(org, u64::MAX))? {
            out.push(decode(entry?.1.value(), "task")?);
        }
        Ok(out)
    }

    /// Task `id` of `org`.
    pub fn task(&self, org: &str, id: u64) -> Result<Option<Task>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::TASKS)?;
        table
            .get((org, id))?
            .map(|v| decode(v.value(), "task"))
            .transpose()
    }

    /// The id of task `name` of `org`.
    pub fn task_id(&self, org: &str, name: &str) -> Result<Option<u64>> {
        let txn = self.db.begin_read()?;
        Ok(txn
            .open_table(tables::TASK_NAMES)?
            .get((org, name))?
            .map(|v| v.value()))
    }

    /// The status last recorded for task `id` (by the scheduled re-evaluation).
    pub fn task_status(&self, org: &str, id: u64) -> Result<Option<String>> {
        let txn = self.db.begin_read()?;
        Ok(txn
            .open_table(tables::TASK_STATUS)?
            .get((org, id))?
            .map(|v| v.value().to_owned()))
    }

    /// Acks of task `id` with `from_ms <= time <= to_ms`, oldest first.
    pub fn acks(&self, org: &str, id: u64, from_ms: u64, to_ms: u64) -> Result<Vec<Ack>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::ACKS)?;
        let mut out = Vec::new();
        for entry in table.range((org, id, from_ms, 0)..=(org, id, to_ms, u64::MAX))? {
            let (key, ok) = entry?;
            let (_, _, time_ms, ack) = key.value();
            out.push(Ack {
                id: ack,
                time_ms,
                ok: ok.value() == 1,
            });
        }
        Ok(out)
    }
}
