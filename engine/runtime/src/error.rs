//! Errors of the runtime: loading a plugin ([`LoadError`]) and calling one ([`CallError`]).

use std::path::PathBuf;

/// A plugin could not be loaded or compiled.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The `.wasm` file could not be read.
    #[error("cannot read plugin file `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No bundled plugin has this id.
    #[error("unknown bundled plugin `{0}`")]
    UnknownBundled(String),
    /// The bytes are not a valid component, or do not compile.
    #[error("cannot compile plugin `{plugin}`: {message}")]
    Compile {
        /// Plugin id or path.
        plugin: String,
        /// Compiler message.
        message: String,
    },
    /// The component does not export any trackway world, or not the one the stage needs.
    #[error("plugin `{plugin}` is a {found}, but stage `{stage}` needs a {expected}")]
    WrongWorld {
        /// Plugin id or path.
        plugin: String,
        /// Stage id.
        stage: String,
        /// The world the stage needs.
        expected: &'static str,
        /// The world the component exports (`component of no trackway world` when none).
        found: &'static str,
    },
    /// The component imports a capability its stage was not granted.
    #[error(
        "plugin `{plugin}` of stage `{stage}` imports capability `{capability}`, which the stage is not granted (add it to `grants`)"
    )]
    NotGranted {
        /// Plugin id or path.
        plugin: String,
        /// Stage id.
        stage: String,
        /// The capability.
        capability: String,
    },
    /// The component imports an interface the host does not provide.
    #[error("plugin `{plugin}` imports `{import}`, which trackway does not provide")]
    UnknownImport {
        /// Plugin id or path.
        plugin: String,
        /// The import name.
        import: String,
    },
    /// The component could not be linked against the host.
    #[error("cannot link plugin `{plugin}`: {message}")]
    Link {
        /// Plugin id or path.
        plugin: String,
        /// Linker message.
        message: String,
    },
}

/// Why a call into a plugin failed. The instance is discarded in every case: the next call runs
/// in a fresh one.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call ran past its deadline (`limits.timeout_ms`).
    #[error("deadline of {timeout_ms} ms exceeded")]
    Deadline {
        /// The deadline.
        timeout_ms: u64,
    },
    /// The instance tried to grow its memory past `limits.max_memory_bytes`.
    #[error("memory limit of {max_memory_bytes} bytes exceeded")]
    OutOfMemory {
        /// The cap.
        max_memory_bytes: u64,
    },
    /// The call used up its fuel (`limits.fuel`).
    #[error("fuel exhausted")]
    OutOfFuel,
    /// The guest trapped (a panic, `unreachable`, a bad memory access...).
    #[error("trap: {0}")]
    Trap(String),
    /// The guest broke the contract (e.g. returned the wrong number of results).
    #[error("contract violation: {0}")]
    Contract(String),
    /// `init` rejected the stage's configuration or failed; carries the plugin's error.
    #[error("init failed: {0}")]
    Init(PluginError),
    /// The instance could not be created.
    #[error("cannot instantiate: {0}")]
    Instantiate(String),
}

impl CallError {
    /// A short, stable label for metrics (`deadline`, `memory`, `fuel`, `trap`, ...).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Deadline { .. } => "deadline",
            Self::OutOfMemory { .. } => "memory",
            Self::OutOfFuel => "fuel",
            Self::Trap(_) => "trap",
            Self::Contract(_) => "contract",
            Self::Init(_) => "init",
            Self::Instantiate(_) => "instantiate",
        }
    }
}

/// A failure reported by a plugin (a WIT `error`), as opposed to a trap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// Worth retrying, optionally after `retry_after_ms`.
    Retryable {
        /// What went wrong.
        message: String,
        /// Suggested wait.
        retry_after_ms: Option<u64>,
    },
    /// Retrying cannot help.
    Permanent(String),
    /// The configuration is invalid: (path, message) pairs.
    InvalidConfig(Vec<(String, String)>),
}

impl PluginError {
    /// The `reason` label of a failure metric: `retryable`, or `permanent` for anything
    /// retrying cannot fix.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Retryable { .. } => "retryable",
            Self::Permanent(_) | Self::InvalidConfig(_) => "permanent",
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Retryable { message, .. } => write!(f, "retryable: {message}"),
            Self::Permanent(message) => f.write_str(message),
            Self::InvalidConfig(problems) => {
                let parts: Vec<_> = problems
                    .iter()
                    .map(|(path, msg)| {
                        if path.is_empty() {
                            msg.clone()
                        } else {
                            format!("`{path}`: {msg}")
                        }
                    })
                    .collect();
                write!(f, "invalid config: {}", parts.join("; "))
            }
        }
    }
}

impl From<crate::bindings::types::Error> for PluginError {
    fn from(error: crate::bindings::types::Error) -> Self {
        match error {
            crate::bindings::types::Error::Retryable(r) => Self::Retryable {
                message: r.message,
                retry_after_ms: r.retry_after_ms,
            },
            crate::bindings::types::Error::Permanent(message) => Self::Permanent(message),
            crate::bindings::types::Error::InvalidConfig(problems) => {
                Self::InvalidConfig(problems.into_iter().map(|p| (p.path, p.message)).collect())
            }
        }
    }
}
