//! The version rule of the Stack Versions Tracker (SVT), the Flask and MongoDB tracker trackway
//! replaces, for the `svt` validation mode: teams that migrate keep sending what SVT accepted.
//!
//! SVT's `/create` route accepted a version when Python's `re.search` found [`RULE`] in it:
//! three dot-separated runs of ASCII digits, then any run of `+`, `-` and ASCII letters and
//! digits. The rule is not in SVT's README; it was recovered from SVT's source (the
//! `VERSION_REGEX_PATTERN` of `app.py`, later `utils/vars.py`, unchanged from the first versions
//! to `1.0.0-RC1`, and exercised by its `test_regex.py`).
//!
//! So SVT accepted versions SemVer rejects (`01.2.3`, `1.2.3rc1`, `1.2.3-`, `1.2.3+a+b`) and
//! rejected some SemVer accepts: its suffix has no `.`, so `1.2.3-rc.1` fails, and so do `1.2`
//! and `v1.2.3`. This module keeps both sides, with one exception: Python's `$` also matches
//! before a final newline, so SVT took `"1.2.3\n"`; here a trailing newline is rejected, since a
//! version with one is a client bug, not a version.
//!
//! A version that matches the rule but is not SemVer is [`coerce`]d for classification: the
//! three numbers (leading zeros dropped), the suffix up to the first `+` as the pre-release
//! (one leading `-` dropped), the rest as build metadata. Pure: no host calls, no events.

use semver::{BuildMetadata, Prerelease, Version};

/// SVT's pattern, as it appears in its source (matched with Python's `re.search`).
pub const RULE: &str = r"^[0-9]+\.[0-9]+\.[0-9]+[+0-9A-Za-z-]*$";

/// Whether `text` matches [`RULE`].
pub fn matches(text: &str) -> bool {
    split(text).is_some()
}

/// The SemVer version a text matching [`RULE`] stands for, e.g. `01.2.3rc1` -> `1.2.3-rc1`,
/// `1.2.3+a+b` -> `1.2.3+a.b`. `None` when `text` does not match the rule, or a number does not
/// fit in 64 bits.
pub fn coerce(text: &str) -> Option<Version> {
    let (numbers, suffix) = split(text)?;
    let [major, minor, patch] = numbers;
    let (pre, build) = suffix.split_once('+').unwrap_or((suffix, ""));
    let pre = pre.strip_prefix('-').unwrap_or(pre);
    // The suffix has no `.`, so the pre-release is one identifier; a numeric one must not have
    // leading zeros in SemVer, and dropping them keeps its numeric order.
    let pre = match pre.trim_start_matches('0') {
        "" if !pre.is_empty() => "0",
        digits if pre.bytes().all(|b| b.is_ascii_digit()) => digits,
        _ => pre,
    };
    let build: Vec<&str> = build.split('+').filter(|part| !part.is_empty()).collect();
    Some(Version {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        patch: patch.parse().ok()?,
        pre: if pre.is_empty() {
            Prerelease::EMPTY
        } else {
            Prerelease::new(pre).ok()?
        },
        build: if build.is_empty() {
            BuildMetadata::EMPTY
        } else {
            BuildMetadata::new(&build.join(".")).ok()?
        },
    })
}

/// The three numbers and the suffix of a text matching [`RULE`].
fn split(text: &str) -> Option<([&str; 3], &str)> {
    let mut rest = text;
    let mut numbers = [""; 3];
    for (index, number) in numbers.iter_mut().enumerate() {
        if index > 0 {
            rest = rest.strip_prefix('.')?;
        }
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        (*number, rest) = rest.split_at(end);
    }
    rest.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-')
        .then_some((numbers, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every version listed in SVT's own `test_regex.py`, with what its pattern answers under
    /// Python 3's `re.search`, then a few more (checked the same way, but for the newline).
    #[test]
    fn matches_what_svt_matched() {
        let cases: &[(&str, bool)] = &[
            ("0.0.0", true),
            ("0.0.1", true),
            ("0.1.2", true),
            ("9.9.9-aaa", true),
            ("9.9.9-AAA", true),
            ("9.9.9-Aaa", true),
            ("9.9.9-Aaa123", true),
            ("9.9.9+aaa", true),
            ("9.9.9+AAA", true),
            ("9.9.9+Aaa", true),
            ("20.19.4+Abcdef145", true),
            ("0.9.4-lowercase+build-label", true),
            ("0.9.4-l0w3rc4s3-and-numbers+build-label", true),
            ("0.9.4-UPP3RCASE-AND-NUMBERS+buidlowercase", true),
            ("0.9.4-UPPERCASE+buidlowercase", true),
            ("0.9.4-UPPERCASEPRERELEASE+BUILDUPPERCASE", true),
            ("0.9.4-TEST1235+Akindof23.Bad.Test", false),
            ("0.9.4-TEST1235+Another123*bAd*Test", false),
            ("0.9.4-TEST1235+Another123 baD Test", false),
            (" 0.9.4", false),
            ("0. 9.4", false),
            ("0.9 .4", false),
            ("0.9.4 ", false),
            ("µ/0.9.4", false),
            ("+0.9.4", false),
            ("0.9+.4", false),
            ("0.9.4+", true),
            ("-0.9.4", false),
            ("0.9-.4", false),
            ("0.9.4-", true),
            ("a.9.4", false),
            ("0.b.4", false),
            ("0.9.c", false),
            ("0.9.4//..", false),
            ("a.b.c", false),
            ("(..9.4", false),
            ("...4", false),
            // The seed's example, and what SemVer and SVT disagree on.
            ("5.27.94", true),
            ("01.02.03", true),
            ("1.2.3rc1", true),
            ("1.2.3-rc.1", false),
            ("1.2", false),
            ("1.2.3.4", false),
            ("v1.2.3", false),
            ("", false),
            // Python's `$` matches before a final newline; this rule does not.
            ("1.2.3\n", false),
            ("١.٢.٣", false),
        ];
        for &(text, expected) in cases {
            assert_eq!(matches(text), expected, "{text:?}");
        }
    }

    #[test]
    fn coerces_to_semver() {
        let cases: &[(&str, Option<&str>)] = &[
            ("5.27.94", Some("5.27.94")),
            ("01.02.03", Some("1.2.3")),
            ("1.2.3rc1", Some("1.2.3-rc1")),
            ("1.2.3-rc1", Some("1.2.3-rc1")),
            ("1.2.3-", Some("1.2.3")),
            ("1.2.3--", Some("1.2.3--")),
            ("1.2.3-007", Some("1.2.3-7")),
            ("1.2.3-000", Some("1.2.3-0")),
            ("1.2.3+", Some("1.2.3")),
            ("1.2.3++", Some("1.2.3")),
            ("1.2.3+a+b", Some("1.2.3+a.b")),
            ("1.2.3-a+b-c+d", Some("1.2.3-a+b-c.d")),
            (
                "0.9.4-UPPERCASE+buidlowercase",
                Some("0.9.4-UPPERCASE+buidlowercase"),
            ),
            ("1.2.18446744073709551616", None),
            ("1.2", None),
            ("1.2.3-rc.1", None),
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
