//! The `redis-logstash` stage's configuration: the Redis server and list, and what every
//! document carries besides the event. Defaults are the deployment-tracker seed's `redis` table.
//! Validation collects every problem with its path; whether the server is granted to the stage
//! is the host's answer, asked in `init` (`lib.rs`).
//!
//! ```toml
//! [sinks.logstash]
//! plugin = "redis-logstash"
//! inputs = ["deployments"]
//! # Must name the server below: `redis://{host}:{port}/{db}`.
//! grants = [{ redis = "redis://127.0.0.1:6379/0" }]
//!
//! [sinks.logstash.config]
//! # The Redis server. Defaults: `127.0.0.1`, 6379 and database 0.
//! host = "127.0.0.1"
//! port = 6379
//! db = 0
//! # The `index` field of every document. Default `deployment-tracker`.
//! index = "deployment-tracker"
//! # The list the documents are appended to (Logstash: `input { redis { data_type => "list"
//! # key => "logstash" codec => json } }`). Default `logstash`.
//! key = "logstash"
//! # Merged into every document last, so they replace event fields of the same name (as in the
//! # seed). Any TOML values. Default none.
//! additional_fields = { team = "platform", tier = 1 }
//! # For how long an event's id is remembered once its document is pushed, so that a delivery
//! # retried after a lost answer (a connection cut, a timeout) pushes nothing twice. Costs one
//! # small expiring key per event. 0 turns it off: a plain RPUSH, at least once. Default one day.
//! dedupe_seconds = 86400
//! ```
//!
//! Every option is optional: `config = {}` pushes to `logstash` on `redis://127.0.0.1:6379/0`.

use serde::Deserialize;
use serde_json::{Map, Value};
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config::{self, Problems};

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The server, as `redis://{host}:{port}/{db}`: what the stage's grant must name.
    pub target: String,
    /// The `index` field of every document.
    pub index: String,
    /// The Redis list the documents are appended to.
    pub key: String,
    /// Fields merged into every document, last.
    pub additional_fields: Map<String, Value>,
    /// For how long a pushed event's id is remembered; 0 for plain pushes.
    pub dedupe_seconds: u32,
}

/// The configuration as written, with the seed's defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_host")]
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    #[serde(default)]
    db: u32,
    #[serde(default = "default_index")]
    index: String,
    #[serde(default = "default_key")]
    key: String,
    #[serde(default)]
    additional_fields: Map<String, Value>,
    #[serde(default = "default_dedupe_seconds")]
    dedupe_seconds: u32,
}

fn default_host() -> String {
    "127.0.0.1".to_owned()
}

fn default_port() -> u16 {
    6379
}

fn default_index() -> String {
    "deployment-tracker".to_owned()
}

fn default_key() -> String {
    "logstash".to_owned()
}

fn default_dedupe_seconds() -> u32 {
    86_400
}

impl Config {
    /// Parse and validate the JSON `config` given to `init`, reporting every problem.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        let mut problems = Problems::new();
        if let Err(message) = check_host(&raw.host) {
            problems.push("host", message);
        }
        if raw.port == 0 {
            problems.push("port", "must be between 1 and 65535");
        }
        if raw.index.trim().is_empty() {
            problems.push("index", "must not be empty");
        }
        if raw.key.trim().is_empty() {
            problems.push("key", "must not be empty");
        }
        problems.finish(Config {
            target: target(&raw.host, raw.port, raw.db),
            index: raw.index,
            key: raw.key,
            additional_fields: raw.additional_fields,
            dedupe_seconds: raw.dedupe_seconds,
        })
    }
}

/// `redis://{host}:{port}/{db}`, with an IPv6 address in brackets (`redis://[::1]:6379/0`).
fn target(host: &str, port: u16, db: u32) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("redis://[{host}]:{port}/{db}")
    } else {
        format!("redis://{host}:{port}/{db}")
    }
}

/// Why `host` cannot be the host part of a Redis URL, if it cannot: the port and database have
/// their own options, and credentials belong in the grant, which the host keeps out of logs.
fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if let Some(c) = host
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '?' | '#'))
    {
        return Err(format!(
            "`{host}` must be a host name or an IP address, without {}",
            match c {
                '/' | '?' | '#' => "a scheme or path: the database is `db`",
                '@' => "credentials: put them in the stage's `redis` grant",
                _ => "white space",
            }
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use trackway_plugin_sdk::ConfigProblem;

    use super::*;

    fn problems(json: &str) -> Vec<ConfigProblem> {
        config::expect_problems(Config::parse(json))
    }

    fn paths(json: &str) -> Vec<String> {
        config::expect_paths(Config::parse(json))
    }

    #[test]
    fn defaults_are_the_seeds() {
        for json in ["", "{}"] {
            assert_eq!(
                Config::parse(json),
                Ok(Config {
                    target: "redis://127.0.0.1:6379/0".into(),
                    index: "deployment-tracker".into(),
                    key: "logstash".into(),
                    additional_fields: Map::new(),
                    dedupe_seconds: 86_400,
                }),
                "{json:?}"
            );
        }
    }

    #[test]
    fn parses_every_option() {
        let config = Config::parse(
            r#"{"host": "redis.internal", "port": 6380, "db": 2, "index": "deploys",
                "key": "events", "additional_fields": {"team": "platform", "tier": 1},
                "dedupe_seconds": 0}"#,
        )
        .expect("valid");
        assert_eq!(config.target, "redis://redis.internal:6380/2");
        assert_eq!(config.index, "deploys");
        assert_eq!(config.key, "events");
        assert_eq!(
            Value::Object(config.additional_fields),
            json!({"team": "platform", "tier": 1})
        );
        assert_eq!(config.dedupe_seconds, 0);
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(target("::1", 6379, 0), "redis://[::1]:6379/0");
        assert_eq!(target("[::1]", 6379, 0), "redis://[::1]:6379/0");
        assert_eq!(target("10.0.0.1", 1, 15), "redis://10.0.0.1:1/15");
    }

    #[test]
    fn rejects_bad_configs_with_paths() {
        assert_eq!(
            problems(r#"{"host": "redis://h"}"#),
            vec![ConfigProblem {
                path: "host".into(),
                message: "`redis://h` must be a host name or an IP address, without a scheme \
                          or path: the database is `db`"
                    .into(),
            }]
        );
        assert_eq!(
            paths(r#"{"host": "", "port": 0, "index": " ", "key": ""}"#),
            ["host", "port", "index", "key"]
        );
        assert_eq!(paths(r#"{"host": "u:p@h"}"#), ["host"]);
        assert_eq!(paths(r#"{"host": "a b"}"#), ["host"]);
        assert_eq!(paths(r#"{"port": 70000}"#), ["port"]);
        assert_eq!(paths(r#"{"db": -1}"#), ["db"]);
        assert_eq!(
            paths(r#"{"additional_fields": [1]}"#),
            ["additional_fields"]
        );
        assert_eq!(paths(r#"{"additional_fileds": {}}"#), ["additional_fileds"]);
    }
}
