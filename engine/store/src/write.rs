//! Writes: a [`WriteBatch`] of operations is applied atomically, and concurrent batches are merged
//! by one writer thread into a single redb transaction (group commit), so durability costs one
//! fsync per group instead of one per request: the group is committed to redb without redb's
//! fsync, and its durable batches are appended to the write-ahead log ([`crate::wal`]) and
//! fsynced there; every 50 ms a durable redb commit (a checkpoint) lets the log start
//! over.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, PoisonError};

use redb::{
    Database, Durability, Key, ReadableDatabase, ReadableTable, Table, TableDefinition, Value,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ulid::Ulid;

use crate::deployments::{Deployment, Server};
use crate::error::{Error, Result};
use crate::event::{DeadLetter, Event, NewEvent};
use crate::inventory::{self, Current, Entry, Report};
use crate::tables;
use crate::tasks::Task;
use crate::wal::Wal;

/// Upper bound on batches merged into one transaction. Larger groups amortise the fsync further
/// but delay the first caller's answer; 512 keeps a group's commit well under 10 ms.
const MAX_GROUP: usize = 512;

/// One write operation; see the builder methods of [`WriteBatch`]. Serialized into the
/// write-ahead log ([`crate::wal`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Op {
    Append {
        org: String,
        idempotency: Option<(String, [u8; 16])>,
        events: Vec<NewEvent>,
    },
    /// Derived events, encoded.
    AppendDerived(Vec<Vec<u8>>),
    SetCursor {
        name: String,
        seq: u64,
    },
    SetState {
        scope: String,
        key: String,
        value: Option<Vec<u8>>,
    },
    OutboxPush {
        scope: String,
        encoded: Vec<u8>,
    },
    OutboxRemove {
        scope: String,
        seq: u64,
    },
    DeadLetter(Box<DeadLetter>),
    DlqRemove(Ulid),
    HistoryAppend {
        /// `org/stream`.
        scope: String,
        id: Ulid,
        encoded: Vec<u8>,
    },
    /// A history entry for the `derived`-th event this batch appends with `AppendDerived`
    /// (counted from 0): the entry refers to it in the log instead of holding a second copy.
    HistoryLogged {
        /// `org/stream`.
        scope: String,
        id: Ulid,
        derived: usize,
    },
    Inventory {
        org: String,
        report: Box<Report>,
    },
    CreateTask {
        org: String,
        task: Box<Task>,
        /// Return the existing task's id instead of failing when the name is taken.
        or_existing: bool,
    },
    Ack {
        org: String,
        /// The task, by id or (when `None`) by the name of the preceding `CreateTask`.
        task: Option<u64>,
        time_ms: u64,
        ok: bool,
    },
    TaskStatus {
        org: String,
        task: u64,
        status: String,
    },
    PutDeployment {
        org: String,
        deployment: Box<Deployment>,
    },
    PutServer {
        org: String,
        server: Box<Server>,
    },
}

/// A set of writes that become durable together or not at all.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WriteBatch {
    ops: Vec<Op>,
    lazy: bool,
    /// The events of this batch's `AppendDerived` ops, by id: where each is (op, index in it)
    /// and its number among them, so that a history append of the same event can refer to it.
    #[serde(skip)]
    derived: HashMap<Ulid, DerivedAt>,
}

/// Where a derived event of a batch is: see [`WriteBatch::derived`].
#[derive(Debug, Clone, Copy)]
struct DerivedAt {
    op: usize,
    index: usize,
    /// Its number among the batch's derived events.
    number: usize,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch whose commit need not be durable before it is acknowledged: it becomes
    /// durable with the next checkpoint (a durable redb commit, every 50 ms), and is
    /// lost if the process dies first. For writes that a restart redoes anyway (everything the
    /// executor derives from the log: its outputs, outboxes, cursors), so that they are not
    /// written to the write-ahead log. A lazy batch never overtakes a durable one: the group is
    /// answered once its durable batches are logged.
    pub fn lazy() -> Self {
        Self {
            lazy: true,
            ..Self::default()
        }
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Append submitted events to the log. With an idempotency key, a second batch with the same
    /// key and the same `fingerprint_source` appends nothing and reports the first batch's ids; a
    /// different `fingerprint_source` fails with [`Error::IdempotencyMismatch`].
    ///
    /// Each event gets its id and `org` here: the client's id, or a fresh ULID (so that the
    /// write-ahead log holds the batch exactly as it will be applied, ids included).
    pub fn append(
        &mut self,
        org: &str,
        idempotency_key: Option<&str>,
        fingerprint_source: &[u8],
        mut events: Vec<NewEvent>,
    ) -> &mut Self {
        for new in &mut events {
            new.event.id = new.id.unwrap_or_else(crate::event::next_id);
            if new.event.org != org {
                new.event.org = org.to_owned();
            }
        }
        let idempotency = idempotency_key.map(|key| {
            let digest = Sha256::digest(fingerprint_source);
            let mut fingerprint = [0u8; 16];
            fingerprint.copy_from_slice(&digest[..16]);
            (key.to_owned(), fingerprint)
        });
        self.ops.push(Op::Append {
            org: org.to_owned(),
            idempotency,
            events,
        });
        self
    }

    /// Append events whose ids are already assigned (derived by a pipeline). Commit them with
    /// the cursor move that consumed their inputs: the log does not look for their ids again.
    ///
    /// This and the other methods that take an `&Event` encode it right away, on the caller's
    /// thread: the writer thread, which every commit waits for, only copies their bytes (the
    /// events of [`WriteBatch::append`] it encodes itself: see docs/architecture.md).
    pub fn append_derived(&mut self, events: &[Event]) -> &mut Self {
        if !events.is_empty() {
            let op = self.ops.len();
            for (index, event) in events.iter().enumerate() {
                let number = self.derived.len();
                self.derived
                    .insert(event.id, DerivedAt { op, index, number });
            }
            self.ops.push(Op::AppendDerived(
                events.iter().map(Event::encode).collect(),
            ));
        }
        self
    }

    /// Move the cursor of consumer `name` to `seq`.
    pub fn set_cursor(&mut self, name: &str, seq: u64) -> &mut Self {
        self.ops.push(Op::SetCursor {
            name: name.to_owned(),
            seq,
        });
        self
    }

    /// Set (`Some`) or delete (`None`) a plugin state entry of stage `scope`.
    pub fn set_state(&mut self, scope: &str, key: &str, value: Option<Vec<u8>>) -> &mut Self {
        self.ops.push(Op::SetState {
            scope: scope.to_owned(),
            key: key.to_owned(),
            value,
        });
        self
    }

    /// Queue `event` for delivery by sink `scope`.
    pub fn outbox_push(&mut self, scope: &str, event: &Event) -> &mut Self {
        self.ops.push(Op::OutboxPush {
            scope: scope.to_owned(),
            encoded: event.encode(),
        });
        self
    }

    /// Remove outbox entry `seq` of sink `scope` (delivered or dead-lettered).
    pub fn outbox_remove(&mut self, scope: &str, seq: u64) -> &mut Self {
        self.ops.push(Op::OutboxRemove {
            scope: scope.to_owned(),
            seq,
        });
        self
    }

    /// Record a dead letter.
    pub fn dead_letter(&mut self, letter: DeadLetter) -> &mut Self {
        self.ops.push(Op::DeadLetter(Box::new(letter)));
        self
    }

    /// Remove a dead letter (after its replay was queued).
    pub fn dlq_remove(&mut self, id: Ulid) -> &mut Self {
        self.ops.push(Op::DlqRemove(id));
        self
    }

    /// Append `event` to history stream `stream` of the event's org, unless already there.
    ///
    /// When this batch also appends `event` to the log as it is (a pipeline's output delivered
    /// in the same round), the entry refers to the log's copy instead of holding one of its own
    /// (see [`crate::tables::HISTORY`]).
    pub fn history_append(&mut self, stream: &str, event: &Event) -> &mut Self {
        let scope = format!("{}/{stream}", event.org);
        let encoded = event.encode();
        let logged = self.derived.get(&event.id).filter(|at| {
            matches!(&self.ops[at.op], Op::AppendDerived(events) if events[at.index] == encoded)
        });
        self.ops.push(match logged {
            Some(at) => Op::HistoryLogged {
                scope,
                id: event.id,
                derived: at.number,
            },
            None => Op::HistoryAppend {
                scope,
                id: event.id,
                encoded,
            },
        });
        self
    }
}

impl WriteBatch {
    /// Record a version report in `org`'s inventory (see [`crate::inventory`]), unless its event
    /// id is already recorded.
    pub fn inventory(&mut self, org: &str, report: Report) -> &mut Self {
        self.ops.push(Op::Inventory {
            org: org.to_owned(),
            report: Box::new(report),
        });
        self
    }
}

impl WriteBatch {
    /// Create task `task` of `org` (its `id` is assigned). Fails with [`Error::TaskExists`] if
    /// the name is taken, unless `or_existing`: then the existing task is used (and a following
    /// [`WriteBatch::ack`] with no task id acks it).
    pub fn create_task(&mut self, org: &str, task: Task, or_existing: bool) -> &mut Self {
        self.ops.push(Op::CreateTask {
            org: org.to_owned(),
            task: Box::new(task),
            or_existing,
        });
        self
    }

    /// Record the status of task `task`.
    pub fn task_status(&mut self, org: &str, task: u64, status: &str) -> &mut Self {
        self.ops.push(Op::TaskStatus {
            org: org.to_owned(),
            task,
            status: status.to_owned(),
        });
        self
    }

    /// Record an ack of task `task` (or of the task of the preceding `create_task` when `None`).
    pub fn ack(&mut self, org: &str, task: Option<u64>, time_ms: u64, ok: bool) -> &mut Self {
        self.ops.push(Op::Ack {
            org: org.to_owned(),
            task,
            time_ms,
            ok,
        });
        self
    }
}

impl WriteBatch {
    /// Record `deployment` of `org` (a new one, or a new state of it): its `created_ms` and
    /// `order` are kept from the stored record when there is one, and assigned otherwise.
    pub fn put_deployment(&mut self, org: &str, deployment: Deployment) -> &mut Self {
        self.ops.push(Op::PutDeployment {
            org: org.to_owned(),
            deployment: Box::new(deployment),
        });
        self
    }

    /// Record `server` of `org`, like [`WriteBatch::put_deployment`].
    pub fn put_server(&mut self, org: &str, server: Server) -> &mut Self {
        self.ops.push(Op::PutServer {
            org: org.to_owned(),
            server: Box::new(server),
        });
        self
    }
}

/// What a committed batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitOutcome {
    /// For each `append` of the batch, in order: the ids of its events.
    pub appended: Vec<Appended>,
    /// The last log sequence number after this commit.
    pub last_seq: u64,
    /// For each `create_task`, the task id.
    pub tasks: Vec<u64>,
    /// For each `ack`, the ack id.
    pub acks: Vec<u64>,
}

/// The result of one `append`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Ids of the events, in submission order.
    pub ids: Vec<Ulid>,
    /// True when nothing was written because the idempotency key (or every client-supplied id)
    /// was seen before.
    pub replayed: bool,
}

struct Request {
    batch: WriteBatch,
    reply: oneshot::Sender<Result<CommitOutcome>>,
}

/// Callback run after every commit with the new last log sequence number.
pub type CommitHook = Box<dyn Fn(u64) + Send + 'static>;

/// Handle to the writer thread.
#[derive(Clone)]
pub(crate) struct Writer {
    // Declared before `_threads`, so dropped first: once the last handle's sender is gone, the
    // writer thread makes its final commit and ends, and `_threads` waits for that.
    tx: mpsc::Sender<Request>,
    _threads: Arc<Threads>,
}

/// The writer and log threads, joined when the last [`Writer`] handle is dropped: a process
/// that ends after dropping its store ends after the final durable commit and with redb closed
/// cleanly. (Detached, they could be cut off at exit, and redb then repairs the whole file at
/// the next start: 0.4 - 3.5 s for the 285 MB of the ingest benchmark.)
struct Threads(Vec<std::thread::JoinHandle<()>>);

impl Drop for Threads {
    fn drop(&mut self) {
        for thread in self.0.drain(..) {
            // A handle dropped on one of these threads (by a commit hook) cannot wait for it.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Writer {
    /// Start the writer thread on `db`, and the thread that appends each group to the
    /// write-ahead log and then answers it (see [`Log`]).
    pub(crate) fn start(
        db: Arc<Database>,
        (log, wal): (Log, Wal),
        last_seq: Arc<AtomicU64>,
        hook: CommitHook,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<Request>();
        let (logged_tx, logged_rx) = mpsc::channel::<Logged>();
        let failed = log.failed.clone();
        let wal = std::thread::Builder::new()
            .name("trackway-wal".into())
            .spawn(move || append(wal, &failed, &last_seq, &hook, &logged_rx))
            .expect("spawning the write-ahead log thread");
        let writer = std::thread::Builder::new()
            .name("trackway-writer".into())
            .spawn(move || run(&db, log, &rx, &logged_tx))
            .expect("spawning the store writer thread");
        Self {
            tx,
            _threads: Arc::new(Threads(vec![writer, wal])),
        }
    }

    pub(crate) fn submit(&self, batch: WriteBatch) -> oneshot::Receiver<Result<CommitOutcome>> {
        let (reply, rx) = oneshot::channel();
        if let Err(mpsc::SendError(request)) = self.tx.send(Request { batch, reply }) {
            let _ = request.reply.send(Err(Error::WriterGone));
        }
        rx
    }
}

/// A durable redb commit (a checkpoint, after which the write-ahead log starts over) is made
/// at least this often, and for a group whose log record would not fit in the log: what a
/// restart replays stays small, and redb reclaims the pages that lazy commits freed (it can
/// only after a durable commit).
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// The name of the counter that holds the last write-ahead-log group a commit includes.
const WAL_GROUP: &str = "wal_group";

/// The value of counter `name` (0 before its first use).
fn counter(counters: &impl ReadableTable<&'static str, u64>, name: &str) -> Result<u64> {
    Ok(counters.get(name)?.map_or(0, |v| v.value()))
}

/// What the writer hands the log thread, in commit order.
enum Logged {
    /// A committed group: its log record (none without a durable batch), and its answers, to
    /// send once the log is durable up to the group.
    Group {
        record: Option<Vec<u8>>,
        answers: Vec<(
            oneshot::Sender<Result<CommitOutcome>>,
            Result<CommitOutcome>,
        )>,
        /// The end of the event log after the group, published before the answers.
        last_seq: u64,
    },
    /// Every group before this is in a durable redb commit: the log starts over.
    Checkpoint,
}

/// The writer's side of durability: group numbers and when to checkpoint. The log thread's
/// side is [`append`].
///
/// The writer commits a group to redb without redb's fsync and hands its durable batches to the
/// log thread, which appends what has piled up in one write and one fsync, then publishes and
/// answers those groups in order. So the writer builds the next group while the log is flushed,
/// and one fsync covers every group that came meanwhile. Readers see a group's events once it
/// is committed, but the end of the log that pipelines follow ([`crate::Store::last_seq`]) moves
/// only once the group is durable.
pub(crate) struct Log {
    /// The number of the last group.
    group: u64,
    last_checkpoint: std::time::Instant,
    /// Bytes handed to the log since the last checkpoint.
    logged: u64,
    /// Why appending to the log failed: then nothing more is accepted (what was committed since
    /// may not be on disk).
    failed: Arc<std::sync::Mutex<Option<String>>>,
}

impl Log {
    /// Open the write-ahead log at `path` for `db`, and apply the groups it holds that `db`
    /// does not (after a crash): `db` is then as durable as what was acknowledged. Returns the
    /// writer's side, the log, and the end of the event log.
    pub(crate) fn recover(db: &Database, path: &std::path::Path) -> Result<(Self, Wal, u64)> {
        let (checkpoint, mut last_seq) = {
            let txn = db.begin_read()?;
            let counters = txn.open_table(tables::COUNTERS)?;
            (
                counter(&counters, WAL_GROUP)?,
                counter(&counters, "log_seq")?,
            )
        };
        let (mut wal, groups) = Wal::open(path, checkpoint)?;
        let mut group = checkpoint;
        if !groups.is_empty() {
            tracing::info!("replaying {} groups of the write-ahead log", groups.len());
        }
        for (logged, batches) in &groups {
            // Logical rejections (a reused idempotency key...) are what the first run answered.
            let refs: Vec<&WriteBatch> = batches.iter().collect();
            let outcomes = commit(db, &refs, true, *logged)?;
            last_seq = outcomes
                .iter()
                .flatten()
                .map(|o| o.last_seq)
                .fold(last_seq, u64::max);
            group = *logged;
        }
        commit(db, &[], false, group)?;
        wal.restart();
        let log = Self {
            group,
            last_checkpoint: std::time::Instant::now(),
            logged: 0,
            failed: Arc::default(),
        };
        Ok((log, wal, last_seq))
    }

    /// Commit `batches` as the next group, durably when a checkpoint is due (then it says so),
    /// and make its log record.
    fn commit(&mut self, db: &Database, batches: &[&WriteBatch]) -> Result<Committed> {
        if let Some(failed) = &*self.failed.lock().unwrap_or_else(PoisonError::into_inner) {
            return Err(Error::Wal(failed.clone()));
        }
        self.group += 1;
        // A batch the commit rejects (a reused idempotency key...) is logged too: replayed, it
        // is rejected again the same way.
        let durable: Vec<&WriteBatch> = batches
            .iter()
            .filter(|batch| !batch.lazy && !batch.is_empty())
            .copied()
            .collect();
        let record = match durable.is_empty() {
            true => None,
            false => Some(crate::wal::record(self.group, &durable)?),
        };
        let size = record.as_ref().map_or(0, |r| r.len() as u64);
        let checkpoint = self.last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL
            || self.logged + size > crate::wal::SIZE;
        let outcomes = commit(db, batches, !checkpoint, self.group)?;
        if checkpoint {
            self.last_checkpoint = std::time::Instant::now();
            self.logged = 0;
            return Ok(Committed {
                outcomes,
                record: None,
                checkpoint: true,
            });
        }
        self.logged += size;
        Ok(Committed {
            outcomes,
            record,
            checkpoint: false,
        })
    }
}

/// A group committed by [`Log::commit`].
struct Committed {
    /// One per batch.
    outcomes: Vec<Result<CommitOutcome>>,
    /// The group's write-ahead-log record, if it has durable batches and was not a checkpoint.
    record: Option<Vec<u8>>,
    /// Whether the commit was durable (a checkpoint).
    checkpoint: bool,
}

fn run(db: &Database, mut log: Log, rx: &mpsc::Receiver<Request>, logged: &mpsc::Sender<Logged>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let batches: Vec<&WriteBatch> = group.iter().map(|r| &r.batch).collect();
        match log.commit(db, &batches) {
            Ok(committed) => hand_over(logged, committed, group.into_iter().map(|r| r.reply)),
            // The log failed: nothing more is durable.
            Err(Error::Wal(failed)) => {
                for request in group {
                    let _ = request.reply.send(Err(Error::Wal(failed.clone())));
                }
            }
            // The group failed as a whole (I/O) and wrote nothing: retry each batch alone, so
            // one bad batch cannot fail the others and each caller gets its own error.
            Err(_) if group.len() > 1 => {
                for request in group {
                    match log.commit(db, &[&request.batch]) {
                        Ok(committed) => hand_over(logged, committed, [request.reply]),
                        Err(error) => {
                            let _ = request.reply.send(Err(error));
                        }
                    }
                }
            }
            Err(error) => {
                let request = group.pop().expect("group has one request");
                let _ = request.reply.send(Err(error));
            }
        }
    }
    // Shutting down: make everything durable, so the next start has nothing to replay.
    match commit(db, &[], false, log.group) {
        Ok(_) => {
            let _ = logged.send(Logged::Checkpoint);
        }
        Err(error) => {
            tracing::error!(
                "final commit failed, the next start replays the write-ahead log: {error}"
            );
        }
    }
}

/// Hand a committed group to the log thread, which answers `replies` (one per batch) once the
/// group is durable.
fn hand_over(
    logged: &mpsc::Sender<Logged>,
    committed: Committed,
    replies: impl IntoIterator<Item = oneshot::Sender<Result<CommitOutcome>>>,
) {
    let Committed {
        outcomes,
        record,
        checkpoint,
    } = committed;
    let last_seq = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .map(|o| o.last_seq)
        .max()
        .unwrap_or(0);
    // The log thread ends only after the writer thread: sending cannot fail.
    if checkpoint {
        let _ = logged.send(Logged::Checkpoint);
    }
    let _ = logged.send(Logged::Group {
        record,
        answers: replies.into_iter().zip(outcomes).collect(),
        last_seq,
    });
}

/// The log thread: append the records of every group that has piled up in one write and one
/// fsync, then publish and answer those groups in order. A failed append fails every group
/// from then on.
fn append(
    mut wal: Wal,
    failed: &std::sync::Mutex<Option<String>>,
    last_seq: &AtomicU64,
    hook: &CommitHook,
    rx: &mpsc::Receiver<Logged>,
) {
    while let Ok(first) = rx.recv() {
        let mut items = vec![first];
        items.extend(rx.try_iter());
        // Records before the last checkpoint are in a durable redb commit already.
        let start = items
            .iter()
            .rposition(|item| matches!(item, Logged::Checkpoint))
            .map_or(0, |at| at + 1);
        if start > 0 {
            wal.restart();
        }
        let records: Vec<Vec<u8>> = items[start..]
            .iter_mut()
            .filter_map(|item| match item {
                Logged::Group { record, .. } => record.take(),
                Logged::Checkpoint => None,
            })
            .collect();
        let result = wal.append(&records);
        let mut failed = failed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = result
            && failed.is_none()
        {
            tracing::error!("the write-ahead log failed, no further write is accepted: {error}");
            *failed = Some(error.to_string());
        }
        let failed = failed.clone();
        for item in items {
            let Logged::Group {
                answers,
                last_seq: seq,
                ..
            } = item
            else {
                continue;
            };
            if failed.is_none() {
                publish(last_seq, hook, seq);
            }
            for (reply, outcome) in answers {
                let outcome = match &failed {
                    None => outcome,
                    Some(failed) => Err(Error::Wal(failed.clone())),
                };
                let _ = reply.send(outcome);
            }
        }
    }
}

fn publish(last_seq: &AtomicU64, hook: &CommitHook, seq: u64) {
    if seq > last_seq.fetch_max(seq, Ordering::AcqRel) {
        hook(seq);
    }
}

/// A table of a write transaction, opened when first used. Opening a table costs a lookup in
/// redb's table of tables and closing it at commit an update there; a transaction touches few
/// of the tables (an ingest group only the log and the counters), and opening all of them cost
/// ~10 % of the writer thread's time under ingest (BENCHMARKS.md).
struct Lazy<'t, K: Key + 'static, V: Value + 'static> {
    txn: &'t WriteTransaction,
    definition: TableDefinition<'static, K, V>,
    table: Option<Table<'t, K, V>>,
}

impl<'t, K: Key + 'static, V: Value + 'static> Lazy<'t, K, V> {
    fn new(txn: &'t WriteTransaction, definition: TableDefinition<'static, K, V>) -> Self {
        Self {
            txn,
            definition,
            table: None,
        }
    }

    /// The table, opened on first use (once per transaction).
    fn table(&mut self) -> Result<&mut Table<'t, K, V>> {
        let table = match self.table.take() {
            Some(table) => table,
            None => self.txn.open_table(self.definition)?,
        };
        Ok(self.table.insert(table))
    }
}

/// The tables of a write transaction, each opened once when first used, and the counters, read
/// once and written back once.
struct Tables<'t> {
    events: Lazy<'t, u64, &'static [u8]>,
    event_ids: Lazy<'t, u128, u64>,
    idempotency: Lazy<'t, (&'static str, &'static str), &'static [u8]>,
    cursors: Lazy<'t, &'static str, u64>,
    state: Lazy<'t, (&'static str, &'static str), &'static [u8]>,
    outbox: Lazy<'t, (&'static str, u64), &'static [u8]>,
    dlq: Lazy<'t, u128, &'static [u8]>,
    history: Lazy<'t, (&'static str, u128), &'static [u8]>,
    inv_current: Lazy<'t, (&'static str, &'static str, &'static str), &'static [u8]>,
    inv_history: Lazy<'t, (u32, u128), &'static [u8]>,
    inv_by_app: Lazy<'t, (&'static str, &'static str, &'static str), ()>,
    tasks: Lazy<'t, (&'static str, u64), &'static [u8]>,
    task_names: Lazy<'t, (&'static str, &'static str), u64>,
    acks: Lazy<'t, (&'static str, u64, u64, u64), u8>,
    task_status: Lazy<'t, (&'static str, u64), &'static str>,
    deployments: Lazy<'t, (&'static str, &'static str), &'static [u8]>,
    deployment_order: Lazy<'t, (&'static str, u64), &'static str>,
    servers: Lazy<'t, (&'static str, &'static str, &'static str), &'static [u8]>,
    host_deployments: Lazy<'t, (&'static str, &'static str, u64), &'static str>,
    hostnames: Lazy<'t, (&'static str, &'static str), u64>,
    counters: Table<'t, &'static str, u64>,
    log_seq: u64,
    outbox_seq: u64,
    inventory_series: u64,
    task_seq: u64,
    ack_seq: u64,
    deployment_seq: u64,
    server_seq: u64,
    /// The last write-ahead-log group this state holds (see [`crate::wal`]).
    wal_group: u64,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self> {
        let counters = txn.open_table(tables::COUNTERS)?;
        let counter = |name| counter(&counters, name);
        let (log_seq, outbox_seq, inventory_series) = (
            counter("log_seq")?,
            counter("outbox_seq")?,
            counter("inventory_series")?,
        );
        let (task_seq, ack_seq) = (counter("task_id")?, counter("ack_id")?);
        let (deployment_seq, server_seq) = (counter("deployment_seq")?, counter("server_seq")?);
        let wal_group = counter(WAL_GROUP)?;
        Ok(Self {
            events: Lazy::new(txn, tables::EVENTS),
            event_ids: Lazy::new(txn, tables::EVENT_IDS),
            idempotency: Lazy::new(txn, tables::IDEMPOTENCY),
            cursors: Lazy::new(txn, tables::CURSORS),
            state: Lazy::new(txn, tables::STATE),
            outbox: Lazy::new(txn, tables::OUTBOX),
            dlq: Lazy::new(txn, tables::DLQ),
            history: Lazy::new(txn, tables::HISTORY),
            inv_current: Lazy::new(txn, tables::INV_CURRENT),
            inv_history: Lazy::new(txn, tables::INV_HISTORY),
            inv_by_app: Lazy::new(txn, tables::INV_BY_APP),
            tasks: Lazy::new(txn, tables::TASKS),
            task_names: Lazy::new(txn, tables::TASK_NAMES),
            acks: Lazy::new(txn, tables::ACKS),
            task_status: Lazy::new(txn, tables::TASK_STATUS),
            deployments: Lazy::new(txn, tables::DEPLOYMENTS),
            deployment_order: Lazy::new(txn, tables::DEPLOYMENT_ORDER),
            servers: Lazy::new(txn, tables::SERVERS),
            host_deployments: Lazy::new(txn, tables::HOST_DEPLOYMENTS),
            hostnames: Lazy::new(txn, tables::HOSTNAMES),
            counters,
            log_seq,
            outbox_seq,
            inventory_series,
            task_seq,
            ack_seq,
            deployment_seq,
            server_seq,
            wal_group,
        })
    }

    /// The counters, by name, in the order they are read and saved.
    fn counter_values(&self) -> [(&'static str, u64); 8] {
        [
            ("log_seq", self.log_seq),
            ("outbox_seq", self.outbox_seq),
            ("inventory_series", self.inventory_series),
            ("task_id", self.task_seq),
            ("ack_id", self.ack_seq),
            ("deployment_seq", self.deployment_seq),
            ("server_seq", self.server_seq),
            (WAL_GROUP, self.wal_group),
        ]
    }

    /// Write back the counters that changed since `before` (a B-tree insert each: most
    /// transactions move only one or two of them).
    fn save_counters(&mut self, before: [(&'static str, u64); 8]) -> Result<()> {
        for ((name, now), (_, then)) in self.counter_values().into_iter().zip(before) {
            if now != then {
                self.counters.insert(name, now)?;
            }
        }
        Ok(())
    }

    /// Logical checks before anything of `batch` is written. For each `append`, the ids to
    /// report if it is a replay.
    fn check(&mut self, batch: &WriteBatch) -> Result<Result<Vec<Option<Vec<Ulid>>>>> {
        let mut replays = Vec::new();
        for op in &batch.ops {
            if let Op::CreateTask {
                org,
                task,
                or_existing: false,
            } = op
                && self
                    .task_names
                    .table()?
                    .get((org.as_str(), task.name.as_str()))?
                    .is_some()
            {
                return Ok(Err(Error::TaskExists(task.name.clone())));
            }
            if let Op::Ack {
                org,
                task: Some(id),
                ..
            } = op
                && self.tasks.table()?.get((org.as_str(), *id))?.is_none()
            {
                return Ok(Err(Error::UnknownTask(*id)));
            }
            let Op::Append {
                org,
                idempotency: key,
                events: new,
            } = op
            else {
                continue;
            };
            if let Some((key, fingerprint)) = key
                && let Some(stored) = self
                    .idempotency
                    .table()?
                    .get((org.as_str(), key.as_str()))?
            {
                let stored = stored.value();
                if stored[..16] != fingerprint[..] {
                    return Ok(Err(Error::IdempotencyMismatch(key.clone())));
                }
                let ids = stored[16..]
                    .chunks_exact(16)
                    .map(|c| Ulid(u128::from_be_bytes(c.try_into().expect("16-byte chunk"))))
                    .collect();
                replays.push(Some(ids));
                continue;
            }
            let mut all_known = !new.is_empty();
            for id in new.iter().filter_map(|e| e.id) {
                match self.event_ids.table()?.get(id.0)? {
                    None => all_known = false,
                    Some(seq) => {
                        let stored = self
                            .events
                            .table()?
                            .get(seq.value())?
                            .expect("event id index points into the log");
                        if Event::decode(stored.value())?.org != *org {
                            return Ok(Err(Error::IdConflict(id)));
                        }
                    }
                }
            }
            let every_id_supplied = new.iter().all(|e| e.id.is_some());
            replays.push(
                (all_known && every_id_supplied).then(|| new.iter().filter_map(|e| e.id).collect()),
            );
        }
        Ok(Ok(replays))
    }

    fn apply(
        &mut self,
        batch: &WriteBatch,
        replays: Vec<Option<Vec<Ulid>>>,
    ) -> Result<CommitOutcome> {
        // A batch that repeats an earlier request (its idempotency key, or every client id, was
        // seen before) reports the first request's ids and changes nothing else: a retried
        // request must not redo its side effects either (a deployment's start after its end).
        let repeated = replays.iter().any(Option::is_some);
        let mut replays = replays.into_iter();
        let mut outcome = CommitOutcome::default();
        // The log sequence numbers of the batch's derived events, in order.
        let mut derived = Vec::new();
        for op in &batch.ops {
            if repeated && !matches!(op, Op::Append { .. }) {
                continue;
            }
            match op {
                Op::Append {
                    org,
                    idempotency,
                    events,
                } => {
                    if let Some(ids) = replays.next().expect("one check per append") {
                        outcome.appended.push(Appended {
                            ids,
                            replayed: true,
                        });
                        continue;
                    }
                    let mut ids = Vec::with_capacity(events.len());
                    for new in events {
                        // A client id already in the log (checked to be this org's) is a retry
                        // of that one event: answer its id, append nothing.
                        if let Some(id) = new.id
                            && self.event_ids.table()?.get(id.0)?.is_some()
                        {
                            ids.push(id);
                            continue;
                        }
                        self.append_one(&new.event.encode(), new.id)?;
                        ids.push(new.event.id);
                    }
                    if let Some((key, fingerprint)) = idempotency {
                        let mut value = Vec::with_capacity(16 + 16 * ids.len());
                        value.extend_from_slice(fingerprint);
                        for id in &ids {
                            value.extend_from_slice(&id.0.to_be_bytes());
                        }
                        self.idempotency
                            .table()?
                            .insert((org.as_str(), key.as_str()), value.as_slice())?;
                    }
                    outcome.appended.push(Appended {
                        ids,
                        replayed: false,
                    });
                }
                Op::AppendDerived(events) => {
                    for encoded in events {
                        derived.push(self.append_one(encoded, None)?);
                    }
                }
                Op::SetCursor { name, seq } => {
                    self.cursors.table()?.insert(name.as_str(), seq)?;
                }
                Op::SetState { scope, key, value } => {
                    match value {
                        Some(value) => self
                            .state
                            .table()?
                            .insert((scope.as_str(), key.as_str()), value.as_slice())?,
                        None => self.state.table()?.remove((scope.as_str(), key.as_str()))?,
                    };
                }
                Op::OutboxPush { scope, encoded } => {
                    self.outbox_seq += 1;
                    self.outbox
                        .table()?
                        .insert((scope.as_str(), self.outbox_seq), encoded.as_slice())?;
                }
                Op::OutboxRemove { scope, seq } => {
                    self.outbox.table()?.remove((scope.as_str(), *seq))?;
                }
                Op::DeadLetter(letter) => {
                    self.dlq
                        .table()?
                        .insert(letter.id.0, letter.encode().as_slice())?;
                }
                Op::DlqRemove(id) => {
                    self.dlq.table()?.remove(id.0)?;
                }
                Op::HistoryAppend { scope, id, encoded } => {
                    // The same id is the same event: writing it again changes nothing.
                    self.history
                        .table()?
                        .insert((scope.as_str(), id.0), encoded.as_slice())?;
                }
                Op::HistoryLogged {
                    scope,
                    id,
                    derived: number,
                } => {
                    let seq = derived[*number];
                    self.history
                        .table()?
                        .insert((scope.as_str(), id.0), seq.to_be_bytes().as_slice())?;
                }
                Op::Inventory { org, report } => self.record(org, report)?,
                Op::CreateTask { org, task, .. } => {
                    let existing = self
                        .task_names
                        .table()?
                        .get((org.as_str(), task.name.as_str()))?
                        .map(|v| v.value());
                    let id = match existing {
                        Some(id) => id,
                        None => {
                            self.task_seq += 1;
                            let task = Task {
                                id: self.task_seq,
                                ..(**task).clone()
                            };
                            self.tasks.table()?.insert(
                                (org.as_str(), task.id),
                                inventory::encode(&task).as_slice(),
                            )?;
                            self.task_names
                                .table()?
                                .insert((org.as_str(), task.name.as_str()), task.id)?;
                            task.id
                        }
                    };
                    outcome.tasks.push(id);
                }
                Op::Ack {
                    org,
                    task,
                    time_ms,
                    ok,
                } => {
                    let task = match task {
                        Some(id) => *id,
                        None => *outcome
                            .tasks
                            .last()
                            .expect("an ack without a task id follows a create_task"),
                    };
                    self.ack_seq += 1;
                    self.acks
                        .table()?
                        .insert((org.as_str(), task, *time_ms, self.ack_seq), u8::from(*ok))?;
                    outcome.acks.push(self.ack_seq);
                }
                Op::TaskStatus { org, task, status } => {
                    self.task_status
                        .table()?
                        .insert((org.as_str(), *task), status.as_str())?;
                }
                Op::PutDeployment { org, deployment } => self.put_deployment(org, deployment)?,
                Op::PutServer { org, server } => self.put_server(org, server)?,
            }
        }
        Ok(outcome)
    }

    /// Record a version report: a history entry (a re-deploy when the version is already
    /// current), and the current version unless a later report is already current.
    fn record(&mut self, org: &str, report: &Report) -> Result<()> {
        let key = (org, report.env.as_str(), report.app.as_str());
        let current: Option<Current> = self
            .inv_current
            .table()?
            .get(key)?
            .map(|v| inventory::decode(v.value(), "inventory entry"))
            .transpose()?;
        let series = match &current {
            Some(current) => current.series,
            None => {
                self.inventory_series += 1;
                u32::try_from(self.inventory_series).map_err(|_| Error::Full("inventory series"))?
            }
        };
        if self
            .inv_history
            .table()?
            .get((series, report.event_id.0))?
            .is_some()
        {
            return Ok(());
        }
        let entry = Entry {
            version: report.version.clone(),
            time_ms: report.time_ms,
            reporter: report.reporter.clone(),
            fields: report.fields.clone(),
            bump: report.bump.clone(),
            redeploy: current
                .as_ref()
                .is_some_and(|c| c.version == report.version),
        };
        self.inv_history.table()?.insert(
            (series, report.event_id.0),
            inventory::encode(&entry).as_slice(),
        )?;
        if current.is_none_or(|c| c.time_ms <= report.time_ms) {
            let current = Current {
                series,
                version: entry.version,
                time_ms: entry.time_ms,
                reporter: entry.reporter,
                fields: entry.fields,
            };
            self.inv_current
                .table()?
                .insert(key, inventory::encode(&current).as_slice())?;
            let by_app = (org, report.app.as_str(), report.env.as_str());
            if self.inv_by_app.table()?.get(by_app)?.is_none() {
                self.inv_by_app.table()?.insert(by_app, ())?;
            }
        }
        Ok(())
    }

    fn put_deployment(&mut self, org: &str, deployment: &Deployment) -> Result<()> {
        let key = (org, deployment.deployment_id.as_str());
        let stored: Option<Deployment> = self
            .deployments
            .table()?
            .get(key)?
            .map(|v| inventory::decode(v.value(), "deployment"))
            .transpose()?;
        let mut deployment = deployment.clone();
        match stored {
            Some(stored) => {
                deployment.created_ms = stored.created_ms;
                deployment.order = stored.order;
            }
            None => {
                self.deployment_seq += 1;
                deployment.order = self.deployment_seq;
                self.deployment_order
                    .table()?
                    .insert((org, deployment.order), key.1)?;
            }
        }
        self.deployments
            .table()?
            .insert(key, inventory::encode(&deployment).as_slice())?;
        Ok(())
    }

    fn put_server(&mut self, org: &str, server: &Server) -> Result<()> {
        let key = (org, server.deployment_id.as_str(), server.hostname.as_str());
        let stored: Option<Server> = self
            .servers
            .table()?
            .get(key)?
            .map(|v| inventory::decode(v.value(), "server"))
            .transpose()?;
        let mut server = server.clone();
        match stored {
            Some(stored) => {
                server.created_ms = stored.created_ms;
                server.order = stored.order;
            }
            None => {
                self.server_seq += 1;
                server.order = self.server_seq;
                self.host_deployments
                    .table()?
                    .insert((org, key.2, server.order), key.1)?;
                let count = self
                    .hostnames
                    .table()?
                    .get((org, key.2))?
                    .map_or(0, |v| v.value());
                self.hostnames.table()?.insert((org, key.2), count + 1)?;
            }
        }
        self.servers
            .table()?
            .insert(key, inventory::encode(&server).as_slice())?;
        Ok(())
    }

    /// Append one encoded event and return its sequence number; with `indexed` (a client-supplied
    /// id, which a retry may send again), remember where its id is. Host-assigned and derived ids
    /// need no index: a fresh id is new by construction, and a pipeline's outputs are committed
    /// with the cursor move that consumed their inputs, so a round is either committed once or
    /// redone from scratch.
    fn append_one(&mut self, encoded: &[u8], indexed: Option<Ulid>) -> Result<u64> {
        self.log_seq += 1;
        if let Some(id) = indexed {
            self.event_ids.table()?.insert(id.0, self.log_seq)?;
        }
        self.events.table()?.insert(self.log_seq, encoded)?;
        Ok(self.log_seq)
    }
}

/// Apply every batch in one transaction, as write-ahead-log group `group`, fsynced unless
/// `lazy`. A batch rejected for a logical reason gets its own error and writes nothing; storage
/// errors fail the whole transaction.
fn commit(
    db: &Database,
    batches: &[&WriteBatch],
    lazy: bool,
    group: u64,
) -> Result<Vec<Result<CommitOutcome>>> {
    let mut txn = db.begin_write()?;
    txn.set_durability(if lazy {
        Durability::None
    } else {
        Durability::Immediate
    })?;
    let mut outcomes = Vec::with_capacity(batches.len());
    let last_seq = {
        let mut tables = Tables::open(&txn)?;
        let counters = tables.counter_values();
        tables.wal_group = group;
        for batch in batches {
            outcomes.push(match tables.check(batch)? {
                Err(rejection) => Err(rejection),
                Ok(replays) => Ok(tables.apply(batch, replays)?),
            });
        }
        tables.save_counters(counters)?;
        tables.log_seq
    };
    txn.commit()?;
    for outcome in outcomes.iter_mut().flatten() {
        outcome.last_seq = last_seq;
    }
    Ok(outcomes)
}
