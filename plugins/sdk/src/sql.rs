//! SQL on the databases granted to the stage (capability `sql`).
//!
//! `grants = [{ sql = "sqlite://deployments.db" }]` (a file under the host's data directory) or
//! `"postgres://user@host:5432/db"`. Parameters are `$1`, `$2`, ... in both dialects. Write with
//! upserts keyed on something stable (an event or deployment id), so a replayed batch leaves the
//! same rows.

use crate::Error;
use crate::bindings::host::trackway::plugin::sql as host;
pub use crate::bindings::host::trackway::plugin::sql::{Dialect, Statement, Value};

/// The dialect of the granted database `target` names, or of the only one granted; see
/// [`crate::redis::resolve`].
pub fn resolve(target: Option<&str>) -> Result<Dialect, Error> {
    host::resolve(target)
}

/// Run `statements` in one transaction: rows affected by each, or nothing applied.
pub fn execute(target: Option<&str>, statements: &[Statement]) -> Result<Vec<u64>, Error> {
    host::execute(target, statements)
}

/// Run one query; each row is a list of column values.
pub fn query(target: Option<&str>, statement: &Statement) -> Result<Vec<Vec<Value>>, Error> {
    host::query(target, statement)
}

impl Statement {
    /// `sql` with `params` for `$1`, `$2`, ...
    pub fn new(sql: impl Into<String>, params: Vec<Value>) -> Self {
        Self {
            sql: sql.into(),
            params,
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Integer(n)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Real(x)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}
