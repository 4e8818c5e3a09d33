//! Writes: a [`WriteBatch`] of operations is applied atomically, and concurrent batches are merged
//! by one writer thread into a single redb transaction (group commit), so durability costs one
//! fsync per group instead of one per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use redb::{Database, Durability, ReadableTable, WriteTransaction};
use sha2::{Digest, Sha256};
use ulid::Ulid;

use crate::error::{Error, Result};
use crate::event::{DeadLetter, Event, NewEvent};
use crate::tables;

/// Upper bound on batches merged into one transaction. Larger groups amortise the fsync further
/// but delay the first caller's answer; 512 keeps a group's commit well under 10 ms.
const MAX_GROUP: usize = 512;

/// One write operation; see the builder methods of [`WriteBatch`].
#[derive(Debug, Clone)]
enum Op {
    Append {
        org: String,
        idempotency: Option<(String, [u8; 16])>,
        events: Vec<NewEvent>,
    },
    AppendDerived(Vec<Event>),
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
        event: Event,
    },
    OutboxRemove {
        scope: String,
        seq: u64,
    },
    DeadLetter(Box<DeadLetter>),
    DlqRemove(Ulid),
    HistoryAppend {
        stream: String,
        event: Event,
    },
}

/// A set of writes that become durable together or not at all.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    ops: Vec<Op>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Append submitted events to the log. With an idempotency key, a second batch with the same
    /// key and the same `fingerprint_source` appends nothing and reports the first batch's ids; a
    /// different `fingerprint_source` fails with [`Error::IdempotencyMismatch`].
    pub fn append(
        &mut self,
        org: &str,
        idempotency_key: Option<&str>,
        fingerprint_source: &[u8],
        events: Vec<NewEvent>,
    ) -> &mut Self {
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

    /// Append events whose ids are already assigned (derived by a pipeline); ids already in the
    /// log are skipped, so replaying a batch never duplicates its outputs.
    pub fn append_derived(&mut self, events: Vec<Event>) -> &mut Self {
        if !events.is_empty() {
            self.ops.push(Op::AppendDerived(events));
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
    pub fn outbox_push(&mut self, scope: &str, event: Event) -> &mut Self {
        self.ops.push(Op::OutboxPush {
            scope: scope.to_owned(),
            event,
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
    pub fn history_append(&mut self, stream: &str, event: Event) -> &mut Self {
        self.ops.push(Op::HistoryAppend {
            stream: stream.to_owned(),
            event,
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
    tx: mpsc::Sender<Request>,
}

impl Writer {
    pub(crate) fn start(db: Arc<Database>, last_seq: Arc<AtomicU64>, hook: CommitHook) -> Self {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("trackway-store-writer".into())
            .spawn(move || run(&db, &last_seq, &hook, &rx))
            .expect("spawning the store writer thread");
        Self { tx }
    }

    pub(crate) fn submit(&self, batch: WriteBatch) -> oneshot::Receiver<Result<CommitOutcome>> {
        let (reply, rx) = oneshot::channel();
        if let Err(mpsc::SendError(request)) = self.tx.send(Request { batch, reply }) {
            let _ = request.reply.send(Err(Error::WriterGone));
        }
        rx
    }
}

fn run(db: &Database, last_seq: &AtomicU64, hook: &CommitHook, rx: &mpsc::Receiver<Request>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let batches: Vec<&WriteBatch> = group.iter().map(|r| &r.batch).collect();
        match commit(db, &batches) {
            Ok(outcomes) => {
                let seq = outcomes
                    .iter()
                    .filter_map(|o| o.as_ref().ok())
                    .map(|o| o.last_seq)
                    .max()
                    .unwrap_or(0);
                publish(last_seq, hook, seq);
                for (request, outcome) in group.into_iter().zip(outcomes) {
                    let _ = request.reply.send(outcome);
                }
            }
            // The group failed as a whole (I/O): retry each batch alone, so one bad batch cannot
            // fail the others and each caller gets its own error.
            Err(_) if group.len() > 1 => {
                for request in group {
                    let outcome = commit(db, &[&request.batch])
                        .and_then(|mut o| o.pop().expect("one outcome per batch"));
                    if let Ok(outcome) = &outcome {
                        publish(last_seq, hook, outcome.last_seq);
                    }
                    let _ = request.reply.send(outcome);
                }
            }
            Err(error) => {
                let request = group.pop().expect("group has one request");
                let _ = request.reply.send(Err(error));
            }
        }
    }
}

fn publish(last_seq: &AtomicU64, hook: &CommitHook, seq: u64) {
    if seq > last_seq.fetch_max(seq, Ordering::AcqRel) {
        hook(seq);
    }
}

/// Apply every batch in one transaction. A batch rejected for a logical reason gets its own
/// error and writes nothing; storage errors fail the whole transaction.
fn commit(db: &Database, batches: &[&WriteBatch]) -> Result<Vec<Result<CommitOutcome>>> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    let mut outcomes = Vec::with_capacity(batches.len());
    for batch in batches {
        outcomes.push(match check(&txn, batch)? {
            Err(rejection) => Err(rejection),
            Ok(replays) => Ok(apply(&txn, batch, replays)?),
        });
    }
    let last_seq = counter(&txn, "log_seq")?;
    txn.commit()?;
    for outcome in outcomes.iter_mut().flatten() {
        outcome.last_seq = last_seq;
    }
    Ok(outcomes)
}

/// Logical checks before anything of `batch` is written. For each `append`, the ids to report
/// if it is a replay.
fn check(txn: &WriteTransaction, batch: &WriteBatch) -> Result<Result<Vec<Option<Vec<Ulid>>>>> {
    let idempotency = txn.open_table(tables::IDEMPOTENCY)?;
    let ids = txn.open_table(tables::EVENT_IDS)?;
    let events = txn.open_table(tables::EVENTS)?;
    let mut replays = Vec::new();
    for op in &batch.ops {
        let Op::Append {
            org,
            idempotency: key,
            events: new,
        } = op
        else {
            continue;
        };
        if let Some((key, fingerprint)) = key
            && let Some(stored) = idempotency.get((org.as_str(), key.as_str()))?
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
            match ids.get(id.0)? {
                None => all_known = false,
                Some(seq) => {
                    let stored = events
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
    txn: &WriteTransaction,
    batch: &WriteBatch,
    replays: Vec<Option<Vec<Ulid>>>,
) -> Result<CommitOutcome> {
    let mut replays = replays.into_iter();
    let mut outcome = CommitOutcome::default();
    for op in &batch.ops {
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
                    let mut event = new.event.clone();
                    event.id = new.id.unwrap_or_else(Ulid::new);
                    event.org.clone_from(org);
                    append_one(txn, &event)?;
                    ids.push(event.id);
                }
                if let Some((key, fingerprint)) = idempotency {
                    let mut value = Vec::with_capacity(16 + 16 * ids.len());
                    value.extend_from_slice(fingerprint);
                    for id in &ids {
                        value.extend_from_slice(&id.0.to_be_bytes());
                    }
                    txn.open_table(tables::IDEMPOTENCY)?
                        .insert((org.as_str(), key.as_str()), value.as_slice())?;
                }
                outcome.appended.push(Appended {
                    ids,
                    replayed: false,
                });
            }
            Op::AppendDerived(events) => {
                for event in events {
                    append_one(txn, event)?;
                }
            }
            Op::SetCursor { name, seq } => {
                txn.open_table(tables::CURSORS)?
                    .insert(name.as_str(), seq)?;
            }
            Op::SetState { scope, key, value } => {
                let mut table = txn.open_table(tables::STATE)?;
                match value {
                    Some(value) => {
                        table.insert((scope.as_str(), key.as_str()), value.as_slice())?
                    }
                    None => table.remove((scope.as_str(), key.as_str()))?,
                };
            }
            Op::OutboxPush { scope, event } => {
                let seq = next(txn, "outbox_seq")?;
                txn.open_table(tables::OUTBOX)?
                    .insert((scope.as_str(), seq), event.encode().as_slice())?;
            }
            Op::OutboxRemove { scope, seq } => {
                txn.open_table(tables::OUTBOX)?
                    .remove((scope.as_str(), *seq))?;
            }
            Op::DeadLetter(letter) => {
                txn.open_table(tables::DLQ)?
                    .insert(letter.id.0, letter.encode().as_slice())?;
            }
            Op::DlqRemove(id) => {
                txn.open_table(tables::DLQ)?.remove(id.0)?;
            }
            Op::HistoryAppend { stream, event } => {
                let scope = format!("{}/{stream}", event.org);
                let mut ids = txn.open_table(tables::HISTORY_IDS)?;
                if ids.get((scope.as_str(), event.id.0))?.is_none() {
                    let seq = next(txn, "history_seq")?;
                    ids.insert((scope.as_str(), event.id.0), seq)?;
                    txn.open_table(tables::HISTORY)?
                        .insert((scope.as_str(), seq), event.encode().as_slice())?;
                }
            }
        }
    }
    Ok(outcome)
}

/// Append one event unless its id is already in the log.
fn append_one(txn: &WriteTransaction, event: &Event) -> Result<()> {
    let mut ids = txn.open_table(tables::EVENT_IDS)?;
    if ids.get(event.id.0)?.is_some() {
        return Ok(());
    }
    let seq = next(txn, "log_seq")?;
    ids.insert(event.id.0, seq)?;
    txn.open_table(tables::EVENTS)?
        .insert(seq, event.encode().as_slice())?;
    Ok(())
}

fn counter(txn: &WriteTransaction, name: &str) -> Result<u64> {
    Ok(txn
        .open_table(tables::COUNTERS)?
        .get(name)?
        .map_or(0, |v| v.value()))
}

fn next(txn: &WriteTransaction, name: &str) -> Result<u64> {
    let value = counter(txn, name)? + 1;
    txn.open_table(tables::COUNTERS)?.insert(name, value)?;
    Ok(value)
}
