//! [`Capability`]: the host interfaces a stage may be granted with `grants = [...]`.
//!
//! Deny by default: a plugin gets only the host interfaces its stage lists. This module owns the
//! names; the runtime owns what each one does.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::UnknownCapability;

/// A host capability a stage can be granted.
///
/// Example: `grants = ["state", "history"]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// `state`: a key-value store private to the stage (per org, per pipeline, per stage).
    State,
    /// `history`: append to the named history streams of the org.
    History,
    /// `inventory`: record version reports in the org's version inventory.
    Inventory,
}

impl Capability {
    /// Every capability, in the order they are listed in error messages.
    pub const ALL: &'static [Capability] = &[
        Capability::State,
        Capability::History,
        Capability::Inventory,
    ];

    /// The name used in `grants = [...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::State => "state",
            Capability::History => "history",
            Capability::Inventory => "inventory",
        }
    }
}

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(name: &str) -> Result<Self, UnknownCapability> {
        Capability::ALL
            .iter()
            .copied()
            .find(|capability| capability.as_str() == name)
            .ok_or_else(|| UnknownCapability(name.to_owned()))
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &capability in Capability::ALL {
            assert_eq!(capability.as_str().parse::<Capability>(), Ok(capability));
            assert_eq!(
                serde_json::to_string(&capability).unwrap(),
                format!("\"{capability}\"")
            );
        }
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert_eq!(
            "redis".parse::<Capability>().unwrap_err().to_string(),
            "unknown capability `redis`"
        );
        assert!("State".parse::<Capability>().is_err());
    }
}
