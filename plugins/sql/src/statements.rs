//! The pure step of the stage: the tables, and the one upsert each stored event becomes, in the
//! dialect of the granted database. Owns every SQL text the stage runs; running it is `lib.rs`'s
//! business.
//!
//! Two tables (names from the config), created if missing:
//!
//! - deployments: `deployment_id` (primary key), `engine`, `engine_version`, `host`, `"user"`
//!   (quoted: reserved in PostgreSQL), `environment`, `package`, `package_url`, `version`,
//!   `arguments`, `result` (all text), `elapsed_seconds` (`REAL` in SQLite, `DOUBLE PRECISION`
//!   in PostgreSQL), `created_at`, `updated_at` (RFC 3339 text in SQLite, `TIMESTAMPTZ` in
//!   PostgreSQL).
//! - servers: `deployment_id`, `hostname` (the primary key together), `ip_address`, `result`,
//!   `elapsed_seconds`, `created_at`, `updated_at`, typed the same way.
//!
//! Each stored kind is one `INSERT ... ON CONFLICT (key) DO UPDATE` (SQLite 3.24+, PostgreSQL
//! 9.5+), so a replayed event rewrites its row instead of adding one:
//!
//! - `deployment.started`: the start fields (`engine` ... `arguments`), `created_at` and
//!   `updated_at`; on conflict it never touches `created_at`, `result` or `elapsed_seconds`, so a
//!   start replayed after the end keeps the end's outcome.
//! - `deployment.finished`: every column.
//! - `server.started`: `ip_address`, `created_at`, `updated_at`; on conflict it leaves
//!   `created_at`, `result` and `elapsed_seconds` alone.
//! - `server.finished`: every column, `result` and `elapsed_seconds` included.
//!
//! On conflict a column is set to `COALESCE(excluded.column, table.column)`: an event that does
//! not carry a field (a client that sent fewer fields, an older event replayed) never erases
//! what another one stored; `created_at` keeps the first value stored. The payload fields are the
//! columns' names (`created`/`updated` for the time columns); the deployment id is the payload's
//! `deployment_id`, else the subject. A text column takes a string as sent, or any other JSON
//! value as its JSON text (`4.5`, `["--fast"]`), so nothing is lost to a type; absent and `null`
//! are SQL `NULL`.
//!
//! PostgreSQL types a `NULL` parameter as text, so its statements cast the parameters of
//! non-text columns (`$12::double precision`, `$13::timestamptz`); SQLite has no `::` and needs
//! none. The time fields are checked as RFC 3339 before any statement is built: a malformed one
//! fails its own event permanently, rather than the whole batch's transaction in PostgreSQL.
//! Other permanent errors: a payload that is not a JSON object, no deployment id, a server
//! event without a `hostname`, an `elapsed_seconds` that is not a non-negative number.

use chrono::DateTime;
use serde_json::{Map, Value as Json};
use trackway_plugin_sdk::sql::{Dialect, Statement, Value};
use trackway_plugin_sdk::{Error, Event};

use crate::config::Tables;

/// Placeholders in the SQL templates below: the quoted table names, the column types that
/// differ between dialects, and the casts PostgreSQL needs on parameters of those columns.
const DEPLOYMENTS: &str = "{deployments}";
const SERVERS: &str = "{servers}";
const REAL_TYPE: &str = "{real_type}";
const TIME_TYPE: &str = "{time_type}";
const REAL: &str = "{real}";
const TIME: &str = "{time}";

const CREATE_DEPLOYMENTS: &str = "CREATE TABLE IF NOT EXISTS {deployments} (\
    deployment_id TEXT PRIMARY KEY, \
    engine TEXT, \
    engine_version TEXT, \
    host TEXT, \
    \"user\" TEXT, \
    environment TEXT, \
    package TEXT, \
    package_url TEXT, \
    version TEXT, \
    arguments TEXT, \
    result TEXT, \
    elapsed_seconds {real_type}, \
    created_at {time_type}, \
    updated_at {time_type})";

const CREATE_SERVERS: &str = "CREATE TABLE IF NOT EXISTS {servers} (\
    deployment_id TEXT NOT NULL, \
    hostname TEXT NOT NULL, \
    ip_address TEXT, \
    result TEXT, \
    elapsed_seconds {real_type}, \
    created_at {time_type}, \
    updated_at {time_type}, \
    PRIMARY KEY (deployment_id, hostname))";

/// The payload fields of the start columns, in the order of the `$2`... of both deployment
/// statements (the column `"user"` is the field `user`).
const START_FIELDS: [&str; 9] = [
    "engine",
    "engine_version",
    "host",
    "user",
    "environment",
    "package",
    "package_url",
    "version",
    "arguments",
];

const DEPLOYMENT_STARTED: &str = "INSERT INTO {deployments} \
    (deployment_id, engine, engine_version, host, \"user\", environment, package, package_url, \
    version, arguments, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11{time}, $12{time}) \
    ON CONFLICT (deployment_id) DO UPDATE SET \
    engine = COALESCE(excluded.engine, {deployments}.engine), \
    engine_version = COALESCE(excluded.engine_version, {deployments}.engine_version), \
    host = COALESCE(excluded.host, {deployments}.host), \
    \"user\" = COALESCE(excluded.\"user\", {deployments}.\"user\"), \
    environment = COALESCE(excluded.environment, {deployments}.environment), \
    package = COALESCE(excluded.package, {deployments}.package), \
    package_url = COALESCE(excluded.package_url, {deployments}.package_url), \
    version = COALESCE(excluded.version, {deployments}.version), \
    arguments = COALESCE(excluded.arguments, {deployments}.arguments), \
    updated_at = COALESCE(excluded.updated_at, {deployments}.updated_at)";

const DEPLOYMENT_FINISHED: &str = "INSERT INTO {deployments} \
    (deployment_id, engine, engine_version, host, \"user\", environment, package, package_url, \
    version, arguments, result, elapsed_seconds, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12{real}, $13{time}, $14{time}) \
    ON CONFLICT (deployment_id) DO UPDATE SET \
    engine = COALESCE(excluded.engine, {deployments}.engine), \
    engine_version = COALESCE(excluded.engine_version, {deployments}.engine_version), \
    host = COALESCE(excluded.host, {deployments}.host), \
    \"user\" = COALESCE(excluded.\"user\", {deployments}.\"user\"), \
    environment = COALESCE(excluded.environment, {deployments}.environment), \
    package = COALESCE(excluded.package, {deployments}.package), \
    package_url = COALESCE(excluded.package_url, {deployments}.package_url), \
    version = COALESCE(excluded.version, {deployments}.version), \
    arguments = COALESCE(excluded.arguments, {deployments}.arguments), \
    result = COALESCE(excluded.result, {deployments}.result), \
    elapsed_seconds = COALESCE(excluded.elapsed_seconds, {deployments}.elapsed_seconds), \
    created_at = COALESCE({deployments}.created_at, excluded.created_at), \
    updated_at = COALESCE(excluded.updated_at, {deployments}.updated_at)";

const SERVER_STARTED: &str = "INSERT INTO {servers} \
    (deployment_id, hostname, ip_address, created_at, updated_at) \
    VALUES ($1, $2, $3, $4{time}, $5{time}) \
    ON CONFLICT (deployment_id, hostname) DO UPDATE SET \
    ip_address = COALESCE(excluded.ip_address, {servers}.ip_address), \
    updated_at = COALESCE(excluded.updated_at, {servers}.updated_at)";

const SERVER_FINISHED: &str = "INSERT INTO {servers} \
    (deployment_id, hostname, ip_address, result, elapsed_seconds, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5{real}, $6{time}, $7{time}) \
    ON CONFLICT (deployment_id, hostname) DO UPDATE SET \
    ip_address = COALESCE(excluded.ip_address, {servers}.ip_address), \
    result = COALESCE(excluded.result, {servers}.result), \
    elapsed_seconds = COALESCE(excluded.elapsed_seconds, {servers}.elapsed_seconds), \
    created_at = COALESCE({servers}.created_at, excluded.created_at), \
    updated_at = COALESCE(excluded.updated_at, {servers}.updated_at)";

/// The SQL of one instance: the templates above rendered once for its dialect and tables, so
/// that an event costs its parameters only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statements {
    create_deployments: String,
    create_servers: String,
    deployment_started: String,
    deployment_finished: String,
    server_started: String,
    server_finished: String,
}

impl Statements {
    /// The statements for `tables` (names already validated) in `dialect`.
    pub fn new(dialect: Dialect, tables: &Tables) -> Self {
        let (real_type, time_type, real, time) = match dialect {
            Dialect::Sqlite => ("REAL", "TEXT", "", ""),
            Dialect::Postgres => (
                "DOUBLE PRECISION",
                "TIMESTAMPTZ",
                "::double precision",
                "::timestamptz",
            ),
        };
        let deployments = format!("\"{}\"", tables.deployments);
        let servers = format!("\"{}\"", tables.servers);
        let render = |template: &str| {
            template
                .replace(DEPLOYMENTS, &deployments)
                .replace(SERVERS, &servers)
                .replace(REAL_TYPE, real_type)
                .replace(TIME_TYPE, time_type)
                .replace(REAL, real)
                .replace(TIME, time)
        };
        Statements {
            create_deployments: render(CREATE_DEPLOYMENTS),
            create_servers: render(CREATE_SERVERS),
            deployment_started: render(DEPLOYMENT_STARTED),
            deployment_finished: render(DEPLOYMENT_FINISHED),
            server_started: render(SERVER_STARTED),
            server_finished: render(SERVER_FINISHED),
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` for both tables.
    pub fn create_tables(&self) -> Vec<Statement> {
        vec![
            Statement::new(self.create_deployments.clone(), Vec::new()),
            Statement::new(self.create_servers.clone(), Vec::new()),
        ]
    }

    /// The upsert `event` becomes: `Ok(None)` for a kind the stage does not store.
    pub fn upsert(&self, event: &Event) -> Result<Option<Statement>, Error> {
        let (sql, finished) = match event.kind.as_str() {
            "deployment.started" => (&self.deployment_started, false),
            "deployment.finished" => (&self.deployment_finished, true),
            "server.started" => (&self.server_started, false),
            "server.finished" => (&self.server_finished, true),
            _ => return Ok(None),
        };
        let payload = Payload::parse(event)?;
        let mut params = vec![Value::Text(payload.deployment_id()?)];
        if event.kind.starts_with("deployment.") {
            params.extend(START_FIELDS.iter().map(|field| payload.text(field)));
        } else {
            params.push(Value::Text(payload.hostname()?));
            params.push(payload.text("ip_address"));
        }
        if finished {
            params.push(payload.text("result"));
            params.push(payload.elapsed()?);
        }
        params.push(payload.time("created")?);
        params.push(payload.time("updated")?);
        Ok(Some(Statement::new(sql.clone(), params)))
    }
}

/// An event's payload, which must be a JSON object.
struct Payload<'a> {
    event: &'a Event,
    map: Map<String, Json>,
}

impl<'a> Payload<'a> {
    fn parse(event: &'a Event) -> Result<Self, Error> {
        match event.payload_json()? {
            Json::Object(map) => Ok(Payload { event, map }),
            other => Err(Error::permanent(format!(
                "payload of event `{}` must be a JSON object, got {}",
                event.id,
                type_name(&other)
            ))),
        }
    }

    /// A text column: a string as sent, any other value as its JSON text, `NULL` when absent.
    fn text(&self, field: &str) -> Value {
        match self.map.get(field) {
            None | Some(Json::Null) => Value::Null,
            Some(Json::String(text)) => Value::Text(text.clone()),
            Some(other) => Value::Text(other.to_string()),
        }
    }

    /// The payload's `deployment_id`, else the subject: the row's key, so it must not be empty.
    fn deployment_id(&self) -> Result<String, Error> {
        match self.text("deployment_id") {
            Value::Text(id) if !id.is_empty() => Ok(id),
            _ if !self.event.subject.is_empty() => Ok(self.event.subject.clone()),
            _ => Err(Error::permanent(format!(
                "event `{}` (`{}`) has no deployment id: payload field `deployment_id` and the \
                 subject are both missing",
                self.event.id, self.event.kind
            ))),
        }
    }

    /// The server's `hostname`, part of its row's key.
    fn hostname(&self) -> Result<String, Error> {
        match self.text("hostname") {
            Value::Text(hostname) if !hostname.is_empty() => Ok(hostname),
            _ => Err(Error::permanent(format!(
                "payload of event `{}` (`{}`) has no `hostname`",
                self.event.id, self.event.kind
            ))),
        }
    }

    /// `elapsed_seconds`: a non-negative number, or `NULL` when absent.
    fn elapsed(&self) -> Result<Value, Error> {
        match self.map.get("elapsed_seconds") {
            None | Some(Json::Null) => Ok(Value::Null),
            Some(Json::Number(number)) => match number.as_f64() {
                Some(seconds) if seconds >= 0.0 => Ok(Value::Real(seconds)),
                _ => Err(self.invalid_elapsed()),
            },
            Some(_) => Err(self.invalid_elapsed()),
        }
    }

    fn invalid_elapsed(&self) -> Error {
        Error::permanent(format!(
            "payload field `elapsed_seconds` of event `{}` must be a non-negative number of \
             seconds, got `{}`",
            self.event.id,
            self.map
                .get("elapsed_seconds")
                .map(Json::to_string)
                .unwrap_or_default()
        ))
    }

    /// A time column: RFC 3339 text as sent (checked, not rewritten), or `NULL` when absent.
    fn time(&self, field: &str) -> Result<Value, Error> {
        match self.map.get(field) {
            None | Some(Json::Null) => Ok(Value::Null),
            Some(Json::String(text)) if DateTime::parse_from_rfc3339(text).is_ok() => {
                Ok(Value::Text(text.clone()))
            }
            Some(other) => Err(Error::permanent(format!(
                "payload field `{field}` of event `{}` must be an RFC 3339 time, got `{}`",
                self.event.id,
                match other {
                    Json::String(text) => text.clone(),
                    other => other.to_string(),
                }
            ))),
        }
    }
}

/// `value`'s JSON type with its article, for messages: `a number`, `an array`.
fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C";
    const CREATED: &str = "2023-11-14T22:13:20Z";
    const UPDATED: &str = "2023-11-14T22:17:14.5+01:00";

    fn tables() -> Tables {
        Tables {
            deployments: "deployments".into(),
            servers: "servers".into(),
        }
    }

    fn event(kind: &str, payload: &str) -> Event {
        Event {
            id: ID.into(),
            org: "acme".into(),
            kind: kind.into(),
            source: "api".into(),
            time: 1_700_000_000_000,
            subject: "dep-42".into(),
            attributes: Vec::new(),
            payload: payload.into(),
            parent: None,
        }
    }

    fn text(text: &str) -> Value {
        Value::Text(text.into())
    }

    fn upsert(dialect: Dialect, kind: &str, payload: &str) -> Result<Option<Statement>, Error> {
        Statements::new(dialect, &tables()).upsert(&event(kind, payload))
    }

    /// The parameters of the statement `event` becomes (the same in both dialects), or the
    /// permanent error's message.
    fn params(kind: &str, payload: &str) -> Result<Vec<Value>, String> {
        let sqlite = upsert(Dialect::Sqlite, kind, payload);
        let postgres = upsert(Dialect::Postgres, kind, payload);
        match (sqlite, postgres) {
            (Ok(Some(sqlite)), Ok(Some(postgres))) => {
                assert_eq!(sqlite.params, postgres.params, "{kind}: the dialects agree");
                Ok(sqlite.params)
            }
            (Err(sqlite), Err(postgres)) => {
                assert_eq!(sqlite, postgres, "{kind}: the dialects agree");
                Err(sqlite.message())
            }
            other => panic!("{kind}: unexpected {other:?}"),
        }
    }

    /// The highest `$n` in `sql`.
    fn placeholders(sql: &str) -> usize {
        sql.split('$')
            .skip(1)
            .filter_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn sqlite_tables() {
        let create = Statements::new(Dialect::Sqlite, &tables()).create_tables();
        assert_eq!(
            create,
            [
                Statement::new(
                    "CREATE TABLE IF NOT EXISTS \"deployments\" (deployment_id TEXT PRIMARY KEY, \
                     engine TEXT, engine_version TEXT, host TEXT, \"user\" TEXT, \
                     environment TEXT, package TEXT, package_url TEXT, version TEXT, \
                     arguments TEXT, result TEXT, elapsed_seconds REAL, created_at TEXT, \
                     updated_at TEXT)",
                    Vec::new()
                ),
                Statement::new(
                    "CREATE TABLE IF NOT EXISTS \"servers\" (deployment_id TEXT NOT NULL, \
                     hostname TEXT NOT NULL, ip_address TEXT, result TEXT, \
                     elapsed_seconds REAL, created_at TEXT, updated_at TEXT, \
                     PRIMARY KEY (deployment_id, hostname))",
                    Vec::new()
                ),
            ]
        );
    }

    #[test]
    fn postgres_tables() {
        let custom = Tables {
            deployments: "dt_deployments".into(),
            servers: "dt_servers".into(),
        };
        let create = Statements::new(Dialect::Postgres, &custom).create_tables();
        assert_eq!(
            create[0].sql,
            "CREATE TABLE IF NOT EXISTS \"dt_deployments\" (deployment_id TEXT PRIMARY KEY, \
             engine TEXT, engine_version TEXT, host TEXT, \"user\" TEXT, environment TEXT, \
             package TEXT, package_url TEXT, version TEXT, arguments TEXT, result TEXT, \
             elapsed_seconds DOUBLE PRECISION, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ)"
        );
        assert_eq!(
            create[1].sql,
            "CREATE TABLE IF NOT EXISTS \"dt_servers\" (deployment_id TEXT NOT NULL, \
             hostname TEXT NOT NULL, ip_address TEXT, result TEXT, \
             elapsed_seconds DOUBLE PRECISION, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, \
             PRIMARY KEY (deployment_id, hostname))"
        );
    }

    #[test]
    fn deployment_started_sql() {
        let sqlite = upsert(Dialect::Sqlite, "deployment.started", "{}")
            .expect("valid")
            .expect("stored");
        assert_eq!(
            sqlite.sql,
            "INSERT INTO \"deployments\" (deployment_id, engine, engine_version, host, \"user\", \
             environment, package, package_url, version, arguments, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (deployment_id) DO UPDATE SET \
             engine = COALESCE(excluded.engine, \"deployments\".engine), \
             engine_version = COALESCE(excluded.engine_version, \"deployments\".engine_version), \
             host = COALESCE(excluded.host, \"deployments\".host), \
             \"user\" = COALESCE(excluded.\"user\", \"deployments\".\"user\"), \
             environment = COALESCE(excluded.environment, \"deployments\".environment), \
             package = COALESCE(excluded.package, \"deployments\".package), \
             package_url = COALESCE(excluded.package_url, \"deployments\".package_url), \
             version = COALESCE(excluded.version, \"deployments\".version), \
             arguments = COALESCE(excluded.arguments, \"deployments\".arguments), \
             updated_at = COALESCE(excluded.updated_at, \"deployments\".updated_at)"
        );
        let postgres = upsert(Dialect::Postgres, "deployment.started", "{}")
            .expect("valid")
            .expect("stored");
        assert_eq!(
            postgres.sql,
            sqlite
                .sql
                .replace("$11, $12)", "$11::timestamptz, $12::timestamptz)")
        );
        // A replayed start must not undo the end.
        for column in ["result", "elapsed_seconds", "created_at ="] {
            assert!(!sqlite.sql.contains(column), "{column}");
        }
    }

    #[test]
    fn deployment_finished_sql() {
        let sqlite = upsert(Dialect::Sqlite, "deployment.finished", "{}")
            .expect("valid")
            .expect("stored");
        assert_eq!(
            sqlite.sql,
            "INSERT INTO \"deployments\" (deployment_id, engine, engine_version, host, \"user\", \
             environment, package, package_url, version, arguments, result, elapsed_seconds, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (deployment_id) DO UPDATE SET \
             engine = COALESCE(excluded.engine, \"deployments\".engine), \
             engine_version = COALESCE(excluded.engine_version, \"deployments\".engine_version), \
             host = COALESCE(excluded.host, \"deployments\".host), \
             \"user\" = COALESCE(excluded.\"user\", \"deployments\".\"user\"), \
             environment = COALESCE(excluded.environment, \"deployments\".environment), \
             package = COALESCE(excluded.package, \"deployments\".package), \
             package_url = COALESCE(excluded.package_url, \"deployments\".package_url), \
             version = COALESCE(excluded.version, \"deployments\".version), \
             arguments = COALESCE(excluded.arguments, \"deployments\".arguments), \
             result = COALESCE(excluded.result, \"deployments\".result), \
             elapsed_seconds = COALESCE(excluded.elapsed_seconds, \"deployments\".elapsed_seconds), \
             created_at = COALESCE(\"deployments\".created_at, excluded.created_at), \
             updated_at = COALESCE(excluded.updated_at, \"deployments\".updated_at)"
        );
        let postgres = upsert(Dialect::Postgres, "deployment.finished", "{}")
            .expect("valid")
            .expect("stored");
        assert_eq!(
            postgres.sql,
            sqlite.sql.replace(
                "$12, $13, $14)",
                "$12::double precision, $13::timestamptz, $14::timestamptz)"
            )
        );
    }

    #[test]
    fn server_sql() {
        let started = upsert(
            Dialect::Sqlite,
            "server.started",
            r#"{"hostname": "web-1"}"#,
        )
        .expect("valid")
        .expect("stored");
        assert_eq!(
            started.sql,
            "INSERT INTO \"servers\" (deployment_id, hostname, ip_address, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (deployment_id, hostname) DO UPDATE SET \
             ip_address = COALESCE(excluded.ip_address, \"servers\".ip_address), \
             updated_at = COALESCE(excluded.updated_at, \"servers\".updated_at)"
        );
        let started_pg = upsert(
            Dialect::Postgres,
            "server.started",
            r#"{"hostname": "web-1"}"#,
        )
        .expect("valid")
        .expect("stored");
        assert_eq!(
            started_pg.sql,
            started
                .sql
                .replace("$4, $5)", "$4::timestamptz, $5::timestamptz)")
        );

        let finished = upsert(
            Dialect::Sqlite,
            "server.finished",
            r#"{"hostname": "web-1"}"#,
        )
        .expect("valid")
        .expect("stored");
        assert_eq!(
            finished.sql,
            "INSERT INTO \"servers\" (deployment_id, hostname, ip_address, result, \
             elapsed_seconds, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (deployment_id, hostname) DO UPDATE SET \
             ip_address = COALESCE(excluded.ip_address, \"servers\".ip_address), \
             result = COALESCE(excluded.result, \"servers\".result), \
             elapsed_seconds = COALESCE(excluded.elapsed_seconds, \"servers\".elapsed_seconds), \
             created_at = COALESCE(\"servers\".created_at, excluded.created_at), \
             updated_at = COALESCE(excluded.updated_at, \"servers\".updated_at)"
        );
        let finished_pg = upsert(
            Dialect::Postgres,
            "server.finished",
            r#"{"hostname": "web-1"}"#,
        )
        .expect("valid")
        .expect("stored");
        assert_eq!(
            finished_pg.sql,
            finished.sql.replace(
                "$5, $6, $7)",
                "$5::double precision, $6::timestamptz, $7::timestamptz)"
            )
        );
    }

    #[test]
    fn every_placeholder_has_a_parameter() {
        let payloads = [
            ("deployment.started", "{}"),
            ("deployment.finished", "{}"),
            ("server.started", r#"{"hostname": "h"}"#),
            ("server.finished", r#"{"hostname": "h"}"#),
        ];
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for (kind, payload) in payloads {
                let statement = upsert(dialect, kind, payload)
                    .expect("valid")
                    .expect("stored");
                assert_eq!(
                    placeholders(&statement.sql),
                    statement.params.len(),
                    "{kind} ({dialect:?})"
                );
            }
            let custom = Tables {
                deployments: "d".into(),
                servers: "s".into(),
            };
            let statement = Statements::new(dialect, &custom)
                .upsert(&event("server.finished", r#"{"hostname": "h"}"#))
                .expect("valid")
                .expect("stored");
            assert!(statement.sql.starts_with("INSERT INTO \"s\" "));
            assert!(!statement.sql.contains('{'), "{}", statement.sql);
        }
    }

    #[test]
    fn deployment_params() {
        let started = r#"{"deployment_id": "84e803f7", "engine": "vagrant_orchestrate",
            "engine_version": "0.6.3", "host": "localhost", "user": "cbaldauf",
            "environment": "dev", "package": "test", "package_url": "http://pkg.example.com",
            "version": "4.5.6", "arguments": "--strategy parallel",
            "created": "2023-11-14T22:13:20Z", "updated": "2023-11-14T22:17:14.5+01:00"}"#;
        assert_eq!(
            params("deployment.started", started),
            Ok(vec![
                text("84e803f7"),
                text("vagrant_orchestrate"),
                text("0.6.3"),
                text("localhost"),
                text("cbaldauf"),
                text("dev"),
                text("test"),
                text("http://pkg.example.com"),
                text("4.5.6"),
                text("--strategy parallel"),
                text(CREATED),
                text(UPDATED),
            ])
        );
        let finished = r#"{"deployment_id": "84e803f7", "engine": "helm", "environment": "prod",
            "package": "api", "version": "2.1.0", "result": "success", "elapsed_seconds": 234.5,
            "created": "2023-11-14T22:13:20Z", "updated": "2023-11-14T22:17:14.5+01:00"}"#;
        assert_eq!(
            params("deployment.finished", finished),
            Ok(vec![
                text("84e803f7"),
                text("helm"),
                Value::Null,
                Value::Null,
                Value::Null,
                text("prod"),
                text("api"),
                Value::Null,
                text("2.1.0"),
                Value::Null,
                text("success"),
                Value::Real(234.5),
                text(CREATED),
                text(UPDATED),
            ])
        );
    }

    #[test]
    fn params_fall_back_and_keep_every_type() {
        // No `deployment_id`: the subject; numbers and arrays as their JSON text.
        assert_eq!(
            params(
                "deployment.finished",
                r#"{"version": 4.5, "arguments": ["--fast", 1], "result": "failure",
                    "elapsed_seconds": 0, "user": null, "host": ""}"#
            ),
            Ok(vec![
                text("dep-42"),
                Value::Null,
                Value::Null,
                text(""),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                text("4.5"),
                text(r#"["--fast",1]"#),
                text("failure"),
                Value::Real(0.0),
                Value::Null,
                Value::Null,
            ])
        );
        assert_eq!(
            params("deployment.started", r#"{"deployment_id": 42}"#).map(|p| p[0].clone()),
            Ok(text("42"))
        );
    }

    #[test]
    fn server_params() {
        assert_eq!(
            params(
                "server.started",
                r#"{"deployment_id": "84e803f7", "hostname": "web-1", "ip_address": "10.0.0.5",
                    "created": "2023-11-14T22:13:20Z", "updated": "2023-11-14T22:17:14.5+01:00"}"#
            ),
            Ok(vec![
                text("84e803f7"),
                text("web-1"),
                text("10.0.0.5"),
                text(CREATED),
                text(UPDATED),
            ])
        );
        assert_eq!(
            params(
                "server.finished",
                r#"{"hostname": "web-1", "result": "success", "elapsed_seconds": 12,
                    "created": "2023-11-14T22:13:20Z"}"#
            ),
            Ok(vec![
                text("dep-42"),
                text("web-1"),
                Value::Null,
                text("success"),
                Value::Real(12.0),
                text(CREATED),
                Value::Null,
            ])
        );
    }

    #[test]
    fn other_kinds_are_not_stored() {
        for kind in ["deployment.log", "task.status.changed", "deployment"] {
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                assert_eq!(upsert(dialect, kind, "not json"), Ok(None), "{kind}");
            }
        }
    }

    #[test]
    fn rejects_events_it_cannot_store() {
        let cases = [
            (
                "server.started",
                r#"{"deployment_id": "d"}"#,
                "payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` (`server.started`) has no `hostname`",
            ),
            (
                "server.finished",
                r#"{"hostname": ""}"#,
                "payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` (`server.finished`) has no `hostname`",
            ),
            (
                "deployment.finished",
                r#"{"elapsed_seconds": -3}"#,
                "payload field `elapsed_seconds` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a \
                 non-negative number of seconds, got `-3`",
            ),
            (
                "server.finished",
                r#"{"hostname": "h", "elapsed_seconds": "12"}"#,
                "payload field `elapsed_seconds` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a \
                 non-negative number of seconds, got `\"12\"`",
            ),
            (
                "deployment.started",
                r#"{"created": "yesterday"}"#,
                "payload field `created` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be an RFC 3339 \
                 time, got `yesterday`",
            ),
            (
                "deployment.finished",
                r#"{"updated": 1700000000000}"#,
                "payload field `updated` of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be an RFC 3339 \
                 time, got `1700000000000`",
            ),
            (
                "deployment.started",
                "[]",
                "payload of event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` must be a JSON object, got an array",
            ),
        ];
        for (kind, payload, message) in cases {
            assert_eq!(params(kind, payload), Err(message.to_owned()), "{payload}");
        }

        let mut no_id = event("deployment.started", "{}");
        no_id.subject.clear();
        assert_eq!(
            Statements::new(Dialect::Sqlite, &tables()).upsert(&no_id),
            Err(Error::permanent(
                "event `01J9ZQ4C5R8V6W7X8Y9Z0A1B2C` (`deployment.started`) has no deployment id: \
                 payload field `deployment_id` and the subject are both missing"
            ))
        );
    }
}
