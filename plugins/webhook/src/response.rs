//! What a webhook's answer means for the event: the pure classification of an HTTP status.
//! Owns the retry policy of the stage; sending the request is `lib.rs`'s business.
//!
//! - 2xx: delivered.
//! - 429 and 5xx: retryable (the receiver is throttling or down), after the `Retry-After` header
//!   when it gives a number of seconds (its HTTP-date form is ignored: the host's backoff
//!   applies).
//! - Anything else (4xx, and 3xx: the host follows no redirect): permanent, since sending the
//!   same body again would get the same answer. The message has the status and the start of
//!   the body (Slack answers `invalid_payload`, `no_text`, ...), never the URL, whose path is a
//!   secret for many webhooks.

use trackway_plugin_sdk::Error;

/// The most of a response body quoted in an error: enough for a receiver's reason, short
/// enough for one log line and a dead-letter entry.
const MAX_QUOTED_BODY: usize = 200;

/// The outcome of an answer with `status`, `retry_after` (the header's value) and `body`.
pub fn outcome(status: u16, retry_after: Option<&str>, body: &[u8]) -> Result<(), Error> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let mut message = format!("webhook answered {status}");
    if (300..400).contains(&status) {
        message.push_str(" (a redirect, which is not followed)");
    }
    let quoted = quote(body);
    if !quoted.is_empty() {
        message.push_str(": ");
        message.push_str(&quoted);
    }
    if status == 429 || (500..600).contains(&status) {
        return Err(
            match retry_after.and_then(|value| value.trim().parse::<u64>().ok()) {
                Some(seconds) => Error::retry_after(message, seconds.saturating_mul(1000)),
                None => Error::retryable(message),
            },
        );
    }
    Err(Error::permanent(message))
}

/// The start of `body` as one line of text: white space runs (line breaks included) become one
/// space, and a body longer than [`MAX_QUOTED_BODY`] characters ends in `…`.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut quoted = String::new();
    let mut length = 0;
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !quoted.is_empty() {
            if length >= MAX_QUOTED_BODY {
                return truncated(quoted);
            }
            quoted.push(' ');
            length += 1;
        }
        for c in word.chars() {
            if length >= MAX_QUOTED_BODY {
                return truncated(quoted);
            }
            quoted.push(c);
            length += 1;
        }
    }
    quoted
}

/// `quoted`, cut short, ending in `…`.
fn truncated(mut quoted: String) -> String {
    quoted.truncate(quoted.trim_end().len());
    quoted.push('…');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status, its `Retry-After` header, its body and the outcome.
    type Case = (u16, Option<&'static str>, &'static str, Result<(), Error>);

    #[test]
    fn statuses() {
        let cases: &[Case] = &[
            (200, None, "ok", Ok(())),
            (204, None, "", Ok(())),
            (299, None, "", Ok(())),
            (
                400,
                None,
                "invalid_payload",
                Err(Error::permanent("webhook answered 400: invalid_payload")),
            ),
            (
                404,
                Some("5"),
                "no_service",
                Err(Error::permanent("webhook answered 404: no_service")),
            ),
            (410, None, "", Err(Error::permanent("webhook answered 410"))),
            (
                301,
                None,
                "",
                Err(Error::permanent(
                    "webhook answered 301 (a redirect, which is not followed)",
                )),
            ),
            (
                429,
                Some("30"),
                "rate_limited",
                Err(Error::retry_after(
                    "webhook answered 429: rate_limited",
                    30_000,
                )),
            ),
            (429, None, "", Err(Error::retryable("webhook answered 429"))),
            (
                503,
                Some(" 2 "),
                "down",
                Err(Error::retry_after("webhook answered 503: down", 2_000)),
            ),
            (
                500,
                Some("Wed, 21 Oct 2015 07:28:00 GMT"),
                "",
                Err(Error::retryable("webhook answered 500")),
            ),
            (
                502,
                Some("-1"),
                "",
                Err(Error::retryable("webhook answered 502")),
            ),
            (
                599,
                Some("18446744073709551615"),
                "",
                Err(Error::retry_after("webhook answered 599", u64::MAX)),
            ),
        ];
        for (status, retry_after, body, expected) in cases {
            assert_eq!(
                &outcome(*status, *retry_after, body.as_bytes()),
                expected,
                "{status}"
            );
        }
    }

    #[test]
    fn bodies_are_one_short_line() {
        assert_eq!(quote(b"  line 1\r\n\tline 2  "), "line 1 line 2");
        assert_eq!(quote(b""), "");
        assert_eq!(quote(b"\xff\xfe oops"), "\u{fffd}\u{fffd} oops");
        let long = "é".repeat(MAX_QUOTED_BODY + 50);
        let quoted = quote(long.as_bytes());
        assert_eq!(quoted.chars().count(), MAX_QUOTED_BODY + 1);
        assert!(quoted.ends_with("é…"));
        let exact = "a".repeat(MAX_QUOTED_BODY);
        assert_eq!(quote(exact.as_bytes()), exact);
        // Cut at a word boundary: no space before the ellipsis.
        let words = format!("{exact} more words");
        assert_eq!(quote(words.as_bytes()), format!("{exact}…"));
        let words = format!("{} b c", "a".repeat(MAX_QUOTED_BODY - 1));
        assert_eq!(
            quote(words.as_bytes()),
            format!("{}…", "a".repeat(MAX_QUOTED_BODY - 1))
        );
    }
}
