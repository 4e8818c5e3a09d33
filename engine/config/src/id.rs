//! Validated identifiers: [`OrgId`], [`PipelineName`] and [`StageId`].
//!
//! Each is a `String` newtype that can only hold a valid value, so code downstream never re-checks
//! them. They parse with [`FromStr`], print with [`Display`](fmt::Display) and (de)serialize as
//! plain strings. Plugin ids are validated here too but kept as plain strings in
//! [`PluginRef::Bundled`](crate::PluginRef::Bundled).

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::IdError;

/// The longest org or pipeline name: 63 bytes fits a DNS label, so names can become hostnames,
/// metric prefixes and directory names without escaping.
const MAX_NAME_LEN: usize = 63;

/// The rules one kind of identifier follows.
struct Rule {
    /// What the identifier is, for error messages (`org`, `stage id`, ...).
    what: &'static str,
    /// Whether `_` is allowed after the first character (`-` always is).
    underscore: bool,
    /// The longest allowed value, in bytes.
    max_len: Option<usize>,
}

impl Rule {
    /// Checks `value` against `[a-z0-9][a-z0-9-]*` (plus `_` when allowed) and the length limit.
    fn check(&self, value: &str) -> Result<(), IdError> {
        let allowed = |c: char| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || c == '-'
                || (self.underscore && c == '_')
        };
        let reason = match self.max_len {
            _ if value.is_empty() => "must not be empty".to_owned(),
            Some(max) if value.len() > max => format!("must be at most {max} characters"),
            _ if !value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) => {
                "must start with a lowercase letter or a digit".to_owned()
            }
            _ if !value.chars().all(allowed) && self.underscore => {
                "may only contain lowercase letters, digits, `_` and `-`".to_owned()
            }
            _ if !value.chars().all(allowed) => {
                "may only contain lowercase letters, digits and `-`".to_owned()
            }
            _ => return Ok(()),
        };
        Err(IdError {
            what: self.what,
            value: value.to_owned(),
            reason,
        })
    }
}

const ORG: Rule = Rule {
    what: "org",
    underscore: true,
    max_len: Some(MAX_NAME_LEN),
};
const PIPELINE: Rule = Rule {
    what: "pipeline name",
    underscore: true,
    max_len: Some(MAX_NAME_LEN),
};
const STAGE: Rule = Rule {
    what: "stage id",
    underscore: true,
    max_len: None,
};
const PLUGIN: Rule = Rule {
    what: "plugin id",
    underscore: false,
    max_len: None,
};

/// Checks a bundled plugin id: `[a-z0-9][a-z0-9-]*`, the same string as the plugin's directory,
/// package suffix and artifact stem.
pub(crate) fn check_plugin_id(value: &str) -> Result<(), IdError> {
    PLUGIN.check(value)
}

macro_rules! id_newtype {
    ($(#[$meta:meta])* $name:ident, $rule:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(value: &str) -> Result<Self, IdError> {
                $rule.check(value)?;
                Ok(Self(value.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;

            fn try_from(value: String) -> Result<Self, IdError> {
                $rule.check(&value)?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

id_newtype!(
    /// An organisation: the directory name under `pipelines/`, matching `[a-z0-9][a-z0-9_-]{0,62}`.
    ///
    /// Example: `default`, `platform-team`.
    OrgId,
    ORG
);

id_newtype!(
    /// A pipeline: the file stem of `pipelines/<org>/<name>.toml`, matching
    /// `[a-z0-9][a-z0-9_-]{0,62}`. Unique within its org.
    ///
    /// Example: `versions`.
    PipelineName,
    PIPELINE
);

id_newtype!(
    /// A stage: the key of `[sources.<id>]`, `[processors.<id>]` or `[sinks.<id>]`, matching
    /// `[a-z0-9][a-z0-9_-]*`. Unique across all three tables of one pipeline; other stages name it
    /// in their `inputs`.
    ///
    /// Example: `semver`, `github_tags`.
    StageId,
    STAGE
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_ids() {
        for ok in ["a", "0", "default", "platform-team", "a_b-c9"] {
            assert_eq!(ok.parse::<OrgId>().unwrap().as_str(), ok);
            assert_eq!(ok.parse::<StageId>().unwrap().to_string(), ok);
        }
        assert!("a".repeat(63).parse::<PipelineName>().is_ok());
        assert!("a".repeat(200).parse::<StageId>().is_ok());
    }

    #[test]
    fn rejects_invalid_ids_with_a_reason() {
        let cases = [
            ("", "must not be empty"),
            ("-a", "must start with a lowercase letter or a digit"),
            ("_a", "must start with a lowercase letter or a digit"),
            ("Api", "must start with a lowercase letter or a digit"),
            (
                "a.b",
                "may only contain lowercase letters, digits, `_` and `-`",
            ),
            (
                "aB",
                "may only contain lowercase letters, digits, `_` and `-`",
            ),
        ];
        for (value, reason) in cases {
            let err = value.parse::<StageId>().unwrap_err();
            assert_eq!(err.reason, reason, "{value:?}");
        }
        let err = "a".repeat(64).parse::<OrgId>().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid org `{}`: must be at most 63 characters",
                "a".repeat(64)
            )
        );
    }

    #[test]
    fn plugin_ids_do_not_allow_underscores() {
        assert!(check_plugin_id("github-tags").is_ok());
        let err = check_plugin_id("github_tags").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid plugin id `github_tags`: may only contain lowercase letters, digits and `-`"
        );
    }

    #[test]
    fn serde_round_trip_validates() {
        let id: StageId = serde_json::from_str("\"semver\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"semver\"");
        assert!(serde_json::from_str::<StageId>("\"Semver\"").is_err());
    }
}
