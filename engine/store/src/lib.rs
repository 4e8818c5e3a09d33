//! Durable state of trackway, in one redb file: the event log, consumer cursors, sink outboxes,
//! the dead-letter queue, history streams and plugin state.
//!
//! The API is synchronous and knows nothing of tokio or wasmtime. Writes go through
//! [`Store::commit`], which hands a [`WriteBatch`] to a single writer thread that merges concurrent
//! batches into one transaction (group commit); the returned receiver can be awaited from async
//! code or waited on from a thread. Reads open short read transactions and never block writes.
//!
//! # Layout
//! - [`event`]: the [`Event`] record, its encoding, and [`DeadLetter`].
//! - [`write`]: [`WriteBatch`] and the group-commit writer.
//! - `wal`: the write-ahead log that makes a group durable between two durable redb commits.
//! - [`read`]: log, cursor, outbox, history, DLQ and state queries.
//! - [`inventory`]: the version inventory (current versions per environment, history).
//! - [`tasks`]: scheduled-job tasks and their acks.
//! - [`deployments`]: the deployment-tracker projection (deployments and their servers).
//! - [`tables`]: every table definition, with versioned names.
//! - [`error`]: the crate's [`Error`].

pub mod deployments;
pub mod error;
pub mod event;
pub mod inventory;
pub mod read;
pub mod tables;
pub mod tasks;
mod wal;
pub mod write;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, ReadableTable};

pub use error::{Error, Result};
pub use event::{DeadLetter, Event, EventHead, LoggedEvent, NewEvent};
pub use read::HistoryPage;
pub use ulid::Ulid;
pub use write::{Appended, CommitHook, CommitOutcome, WriteBatch};

/// The default size of redb's page cache. redb's own default (1 GiB) makes a server that writes
/// steadily grow by the size of what it writes until the gigabyte is reached, and on this kind of
/// machine first-touching fresh memory costs more than reading a page the operating system still
/// caches: the durable-ingest benchmark spent ~5 % of the server's time zeroing new pages with a
/// 1 GiB cache, and its memory stayed flat with this one (BENCHMARKS.md).
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Handle to the database; cheap to clone, shareable across threads.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    writer: write::Writer,
    last_seq: Arc<AtomicU64>,
}

impl Store {
    /// Open (or create) the database at `path` with a page cache of [`DEFAULT_CACHE_BYTES`], and
    /// its write-ahead log beside it (`path` with the extension `wal`), applying what the log
    /// holds that the database lost in a crash. `on_commit` runs on the writer thread after
    /// every commit that moved the end of the log, with the new last sequence number.
    pub fn open(path: &Path, on_commit: CommitHook) -> Result<Self> {
        Self::open_with_cache(path, DEFAULT_CACHE_BYTES, on_commit)
    }

    /// [`Store::open`] with a page cache of `cache_bytes`.
    pub fn open_with_cache(path: &Path, cache_bytes: usize, on_commit: CommitHook) -> Result<Self> {
        let db = Arc::new(
            redb::Builder::new()
                .set_cache_size(cache_bytes)
                .create(path)?,
        );
        let txn = db.begin_write()?;
        // Create every table up front so read transactions never meet a missing table.
        {
            txn.open_table(tables::EVENTS)?;
            txn.open_table(tables::EVENT_IDS)?;
            txn.open_table(tables::IDEMPOTENCY)?;
            txn.open_table(tables::CURSORS)?;
            txn.open_table(tables::STATE)?;
            txn.open_table(tables::OUTBOX)?;
            txn.open_table(tables::DLQ)?;
            txn.open_table(tables::HISTORY)?;
            txn.open_table(tables::INV_CURRENT)?;
            txn.open_table(tables::INV_HISTORY)?;
            txn.open_table(tables::INV_BY_APP)?;
            txn.open_table(tables::TASKS)?;
            txn.open_table(tables::TASK_NAMES)?;
            txn.open_table(tables::ACKS)?;
            txn.open_table(tables::TASK_STATUS)?;
            txn.open_table(tables::DEPLOYMENTS)?;
            txn.open_table(tables::DEPLOYMENT_ORDER)?;
            txn.open_table(tables::SERVERS)?;
            txn.open_table(tables::HOST_DEPLOYMENTS)?;
            txn.open_table(tables::HOSTNAMES)?;
        }
        txn.open_table(tables::COUNTERS)?;
        migrate_history(&txn)?;
        txn.commit()?;
        let (log, wal, last) = write::Log::recover(&db, &path.with_extension("wal"))?;
        let last_seq = Arc::new(AtomicU64::new(last));
        let writer = write::Writer::start(db.clone(), (log, wal), last_seq.clone(), on_commit);
        Ok(Self {
            db,
            writer,
            last_seq,
        })
    }

    /// Submit `batch`; the receiver yields once it is durable (or failed). Await it from async
    /// code, or call `recv()` on it from a thread.
    pub fn commit(&self, batch: WriteBatch) -> oneshot::Receiver<Result<CommitOutcome>> {
        self.writer.submit(batch)
    }

    /// Submit `batch` and wait for it on this thread.
    pub fn commit_blocking(&self, batch: WriteBatch) -> Result<CommitOutcome> {
        self.commit(batch).recv().unwrap_or(Err(Error::WriterGone))
    }

    /// The last log sequence number that is durable.
    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Acquire)
    }

    /// Compact the database file at `path` (not open elsewhere): give the space of free pages
    /// back to the file system. Returns the file size before and after, in bytes.
    pub fn compact(path: &Path) -> Result<(u64, u64)> {
        let size = || std::fs::metadata(path).map_or(0, |m| m.len());
        let before = size();
        let mut db = Database::open(path)?;
        db.compact()?;
        drop(db);
        Ok((before, size()))
    }

    /// Whether a write transaction can be committed right now (for readiness probes).
    pub fn probe_writable(&self) -> Result<()> {
        self.commit_blocking(WriteBatch::new()).map(|_| ())
    }
}

/// Move history written in the first layout ([`tables::HISTORY_V1`]) into [`tables::HISTORY`],
/// and delete the old tables.
fn migrate_history(txn: &redb::WriteTransaction) -> Result<()> {
    use redb::TableHandle as _;
    if !txn
        .list_tables()?
        .any(|t| t.name() == tables::HISTORY_V1.name())
    {
        return Ok(());
    }
    {
        let from = txn.open_table(tables::HISTORY_V1)?;
        let mut to = txn.open_table(tables::HISTORY)?;
        for entry in from.iter()? {
            let (key, bytes) = entry?;
            let event = Event::decode(bytes.value())?;
            to.insert((key.value().0, event.id.0), bytes.value())?;
        }
    }
    txn.delete_table(tables::HISTORY_V1)?;
    txn.delete_table(tables::HISTORY_IDS_V1)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb"), Box::new(|_| {})).unwrap();
        (dir, store)
    }

    fn event(kind: &str, subject: &str) -> Event {
        Event {
            id: Ulid::nil(),
            org: String::new(),
            kind: kind.into(),
            source: "api".into(),
            time_ms: 1,
            subject: subject.into(),
            attributes: vec![("a".into(), "b".into())],
            payload: "{}".into(),
            parent: None,
        }
    }

    fn new(kind: &str) -> NewEvent {
        NewEvent {
            id: None,
            event: event(kind, "s"),
        }
    }

    fn append(
        store: &Store,
        org: &str,
        key: Option<&str>,
        body: &[u8],
        events: Vec<NewEvent>,
    ) -> Result<Appended> {
        let mut batch = WriteBatch::new();
        batch.append(org, key, body, events);
        Ok(store.commit_blocking(batch)?.appended.remove(0))
    }

    #[test]
    fn appended_events_read_back_in_order_with_org_and_ids() {
        let (_dir, store) = open();
        let first = append(&store, "acme", None, b"", vec![new("a.one"), new("a.two")]).unwrap();
        let second = append(&store, "acme", None, b"", vec![new("a.three")]).unwrap();
        assert_eq!(store.last_seq(), 3);
        let events = store.events_after(0, 10).unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e.event.kind.as_str()).collect();
        assert_eq!(kinds, ["a.one", "a.two", "a.three"]);
        assert!(events.iter().all(|e| e.event.org == "acme"));
        assert_eq!(events[2].event.id, second.ids[0]);
        assert_eq!(store.events_after(2, 10).unwrap().len(), 1);
        assert_eq!(events[1].event.id, first.ids[1]);
    }

    #[test]
    fn idempotency_key_yields_one_event_and_rejects_a_different_body() {
        let (_dir, store) = open();
        let a = append(&store, "acme", Some("k1"), b"body", vec![new("x")]).unwrap();
        let b = append(&store, "acme", Some("k1"), b"body", vec![new("x")]).unwrap();
        assert_eq!(a.ids, b.ids);
        assert!(!a.replayed && b.replayed);
        assert_eq!(store.events_after(0, 10).unwrap().len(), 1);
        let err = append(&store, "acme", Some("k1"), b"other", vec![new("x")]).unwrap_err();
        assert!(matches!(err, Error::IdempotencyMismatch(k) if k == "k1"));
        // The same key in another org is another request.
        append(&store, "other", Some("k1"), b"body", vec![new("x")]).unwrap();
        assert_eq!(store.events_after(0, 10).unwrap().len(), 2);
    }

    #[test]
    fn concurrent_batches_with_one_key_in_one_group_yield_one_event() {
        let (_dir, store) = open();
        let receivers: Vec<_> = (0..8)
            .map(|_| {
                let mut batch = WriteBatch::new();
                batch.append("acme", Some("same"), b"b", vec![new("x")]);
                store.commit(batch)
            })
            .collect();
        let ids: Vec<_> = receivers
            .into_iter()
            .map(|r| r.recv().unwrap().unwrap().appended[0].ids.clone())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(store.events_after(0, 10).unwrap().len(), 1);
    }

    #[test]
    fn client_ids_dedupe_within_an_org_and_conflict_across_orgs() {
        let (_dir, store) = open();
        let id = Ulid::new();
        let with_id = || {
            vec![NewEvent {
                id: Some(id),
                event: event("x", "s"),
            }]
        };
        assert!(
            !append(&store, "acme", None, b"", with_id())
                .unwrap()
                .replayed
        );
        assert!(
            append(&store, "acme", None, b"", with_id())
                .unwrap()
                .replayed
        );
        assert!(
            matches!(append(&store, "evil", None, b"", with_id()), Err(Error::IdConflict(i)) if i == id)
        );
        assert_eq!(store.events_after(0, 10).unwrap().len(), 1);
        // A batch mixing a known id with new events appends only the new ones.
        let mut mixed = with_id();
        mixed.push(new("y"));
        let appended = append(&store, "acme", None, b"", mixed).unwrap();
        assert_eq!(appended.ids[0], id);
        assert!(!appended.replayed);
        assert_eq!(store.events_after(0, 10).unwrap().len(), 2);
    }

    #[test]
    fn derived_events_are_appended_with_the_cursor_move() {
        let (_dir, store) = open();
        let mut derived = event("x", "s");
        derived.id = Ulid::new();
        let mut batch = WriteBatch::new();
        batch
            .append_derived(std::slice::from_ref(&derived))
            .set_cursor("acme/p", 7);
        store.commit_blocking(batch).unwrap();
        assert_eq!(store.events_after(0, 10).unwrap()[0].event, derived);
        assert_eq!(store.cursor("acme/p").unwrap(), 7);
        assert_eq!(store.cursor("acme/q").unwrap(), 0);
    }

    #[test]
    fn outbox_state_and_dead_letters_round_trip() {
        let (_dir, store) = open();
        let mut batch = WriteBatch::new();
        batch
            .outbox_push("acme/p/s", &event("one", "s"))
            .outbox_push("acme/p/s", &event("two", "s"))
            .outbox_push("acme/p/other", &event("three", "s"))
            .set_state("acme/p/x", "k", Some(b"v".to_vec()));
        store.commit_blocking(batch).unwrap();
        let queued = store.outbox("acme/p/s", 10).unwrap();
        assert_eq!(
            queued
                .iter()
                .map(|(_, e)| e.kind.as_str())
                .collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(store.outbox_len("acme/p/s").unwrap(), 2);
        assert_eq!(
            store.state("acme/p/x", "k").unwrap().as_deref(),
            Some(&b"v"[..])
        );

        let letter = DeadLetter {
            id: Ulid::new(),
            org: "acme".into(),
            pipeline: "p".into(),
            stage: "s".into(),
            event: queued[0].1.clone(),
            error: "boom".into(),
            attempts: 3,
            first_failed_ms: 1,
            last_failed_ms: 2,
        };
        let mut batch = WriteBatch::new();
        batch
            .outbox_remove("acme/p/s", queued[0].0)
            .dead_letter(letter.clone())
            .set_state("acme/p/x", "k", None);
        store.commit_blocking(batch).unwrap();
        assert_eq!(store.outbox_len("acme/p/s").unwrap(), 1);
        assert_eq!(store.dead_letters("acme").unwrap(), vec![letter.clone()]);
        assert!(store.dead_letters("other").unwrap().is_empty());
        assert_eq!(store.state("acme/p/x", "k").unwrap(), None);
        let mut batch = WriteBatch::new();
        batch.dlq_remove(letter.id);
        store.commit_blocking(batch).unwrap();
        assert_eq!(store.dead_letter_count().unwrap(), 0);
    }

    /// `n` events of org `acme` with fresh ids, of kinds `k0`, `k1`...
    fn acme_events(n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| Event {
                id: event::next_id(),
                org: "acme".into(),
                ..event(&format!("k{i}"), "s")
            })
            .collect()
    }

    #[test]
    fn history_pages_newest_first_without_duplicates() {
        let (_dir, store) = open();
        let events = acme_events(5);
        for _ in 0..2 {
            let mut batch = WriteBatch::new();
            for e in &events {
                batch.history_append("versions", e);
            }
            store.commit_blocking(batch).unwrap();
        }
        let page = store.history("acme", "versions", None, 3).unwrap();
        let kinds: Vec<_> = page.items.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["k4", "k3", "k2"]);
        let rest = store
            .history("acme", "versions", page.next_before, 3)
            .unwrap();
        let kinds: Vec<_> = rest.items.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["k1", "k0"]);
        assert_eq!(rest.next_before, None);
        assert!(
            store
                .history("other", "versions", None, 3)
                .unwrap()
                .items
                .is_empty()
        );
    }

    #[test]
    fn dropping_the_last_handle_closes_the_database_cleanly() {
        let (dir, store) = open();
        let path = dir.path().join("t.redb");
        let copy = store.clone();
        let mut batch = WriteBatch::lazy();
        batch.set_cursor("c", 7);
        store.commit_blocking(batch).unwrap();
        drop(store);
        drop(copy);
        // The writer thread has made its final commit and closed redb: the file opens at once
        // (it is not locked by a thread still running) and needs no repair.
        let repaired = std::rc::Rc::new(std::cell::Cell::new(false));
        let flag = repaired.clone();
        let db = redb::Builder::new()
            .set_repair_callback(move |_| flag.set(true))
            .create(&path)
            .unwrap();
        assert!(!repaired.get(), "the database needed repair");
        drop(db);
        let store = Store::open(&path, Box::new(|_| {})).unwrap();
        assert_eq!(store.cursor("c").unwrap(), 7);
    }

    #[test]
    fn history_refers_to_a_derived_event_appended_in_the_same_batch() {
        let (_dir, store) = open();
        let derived = acme_events(3);
        // The same id with other content (a sink that changed the event) gets its own copy.
        let mut changed = derived[1].clone();
        changed.kind = "changed".into();
        let mut batch = WriteBatch::lazy();
        batch.append_derived(&derived);
        batch.history_append("versions", &derived[0]);
        batch.history_append("versions", &derived[2]);
        batch.history_append("other", &changed);
        store.commit_blocking(batch).unwrap();

        let stored = |stream: &str, id: Ulid| -> Vec<u8> {
            let txn = redb::ReadableDatabase::begin_read(&*store.db).unwrap();
            let table = txn.open_table(tables::HISTORY).unwrap();
            let key = format!("acme/{stream}");
            table
                .get((key.as_str(), id.0))
                .unwrap()
                .unwrap()
                .value()
                .to_vec()
        };
        let seq = |i: u64| store.last_seq() - 2 + i;
        assert_eq!(stored("versions", derived[0].id), seq(0).to_be_bytes());
        assert_eq!(stored("versions", derived[2].id), seq(2).to_be_bytes());
        assert!(stored("other", changed.id).len() > 8);

        let page = store.history("acme", "versions", None, 10).unwrap();
        assert_eq!(page.items, vec![derived[2].clone(), derived[0].clone()]);
        let page = store.history("acme", "other", None, 10).unwrap();
        assert_eq!(page.items, vec![changed]);
    }

    fn report(env: &str, app: &str, version: &str, time_ms: u64) -> inventory::Report {
        inventory::Report {
            env: env.into(),
            app: app.into(),
            version: version.into(),
            time_ms,
            reporter: "test".into(),
            fields: r#"{"url":"http://x"}"#.into(),
            bump: None,
            event_id: event::next_id(),
        }
    }

    #[test]
    fn inventory_keeps_history_marks_redeploys_and_answers_every_view() {
        let (_dir, store) = open();
        let reports = [
            report("prod", "api", "1.0.0", 1),
            report("prod", "api", "1.1.0", 2),
            report("prod", "api", "1.1.0", 3),
            report("dev", "api", "1.2.0", 4),
            report("dev", "web", "2.0.0", 5),
            report("prod", "a+b(", "0.1.0", 6),
        ];
        let mut batch = WriteBatch::new();
        for r in &reports {
            batch.inventory("acme", r.clone());
        }
        // A replay of the same event adds nothing.
        batch.inventory("acme", reports[0].clone());
        store.commit_blocking(batch).unwrap();
        // A late report (older time) goes to history but does not replace the current version.
        let mut batch = WriteBatch::new();
        batch.inventory("acme", report("prod", "api", "0.9.0", 0));
        store.commit_blocking(batch).unwrap();
        // Series are counted across commits: a new app in a later commit has its own history.
        let mut batch = WriteBatch::new();
        batch.inventory("acme", report("qa", "new", "1.0.0", 7));
        store.commit_blocking(batch).unwrap();
        let mut batch = WriteBatch::new();
        batch.inventory("acme", report("qa", "newer", "2.0.0", 8));
        store.commit_blocking(batch).unwrap();
        assert_eq!(
            store
                .app_history("acme", "qa", "new", None, 10)
                .unwrap()
                .items
                .len(),
            1
        );

        assert_eq!(
            store.environments("acme").unwrap(),
            [
                ("dev".to_owned(), 2),
                ("prod".to_owned(), 2),
                ("qa".to_owned(), 2)
            ]
        );
        let prod = store.apps("acme", "prod").unwrap();
        let names: Vec<_> = prod
            .iter()
            .map(|(app, c)| (app.as_str(), c.version.as_str()))
            .collect();
        assert_eq!(names, [("a+b(", "0.1.0"), ("api", "1.1.0")]);
        let everywhere = store.app_everywhere("acme", "api").unwrap();
        let envs: Vec<_> = everywhere
            .iter()
            .map(|(env, c)| (env.as_str(), c.version.as_str()))
            .collect();
        assert_eq!(envs, [("dev", "1.2.0"), ("prod", "1.1.0")]);
        let history = store.app_history("acme", "prod", "api", None, 10).unwrap();
        let versions: Vec<_> = history
            .items
            .iter()
            .map(|(_, e)| (e.version.as_str(), e.redeploy))
            .collect();
        assert_eq!(
            versions,
            [
                ("0.9.0", false),
                ("1.1.0", true),
                ("1.1.0", false),
                ("1.0.0", false)
            ]
        );
        let page = store.app_history("acme", "prod", "api", None, 3).unwrap();
        let rest = store
            .app_history("acme", "prod", "api", page.next_before, 3)
            .unwrap();
        assert_eq!(rest.items.len(), 1);
        assert!(store.environments("other").unwrap().is_empty());
        assert!(
            store
                .inventory_has("acme", "prod", "api", reports[0].event_id)
                .unwrap()
        );
        assert!(
            !store
                .inventory_has("acme", "dev", "api", reports[0].event_id)
                .unwrap()
        );
    }

    #[test]
    fn tasks_have_unique_names_and_acks_by_time() {
        let (_dir, store) = open();
        let task = |name: &str| tasks::Task {
            id: 0,
            name: name.into(),
            datapoints: 7,
            tolerance: 0,
            created_ms: 10,
            settings: "{}".into(),
        };
        let mut batch = WriteBatch::new();
        batch.create_task("acme", task("backup"), false);
        let id = store.commit_blocking(batch).unwrap().tasks[0];
        let mut batch = WriteBatch::new();
        batch.create_task("acme", task("backup"), false);
        assert!(matches!(store.commit_blocking(batch), Err(Error::TaskExists(n)) if n == "backup"));
        // By name, creating when missing: the same task.
        let mut batch = WriteBatch::new();
        batch
            .create_task("acme", task("backup"), true)
            .ack("acme", None, 300, true);
        let outcome = store.commit_blocking(batch).unwrap();
        assert_eq!(outcome.tasks, [id]);
        let mut batch = WriteBatch::new();
        batch
            .ack("acme", Some(id), 100, true)
            .ack("acme", Some(id), 200, false);
        store.commit_blocking(batch).unwrap();
        let mut batch = WriteBatch::new();
        batch.ack("acme", Some(id + 1), 100, true);
        assert!(matches!(
            store.commit_blocking(batch),
            Err(Error::UnknownTask(_))
        ));
        let acks = store.acks("acme", id, 150, 300).unwrap();
        assert_eq!(
            acks.iter().map(|a| (a.time_ms, a.ok)).collect::<Vec<_>>(),
            [(200, false), (300, true)]
        );
        assert_eq!(store.task_id("acme", "backup").unwrap(), Some(id));
        assert_eq!(store.tasks("acme").unwrap().len(), 1);
        assert!(store.tasks("other").unwrap().is_empty());
        assert_eq!(store.task("other", id).unwrap(), None);
    }

    #[test]
    fn deployments_page_newest_first_with_servers_and_keep_their_creation() {
        use deployments::{Deployment, Server};
        let (_dir, store) = open();
        let deployment = |id: &str, time: u64| Deployment {
            deployment_id: id.into(),
            environment: Some("dev".into()),
            created_ms: time,
            updated_ms: time,
            ..Deployment::default()
        };
        let server = |id: &str, host: &str, time: u64| Server {
            deployment_id: id.into(),
            hostname: host.into(),
            created_ms: time,
            updated_ms: time,
            ..Server::default()
        };
        for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
            let mut batch = WriteBatch::new();
            batch.put_deployment("acme", deployment(id, i as u64));
            store.commit_blocking(batch).unwrap();
        }
        let mut batch = WriteBatch::new();
        let mut finished = deployment("a", 99);
        finished.result = Some("success".into());
        batch
            .put_deployment("acme", finished)
            .put_server("acme", server("a", "web-1", 5))
            .put_server("acme", server("a", "web-2", 5))
            .put_server("acme", server("c", "web-1", 6));
        store.commit_blocking(batch).unwrap();

        let ids = |page: Vec<(Deployment, Vec<Server>)>| -> Vec<String> {
            page.into_iter().map(|(d, _)| d.deployment_id).collect()
        };
        assert_eq!(
            ids(store.deployments("acme", 0, 10).unwrap()),
            ["c", "b", "a"]
        );
        assert_eq!(ids(store.deployments("acme", 1, 1).unwrap()), ["b"]);
        assert!(store.deployments("other", 0, 10).unwrap().is_empty());
        let (a, servers) = store.deployment("acme", "a").unwrap().unwrap();
        assert_eq!((a.created_ms, a.updated_ms, a.order), (0, 99, 1));
        assert_eq!(a.result.as_deref(), Some("success"));
        let hosts: Vec<_> = servers.iter().map(|s| s.hostname.as_str()).collect();
        assert_eq!(hosts, ["web-1", "web-2"]);
        assert_eq!(store.hostnames("acme", 0, 10).unwrap(), ["web-2", "web-1"]);
        let on_web1: Vec<_> = store
            .servers_by_host("acme", "web-1", 0, 10)
            .unwrap()
            .into_iter()
            .map(|s| s.deployment_id)
            .collect();
        assert_eq!(on_web1, ["c", "a"]);
        assert_eq!(store.deployment("other", "a").unwrap(), None);

        // A repeated request (same idempotency key) changes nothing else in its batch.
        let mut batch = WriteBatch::new();
        batch
            .append(
                "acme",
                Some("start-a"),
                b"x",
                vec![new("deployment.started")],
            )
            .put_deployment("acme", deployment("a", 100));
        store.commit_blocking(batch).unwrap();
        let mut batch = WriteBatch::new();
        batch
            .append(
                "acme",
                Some("start-a"),
                b"x",
                vec![new("deployment.started")],
            )
            .put_deployment("acme", deployment("a", 200));
        assert!(store.commit_blocking(batch).unwrap().appended[0].replayed);
        let (a, _) = store.deployment("acme", "a").unwrap().unwrap();
        assert_eq!(a.updated_ms, 100);
    }

    #[test]
    fn history_of_the_first_layout_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let mut e = event("k", "s");
        e.org = "acme".into();
        e.id = Ulid::new();
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(tables::HISTORY_V1)
                .unwrap()
                .insert(("acme/versions", 1), e.encode().as_slice())
                .unwrap();
            txn.open_table(tables::HISTORY_IDS_V1)
                .unwrap()
                .insert(("acme/versions", e.id.0), 1)
                .unwrap();
            txn.commit().unwrap();
        }
        let store = Store::open(&path, Box::new(|_| {})).unwrap();
        let page = store.history("acme", "versions", None, 10).unwrap();
        assert_eq!(page.items, [e]);
    }

    /// The child half of [`acknowledged_writes_survive_a_crash`]: with its directory in the
    /// environment, it commits, and dies without a checkpoint. Otherwise it does nothing.
    #[test]
    fn crash_child() {
        let Some(dir) = std::env::var_os("TRACKWAY_STORE_CRASH_DIR") else {
            return;
        };
        let store = Store::open(&Path::new(&dir).join("t.redb"), Box::new(|_| {})).unwrap();
        let mut ids = Vec::new();
        for i in 0..50 {
            let key = (i == 7).then_some("key-7");
            let appended = append(&store, "acme", key, b"body", vec![new(&format!("k{i}"))]);
            ids.push(appended.unwrap().ids[0].to_string());
        }
        let mut lazy = WriteBatch::lazy();
        lazy.set_cursor("acme/p", 50);
        store.commit_blocking(lazy).unwrap();
        std::fs::write(Path::new(&dir).join("ids"), ids.join("\n")).unwrap();
        // As a power cut would, but for the kernel's page cache: no checkpoint, no clean close.
        std::process::abort();
    }

    #[test]
    fn acknowledged_writes_survive_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "tests::crash_child", "--nocapture"])
            .env("TRACKWAY_STORE_CRASH_DIR", dir.path())
            .status()
            .unwrap();
        assert!(!status.success(), "the child aborts");
        let ids = std::fs::read_to_string(dir.path().join("ids")).unwrap();
        let store = Store::open(&dir.path().join("t.redb"), Box::new(|_| {})).unwrap();
        let logged: Vec<String> = store
            .events_after(0, 100)
            .unwrap()
            .iter()
            .map(|e| e.event.id.to_string())
            .collect();
        assert_eq!(
            logged.join("\n"),
            ids,
            "every acknowledged event, once, with its id"
        );
        assert_eq!(store.last_seq(), 50);
        // The idempotency key came back with the events: a retry appends nothing.
        let retry = append(&store, "acme", Some("key-7"), b"body", vec![new("k7")]).unwrap();
        assert!(retry.replayed);
        assert_eq!(retry.ids[0].to_string(), ids.lines().nth(7).unwrap());
        // A lazy write is not in the log: it is redone after a restart.
        assert_eq!(store.cursor("acme/p").unwrap(), 0);
        // Replayed once: a second start finds nothing more to apply.
        drop(store);
        let store = Store::open(&dir.path().join("t.redb"), Box::new(|_| {})).unwrap();
        assert_eq!(store.events_after(0, 100).unwrap().len(), 50);
    }

    #[test]
    fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        {
            let store = Store::open(&path, Box::new(|_| {})).unwrap();
            append(&store, "acme", None, b"", vec![new("x"), new("y")]).unwrap();
        }
        // The writer thread holds the database until its channel closes.
        let store = (0..100)
            .find_map(|_| {
                Store::open(&path, Box::new(|_| {})).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    None
                })
            })
            .unwrap();
        assert_eq!(store.last_seq(), 2);
        assert_eq!(store.events_after(0, 10).unwrap().len(), 2);
    }
}
