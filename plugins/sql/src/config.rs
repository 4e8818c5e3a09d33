//! The `sql` stage's configuration: which granted database, and the names of its two tables.
//! Validation collects every problem with its path; which databases are granted, and their
//! dialect, is the host's answer, asked in `init` (`lib.rs`).
//!
//! ```toml
//! [sinks.summary]
//! plugin = "sql"
//! inputs = ["deployments"]
//! # A SQLite file under the data directory, or `postgres://user@host:5432/db`.
//! grants = [{ sql = "sqlite://deployments.db" }]
//!
//! [sinks.summary.config]
//! # Which granted database, as the grant writes it. Default: the only one granted.
//! database = "sqlite://deployments.db"
//! # Table names, `[a-z_][a-z0-9_]*` (at most 63 bytes, PostgreSQL's limit), created if missing.
//! # Defaults `deployments` and `servers`.
//! deployments_table = "deployments"
//! servers_table = "servers"
//! ```
//!
//! Every option is optional: `config = {}` writes `deployments` and `servers` in the only
//! database granted.

use serde::Deserialize;
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config::{self, Problems};

/// What a table name must look like, for messages.
const TABLE_PATTERN: &str = "[a-z_][a-z0-9_]*";

/// PostgreSQL cuts identifiers longer than this (`NAMEDATALEN - 1`), so two long names could
/// silently become one table.
const MAX_TABLE_LEN: usize = 63;

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The granted database to write, as the grant names it; `None` for the only one.
    pub database: Option<String>,
    /// The table names.
    pub tables: Tables,
}

/// The names of the stage's two tables, valid SQL identifiers in both dialects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// One row per deployment.
    pub deployments: String,
    /// One row per server of a deployment.
    pub servers: String,
}

/// The configuration as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    database: Option<String>,
    #[serde(default = "default_deployments_table")]
    deployments_table: String,
    #[serde(default = "default_servers_table")]
    servers_table: String,
}

fn default_deployments_table() -> String {
    "deployments".to_owned()
}

fn default_servers_table() -> String {
    "servers".to_owned()
}

impl Config {
    /// Parse and validate the JSON `config` given to `init`, reporting every problem.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        let mut problems = Problems::new();
        if raw
            .database
            .as_deref()
            .is_some_and(|database| database.trim().is_empty())
        {
            problems.push(
                "database",
                "must not be empty: remove it to use the only database granted",
            );
        }
        for (path, name) in [
            ("deployments_table", &raw.deployments_table),
            ("servers_table", &raw.servers_table),
        ] {
            if let Err(message) = check_table(name) {
                problems.push(path, message);
            }
        }
        if raw.deployments_table == raw.servers_table {
            problems.push(
                "servers_table",
                format!(
                    "must differ from `deployments_table` (both are `{}`)",
                    raw.servers_table
                ),
            );
        }
        problems.finish(Config {
            database: raw.database,
            tables: Tables {
                deployments: raw.deployments_table,
                servers: raw.servers_table,
            },
        })
    }
}

/// Why `name` cannot be a table name, if it cannot. The pattern keeps names that need no
/// quoting rules of their own (the statements quote them anyway, so a reserved word is fine);
/// `excluded` is the name upserts give the rejected row.
fn check_table(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let valid = bytes
        .next()
        .is_some_and(|byte| byte.is_ascii_lowercase() || byte == b'_')
        && bytes.all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    if !valid {
        return Err(format!("`{name}` must match `{TABLE_PATTERN}`"));
    }
    if name.len() > MAX_TABLE_LEN {
        return Err(format!(
            "`{name}` is longer than {MAX_TABLE_LEN} bytes, which PostgreSQL would cut"
        ));
    }
    if name == "excluded" {
        return Err("`excluded` names the rejected row of an upsert: choose another".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use trackway_plugin_sdk::ConfigProblem;

    use super::*;

    fn problems(json: &str) -> Vec<ConfigProblem> {
        config::expect_problems(Config::parse(json))
    }

    fn paths(json: &str) -> Vec<String> {
        config::expect_paths(Config::parse(json))
    }

    #[test]
    fn defaults() {
        for json in ["", "{}"] {
            assert_eq!(
                Config::parse(json),
                Ok(Config {
                    database: None,
                    tables: Tables {
                        deployments: "deployments".into(),
                        servers: "servers".into(),
                    },
                }),
                "{json:?}"
            );
        }
    }

    #[test]
    fn parses_every_option() {
        assert_eq!(
            Config::parse(
                r#"{"database": "postgres://trackway@db:5432/ops",
                    "deployments_table": "dt_deployments", "servers_table": "_servers2"}"#
            ),
            Ok(Config {
                database: Some("postgres://trackway@db:5432/ops".into()),
                tables: Tables {
                    deployments: "dt_deployments".into(),
                    servers: "_servers2".into(),
                },
            })
        );
    }

    #[test]
    fn table_names() {
        let long = "t".repeat(MAX_TABLE_LEN);
        let too_long = "t".repeat(MAX_TABLE_LEN + 1);
        let cases: &[(&str, bool)] = &[
            ("deployments", true),
            ("_x", true),
            ("user", true),
            ("a1_b2", true),
            (&long, true),
            ("", false),
            ("1deployments", false),
            ("Deployments", false),
            ("deploy-ments", false),
            ("deploy ments", false),
            ("public.deployments", false),
            ("d\"; drop table x; --", false),
            (&too_long, false),
            ("excluded", false),
        ];
        for &(name, valid) in cases {
            assert_eq!(check_table(name).is_ok(), valid, "{name:?}");
        }
    }

    #[test]
    fn rejects_bad_configs_with_paths() {
        assert_eq!(
            problems(r#"{"deployments_table": "Deploys"}"#),
            vec![ConfigProblem {
                path: "deployments_table".into(),
                message: "`Deploys` must match `[a-z_][a-z0-9_]*`".into(),
            }]
        );
        assert_eq!(
            problems(r#"{"servers_table": "deployments"}"#),
            vec![ConfigProblem {
                path: "servers_table".into(),
                message: "must differ from `deployments_table` (both are `deployments`)".into(),
            }]
        );
        assert_eq!(
            paths(r#"{"database": " ", "deployments_table": "1", "servers_table": "s-1"}"#),
            ["database", "deployments_table", "servers_table"]
        );
        assert_eq!(paths(r#"{"database": 1}"#), ["database"]);
        assert_eq!(paths(r#"{"table": "x"}"#), ["table"]);
    }
}
