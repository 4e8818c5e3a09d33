//! Version policies: which new version a subject may move to. Pure (no host calls, no events),
//! so it is tested natively and can be reused by any tracker that compares a running version
//! with a candidate (e.g. a registry tracker).
//!
//! Two kinds, after the two tools teams already write them for:
//!
//! - [`Policy`], Keel-style (`keel.sh/policy`): `all`, `major`, `minor`, `patch`, `force`,
//!   `never`, `glob:<pattern>`, `regexp:<pattern>`, judged against the current version.
//! - [`Range`], Flux-style (the `semver.range` of Flux's `ImagePolicy`): a Masterminds/semver
//!   constraint such as `^1.2` or `>=1.0.0 <2.0.0 || ^3.0.0-0`, judged on the candidate alone.
//!
//! Both answer with a [`Decision`] that says why.
//!
//! # Keel semantics
//!
//! Taken from keel-hq/keel `internal/policy` (`policy.go`, `semver.go`, `glob.go`, `regexp.go`,
//! `force.go`) and `types` (the `keel.sh/matchPreRelease` annotation):
//!
//! - **`all`, `major`**: accept a candidate with higher precedence than the current version.
//!   The two differ only in that `all` ignores `match_prerelease`.
//! - **`minor`**: the same, and the major number must not change.
//! - **`patch`**: the same, and neither the major nor the minor number may change.
//! - An equal version (a redeploy; build metadata does not count) and a lower one (a downgrade)
//!   are rejected by all four.
//! - **`match_prerelease`** (Keel's `keel.sh/matchPreRelease`): with it, `major`, `minor` and
//!   `patch` also require the candidate's pre-release to be *exactly* the current one's (both
//!   none, or the same text): pre-release tags then act as channels (`1.4.0-alpine` only moves
//!   to `1.5.0-alpine`), and `1.4.0` -> `1.4.1-rc.1`, but also `1.4.1-rc.1` -> `1.4.1-rc.2`, are
//!   rejected. Without it pre-releases are ordinary versions, ordered by SemVer precedence
//!   (`1.4.0` -> `1.4.1-rc.1` is a patch upgrade). Keel's default is *with* (for its own
//!   backward compatibility); here it is off unless asked for.
//! - **`force`**: accept every candidate, SemVer or not (Keel's `match-tag` option, which
//!   narrows `force` to redeploys of the same tag, is not offered).
//! - **`never`**: accept none.
//! - **`glob:<pattern>`**: accept a candidate that the whole pattern matches, where `*` matches
//!   any run of characters (also none) and every other character only itself, as Keel's
//!   `ryanuber/go-glob` does: there is no `?` nor `[...]`. The current version plays no part.
//! - **`regexp:<pattern>`**: accept a candidate in which the pattern finds a match anywhere
//!   (Go's `MatchString`; anchor with `^...$` for a whole match). The syntax is RE2's, as in Go,
//!   through `regex-lite`: `\d`, `\w`, `\s` and `\b` are ASCII, as in Go, and Unicode classes
//!   (`\pL`) are not available. The current version plays no part.
//!
//! **Reading versions.** [`Policy::accepts`] reads both versions leniently, as Keel does
//! (Masterminds/semver v1 `NewVersion`, see [`coerce`]): an optional `v`, one to three numbers
//! (missing ones are 0, so `1.4` is `1.4.0`, below `1.4.6`; leading zeros are allowed), then an
//! optional `-pre.release` and `+build`. Keel also requires the candidate to have at least
//! `MAJOR.MINOR` (`5` is rejected, `5.0` is not). [`Policy::accepts_reading`] takes versions
//! its caller has read instead: the `semver` stage passes the reading its `semver.bump` uses, so
//! that, in `svt` mode, `1.4.2rc1` (which Keel cannot read) is ordered as `1.4.2-rc1`.
//!
//! **Tags that are not versions** (`latest`, `build-42`, `1.2.3.4`, `5`): `all`, `major`,
//! `minor` and `patch` reject such a candidate, and reject any candidate when the current
//! version is one, because they cannot order it (Keel logs the same as an error and does not
//! update). `force`, `never`, `glob:` and `regexp:` never parse, so they judge such tags like
//! any other text.
//!
//! **No current version** (a subject's first) or a current version of `latest`: any candidate
//! that can be read as a version is accepted, since there is nothing to be higher than. (Keel,
//! for `latest`, accepts even candidates it cannot read; here a semver policy only ever admits
//! versions.)
//!
//! Other differences from Keel: an unknown or empty policy, or a `glob:`/`regexp:` without a
//! pattern, is a configuration error rather than a silent `never`; a pattern may contain `:`;
//! pre-releases are ordered by SemVer 2.0 precedence (numeric identifiers numerically); the
//! `MAJOR.MINOR` requirement counts numbers, where Keel counts the dot-separated parts of the
//! whole tag (so `1-rc.1.2` passes Keel's check, read as `1.0.0-rc.1.2`, and not this one).
//!
//! # Layout
//!
//! - this file: [`Policy`], [`Decision`], [`Reading`], [`coerce`].
//! - [`range`]: [`Range`], the Flux-style constraints.

use std::cmp::Ordering;
use std::fmt;

use semver::{BuildMetadata, Prerelease, Version};

pub mod range;

pub use range::Range;

/// The answer of a policy or a range about one candidate, with the reason (lowercase, quoting
/// the versions and the rule, e.g. ``1.3.0` changes the minor version of `1.2.3`, which policy
/// `patch` does not allow``).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The candidate may be deployed.
    Accepted(String),
    /// The candidate may not be deployed.
    Rejected(String),
}

impl Decision {
    /// Whether the candidate is accepted.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Decision::Accepted(_))
    }

    /// Why.
    pub fn reason(&self) -> &str {
        match self {
            Decision::Accepted(reason) | Decision::Rejected(reason) => reason,
        }
    }
}

/// The four SemVer levels of a Keel policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `all`: any higher version, pre-releases included whatever `match_prerelease` says.
    All,
    /// `major`: any higher version.
    Major,
    /// `minor`: a higher version with the same major number.
    Minor,
    /// `patch`: a higher version with the same major and minor numbers.
    Patch,
}

/// A Keel-style policy, e.g. `minor` or `glob:1.4.*`; see the [module docs](self) for what each
/// accepts.
#[derive(Debug, Clone)]
pub struct Policy {
    text: String,
    rule: Rule,
    match_prerelease: bool,
}

#[derive(Debug, Clone)]
enum Rule {
    /// `all`, `major`, `minor`, `patch`: order the candidate against the current version.
    Order(Level),
    /// The others: look at the candidate's text alone.
    Text(TextRule),
}

#[derive(Debug, Clone)]
enum TextRule {
    Glob(String),
    Regexp(regex_lite::Regex),
    Force,
    Never,
}

/// Compiled patterns are capped so that a pathological `regexp:` fails at configuration time
/// rather than taking the stage's memory; real tag patterns are orders of magnitude smaller.
const REGEXP_SIZE_LIMIT: usize = 1 << 20;

impl Policy {
    /// Parse a policy as written in `keel.sh/policy` (case-sensitive). The error says why, e.g.
    /// ``unknown policy `latest`: expected ...``. `match_prerelease` starts off.
    pub fn parse(text: &str) -> Result<Policy, String> {
        const EXPECTED: &str = "expected `all`, `major`, `minor`, `patch`, `force`, `never`, \
                                `glob:<pattern>` or `regexp:<pattern>`";
        let rule = if let Some(pattern) = text.strip_prefix("glob:") {
            if pattern.is_empty() {
                return Err("`glob:` needs a pattern, e.g. `glob:1.4.*`".to_string());
            }
            Rule::Text(TextRule::Glob(pattern.to_string()))
        } else if let Some(pattern) = text.strip_prefix("regexp:") {
            if pattern.is_empty() {
                return Err("`regexp:` needs a pattern, e.g. `regexp:^1\\.4\\.[0-9]+$`".to_string());
            }
            let regexp = regex_lite::RegexBuilder::new(pattern)
                .size_limit(REGEXP_SIZE_LIMIT)
                .build()
                .map_err(|error| format!("invalid regular expression `{pattern}`: {error}"))?;
            Rule::Text(TextRule::Regexp(regexp))
        } else {
            match text {
                "all" => Rule::Order(Level::All),
                "major" => Rule::Order(Level::Major),
                "minor" => Rule::Order(Level::Minor),
                "patch" => Rule::Order(Level::Patch),
                "force" => Rule::Text(TextRule::Force),
                "never" => Rule::Text(TextRule::Never),
                "" => return Err(format!("must not be empty: {EXPECTED}")),
                other => return Err(format!("unknown policy `{other}`: {EXPECTED}")),
            }
        };
        Ok(Policy {
            text: text.to_string(),
            rule,
            match_prerelease: false,
        })
    }

    /// This policy with Keel's `matchPreRelease` set: `major`, `minor` and `patch` then accept
    /// only a candidate whose pre-release is the current version's.
    #[must_use]
    pub fn with_match_prerelease(mut self, match_prerelease: bool) -> Policy {
        self.match_prerelease = match_prerelease;
        self
    }

    /// Whether `match_prerelease` is set.
    pub fn match_prerelease(&self) -> bool {
        self.match_prerelease
    }

    /// The policy as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a subject running `current` (`None`: nothing yet) may move to `candidate`, both
    /// as written (a leading `v` is fine), read the way Keel reads them ([`coerce`]).
    pub fn accepts(&self, current: Option<&str>, candidate: &str) -> Decision {
        let level = match &self.rule {
            Rule::Order(level) => *level,
            Rule::Text(rule) => return self.matches(rule, candidate),
        };
        let new = match parse(candidate) {
            Some((version, parts)) if parts >= 2 => version,
            Some(_) => {
                return Decision::Rejected(format!(
                    "`{candidate}` is not a version policy `{self}` can compare: it needs at least MAJOR.MINOR"
                ));
            }
            None => {
                return Decision::Rejected(format!(
                    "`{candidate}` is not a version policy `{self}` can compare"
                ));
            }
        };
        let old = match current.filter(|text| *text != "latest") {
            None => None,
            Some(text) => match coerce(text) {
                Some(version) => Some((text, version)),
                None => {
                    return Decision::Rejected(format!(
                        "the previous version `{text}` is not a version policy `{self}` can compare"
                    ));
                }
            },
        };
        let current = old
            .as_ref()
            .map(|(text, version)| Reading { text, version });
        self.order(level, current, Reading::new(candidate, &new))
    }

    /// [`Policy::accepts`] for a caller that has read the versions already (the `semver` stage,
    /// whose `svt` mode reads more leniently than Keel): `all`, `major`, `minor` and `patch`
    /// order the given versions, `glob:` and `regexp:` match the candidate's text.
    pub fn accepts_reading(
        &self,
        current: Option<Reading<'_>>,
        candidate: Reading<'_>,
    ) -> Decision {
        match &self.rule {
            Rule::Order(level) => self.order(*level, current, candidate),
            Rule::Text(rule) => self.matches(rule, candidate.text),
        }
    }

    /// `rule` (this policy's) on the candidate's text.
    fn matches(&self, rule: &TextRule, candidate: &str) -> Decision {
        match rule {
            TextRule::Glob(pattern) if glob_matches(pattern, candidate) => {
                Decision::Accepted(format!("`{candidate}` matches policy `{self}`"))
            }
            TextRule::Regexp(regexp) if regexp.is_match(candidate) => {
                Decision::Accepted(format!("`{candidate}` matches policy `{self}`"))
            }
            TextRule::Glob(_) | TextRule::Regexp(_) => {
                Decision::Rejected(format!("`{candidate}` does not match policy `{self}`"))
            }
            TextRule::Force => {
                Decision::Accepted("policy `force` accepts every version".to_string())
            }
            TextRule::Never => Decision::Rejected("policy `never` accepts no version".to_string()),
        }
    }

    /// `all`, `major`, `minor`, `patch` on versions already read.
    fn order(
        &self,
        level: Level,
        current: Option<Reading<'_>>,
        candidate: Reading<'_>,
    ) -> Decision {
        let Reading {
            text: candidate,
            version: new,
        } = candidate;
        let Some(Reading {
            text: current,
            version: old,
        }) = current
        else {
            return Decision::Accepted(format!(
                "`{candidate}` has no previous version to compare with"
            ));
        };
        if self.match_prerelease && level != Level::All && new.pre != old.pre {
            return Decision::Rejected(format!(
                "`{candidate}` has {} and `{current}` has {}, and policy `{self}` with \
                 `match_prerelease` requires the same",
                describe_pre(&new.pre),
                describe_pre(&old.pre),
            ));
        }
        match new.cmp_precedence(old) {
            Ordering::Less => {
                return Decision::Rejected(format!(
                    "`{candidate}` is older than the previous version `{current}`"
                ));
            }
            Ordering::Equal => {
                return Decision::Rejected(format!(
                    "`{candidate}` is not newer than the previous version `{current}`"
                ));
            }
            Ordering::Greater => {}
        }
        let changed = if new.major != old.major {
            "major"
        } else if new.minor != old.minor {
            "minor"
        } else {
            "patch"
        };
        let allowed = match level {
            Level::All | Level::Major => true,
            Level::Minor => changed != "major",
            Level::Patch => changed == "patch",
        };
        if allowed {
            Decision::Accepted(format!(
                "`{candidate}` is newer than `{current}` within policy `{self}`"
            ))
        } else {
            Decision::Rejected(format!(
                "`{candidate}` changes the {changed} version of `{current}`, which policy `{self}` does not allow"
            ))
        }
    }
}

/// A version as its caller has read it: the text (what `glob:`, `regexp:` and reasons see) and
/// the SemVer version it orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading<'a> {
    /// As written, e.g. `v1.4.0` or `01.04.00`.
    pub text: &'a str,
    /// As read, e.g. `1.4.0`.
    pub version: &'a Version,
}

impl<'a> Reading<'a> {
    /// `text`, read as `version`.
    pub fn new(text: &'a str, version: &'a Version) -> Self {
        Reading { text, version }
    }
}

/// Two policies are equal when written the same with the same `match_prerelease`: the text
/// determines the rule.
impl PartialEq for Policy {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.match_prerelease == other.match_prerelease
    }
}

impl Eq for Policy {}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `pre-release `rc.1`` or `no pre-release`, for reasons.
fn describe_pre(pre: &Prerelease) -> String {
    if pre.is_empty() {
        "no pre-release".to_string()
    } else {
        format!("pre-release `{pre}`")
    }
}

/// Read `text` leniently, as Keel does (Masterminds/semver v1 `NewVersion`): an optional `v`,
/// one to three numbers (missing ones are 0, leading zeros allowed), then an optional
/// `-pre.release` and `+build` of dot-separated `[0-9A-Za-z-]` identifiers. `1.4` is `1.4.0`,
/// `v2` is `2.0.0`, `01.2.3-rc.01` is `1.2.3-rc.1`; `latest`, `1.2.3.4`, `1.2.3rc1` are `None`.
pub fn coerce(text: &str) -> Option<Version> {
    parse(text).map(|(version, _)| version)
}

/// [`coerce`], with how many numbers the text gave.
fn parse(text: &str) -> Option<(Version, usize)> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let (text, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    // The numbers have no `-`, so the first one starts the pre-release.
    let (core, pre) = match text.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (text, None),
    };
    let mut numbers = [0u64; 3];
    let mut parts = 0;
    for number in core.split('.') {
        if parts == 3 || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        numbers[parts] = number.parse().ok()?;
        parts += 1;
    }
    let pre = match pre {
        Some(pre) => Prerelease::new(&identifiers(pre, true)?).ok()?,
        None => Prerelease::EMPTY,
    };
    let build = match build {
        Some(build) => BuildMetadata::new(&identifiers(build, false)?).ok()?,
        None => BuildMetadata::EMPTY,
    };
    let [major, minor, patch] = numbers;
    Some((
        Version {
            major,
            minor,
            patch,
            pre,
            build,
        },
        parts,
    ))
}

/// `text` if it is dot-separated non-empty `[0-9A-Za-z-]` identifiers, with leading zeros of
/// numeric ones dropped when `numeric_order` (SemVer forbids them in pre-releases; dropping them
/// keeps their order).
fn identifiers(text: &str, numeric_order: bool) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for (index, identifier) in text.split('.').enumerate() {
        if identifier.is_empty()
            || !identifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
        if index > 0 {
            out.push('.');
        }
        let trimmed = identifier.trim_start_matches('0');
        if numeric_order && identifier.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(if trimmed.is_empty() { "0" } else { trimmed });
        } else {
            out.push_str(identifier);
        }
    }
    Some(out)
}

/// Whether `pattern` matches all of `text`, `*` standing for any run of characters: the
/// leftmost match of each piece between stars is the right one, as in `ryanuber/go-glob`.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut text) = text.strip_prefix(first) else {
        return false;
    };
    let mut pieces: Vec<&str> = rest.split('*').collect();
    let last = pieces.pop().unwrap_or_default();
    for piece in pieces {
        match text.find(piece) {
            Some(at) => text = &text[at + piece.len()..],
            None => return false,
        }
    }
    text.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        Policy::parse(text).expect("valid policy")
    }

    /// Check `(current, candidate, accepted)` cases against `policy`.
    fn check(policy: &Policy, cases: &[(Option<&str>, &str, bool)]) {
        for &(current, candidate, accepted) in cases {
            let decision = policy.accepts(current, candidate);
            assert_eq!(
                decision.is_accepted(),
                accepted,
                "{policy} (match_prerelease {}): {current:?} -> {candidate}: {}",
                policy.match_prerelease(),
                decision.reason()
            );
        }
    }

    #[test]
    fn all_accepts_any_upgrade() {
        let cases: &[(Option<&str>, &str, bool)] = &[
            (Some("1.4.5"), "1.4.6", true),
            (Some("1.4.5"), "1.5.0", true),
            (Some("1.4.5"), "2.0.0", true),
            (Some("1.4.5"), "1.4.5", false),
            (Some("1.4.5"), "1.4.3", false),
            (Some("1.4.5"), "1.4.5+build.2", false),
            (Some("1.4"), "1.4.6", true),
            (Some("1.4.6"), "1.4", false),
            (Some("1.4.0"), "1.4", false),
            (Some("1.4.5"), "1.4.6-rc.1", true),
            (Some("1.4.6-rc.1"), "1.4.6-rc.2", true),
            (Some("1.4.6-rc.2"), "1.4.6-rc.10", true),
            (Some("1.4.6"), "1.4.6-rc.1", false),
            (Some("v1.4.5"), "v1.4.6", true),
            (Some("1.4.5"), "latest", false),
            (Some("1.4.5"), "build-42", false),
            (Some("1.4.5"), "3050", false),
            (Some("1.4.5"), "1.4.5.1", false),
            (Some("latest"), "1.0.0", true),
            (Some("build-42"), "1.0.0", false),
            (None, "0.1.0", true),
            (None, "latest", false),
        ];
        check(&policy("all"), cases);
        // `all` ignores `match_prerelease`.
        check(&policy("all").with_match_prerelease(true), cases);
    }

    #[test]
    fn major_accepts_any_upgrade_with_matching_prereleases_when_asked() {
        let cases: &[(Option<&str>, &str, bool, bool)] = &[
            // current, candidate, accepted, accepted with match_prerelease
            (Some("1.4.5"), "1.5.5", true, true),
            (Some("1.4.5"), "2.4.5", true, true),
            (Some("1.4.5"), "2.0", true, true),
            (Some("1.4.5"), "1.4.5", false, false),
            (Some("1.4.5"), "1.4.4", false, false),
            (Some("2.0.0"), "1.9.9", false, false),
            (Some("1.4.5"), "2.0.0-rc.1", true, false),
            (Some("2.0.0-rc.1"), "2.0.0", true, false),
            (Some("2.0.0-rc.1"), "2.0.0-rc.2", true, false),
            (Some("1.4.5-alpine"), "2.0.0-alpine", true, true),
            (Some("1.4.5-alpine"), "1.4.4-alpine", false, false),
            (Some("1.4.5"), "latest", false, false),
            (None, "2.0.0-rc.1", true, true),
        ];
        for &(current, candidate, plain, matching) in cases {
            check(&policy("major"), &[(current, candidate, plain)]);
            check(
                &policy("major").with_match_prerelease(true),
                &[(current, candidate, matching)],
            );
        }
    }

    #[test]
    fn minor_keeps_the_major_version() {
        let cases: &[(Option<&str>, &str, bool, bool)] = &[
            (Some("1.4.5"), "1.5.5", true, true),
            (Some("1.4.5"), "1.4.6", true, true),
            (Some("1.4.5"), "2.4.5", false, false),
            (Some("1.4.5"), "2.0.0-rc.1", false, false),
            (Some("1.4.5"), "1.4.5", false, false),
            (Some("1.4.5"), "1.3.9", false, false),
            (Some("1.4"), "1.4.6", true, true),
            (Some("1.4.6"), "1.5", true, true),
            (Some("1.4.5"), "1.4.5-xx", false, false),
            (Some("1.4.5"), "1.4.6-xx", true, false),
            (Some("v1.0.0"), "v1.0.1-metadata", true, false),
            (Some("v1.0.0-metadata"), "v1.0.1-metadata", true, true),
            (Some("1.4.5-xx"), "1.4.6-xx", true, true),
            (Some("1.4.5-xx"), "1.4.6-yy", true, false),
            (Some("1.4.5"), "1.5", true, true),
            (Some("1.4.5"), "v1", false, false),
            (Some("1.4.5"), "1.5.0.1", false, false),
            (Some("1.4.5"), "build-42", false, false),
            (None, "9.0.0", true, true),
        ];
        for &(current, candidate, plain, matching) in cases {
            check(&policy("minor"), &[(current, candidate, plain)]);
            check(
                &policy("minor").with_match_prerelease(true),
                &[(current, candidate, matching)],
            );
        }
    }

    #[test]
    fn patch_keeps_the_major_and_minor_versions() {
        let cases: &[(Option<&str>, &str, bool, bool)] = &[
            (Some("1.4.5"), "1.4.6", true, true),
            (Some("1.4.5"), "1.4.10", true, true),
            (Some("1.4.5"), "1.5.0", false, false),
            (Some("1.4.5"), "2.4.6", false, false),
            (Some("1.4.5"), "1.4.5", false, false),
            (Some("1.4.5"), "1.4.4", false, false),
            (Some("1.4"), "1.4.6", true, true),
            (Some("1.4.6"), "1.4", false, false),
            (Some("1.4.5"), "1.5", false, false),
            (Some("01.04.05"), "1.4.6", true, true),
            (Some("1.4.5"), "1.4.6-rc.1", true, false),
            (Some("1.4.6-rc.1"), "1.4.6", true, false),
            (Some("1.4.6-rc.1"), "1.4.6-rc.2", true, false),
            (Some("1.4.5-alpine"), "1.4.6-alpine", true, true),
            (Some("1.4.5"), "1.4.6+build.7", true, true),
            (Some("1.4.5"), "latest", false, false),
            (Some("latest"), "1.4.5", true, true),
            (Some("build-42"), "1.4.6", false, false),
        ];
        for &(current, candidate, plain, matching) in cases {
            check(&policy("patch"), &[(current, candidate, plain)]);
            check(
                &policy("patch").with_match_prerelease(true),
                &[(current, candidate, matching)],
            );
        }
    }

    #[test]
    fn force_and_never_ignore_the_versions() {
        let cases: &[(Option<&str>, &str)] = &[
            (Some("1.4.5"), "1.4.6"),
            (Some("1.4.5"), "1.4.4"),
            (Some("1.4.5"), "1.4.5"),
            (Some("1.4.5"), "2.0.0-rc.1"),
            (Some("1.4.6"), "1.4"),
            (Some("1.4.5"), "latest"),
            (Some("latest"), "build-42"),
            (Some("build-42"), "build-41"),
            (None, "1.0.0"),
            (None, "anything at all"),
        ];
        for match_prerelease in [false, true] {
            let force = policy("force").with_match_prerelease(match_prerelease);
            let never = policy("never").with_match_prerelease(match_prerelease);
            for &(current, candidate) in cases {
                assert!(
                    force.accepts(current, candidate).is_accepted(),
                    "{candidate}"
                );
                assert!(
                    !never.accepts(current, candidate).is_accepted(),
                    "{candidate}"
                );
            }
        }
    }

    #[test]
    fn glob_matches_the_whole_candidate() {
        let cases: &[(&str, &str, bool)] = &[
            ("glob:1.4.*", "1.4.6", true),
            ("glob:1.4.*", "1.4.", true),
            ("glob:1.4.*", "1.4", false),
            ("glob:1.4.*", "1.40.0", false),
            ("glob:1.4.*", "v1.4.6", false),
            ("glob:1.4.*", "1.4.6-rc.1", true),
            ("glob:*-rc.*", "1.4.6-rc.1", true),
            ("glob:*-rc.*", "1.4.6", false),
            ("glob:build-*", "build-42", true),
            ("glob:build-*", "latest", false),
            ("glob:*", "", true),
            ("glob:*", "latest", true),
            ("glob:latest", "latest", true),
            ("glob:latest", "latest-2", false),
            ("glob:a*a", "a", false),
            ("glob:a*a", "aa", true),
            ("glob:a*b*c", "axxbyyc", true),
            ("glob:a*b*c", "axxcyyb", false),
            ("glob:a**c", "ac", true),
            ("glob:1.?.0", "1.4.0", false),
            ("glob:1.?.0", "1.?.0", true),
            ("glob:dev:*", "dev:1", true),
        ];
        for &(text, candidate, accepted) in cases {
            let policy = policy(text);
            // The current version plays no part.
            for current in [None, Some("9.9.9"), Some("latest")] {
                assert_eq!(
                    policy.accepts(current, candidate).is_accepted(),
                    accepted,
                    "{text} {candidate}"
                );
            }
        }
    }

    #[test]
    fn regexp_finds_a_match_anywhere() {
        let cases: &[(&str, &str, bool)] = &[
            (r"regexp:^1\.4\.\d+$", "1.4.6", true),
            (r"regexp:^1\.4\.\d+$", "1.4.6-rc.1", false),
            (r"regexp:^1\.4\.\d+$", "1.40.6", false),
            (r"regexp:1\.4", "v1.4.6", true),
            (r"regexp:1\.4", "2.1.4", true),
            (r"regexp:^v?\d+\.\d+\.\d+$", "v2.0.0", true),
            (r"regexp:^v?\d+\.\d+\.\d+$", "latest", false),
            (r"regexp:-rc\.", "1.4.6-rc.1", true),
            (r"regexp:-rc\.", "1.4.6", false),
            (r"regexp:^build-\d+$", "build-42", true),
            (r"regexp:^build-\d+$", "build-x", false),
            (r"regexp:(?i)^RELEASE-", "release-1", true),
            (r"regexp:^\d+$", "١٢", false),
            (r"regexp:^main-[0-9a-f]{7}$", "main-1a2b3c4", true),
        ];
        for &(text, candidate, accepted) in cases {
            let policy = policy(text);
            for current in [None, Some("9.9.9"), Some("latest")] {
                assert_eq!(
                    policy.accepts(current, candidate).is_accepted(),
                    accepted,
                    "{text} {candidate}"
                );
            }
        }
    }

    #[test]
    fn reasons_say_why() {
        let cases: &[(&str, bool, Option<&str>, &str, Decision)] = &[
            (
                "patch",
                false,
                Some("1.2.3"),
                "1.3.0",
                Decision::Rejected(
                    "`1.3.0` changes the minor version of `1.2.3`, which policy `patch` does not allow"
                        .into(),
                ),
            ),
            (
                "minor",
                false,
                Some("1.2.3"),
                "2.0.0",
                Decision::Rejected(
                    "`2.0.0` changes the major version of `1.2.3`, which policy `minor` does not allow"
                        .into(),
                ),
            ),
            (
                "minor",
                false,
                Some("1.2.3"),
                "1.2.4",
                Decision::Accepted("`1.2.4` is newer than `1.2.3` within policy `minor`".into()),
            ),
            (
                "all",
                false,
                Some("1.2.3"),
                "1.2.3",
                Decision::Rejected(
                    "`1.2.3` is not newer than the previous version `1.2.3`".into(),
                ),
            ),
            (
                "all",
                false,
                Some("1.2.3"),
                "1.2.2",
                Decision::Rejected("`1.2.2` is older than the previous version `1.2.3`".into()),
            ),
            (
                "all",
                false,
                None,
                "1.2.2",
                Decision::Accepted("`1.2.2` has no previous version to compare with".into()),
            ),
            (
                "major",
                false,
                Some("1.2.3"),
                "latest",
                Decision::Rejected("`latest` is not a version policy `major` can compare".into()),
            ),
            (
                "major",
                false,
                Some("1.2.3"),
                "5",
                Decision::Rejected(
                    "`5` is not a version policy `major` can compare: it needs at least MAJOR.MINOR"
                        .into(),
                ),
            ),
            (
                "major",
                false,
                Some("build-42"),
                "5.0",
                Decision::Rejected(
                    "the previous version `build-42` is not a version policy `major` can compare"
                        .into(),
                ),
            ),
            (
                "patch",
                true,
                Some("1.2.3"),
                "1.2.4-rc.1",
                Decision::Rejected(
                    "`1.2.4-rc.1` has pre-release `rc.1` and `1.2.3` has no pre-release, and \
                     policy `patch` with `match_prerelease` requires the same"
                        .into(),
                ),
            ),
            (
                "glob:1.*",
                false,
                None,
                "2.0.0",
                Decision::Rejected("`2.0.0` does not match policy `glob:1.*`".into()),
            ),
            (
                "regexp:^1",
                false,
                None,
                "1.0.0",
                Decision::Accepted("`1.0.0` matches policy `regexp:^1`".into()),
            ),
            (
                "never",
                false,
                None,
                "1.0.0",
                Decision::Rejected("policy `never` accepts no version".into()),
            ),
        ];
        for (text, match_prerelease, current, candidate, expected) in cases {
            let policy = policy(text).with_match_prerelease(*match_prerelease);
            assert_eq!(&policy.accepts(*current, candidate), expected, "{text}");
        }
    }

    #[test]
    fn accepts_reading_orders_the_given_versions() {
        let old = Version::new(1, 4, 0);
        let new = Version::parse("1.4.1-rc1").expect("valid");
        let current = Some(Reading::new("01.04.00", &old));
        let candidate = Reading::new("1.4.1rc1", &new);
        // Keel cannot read `1.4.1rc1`; a caller that can passes its reading.
        assert!(
            !policy("patch")
                .accepts(Some("01.04.00"), "1.4.1rc1")
                .is_accepted()
        );
        assert_eq!(
            policy("patch").accepts_reading(current, candidate),
            Decision::Accepted("`1.4.1rc1` is newer than `01.04.00` within policy `patch`".into())
        );
        let matching = policy("patch").with_match_prerelease(true);
        assert!(!matching.accepts_reading(current, candidate).is_accepted());
        assert!(
            policy("minor")
                .accepts_reading(None, candidate)
                .is_accepted()
        );
        // A downgrade, read the same way.
        let downgrade =
            policy("all").accepts_reading(Some(candidate), Reading::new("01.04.00", &old));
        assert!(!downgrade.is_accepted());
        // Patterns match the text as written.
        assert!(
            policy("glob:*rc1")
                .accepts_reading(current, candidate)
                .is_accepted()
        );
        assert!(
            !policy("regexp:-rc")
                .accepts_reading(current, candidate)
                .is_accepted()
        );
        assert!(
            policy("force")
                .accepts_reading(current, candidate)
                .is_accepted()
        );
        assert!(
            !policy("never")
                .accepts_reading(current, candidate)
                .is_accepted()
        );
    }

    #[test]
    fn parse_rejects_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "must not be empty: expected `all`"),
            ("latest", "unknown policy `latest`: expected `all`"),
            ("Minor", "unknown policy `Minor`"),
            (" minor", "unknown policy ` minor`"),
            ("semver:^1.2", "unknown policy `semver:^1.2`"),
            ("glob:", "`glob:` needs a pattern"),
            ("regexp:", "`regexp:` needs a pattern"),
            ("regexp:(", "invalid regular expression `(`: "),
            ("regexp:[a-", "invalid regular expression `[a-`: "),
            ("regexp:\\pL", "invalid regular expression `\\pL`: "),
            (
                "regexp:a{1000}{1000}",
                "invalid regular expression `a{1000}{1000}`: ",
            ),
        ];
        for &(text, message) in cases {
            let error = Policy::parse(text).expect_err(text);
            assert!(error.starts_with(message), "{text}: {error}");
        }
        for text in [
            "all", "major", "minor", "patch", "force", "never", "glob:*", "regexp:.",
        ] {
            let policy = policy(text);
            assert_eq!(policy.to_string(), text);
            assert!(!policy.match_prerelease());
        }
        assert_ne!(policy("minor"), policy("minor").with_match_prerelease(true));
        assert_eq!(policy("regexp:^1"), policy("regexp:^1"));
    }

    #[test]
    fn coerce_reads_leniently() {
        let cases: &[(&str, Option<&str>)] = &[
            ("1.2.3", Some("1.2.3")),
            ("v1.2.3", Some("1.2.3")),
            ("1.4", Some("1.4.0")),
            ("1", Some("1.0.0")),
            ("v2", Some("2.0.0")),
            ("01.02.03", Some("1.2.3")),
            ("1.2.3-rc.1", Some("1.2.3-rc.1")),
            ("1.2-rc.1", Some("1.2.0-rc.1")),
            ("1.2.3-rc.01", Some("1.2.3-rc.1")),
            ("1.2.3-rc-1+build.5", Some("1.2.3-rc-1+build.5")),
            ("1.2.3+build-5", Some("1.2.3+build-5")),
            ("1.2.3-", None),
            ("1.2.3-rc..1", None),
            ("1.2.3+", None),
            ("1.2.3.4", None),
            ("1.2.3rc1", None),
            ("V1.2.3", None),
            ("latest", None),
            ("", None),
            ("1..2", None),
            ("18446744073709551616.0.0", None),
        ];
        for &(text, expected) in cases {
            assert_eq!(
                coerce(text).map(|version| version.to_string()),
                expected.map(str::to_string),
                "{text}"
            );
        }
    }
}
