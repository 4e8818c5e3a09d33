//! Errors of the store. One umbrella [`Error`]; callers branch on the logical variants
//! ([`Error::IdConflict`], [`Error::IdempotencyMismatch`]) and treat the rest as I/O failures.

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database file could not be opened or created.
    #[error("cannot open database: {0}")]
    Open(#[from] redb::DatabaseError),
    /// A transaction could not be started.
    #[error("cannot start transaction: {0}")]
    Transaction(#[from] redb::TransactionError),
    /// A table could not be opened.
    #[error("cannot open table: {0}")]
    Table(#[from] redb::TableError),
    /// Reading or writing pages failed.
    #[error("storage error: {0}")]
    Storage(#[from] redb::StorageError),
    /// A commit failed; nothing of that transaction is durable.
    #[error("commit failed: {0}")]
    Commit(#[from] redb::CommitError),
    /// Compaction failed.
    #[error("compaction failed: {0}")]
    Compaction(#[from] redb::CompactionError),
    /// The durability of a transaction could not be set.
    #[error("cannot set durability: {0}")]
    Durability(#[from] redb::SetDurabilityError),
    /// A stored record could not be decoded (corruption or an incompatible version).
    #[error("cannot decode stored {what}: {source}")]
    Decode {
        /// Which kind of record.
        what: &'static str,
        /// The decoder's complaint.
        source: postcard::Error,
    },
    /// A stored reference points to a record that is not there (corruption).
    #[error("stored {0} refers to a missing record")]
    Dangling(&'static str),
    /// A client-supplied event id is already used by another organisation.
    #[error("event id `{0}` is already in use")]
    IdConflict(ulid::Ulid),
    /// An idempotency key was reused with a different request body.
    #[error("idempotency key `{0}` was already used with a different request")]
    IdempotencyMismatch(String),
    /// A task with this name already exists in the org.
    #[error("a task named `{0}` already exists")]
    TaskExists(String),
    /// No task has this id in the org.
    #[error("no task with id {0}")]
    UnknownTask(u64),
    /// A counter ran out of numbers.
    #[error("no more {0} can be created")]
    Full(&'static str),
    /// The write-ahead log could not be read, or appending to it failed (then the store accepts
    /// no further write).
    #[error("write-ahead log: {0}")]
    Wal(String),
    /// The writer thread has stopped (the store is shutting down).
    #[error("the store writer has stopped")]
    WriterGone,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
