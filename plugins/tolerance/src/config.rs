//! The `tolerance` stage's configuration: nothing is required; `default_mode` picks the mode of
//! tasks whose payload names none.
//!
//! ```toml
//! # In a processor stage:
//! plugin = "tolerance"
//! # Mode of tasks that give no `mode`: rolling (default), daily, cloudwatch or heartbeat.
//! config = { default_mode = "daily" }
//! ```

use serde::Deserialize;
use trackway_plugin_sdk::Error;
use trackway_plugin_sdk::config;

use crate::eval::Mode;

/// The validated configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Config {
    /// Mode of tasks whose payload gives no `task.mode`. Default `rolling` (the seed's rule).
    pub default_mode: Mode,
}

/// The configuration as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    default_mode: Mode,
}

impl Config {
    /// Parse the JSON `config` given to `init`; `{}` (or blank) is the default.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let raw: Raw = config::parse(json)?;
        Ok(Config {
            default_mode: raw.default_mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_path(json: &str) -> String {
        match Config::parse(json) {
            Err(Error::InvalidConfig(problems)) => problems[0].path.clone(),
            other => panic!("expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn defaults_to_rolling() {
        assert_eq!(Config::parse("{}"), Ok(Config::default()));
        assert_eq!(Config::parse(""), Ok(Config::default()));
        assert_eq!(Config::default().default_mode, Mode::Rolling);
    }

    #[test]
    fn reads_default_mode() {
        for (text, mode) in [
            ("rolling", Mode::Rolling),
            ("daily", Mode::Daily),
            ("cloudwatch", Mode::CloudWatch),
            ("heartbeat", Mode::Heartbeat),
        ] {
            let config = Config::parse(&format!(r#"{{"default_mode": "{text}"}}"#));
            assert_eq!(config, Ok(Config { default_mode: mode }));
        }
    }

    #[test]
    fn rejects_unknown_keys_and_modes() {
        assert_eq!(problem_path(r#"{"mode": "daily"}"#), "mode");
        assert_eq!(
            problem_path(r#"{"default_mode": "weekly"}"#),
            "default_mode"
        );
        assert_eq!(problem_path(r#"{"default_mode": 3}"#), "default_mode");
    }
}
