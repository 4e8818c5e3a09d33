//! `sql`: a sink that keeps a summary of every deployment, and of every server of a deployment,
//! in two tables of a SQLite or PostgreSQL database: the deployment-tracker seed's SQL output.
//!
//! Each `deployment.started`, `deployment.finished`, `server.started` and `server.finished`
//! event is one upsert keyed on the deployment id (and the hostname), so replays never add rows
//! (see [`statements`]); every other kind is delivered without a statement. A batch runs as one
//! `sql::execute`, one transaction: all its events are stored or none, and when it fails every
//! event of the batch that did not fail on its own gets that error (retryable while the
//! database cannot be reached). An event that cannot be stored (a malformed time, no hostname)
//! fails permanently on its own before anything runs, and the rest of its batch is still
//! written.
//!
//! The tables are created (`CREATE TABLE IF NOT EXISTS`) before the first batch an instance
//! writes, not in `init`: `trackway validate` runs `init` without the database. Should that
//! fail, the batch's events get a retryable error whatever the database said, since none of
//! them is at fault: they wait, in order, for the database to accept the tables (a missing
//! permission, say) instead of being dead-lettered.
//!
//! The stage needs a `sql` grant; `database` picks one when several are granted.
//!
//! # Layout
//!
//! - [`config`]: the stage's options (`database`, `deployments_table`, `servers_table`).
//! - [`statements`]: the pure SQL: tables, and the upsert of each stored kind in each dialect.
//! - this file: the sink, the only code that calls the host.

pub mod config;
pub mod statements;

use trackway_plugin_sdk::{Error, Event, Sink, sql};

use crate::config::Config;
use crate::statements::Statements;

/// The `sql` sink.
pub struct Sql {
    /// The database, as configured: `None` for the only one granted.
    database: Option<String>,
    statements: Statements,
    /// Whether this instance already created the tables.
    created: bool,
}

impl Sql {
    /// Create the tables if this instance has not yet.
    fn create_tables(&mut self) -> Result<(), Error> {
        if self.created {
            return Ok(());
        }
        sql::execute(self.database.as_deref(), &self.statements.create_tables()).map_err(
            |error| match error {
                Error::Retryable(_) => error,
                other => Error::retryable(format!(
                    "cannot create the stage's tables: {}",
                    other.message()
                )),
            },
        )?;
        self.created = true;
        Ok(())
    }
}

impl Sink for Sql {
    fn init(config: &str) -> Result<Self, Error> {
        let Config { database, tables } = Config::parse(config)?;
        let dialect = sql::resolve(database.as_deref())
            .map_err(|error| Error::invalid_config("database", error.message()))?;
        Ok(Sql {
            database,
            statements: Statements::new(dialect, &tables),
            created: false,
        })
    }

    fn deliver(&mut self, event: Event) -> Result<(), Error> {
        let Some(statement) = self.statements.upsert(&event)? else {
            return Ok(());
        };
        self.create_tables()?;
        sql::execute(self.database.as_deref(), &[statement]).map(drop)
    }

    fn deliver_batch(&mut self, events: Vec<Event>) -> Vec<Result<(), Error>> {
        let mut results = Vec::with_capacity(events.len());
        let mut statements = Vec::with_capacity(events.len());
        for event in &events {
            match self.statements.upsert(event) {
                Ok(Some(statement)) => {
                    statements.push(statement);
                    results.push(Ok(()));
                }
                Ok(None) => results.push(Ok(())),
                Err(error) => results.push(Err(error)),
            }
        }
        if statements.is_empty() {
            return results;
        }
        let written = self
            .create_tables()
            .and_then(|()| sql::execute(self.database.as_deref(), &statements).map(drop));
        if let Err(error) = written {
            // One transaction: nothing of the batch was applied.
            for result in results.iter_mut().filter(|result| result.is_ok()) {
                *result = Err(error.clone());
            }
        }
        results
    }
}

trackway_plugin_sdk::export_sink!(Sql);
