//! [`KindPattern`]: which event kinds an `events` source selects (`kinds = ["version.*"]`).
//!
//! Patterns are deliberately simple globs: `*` matches any run of characters (dots included, and
//! possibly none), everything else matches itself. So `*` selects every event, `version.*`
//! selects `version.reported` and `version.a.b`, and `deployment.finished` only itself.

use std::fmt;
use std::str::FromStr;

use crate::error::KindPatternError;

/// A glob over dotted event kinds, where `*` matches any run of characters.
///
/// Example: `"version.*"`, `"deployment.finished"`, `"*"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KindPattern(String);

impl KindPattern {
    /// Whether the event kind `kind` is selected by this pattern.
    pub fn matches(&self, kind: &str) -> bool {
        let mut parts = self.0.split('*');
        // `split` always yields at least one item.
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = kind.strip_prefix(first) else {
            return false;
        };
        let mut parts = parts.peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                // The last literal part must end the kind; the `*` before it absorbs the rest.
                return rest.ends_with(part);
            }
            // Leftmost match is always right for `*`-only globs: it leaves the most room for
            // the parts after it.
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        // No `*` at all: the pattern is a literal.
        rest.is_empty()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KindPattern {
    type Err = KindPatternError;

    fn from_str(pattern: &str) -> Result<Self, KindPatternError> {
        let reason = if pattern.is_empty() {
            Some("must not be empty")
        } else if !pattern
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-*".contains(c))
        {
            Some("may only contain lowercase letters, digits, `.`, `_`, `-` and `*`")
        } else if pattern.split('.').any(str::is_empty) {
            Some("must not have an empty segment (a leading, trailing or doubled `.`)")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(KindPatternError {
                pattern: pattern.to_owned(),
                reason,
            }),
            None => Ok(Self(pattern.to_owned())),
        }
    }
}

impl fmt::Display for KindPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, kind: &str) -> bool {
        pattern.parse::<KindPattern>().unwrap().matches(kind)
    }

    #[test]
    fn star_alone_matches_everything() {
        assert!(matches("*", "version.reported"));
        assert!(matches("*", "a"));
    }

    #[test]
    fn trailing_star_matches_any_depth() {
        assert!(matches("version.*", "version.reported"));
        assert!(matches("version.*", "version.a.b"));
        assert!(!matches("version.*", "version"));
        assert!(!matches("version.*", "versions.reported"));
        assert!(!matches("version.*", "deployment.version.x"));
    }

    #[test]
    fn literal_patterns_match_exactly() {
        assert!(matches("deployment.finished", "deployment.finished"));
        assert!(!matches("deployment.finished", "deployment.finished.late"));
        assert!(!matches("deployment.finished", "deployment"));
    }

    #[test]
    fn stars_in_the_middle_and_front() {
        assert!(matches("*.finished", "deployment.finished"));
        assert!(matches("*.finished", "job.backup.finished"));
        assert!(!matches("*.finished", "deployment.started"));
        assert!(matches("image.*.changed", "image.digest.changed"));
        assert!(!matches("image.*.changed", "image.digest.changed.x"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "axxbyybc"));
        assert!(!matches("a*b*c", "axxcyyb"));
        // The last literal part may not overlap the one before it.
        assert!(!matches("ab*ba", "aba"));
    }

    #[test]
    fn invalid_patterns_are_rejected() {
        for (pattern, reason) in [
            ("", "must not be empty"),
            (
                "Version.*",
                "may only contain lowercase letters, digits, `.`, `_`, `-` and `*`",
            ),
            (
                "version..x",
                "must not have an empty segment (a leading, trailing or doubled `.`)",
            ),
            (
                "version.",
                "must not have an empty segment (a leading, trailing or doubled `.`)",
            ),
        ] {
            assert_eq!(
                pattern.parse::<KindPattern>().unwrap_err().reason,
                reason,
                "{pattern:?}"
            );
        }
    }
}
