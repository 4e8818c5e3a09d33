//! Flux-style version ranges: the constraint syntax of Flux's `ImagePolicy` `semver.range`,
//! which is Masterminds/semver v3's `NewConstraint`, reimplemented here (the `semver` crate's
//! `VersionReq` has neither `||` nor space-separated comparators, and orders pre-releases the
//! Cargo way).
//!
//! Sources: fluxcd/image-reflector-controller `internal/policy/semver.go` (a range is
//! `semver.NewConstraint(range)`, a tag is read by fluxcd/pkg `version.ParseVersion`, and a tag
//! is eligible when `Check` accepts it) and Masterminds/semver v3 `constraints.go` with its
//! tests.
//!
//! # Syntax
//!
//! - `||` separates alternatives; within one, comparators separated by spaces or one comma
//!   must all hold: `>=1.2.0 <2.0.0`, `>=1.2.0, <2.0.0 || ^3.0`.
//! - Operators: `=` (or none), `!=`, `>`, `<`, `>=` (`=>`), `<=` (`=<`), `~` (`~>`), `^`; a space
//!   may follow the operator (`>= 1.2`). A version may start with `v`.
//! - `x`, `X` or `*` stand for any number, and missing numbers do too: `1.x`, `1.2.*` and `1`
//!   are ranges (`1.2` is `1.2.*`; `=1.2` and `1.2` are `~1.2`).
//! - `A - B` (spaces around the `-`) is `>=A, <=B`; `1.2 - 2.3` admits `2.3.9`, not `2.4.0`.
//! - `~1.2.3` is `>=1.2.3 <1.3.0`, `~1.2` is `>=1.2.0 <1.3.0`, `~1` is `>=1.0.0 <2.0.0`.
//! - `^1.2.3` is `>=1.2.3 <2.0.0`, `^0.2.3` is `>=0.2.3 <0.3.0`, `^0.0.3` is `=0.0.3`, `^0.0` is
//!   `<0.1.0`, `^0` is `<1.0.0`.
//! - `>1.2` is `>=1.3.0`, `<=1.2` is `<1.3.0`, `>1` is `>=2.0.0`, `!=1.2` excludes `1.2.*`.
//! - At most 512 characters and 32 alternatives, as Masterminds allows.
//!
//! # Pre-releases
//!
//! As in Masterminds v3, and unlike npm and Cargo: a pre-release version satisfies an
//! alternative only if some comparator of that alternative names a pre-release, on any version
//! (npm and Cargo require the same MAJOR.MINOR.PATCH); it is then ordered by SemVer precedence
//! against every comparator of the alternative. So `^1.2` never admits `1.3.0-rc.1`, `^1.2.0-0`
//! admits it, and `>=1.0.0-0 <2.0.0` admits `1.5.0-beta` and even `2.0.0-rc.1`, which precedes
//! `2.0.0` (npm would admit neither). Masterminds' advice holds: add `-0` to a bound to admit
//! pre-releases.
//!
//! # Candidates
//!
//! [`Range::accepts`] reads a candidate as Flux reads a tag: strict SemVer 2.0 after one
//! optional leading `v`, so `1.4` and `01.2.3` are not versions a range can admit.
//! [`Range::accepts_reading`] takes a version the caller has read. Build metadata is ignored.
//!
//! # Differences from Masterminds
//!
//! - `^*` (and `^x`) admit every release, as Masterminds documents; its code admits only
//!   `0.0.0`.
//! - A hyphen range joins two bare versions; `>=1 - 2` is an error (Masterminds rewrites it into
//!   an invalid constraint, so it is one there too, with a stranger message).
//! - A segment mixing digits and wildcards (`1x`) is reported as such rather than as a parser
//!   error.

use std::cmp::Ordering;
use std::fmt;

use semver::{Prerelease, Version};

use super::{Decision, Reading};

/// The longest range accepted, as Masterminds' `MaxConstraintLen`.
const MAX_LEN: usize = 512;
/// The most `||` alternatives accepted, as Masterminds' `MaxConstraintGroups`.
const MAX_ALTERNATIVES: usize = 32;

/// A Flux-style range such as `^1.2` or `>=1.0.0 <2.0.0 || ^3.0.0-0`; see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct Range {
    text: String,
    alternatives: Vec<Alternative>,
}

/// Comparators that must all hold.
#[derive(Debug, Clone)]
struct Alternative {
    comparators: Vec<Comparator>,
    /// Whether a comparator names a pre-release, which lets pre-release versions in.
    prerelease: bool,
}

#[derive(Debug, Clone)]
struct Comparator {
    op: Op,
    /// The version written, with zeros for the wildcards.
    version: Version,
    wildcard: Wildcard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// The first number that is a wildcard (or missing), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wildcard {
    None,
    Major,
    Minor,
    Patch,
}

impl Range {
    /// Parse a range; the error says what is wrong, e.g.
    /// ``expected a version after `>=` at `>= bar` ``.
    pub fn parse(text: &str) -> Result<Range, String> {
        if text.len() > MAX_LEN {
            return Err(format!("is longer than {MAX_LEN} characters"));
        }
        let parts: Vec<&str> = text.split("||").collect();
        if parts.len() > MAX_ALTERNATIVES {
            return Err(format!(
                "has more than {MAX_ALTERNATIVES} alternatives (`||`)"
            ));
        }
        let alternatives = parts
            .into_iter()
            .map(|part| {
                parse_alternative(part).map_err(|why| match part.trim() {
                    "" if text.trim().is_empty() => {
                        "must not be empty: give a constraint such as `^1.2`".to_string()
                    }
                    "" => format!("`{text}` has an empty alternative around `||`"),
                    trimmed => format!("`{trimmed}`: {why}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Range {
            text: text.to_string(),
            alternatives,
        })
    }

    /// The range as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `candidate` (a tag, read as Flux reads one) is in this range.
    pub fn accepts(&self, candidate: &str) -> Decision {
        let unprefixed = candidate.strip_prefix('v').unwrap_or(candidate);
        match Version::parse(unprefixed) {
            Ok(version) => self.accepts_reading(Reading::new(candidate, &version)),
            Err(_) => Decision::Rejected(format!(
                "`{candidate}` is not a SemVer version, so range `{self}` cannot admit it"
            )),
        }
    }

    /// [`Range::accepts`] for a caller that has read the candidate already (the `semver`
    /// stage, whose `svt` mode reads more leniently than Flux).
    pub fn accepts_reading(&self, candidate: Reading<'_>) -> Decision {
        let Reading { text, version } = candidate;
        if self.contains(version) {
            Decision::Accepted(format!("`{text}` is within range `{self}`"))
        } else if !version.pre.is_empty() && !self.alternatives.iter().any(|a| a.prerelease) {
            Decision::Rejected(format!(
                "`{text}` is a pre-release and range `{self}` names none (a range admits \
                 pre-releases only where it names one, e.g. `>=1.2.0-0`)"
            ))
        } else {
            Decision::Rejected(format!("`{text}` is outside range `{self}`"))
        }
    }

    /// Whether `version` is in this range.
    pub fn contains(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|alternative| {
            (version.pre.is_empty() || alternative.prerelease)
                && alternative
                    .comparators
                    .iter()
                    .all(|comparator| comparator.matches(version))
        })
    }
}

/// Two ranges are equal when written the same: the text determines the range.
impl PartialEq for Range {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Range {}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Comparator {
    /// Masterminds' check of one comparator (pre-release admission is decided per alternative).
    fn matches(&self, v: &Version) -> bool {
        let c = &self.version;
        let order = v.cmp_precedence(c);
        match self.op {
            Op::Equal if self.wildcard == Wildcard::None => order == Ordering::Equal,
            Op::Equal | Op::Tilde => self.tilde(v, order),
            Op::NotEqual => self.not_equal(v, order),
            Op::Greater => match self.wildcard {
                Wildcard::None => order == Ordering::Greater,
                _ if v.major != c.major => v.major > c.major,
                Wildcard::Minor => false,
                Wildcard::Patch => v.minor > c.minor,
                Wildcard::Major => order == Ordering::Greater,
            },
            Op::Less => order == Ordering::Less,
            Op::GreaterEqual => order != Ordering::Less,
            Op::LessEqual => match self.wildcard {
                Wildcard::None => order != Ordering::Greater,
                Wildcard::Minor => v.major <= c.major,
                Wildcard::Major | Wildcard::Patch => {
                    v.major < c.major || (v.major == c.major && v.minor <= c.minor)
                }
            },
            Op::Caret => self.caret(v, order),
        }
    }

    fn tilde(&self, v: &Version, order: Ordering) -> bool {
        let c = &self.version;
        if order == Ordering::Less {
            return false;
        }
        // `~0.0.0` and `~*` admit everything from 0.0.0 on.
        let zero = c.major == 0 && c.minor == 0 && c.patch == 0;
        if zero && !matches!(self.wildcard, Wildcard::Minor | Wildcard::Patch) {
            return true;
        }
        v.major == c.major && (self.wildcard == Wildcard::Minor || v.minor == c.minor)
    }

    fn caret(&self, v: &Version, order: Ordering) -> bool {
        let c = &self.version;
        if order == Ordering::Less {
            return false;
        }
        match self.wildcard {
            Wildcard::Major => true,
            _ if c.major > 0 || self.wildcard == Wildcard::Minor => v.major == c.major,
            _ if v.major > 0 => false,
            _ if c.minor > 0 || self.wildcard == Wildcard::Patch => v.minor == c.minor,
            _ => v.minor == 0 && v.patch == c.patch,
        }
    }

    fn not_equal(&self, v: &Version, order: Ordering) -> bool {
        let c = &self.version;
        if self.wildcard != Wildcard::None {
            if v.major != c.major {
                return true;
            }
            if self.wildcard == Wildcard::Minor {
                return false;
            }
            if v.minor != c.minor {
                return true;
            }
            if self.wildcard == Wildcard::Patch {
                return v.pre != c.pre;
            }
            if v.patch != c.patch {
                return true;
            }
        }
        order != Ordering::Equal
    }
}

/// Parse one `||` alternative: comparators separated by spaces or one comma, and hyphen ranges.
fn parse_alternative(text: &str) -> Result<Alternative, String> {
    let mut cursor = Cursor { text, at: 0 };
    let mut comparators = Vec::new();
    cursor.skip_spaces();
    let (mut comparator, mut bare) = cursor.comparator()?;
    loop {
        let spaced = cursor.skip_spaces();
        if cursor.done() {
            comparators.push(comparator);
            break;
        }
        if cursor.eat(',') {
            comparators.push(comparator);
            cursor.skip_spaces();
            (comparator, bare) = cursor.comparator()?;
        } else if !spaced {
            return Err(format!(
                "expected a space or a comma before `{}`",
                cursor.rest()
            ));
        } else if cursor.rest().starts_with('-') {
            // `A - B`: `>=A, <=B`, both bare versions.
            cursor.eat('-');
            if !bare {
                return Err("a hyphen range joins two versions without operators".to_string());
            }
            if !cursor.skip_spaces() {
                return Err(format!(
                    "expected a space after the `-` of a hyphen range, at `-{}`",
                    cursor.rest()
                ));
            }
            let (upper, upper_bare) = cursor.comparator()?;
            if !upper_bare {
                return Err("a hyphen range joins two versions without operators".to_string());
            }
            comparator.op = Op::GreaterEqual;
            comparators.push(comparator);
            comparator = Comparator {
                op: Op::LessEqual,
                ..upper
            };
            // `1 - 2 - 3` is not a range.
            bare = false;
        } else {
            comparators.push(comparator);
            (comparator, bare) = cursor.comparator()?;
        }
    }
    let prerelease = comparators.iter().any(|c| !c.version.pre.is_empty());
    Ok(Alternative {
        comparators,
        prerelease,
    })
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

/// One number of a version in a range.
enum Number {
    Value(u64),
    Any,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn done(&self) -> bool {
        self.at == self.text.len()
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.rest().starts_with(c);
        if found {
            self.at += c.len_utf8();
        }
        found
    }

    /// Skip ASCII whitespace (Go's `\s`); whether there was any.
    fn skip_spaces(&mut self) -> bool {
        let start = self.at;
        let skipped = self.rest().len() - self.rest().trim_start_matches(is_space).len();
        self.at += skipped;
        self.at > start
    }

    /// An operator (or none), spaces, then a version; and whether no operator was written.
    fn comparator(&mut self) -> Result<(Comparator, bool), String> {
        const OPS: [(&str, Op); 12] = [
            ("!=", Op::NotEqual),
            (">=", Op::GreaterEqual),
            ("=>", Op::GreaterEqual),
            ("<=", Op::LessEqual),
            ("=<", Op::LessEqual),
            ("~>", Op::Tilde),
            (">", Op::Greater),
            ("<", Op::Less),
            ("=", Op::Equal),
            ("~", Op::Tilde),
            ("^", Op::Caret),
            ("", Op::Equal),
        ];
        let start = self.rest();
        let (written, op) = OPS
            .into_iter()
            .find(|(written, _)| start.starts_with(written))
            .unwrap_or(("", Op::Equal));
        self.at += written.len();
        self.skip_spaces();
        let (version, wildcard) = self.version(written)?;
        Ok((
            Comparator {
                op,
                version,
                wildcard,
            },
            written.is_empty(),
        ))
    }

    /// `v?` then one to three numbers or wildcards, then an optional `-pre` and `+build`;
    /// `after` is the operator before it, for messages.
    fn version(&mut self, after: &str) -> Result<(Version, Wildcard), String> {
        let start = self.at;
        self.eat('v');
        let mut numbers = Vec::with_capacity(3);
        loop {
            numbers.push(self.number().map_err(|why| {
                let written = &self.text[start..];
                let written = written.split(is_space).next().unwrap_or(written);
                let context = match after {
                    "" => String::new(),
                    op => format!("after `{op}`, "),
                };
                format!(
                    "{context}expected a version such as `1.2.3`, `1.x` or `*` at `{written}`: {why}"
                )
            })?);
            if numbers.len() == 3 || !self.eat('.') {
                break;
            }
        }
        let pre = if self.eat('-') {
            match self.identifiers() {
                "" => return Err("a `-` must be followed by a pre-release".to_string()),
                identifiers => Prerelease::new(identifiers)
                    .map_err(|error| format!("invalid pre-release `{identifiers}`: {error}"))?,
            }
        } else {
            Prerelease::EMPTY
        };
        if self.eat('+') {
            match self.identifiers() {
                "" => return Err("a `+` must be followed by build metadata".to_string()),
                identifiers => {
                    semver::BuildMetadata::new(identifiers).map_err(|error| {
                        format!("invalid build metadata `{identifiers}`: {error}")
                    })?;
                }
            }
        }
        if let Some(next) = self.rest().chars().next()
            && !is_space(next)
            && next != ','
        {
            return Err(format!(
                "unexpected `{next}` after the version `{}`",
                &self.text[start..self.at]
            ));
        }
        // The numbers after the first wildcard (or missing one) are ignored, as in Masterminds.
        let wildcard = match numbers.iter().position(|n| matches!(n, Number::Any)) {
            Some(0) => Wildcard::Major,
            Some(1) => Wildcard::Minor,
            Some(_) => Wildcard::Patch,
            None if numbers.len() == 1 => Wildcard::Minor,
            None if numbers.len() == 2 => Wildcard::Patch,
            None => Wildcard::None,
        };
        let cut = match wildcard {
            Wildcard::Major => 0,
            Wildcard::Minor => 1,
            Wildcard::Patch => 2,
            Wildcard::None => 3,
        };
        let at = |index: usize| match numbers.get(index) {
            Some(Number::Value(n)) if index < cut => *n,
            _ => 0,
        };
        Ok((
            Version {
                major: at(0),
                minor: at(1),
                patch: at(2),
                pre,
                build: semver::BuildMetadata::EMPTY,
            },
            wildcard,
        ))
    }

    /// Digits (leading zeros allowed), or one of `x`, `X`, `*`.
    fn number(&mut self) -> Result<Number, String> {
        let rest = self.rest();
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let number = if digits > 0 {
            let number = rest[..digits]
                .parse()
                .map_err(|_| format!("`{}` is too large", &rest[..digits]))?;
            self.at += digits;
            Number::Value(number)
        } else if rest.starts_with(['x', 'X', '*']) {
            self.at += 1;
            Number::Any
        } else {
            return Err("expected a number, `x`, `X` or `*`".to_string());
        };
        if self
            .rest()
            .starts_with(|c: char| c.is_ascii_digit() || "xX*".contains(c))
        {
            return Err("a number mixes digits and wildcards".to_string());
        }
        Ok(number)
    }

    /// The run of `[0-9A-Za-z.-]` at the cursor (validated by the caller).
    fn identifiers(&mut self) -> &str {
        let rest = self.rest();
        let len = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                .len();
        let start = self.at;
        self.at += len;
        &self.text[start..self.at]
    }
}

/// Go's `\s` in an ASCII pattern: space, `\t`, `\n`, `\f`, `\r` (`\v` excluded, as in Go).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0C' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> Range {
        Range::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn version(text: &str) -> Version {
        Version::parse(text).expect("test versions are valid")
    }

    /// Cases from Masterminds/semver v3's own constraint tests (with versions written in full,
    /// since a Flux candidate is strict SemVer), then trackway's.
    #[test]
    fn contains_table() {
        let cases: &[(&str, &str, bool)] = &[
            // Equality and wildcards.
            ("=2.0.0", "1.2.3", false),
            ("=2.0.0", "2.0.0", true),
            ("=2.0", "2.0.1", true),
            ("4.1", "4.1.0", true),
            ("4.1.x", "4.1.3", true),
            ("1.x", "1.4.0", true),
            ("2.*", "3.4.5", false),
            ("2.1.*", "2.1.1", true),
            ("2.1.*", "2.2.1", false),
            ("2", "2.1.1", true),
            ("2", "3.0.0", false),
            ("*", "4.5.6", true),
            ("*", "1.2.3-alpha.1", false),
            ("*-0", "1.2.3-alpha.1", true),
            ("0.x.x", "1.2.3", false),
            ("0.0.x", "1.2.3", false),
            ("v1.2.3", "1.2.3", true),
            ("=1.2.3+build.5", "1.2.3", true),
            ("1.2.3", "1.2.3+build.9", true),
            // Not equal.
            ("!=4.1.0", "4.1.0", false),
            ("!=4.1.0", "4.1.1", true),
            ("!=4.1", "4.1.1", false),
            ("!=4.1", "5.1.0", true),
            ("!=4.x", "4.1.0", false),
            ("!=4.x", "5.1.0", true),
            ("!=4.1-alpha", "4.1.0", true),
            ("!=4.1-alpha", "4.1.0-alpha", false),
            ("!=4.1-alpha", "4.1.1-alpha", false),
            // Comparisons, with the missing numbers as wildcards.
            ("<11", "0.1.0", true),
            ("<11", "11.1.0", false),
            ("<1.1", "1.1.1", false),
            ("<1.x", "0.1.1", true),
            ("<1.x", "1.1.1", false),
            ("<1.1.x", "1.0.500", true),
            ("<=11", "11.2.3", true),
            ("<=11", "12.2.3", false),
            ("<=1.1", "1.1.1", true),
            ("<=1.1", "1.2.3", false),
            ("<=4.5", "3.7.0", true),
            ("<=4.5", "4.6.3", false),
            ("<=2.x", "3.0.0", false),
            ("<=1.1.x", "1.2.500", false),
            (">1.1", "1.1.0", false),
            (">1.1", "4.1.0", true),
            (">11", "11.1.0", false),
            (">11.1", "11.1.1", false),
            (">11.1", "11.2.1", true),
            (">0", "1.0.0", true),
            (">0", "0.0.1-alpha", false),
            (">0.0.0-0", "0.0.0-alpha", true),
            (">1.2.3-alpha.1", "1.3.3-alpha.2", true),
            (">=11.1", "11.0.2", false),
            (">=1.1", "4.1.0-beta", false),
            (">=0-0", "0.0.1-alpha", true),
            (">=0.0.0-0", "3.4.5-beta.1", true),
            ("<0-z", "0.0.0-alpha", true),
            ("=> 1.2", "1.2.0", true),
            ("=< 1.2", "1.2.9", true),
            // Tilde.
            ("~1.2.3", "1.2.5", true),
            ("~1.2.3", "1.2.2", false),
            ("~1.2.3", "1.3.2", false),
            ("~1.2", "1.2.4", true),
            ("~1.2", "1.3.4", false),
            ("~1", "1.3.5", true),
            ("~1", "2.1.1", false),
            ("~1.x", "1.3.5-beta", false),
            ("~*", "2.1.1", true),
            ("~0.0.0", "1.2.3", true),
            ("~> 1.2.3", "1.2.9", true),
            ("~1.2.3-beta.2", "1.2.4-beta.2", true),
            ("~1.2.3-beta.2", "1.3.4-beta.2", false),
            ("~1.1.1-beta", "1.1.1-alpha", false),
            ("~1.1.1-beta", "1.1.1", true),
            // Caret.
            ("^1.2.3", "1.8.9", true),
            ("^1.2.3", "2.8.9", false),
            ("^1.2.3", "1.2.1", false),
            ("^1.2", "1.8.9", true),
            ("^1", "2.8.9", false),
            ("^1.x", "1.1.1", true),
            ("^1.x", "1.1.1-beta1", false),
            ("^1.2.0", "1.2.1-alpha.1", false),
            ("^1.2.0-alpha.0", "1.2.1-alpha.1", true),
            ("^1.2.0-alpha.2", "1.2.0-alpha.1", false),
            ("^1.1.2-alpha", "1.2.1-beta1", true),
            ("^1.2.x-alpha", "1.1.1-beta1", false),
            ("^0.2.3", "0.2.5", true),
            ("^0.2.3", "0.5.6", false),
            ("^0.2", "0.2.5", true),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0.0", "0.0.3", true),
            ("^0.0", "0.1.4", false),
            ("^0", "0.2.3", true),
            ("^0", "1.1.4", false),
            ("^0.0.0", "1.2.3", false),
            ("^0.2.3-beta.2", "0.2.4-beta.2", true),
            ("^0.2.3-beta.2", "0.3.4-beta.2", false),
            ("^*", "3.1.4", true),
            // AND with spaces or commas, OR, hyphen ranges.
            (">1.1, <2", "1.1.1", false),
            (">1.1, <2", "1.2.1", true),
            (">1.1 <2", "1.2.1", true),
            (">1.1    <3", "4.3.2", false),
            (">= 1.1, <     2, != 1.2.3", "1.2.3", false),
            (">=1.1 <2 !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1 <2 !=1.2.3 || > 3", "3.1.2", false),
            (">=1.1 <2 !=1.2.3 || >= 3", "3.0.0", true),
            (">=1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
            ("1.1 - 2", "1.1.1", true),
            ("1.5.0 - 4.5", "4.5.9", true),
            ("1.5.0 - 4.5", "4.6.0", false),
            ("1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true),
            ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true),
            ("3 - 4 || => 3.0, < 4", "4.9.9", true),
            ("1.1-3", "4.3.2", false),
            // The usual Flux policies.
            (">=1.0.0 <2.0.0", "1.9.9", true),
            (">=1.0.0 <2.0.0", "2.0.0", false),
            (">=1.0.0 <2.0.0", "1.5.0-rc.1", false),
            (">=1.0.0-0 <2.0.0", "1.5.0-rc.1", true),
            (">=1.0.0-0 <2.0.0", "2.0.0-rc.1", true),
            (">=1.0.0-0 <2.0.0", "2.0.0", false),
            ("^1.2 || ^2.0", "2.3.0", true),
            ("^1.2 || ^2.0", "3.0.0", false),
            ("^1.2 || ^2.0.0-0", "2.0.0-rc.1", true),
            ("^1.2 || ^2.0.0-0", "1.3.0-rc.1", false),
        ];
        for &(text, candidate, expected) in cases {
            assert_eq!(
                range(text).contains(&version(candidate)),
                expected,
                "{text} {candidate}"
            );
        }
    }

    #[test]
    fn accepts_reads_candidates_as_flux_does() {
        let cases: &[(&str, &str, Decision)] = &[
            (
                "^1.2",
                "1.4.0",
                Decision::Accepted("`1.4.0` is within range `^1.2`".into()),
            ),
            (
                "^1.2",
                "v1.4.0",
                Decision::Accepted("`v1.4.0` is within range `^1.2`".into()),
            ),
            (
                "^1.2",
                "2.0.0",
                Decision::Rejected("`2.0.0` is outside range `^1.2`".into()),
            ),
            (
                "^1.2",
                "1.4.0-rc.1",
                Decision::Rejected(
                    "`1.4.0-rc.1` is a pre-release and range `^1.2` names none (a range admits \
                     pre-releases only where it names one, e.g. `>=1.2.0-0`)"
                        .into(),
                ),
            ),
            (
                "^1.2.0-0",
                "2.0.0-rc.1",
                Decision::Rejected("`2.0.0-rc.1` is outside range `^1.2.0-0`".into()),
            ),
            (
                "^1.2",
                "1.4",
                Decision::Rejected(
                    "`1.4` is not a SemVer version, so range `^1.2` cannot admit it".into(),
                ),
            ),
            (
                "*",
                "latest",
                Decision::Rejected(
                    "`latest` is not a SemVer version, so range `*` cannot admit it".into(),
                ),
            ),
            (
                "*",
                "01.2.3",
                Decision::Rejected(
                    "`01.2.3` is not a SemVer version, so range `*` cannot admit it".into(),
                ),
            ),
            (
                "*",
                "V1.2.3",
                Decision::Rejected(
                    "`V1.2.3` is not a SemVer version, so range `*` cannot admit it".into(),
                ),
            ),
        ];
        for (text, candidate, expected) in cases {
            assert_eq!(
                &range(text).accepts(candidate),
                expected,
                "{text} {candidate}"
            );
        }
    }

    #[test]
    fn accepts_reading_checks_the_given_version() {
        let coerced = version("1.4.2-rc1");
        let candidate = Reading::new("1.4.2rc1", &coerced);
        assert!(!range("^1.4.0-0").accepts("1.4.2rc1").is_accepted());
        assert_eq!(
            range("^1.4.0-0").accepts_reading(candidate),
            Decision::Accepted("`1.4.2rc1` is within range `^1.4.0-0`".into())
        );
        assert!(!range("^1.4").accepts_reading(candidate).is_accepted());
        let leading_zeros = version("1.4.1");
        assert!(
            range("~1.4")
                .accepts_reading(Reading::new("01.04.01", &leading_zeros))
                .is_accepted()
        );
    }

    #[test]
    fn parse_accepts_what_flux_accepts() {
        for text in [
            "1.0.x",
            "^1.0",
            "=1.0.0",
            "~1.0",
            ">=1.0",
            ">0,<2.0",
            ">= 1.2.3 < 2.0",
            ">= 1.2.3, < 2.0 || => 3.0, < 4",
            "3 - 4 || => 3.0, < 4",
            "12.3.34 ~1.2.3",
            "v2.3.5-20161202202307-sha.e8fc5e5",
            " ^1.2 ",
            "1.0.0 - 2.0.0, <=2.0.0",
            "*",
            "x",
            "X.X.X",
            "~> 1.2",
            "^1.2 ||^2",
            "\t>=1\n",
            "^1.2 ^ 2.0 = 1 ~ 2",
        ] {
            let parsed = range(text);
            assert_eq!(parsed.to_string(), text);
            assert_eq!(parsed, range(text));
        }
    }

    #[test]
    fn parse_rejects_with_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "must not be empty: give a constraint such as `^1.2`"),
            ("   ", "must not be empty: give a constraint such as `^1.2`"),
            (
                "1.0.0p",
                "`1.0.0p`: unexpected `p` after the version `1.0.0`",
            ),
            (
                "1x",
                "`1x`: expected a version such as `1.2.3`, `1.x` or `*` at `1x`: a number mixes digits and wildcards",
            ),
            (
                "x1",
                "`x1`: expected a version such as `1.2.3`, `1.x` or `*` at `x1`: a number mixes digits and wildcards",
            ),
            (
                "-1",
                "`-1`: expected a version such as `1.2.3`, `1.x` or `*` at `-1`: expected a number, `x`, `X` or `*`",
            ),
            (
                "a",
                "`a`: expected a version such as `1.2.3`, `1.x` or `*` at `a`: expected a number, `x`, `X` or `*`",
            ),
            (
                ">= bar",
                "`>= bar`: after `>=`, expected a version such as `1.2.3`, `1.x` or `*` at `bar`: expected a number, `x`, `X` or `*`",
            ),
            ("BAR >= 1.2.3", "`BAR >= 1.2.3`: expected a version such as"),
            (
                "12.3.4.1234",
                "`12.3.4.1234`: unexpected `.` after the version `12.3.4`",
            ),
            (
                "12.3.34~ 1.2.3",
                "`12.3.34~ 1.2.3`: unexpected `~` after the version `12.3.34`",
            ),
            (
                ">=1.0<2.0",
                "`>=1.0<2.0`: unexpected `<` after the version `1.0`",
            ),
            (">=1.0,,<2.0", "`>=1.0,,<2.0`: expected a version such as"),
            (">=1.0,", "`>=1.0,`: expected a version such as"),
            ("^1.2 ||", "`^1.2 ||` has an empty alternative around `||`"),
            ("|| ^1.2", "`|| ^1.2` has an empty alternative around `||`"),
            (
                "^1.2 | ^2",
                "`^1.2 | ^2`: expected a version such as `1.2.3`, `1.x` or `*` at `|`",
            ),
            (
                "^1.2|^2",
                "`^1.2|^2`: unexpected `|` after the version `1.2`",
            ),
            (
                ">=1 - 2",
                "`>=1 - 2`: a hyphen range joins two versions without operators",
            ),
            (
                "1 - >=2",
                "`1 - >=2`: a hyphen range joins two versions without operators",
            ),
            (
                "1 -2",
                "`1 -2`: expected a space after the `-` of a hyphen range, at `-2`",
            ),
            (
                "1.2.3-",
                "`1.2.3-`: a `-` must be followed by a pre-release",
            ),
            (
                "1.2.3-rc..1",
                "`1.2.3-rc..1`: invalid pre-release `rc..1`: ",
            ),
            ("1.2.3-01", "`1.2.3-01`: invalid pre-release `01`: "),
            (
                "1.2.3+",
                "`1.2.3+`: a `+` must be followed by build metadata",
            ),
            (
                "1.2.3+a..b",
                "`1.2.3+a..b`: invalid build metadata `a..b`: ",
            ),
            (
                "^99999999999999999999",
                "`^99999999999999999999`: after `^`, expected a version such as `1.2.3`, `1.x` or `*` at `99999999999999999999`: `99999999999999999999` is too large",
            ),
        ];
        for &(text, message) in cases {
            let error = Range::parse(text).map(|_| ()).expect_err(text);
            assert!(error.starts_with(message), "{text}: {error}");
        }
        let long = format!("^1.2.3{}", " ".repeat(MAX_LEN));
        assert_eq!(
            Range::parse(&long).map(|_| ()),
            Err("is longer than 512 characters".to_string())
        );
        let many = vec!["^1"; MAX_ALTERNATIVES + 1].join("||");
        assert_eq!(
            Range::parse(&many).map(|_| ()),
            Err("has more than 32 alternatives (`||`)".to_string())
        );
        assert!(Range::parse(&vec!["^1"; MAX_ALTERNATIVES].join("||")).is_ok());
    }
}
