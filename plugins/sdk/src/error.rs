//! Constructors and queries for [`Error`], the failure type of the WIT contract.
//!
//! The host branches on the variant: `retryable` is tried again (after `retry-after-ms` when
//! given), `permanent` dead-letters the event with its message, `invalid-config` fails `init` and
//! lists every problem. Messages are lowercase and quote identifiers with backticks, e.g.
//! ``payload field `version` is missing``.

use crate::{ConfigProblem, Error, Processed, RetryableError};

impl Error {
    /// A failure retrying cannot fix (malformed event, rejected by the target).
    pub fn permanent(message: impl Into<String>) -> Self {
        Error::Permanent(message.into())
    }

    /// A failure worth retrying after the host's backoff (connection refused, timeout).
    pub fn retryable(message: impl Into<String>) -> Self {
        Error::Retryable(RetryableError {
            message: message.into(),
            retry_after_ms: None,
        })
    }

    /// A failure worth retrying once `retry_after_ms` milliseconds have passed (e.g. from an HTTP
    /// `Retry-After` header).
    pub fn retry_after(message: impl Into<String>, retry_after_ms: u64) -> Self {
        Error::Retryable(RetryableError {
            message: message.into(),
            retry_after_ms: Some(retry_after_ms),
        })
    }

    /// An invalid configuration with a single problem at `path` (e.g. `field` or `policy.range`;
    /// empty for the whole config). Use [`crate::config::Problems`] to report several at once.
    pub fn invalid_config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidConfig(vec![ConfigProblem {
            path: path.into(),
            message: message.into(),
        }])
    }

    /// Whether the host will try again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Retryable(_))
    }

    /// The error as one line of text, e.g. for a log line; config problems are joined with `; `.
    pub fn message(&self) -> String {
        match self {
            Error::Retryable(retryable) => match retryable.retry_after_ms {
                Some(ms) => format!("{} (retry after {ms} ms)", retryable.message),
                None => retryable.message.clone(),
            },
            Error::Permanent(message) => message.clone(),
            Error::InvalidConfig(problems) => problems
                .iter()
                .map(|problem| match problem.path.as_str() {
                    "" => problem.message.clone(),
                    path => format!("{path}: {}", problem.message),
                })
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

/// A failed event: `?`-friendly in code that builds a [`Processed`].
impl From<Error> for Processed {
    fn from(error: Error) -> Self {
        Processed::Fail(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_pick_the_variant() {
        assert_eq!(Error::permanent("bad"), Error::Permanent("bad".into()));
        assert!(Error::retryable("down").is_retryable());
        assert!(!Error::permanent("bad").is_retryable());
        assert_eq!(
            Error::retry_after("busy", 250),
            Error::Retryable(RetryableError {
                message: "busy".into(),
                retry_after_ms: Some(250),
            })
        );
    }

    #[test]
    fn message_is_one_line() {
        assert_eq!(Error::permanent("bad").message(), "bad");
        assert_eq!(
            Error::retry_after("busy", 250).message(),
            "busy (retry after 250 ms)"
        );
        let invalid = Error::InvalidConfig(vec![
            ConfigProblem {
                path: "field".into(),
                message: "must not be empty".into(),
            },
            ConfigProblem {
                path: String::new(),
                message: "expected a table".into(),
            },
        ]);
        assert_eq!(
            invalid.message(),
            "field: must not be empty; expected a table"
        );
    }
}
