//! Errors of this crate that are not pipeline diagnostics.
//!
//! Problems inside a pipeline file are [`Diagnostics`](crate::Diagnostics) (every one, with its
//! position); the errors here are about everything around it: reading the `pipelines/` tree and
//! parsing single identifiers or values.

use std::io;
use std::path::PathBuf;

/// Reading pipeline files from disk failed ([`discover`](crate::discover),
/// [`read_file`](crate::read_file)).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A directory or file could not be read.
    #[error("cannot read `{path}`")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A directory under `pipelines/` is not a valid org name.
    #[error("`{path}` is not an org directory")]
    InvalidOrg {
        /// The directory.
        path: PathBuf,
        /// Why its name is not a valid [`OrgId`](crate::OrgId).
        #[source]
        source: IdError,
    },
    /// A pipeline file's stem is not a valid pipeline name.
    #[error("`{path}` is not a valid pipeline file name")]
    InvalidPipelineName {
        /// The file.
        path: PathBuf,
        /// Why its stem is not a valid [`PipelineName`](crate::PipelineName).
        #[source]
        source: IdError,
    },
    /// A pipeline file's org cannot be told: it has no parent directory with a UTF-8 name.
    #[error("cannot tell the org of `{path}`: pipeline files live in `pipelines/<org>/`")]
    NoOrg {
        /// The file.
        path: PathBuf,
    },
}

/// A string is not a valid identifier ([`OrgId`](crate::OrgId),
/// [`PipelineName`](crate::PipelineName), [`StageId`](crate::StageId) or a plugin id).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {reason}")]
pub struct IdError {
    /// What was being parsed, e.g. `stage id`.
    pub what: &'static str,
    /// The rejected value.
    pub value: String,
    /// Which rule it breaks, e.g. ``may only contain lowercase letters, digits, `_` and `-` ``.
    pub reason: String,
}

/// A grant names no known [`Capability`](crate::Capability).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability `{0}`")]
pub struct UnknownCapability(pub String);

/// A string is not a valid [`KindPattern`](crate::KindPattern).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid kind pattern `{pattern}`: {reason}")]
pub struct KindPatternError {
    /// The rejected pattern.
    pub pattern: String,
    /// Which rule it breaks.
    pub reason: &'static str,
}
