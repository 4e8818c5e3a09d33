//! Pure SemVer logic: parsing a version strictly and classifying it against the previous one.
//!
//! No host calls and no events here, so it is unit-tested natively and benchmarked by the host
//! as is.

use std::cmp::Ordering;
use std::fmt;

use semver::Version;

/// How a version relates to the previous version seen for the same subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bump {
    /// No previous version.
    Initial,
    /// Higher major number, e.g. `1.9.0` -> `2.0.0`.
    Major,
    /// Same major, higher minor, e.g. `1.2.3` -> `1.3.0`.
    Minor,
    /// Same major and minor, higher patch, e.g. `1.2.3` -> `1.2.4`.
    Patch,
    /// Same major, minor and patch, higher pre-release: `1.2.3-rc.1` -> `1.2.3-rc.2`, or
    /// the release itself, `1.2.3-rc.1` -> `1.2.3`.
    Prerelease,
    /// Equal precedence (build metadata ignored), e.g. `1.2.3+a` -> `1.2.3+b`.
    Same,
    /// Lower precedence than the previous version, e.g. `1.2.3` -> `1.2.3-rc.1`.
    Downgrade,
}

impl Bump {
    /// The value of the `semver.bump` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::Initial => "initial",
            Bump::Major => "major",
            Bump::Minor => "minor",
            Bump::Patch => "patch",
            Bump::Prerelease => "prerelease",
            Bump::Same => "same",
            Bump::Downgrade => "downgrade",
        }
    }
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classify `current` against `previous` by SemVer 2.0 precedence (build metadata ignored).
/// The largest component that grew names the bump: `1.2.3` -> `2.0.0-rc.1` is `major`.
pub fn classify(previous: Option<&Version>, current: &Version) -> Bump {
    let Some(previous) = previous else {
        return Bump::Initial;
    };
    match current.cmp_precedence(previous) {
        Ordering::Less => Bump::Downgrade,
        Ordering::Equal => Bump::Same,
        Ordering::Greater if current.major != previous.major => Bump::Major,
        Ordering::Greater if current.minor != previous.minor => Bump::Minor,
        Ordering::Greater if current.patch != previous.patch => Bump::Patch,
        Ordering::Greater => Bump::Prerelease,
    }
}

/// Parse `text` as a SemVer 2.0 version: `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, no leading
/// zeros, no whitespace. With `allow_v_prefix`, one leading `v` is accepted (`v1.2.3`). The
/// error is the reason, e.g. `invalid leading zero in major version number`.
pub fn parse(text: &str, allow_v_prefix: bool) -> Result<Version, String> {
    let unprefixed = match text.strip_prefix('v') {
        Some(rest) if allow_v_prefix => rest,
        Some(_) => {
            return Err(
                "a `v` prefix is not part of SemVer (set `allow_v_prefix = true` to accept it)"
                    .to_string(),
            );
        }
        None => text,
    };
    Version::parse(unprefixed).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        Version::parse(text).expect("test versions are valid")
    }

    #[test]
    fn classify_table() {
        let cases: &[(Option<&str>, &str, Bump)] = &[
            (None, "1.2.3", Bump::Initial),
            (None, "0.0.0-alpha", Bump::Initial),
            (Some("1.9.9"), "2.0.0", Bump::Major),
            (Some("1.2.3"), "2.0.0-rc.1", Bump::Major),
            (Some("0.9.0"), "1.0.0", Bump::Major),
            (Some("1.2.3"), "1.3.0", Bump::Minor),
            (Some("1.2.3"), "1.10.0", Bump::Minor),
            (Some("1.2.3"), "1.3.0-beta", Bump::Minor),
            (Some("1.2.3"), "1.2.4", Bump::Patch),
            (Some("1.2.3-rc.1"), "1.2.4", Bump::Patch),
            (Some("1.2.3-rc.1"), "1.2.3-rc.2", Bump::Prerelease),
            (Some("1.2.3-rc.1"), "1.2.3", Bump::Prerelease),
            (Some("1.2.3-alpha"), "1.2.3-beta", Bump::Prerelease),
            (Some("1.2.3-rc.9"), "1.2.3-rc.10", Bump::Prerelease),
            (Some("1.2.3"), "1.2.3", Bump::Same),
            (Some("1.2.3-rc.1"), "1.2.3-rc.1", Bump::Same),
            (Some("1.2.3"), "1.2.2", Bump::Downgrade),
            (Some("2.0.0"), "1.9.9", Bump::Downgrade),
            (Some("1.2.3"), "1.2.3-rc.1", Bump::Downgrade),
            (Some("1.2.3-rc.2"), "1.2.3-rc.1", Bump::Downgrade),
            (Some("1.2.3-rc.10"), "1.2.3-rc.9", Bump::Downgrade),
            // Build metadata does not take part in precedence.
            (Some("1.2.3+build.1"), "1.2.3+build.2", Bump::Same),
            (Some("1.2.3+build.2"), "1.2.3+build.1", Bump::Same),
            (Some("1.2.3"), "1.2.3+sha.abc", Bump::Same),
            (Some("1.2.3+zzz"), "1.2.4+aaa", Bump::Patch),
            (Some("1.2.4+aaa"), "1.2.3+zzz", Bump::Downgrade),
        ];
        for &(previous, current, expected) in cases {
            let previous = previous.map(version);
            let got = classify(previous.as_ref(), &version(current));
            assert_eq!(got, expected, "{previous:?} -> {current}");
        }
    }

    #[test]
    fn parse_accepts_semver() {
        let cases: &[(&str, bool, &str)] = &[
            ("1.2.3", false, "1.2.3"),
            ("0.0.0", false, "0.0.0"),
            ("1.2.3-rc.1", false, "1.2.3-rc.1"),
            ("1.2.3-0.alpha-1", false, "1.2.3-0.alpha-1"),
            ("1.2.3+build.001", false, "1.2.3+build.001"),
            ("1.2.3-rc.1+sha.5114f85", false, "1.2.3-rc.1+sha.5114f85"),
            ("v1.2.3", true, "1.2.3"),
            ("1.2.3", true, "1.2.3"),
        ];
        for &(text, allow_v_prefix, normalized) in cases {
            let parsed = parse(text, allow_v_prefix);
            assert_eq!(
                parsed.as_ref().map(ToString::to_string),
                Ok(normalized.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn parse_rejects_with_the_reason() {
        let cases: &[(&str, bool, &str)] = &[
            (
                "01.2.3",
                false,
                "invalid leading zero in major version number",
            ),
            (
                "1.02.3",
                false,
                "invalid leading zero in minor version number",
            ),
            (
                "1.2.3-01",
                false,
                "invalid leading zero in pre-release identifier",
            ),
            (
                "1.2",
                false,
                "unexpected end of input while parsing minor version number",
            ),
            (
                "1",
                false,
                "unexpected end of input while parsing major version number",
            ),
            ("", false, "empty string, expected a semver version"),
            ("v1.2.3", false, "a `v` prefix is not part of SemVer"),
            (
                "vv1.2.3",
                true,
                "unexpected character 'v' while parsing major version number",
            ),
            (
                "V1.2.3",
                true,
                "unexpected character 'V' while parsing major version number",
            ),
            (
                " 1.2.3",
                false,
                "unexpected character ' ' while parsing major version number",
            ),
            (
                "1.2.3 ",
                false,
                "unexpected character ' ' after patch version number",
            ),
            (
                "1.2.3-",
                false,
                "empty identifier segment in pre-release identifier",
            ),
            (
                "1.2.3-rc..1",
                false,
                "empty identifier segment in pre-release identifier",
            ),
            (
                "1.2.3+",
                false,
                "empty identifier segment in build metadata",
            ),
            (
                "1.2.x",
                false,
                "unexpected character 'x' while parsing patch version number",
            ),
            (
                "1.2.18446744073709551616",
                false,
                "value of patch version number exceeds u64::MAX",
            ),
        ];
        for &(text, allow_v_prefix, reason) in cases {
            let error = parse(text, allow_v_prefix).expect_err(text);
            assert!(error.starts_with(reason), "{text}: {error}");
        }
    }

    #[test]
    fn bump_names_are_the_attribute_values() {
        let names: Vec<&str> = [
            Bump::Initial,
            Bump::Major,
            Bump::Minor,
            Bump::Patch,
            Bump::Prerelease,
            Bump::Same,
            Bump::Downgrade,
        ]
        .into_iter()
        .map(Bump::as_str)
        .collect();
        assert_eq!(
            names,
            [
                "initial",
                "major",
                "minor",
                "patch",
                "prerelease",
                "same",
                "downgrade"
            ]
        );
        assert_eq!(Bump::Prerelease.to_string(), "prerelease");
    }
}
