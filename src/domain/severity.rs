//! Severity levels (critical, major, minor) with their reminder cadences.

use serde::Deserialize;
use std::time::Duration;

/// One severity level as configured.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityLevel {
    pub name: super::SeverityName,
    pub description: String,
    /// Overrides `reminders.comms_nudge_after` for this level.
    #[serde(default, with = "humantime_serde")]
    pub comms_nudge_after: Option<Duration>,
    /// Overrides `reminders.comms_due_after` for this level.
    #[serde(default, with = "humantime_serde")]
    pub comms_due_after: Option<Duration>,
    /// Overrides `reminders.scribe_quiet_after` for this level.
    #[serde(default, with = "humantime_serde")]
    pub scribe_quiet_after: Option<Duration>,
}

/// The configured levels, most severe first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeverityCatalog {
    levels: Vec<SeverityLevel>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown severity `{given}`: levels are {known}")]
pub struct UnknownSeverity {
    pub given: String,
    pub known: String,
}

impl SeverityCatalog {
    pub fn new(levels: Vec<SeverityLevel>) -> Option<Self> {
        (!levels.is_empty()).then_some(Self { levels })
    }

    pub fn defaults() -> Vec<SeverityLevel> {
        let level = |name: &str, description: &str| SeverityLevel {
            name: super::SeverityName::new(name),
            description: description.to_string(),
            comms_nudge_after: None,
            comms_due_after: None,
            scribe_quiet_after: None,
        };
        vec![
            level("SEV1", "Critical: service down or data lost"),
            level("SEV2", "Major: a major feature broken, no data lost"),
            level("SEV3", "Minor: degraded, a workaround exists"),
        ]
    }

    pub fn iter(&self) -> impl Iterator<Item = &SeverityLevel> {
        self.levels.iter()
    }

    /// The level a fresh declaration starts with when nobody picks one.
    pub fn least_severe(&self) -> &SeverityLevel {
        // `new` refuses an empty list.
        &self.levels[self.levels.len() - 1]
    }

    /// Case-insensitive lookup; `1` finds `SEV1`.
    pub fn resolve(&self, given: &str) -> Result<&SeverityLevel, UnknownSeverity> {
        let g = given.trim().to_ascii_lowercase();
        self.levels
            .iter()
            .find(|l| {
                let n = l.name.as_str().to_ascii_lowercase();
                n == g || n.strip_prefix("sev") == Some(g.as_str())
            })
            .ok_or_else(|| UnknownSeverity {
                given: given.to_string(),
                known: self
                    .levels
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_levels() {
        let c = SeverityCatalog::new(SeverityCatalog::defaults()).unwrap();
        assert_eq!(c.resolve("sev1").unwrap().name.as_str(), "SEV1");
        assert_eq!(c.resolve("2").unwrap().name.as_str(), "SEV2");
        assert!(c.resolve("SEV9").is_err());
        assert_eq!(c.least_severe().name.as_str(), "SEV3");
        assert!(SeverityCatalog::new(vec![]).is_none());
    }
}
