//! `sql`: parameterised statements on granted SQLite files and PostgreSQL databases, one pool per
//! database.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Column, Row, TypeInfo, ValueRef};
use tokio::sync::Mutex;

use super::{budget, dry_run, granted, permanent, redact, retryable, within};
use crate::bindings::{sql as wit, types};
use crate::host::HostState;

/// Connections per PostgreSQL pool: sinks write one batch at a time, so a few connections serve
/// every stage sharing a database.
const PG_CONNECTIONS: u32 = 4;
/// How long to wait for a pooled connection (or a new one) before calling the database down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One pool per granted database.
pub(super) struct Pools {
    data_dir: Option<PathBuf>,
    pools: Mutex<HashMap<String, Pool>>,
}

impl Pools {
    pub(super) fn new(data_dir: Option<PathBuf>) -> Self {
        Self {
            data_dir,
            pools: Mutex::default(),
        }
    }

    async fn pool(&self, target: &str) -> Result<Pool, types::Error> {
        let mut pools = self.pools.lock().await;
        if let Some(pool) = pools.get(target) {
            return Ok(pool.clone());
        }
        let invalid =
            |e: sqlx::Error| permanent(format!("invalid sql target `{}`: {e}", redact(target)));
        let pool = if let Some(path) = target.strip_prefix("sqlite://") {
            let path = match &self.data_dir {
                Some(dir) if !path.starts_with('/') => dir.join(path),
                _ => PathBuf::from(path),
            };
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| permanent(format!("cannot create `{}`: {e}", dir.display())))?;
            }
            // WAL: readers (people querying the file) never block the sink's writes.
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(ACQUIRE_TIMEOUT);
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options),
            )
        } else {
            let options = sqlx::postgres::PgConnectOptions::from_str(target).map_err(invalid)?;
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(PG_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options),
            )
        };
        pools.insert(target.to_owned(), pool.clone());
        Ok(pool)
    }

    pub(super) async fn probe(&self, target: &str) -> Result<(), String> {
        let statement = wit::Statement {
            sql: "SELECT 1".into(),
            params: Vec::new(),
        };
        let pool = self.pool(target).await.map_err(|e| format!("{e:?}"))?;
        query(&pool, statement, target)
            .await
            .map(drop)
            .map_err(|e| match e {
                types::Error::Retryable(r) => r.message,
                types::Error::Permanent(m) => m,
                types::Error::InvalidConfig(_) => "invalid configuration".into(),
            })
    }
}

/// Failing to reach the database (or losing it midway) is worth retrying; an error of the
/// statement itself (syntax, constraint) is not.
fn classify(error: sqlx::Error, target: &str) -> types::Error {
    let text = format!("sql `{}`: {error}", redact(target));
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => retryable(text),
        // SQLite `SQLITE_BUSY` (5) and `SQLITE_LOCKED` (6): another writer holds the file.
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("5" | "6")) => {
            retryable(text)
        }
        _ => permanent(text),
    }
}

/// Bind `params` to `$1`, `$2`, ... of one statement, for either dialect.
macro_rules! bind {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                wit::Value::Null => query.bind(None::<String>),
                wit::Value::Integer(n) => query.bind(n),
                wit::Value::Real(x) => query.bind(x),
                wit::Value::Text(text) => query.bind(text),
            };
        }
        query
    }};
}

async fn execute(
    pool: &Pool,
    statements: Vec<wit::Statement>,
    target: &str,
) -> Result<Vec<u64>, types::Error> {
    let fail = |e| classify(e, target);
    let mut affected = Vec::with_capacity(statements.len());
    match pool {
        Pool::Sqlite(pool) => {
            let mut tx = pool.begin().await.map_err(fail)?;
            for statement in statements {
                let query = bind!(sqlx::query(&statement.sql), statement.params);
                affected.push(query.execute(&mut *tx).await.map_err(fail)?.rows_affected());
            }
            tx.commit().await.map_err(fail)?;
        }
        Pool::Postgres(pool) => {
            let mut tx = pool.begin().await.map_err(fail)?;
            for statement in statements {
                let query = bind!(sqlx::query(&statement.sql), statement.params);
                affected.push(query.execute(&mut *tx).await.map_err(fail)?.rows_affected());
            }
            tx.commit().await.map_err(fail)?;
        }
    }
    Ok(affected)
}

async fn query(
    pool: &Pool,
    statement: wit::Statement,
    target: &str,
) -> Result<Vec<Vec<wit::Value>>, types::Error> {
    let fail = |e| classify(e, target);
    match pool {
        Pool::Sqlite(pool) => {
            let rows = bind!(sqlx::query(&statement.sql), statement.params)
                .fetch_all(pool)
                .await
                .map_err(fail)?;
            rows.iter().map(sqlite_row).collect()
        }
        Pool::Postgres(pool) => {
            let rows = bind!(sqlx::query(&statement.sql), statement.params)
                .fetch_all(pool)
                .await
                .map_err(fail)?;
            rows.iter().map(pg_row).collect()
        }
    }
}

/// SQLite types values, not columns: decode by the storage class of each value.
fn sqlite_row(row: &sqlx::sqlite::SqliteRow) -> Result<Vec<wit::Value>, types::Error> {
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i).map_err(|e| permanent(e.to_string()))?;
            if raw.is_null() {
                return Ok(wit::Value::Null);
            }
            let class = raw.type_info().name().to_owned();
            let value = match class.as_str() {
                "INTEGER" => row.try_get::<i64, _>(i).map(wit::Value::Integer),
                "REAL" => row.try_get::<f64, _>(i).map(wit::Value::Real),
                "TEXT" => row.try_get::<String, _>(i).map(wit::Value::Text),
                _ => {
                    return Err(permanent(format!(
                        "column `{}` holds a {class} value: select it as text",
                        row.column(i).name()
                    )));
                }
            };
            value.map_err(|e| permanent(e.to_string()))
        })
        .collect()
}

fn pg_row(row: &sqlx::postgres::PgRow) -> Result<Vec<wit::Value>, types::Error> {
    (0..row.len())
        .map(|i| {
            let column = row.column(i);
            let name = column.type_info().name().to_owned();
            let value = match name.as_str() {
                "INT2" => row
                    .try_get::<Option<i16>, _>(i)
                    .map(|v| v.map(|n| wit::Value::Integer(n.into()))),
                "INT4" => row
                    .try_get::<Option<i32>, _>(i)
                    .map(|v| v.map(|n| wit::Value::Integer(n.into()))),
                "INT8" => row
                    .try_get::<Option<i64>, _>(i)
                    .map(|v| v.map(wit::Value::Integer)),
                "FLOAT4" => row
                    .try_get::<Option<f32>, _>(i)
                    .map(|v| v.map(|x| wit::Value::Real(x.into()))),
                "FLOAT8" => row
                    .try_get::<Option<f64>, _>(i)
                    .map(|v| v.map(wit::Value::Real)),
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => row
                    .try_get::<Option<String>, _>(i)
                    .map(|v| v.map(wit::Value::Text)),
                _ => {
                    return Err(permanent(format!(
                        "column `{}` has type {name}: cast it to text (`::text`) in the query",
                        column.name()
                    )));
                }
            };
            value
                .map(|v| v.unwrap_or(wit::Value::Null))
                .map_err(|e| permanent(e.to_string()))
        })
        .collect()
}

impl HostState {
    fn sql_target(&self, target: Option<&str>) -> Result<String, types::Error> {
        granted(&self.grants, "sql", target, |t| t.trim().to_owned()).map(str::to_owned)
    }
}

impl wit::Host for HostState {
    async fn resolve(&mut self, target: Option<String>) -> Result<wit::Dialect, types::Error> {
        let target = self.sql_target(target.as_deref())?;
        Ok(if target.starts_with("sqlite://") {
            wit::Dialect::Sqlite
        } else {
            wit::Dialect::Postgres
        })
    }

    async fn execute(
        &mut self,
        target: Option<String>,
        statements: Vec<wit::Statement>,
    ) -> Result<Vec<u64>, types::Error> {
        if self.dry {
            return Err(dry_run("sql execute"));
        }
        let target = self.sql_target(target.as_deref())?;
        let connections = self.connections.clone();
        within(budget(self.deadline), "sql execute", async {
            let pool = connections.sql.pool(&target).await?;
            execute(&pool, statements, &target).await
        })
        .await
    }

    async fn query(
        &mut self,
        target: Option<String>,
        statement: wit::Statement,
    ) -> Result<Vec<Vec<wit::Value>>, types::Error> {
        let target = self.sql_target(target.as_deref())?;
        let connections = self.connections.clone();
        within(budget(self.deadline), "sql query", async {
            let pool = connections.sql.pool(&target).await?;
            query(&pool, statement, &target).await
        })
        .await
    }
}
