//! Incident roles and how people name them in commands.

use super::RoleName;
use super::checklist::{CadenceTasks, Tasks};
use serde::Deserialize;

/// One role people can claim.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub name: RoleName,
    /// Whether several people may hold it at once (Tester).
    #[serde(default)]
    pub multiple: bool,
    /// One line on what the role does, shown on the role board.
    #[serde(default)]
    pub duty: String,
    /// Checklist tasks; `None`: the defaults for the role's name.
    #[serde(default)]
    pub tasks: Option<Tasks>,
}

impl Role {
    /// The role's checklist tasks: as configured, else the defaults.
    pub fn tasks(&self) -> Tasks {
        self.tasks
            .clone()
            .unwrap_or_else(|| default_tasks(self.name.as_str()))
    }
}

pub const INCIDENT_LEAD: &str = "Incident Lead";
pub const COMMUNICATION_LEAD: &str = "Communication Lead";
pub const SCRIBE: &str = "Scribe";
pub const TECHNICAL_ASSIST: &str = "Technical Assist";

/// The tasks of a role that has none configured: the process's duties
/// for the six default roles, nothing for other roles.
pub fn default_tasks(role: &str) -> Tasks {
    let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match role {
        INCIDENT_LEAD => Tasks {
            start: list(&[
                "Say in the war room that you lead, with a one-line summary of the problem",
                "Bridge established and recording",
                "Confirm who holds each role and hand out the empty ones (a Scribe first)",
                "Check that someone who speaks for customers and support is here",
                "Check the right experts are here; bring in more people if needed",
                "Give the Communication Lead a summary of the impact",
            ]),
            during: list(&[
                "Keep each person on their own role; take questions away from the fixers",
                "Escalate when the plan stalls or the impact grows",
                "Decide when it is mitigated and when it is over",
            ]),
            cadence: None,
        },
        "Technical Lead" => Tasks {
            start: list(&[
                "Look at the logs, dashboards and recent changes",
                "Give the Technical Assist a separate line of investigation",
            ]),
            during: list(&[
                "Draft the fix with the Technical Assist",
                "Say in the war room what you change before you change it",
                "Apply the fix and ask the Testers to confirm it",
            ]),
            cadence: None,
        },
        TECHNICAL_ASSIST => Tasks {
            start: list(&["Read the logs and compare findings with the Technical Lead"]),
            during: list(&[
                "Take tasks from the Technical Lead; find people for those you cannot do",
                "Keep the Scribe informed so nobody interrupts the Technical Lead for status",
            ]),
            cadence: None,
        },
        SCRIBE => Tasks {
            start: list(&[
                "Note who holds each role",
                "Note a description of the incident",
                "Note which teams have joined",
            ]),
            during: list(&[
                "List the experts in the room and what each covers",
                "Tag milestones: suggestions, results of checks, a changed diagnosis, news from support",
                "Ask the Technical Assist for status when the timeline goes quiet",
            ]),
            cadence: Some(CadenceTasks {
                every: std::time::Duration::from_secs(15 * 60),
                tasks: list(&[
                    "Publish an internal summary: current impact, changes of state, technical milestones",
                ]),
            }),
        },
        COMMUNICATION_LEAD => Tasks {
            start: list(&[
                "Find out who must hear about it: users, customers, staff, management",
                "Post the first status update",
            ]),
            during: list(&[
                "Answer questions from outside the war room so the fixers are left alone",
                "Ask the Scribe for the latest before each update and word it for its audience",
            ]),
            cadence: None,
        },
        "Tester" => Tasks {
            start: list(&["Reproduce the symptoms and write down how to check them"]),
            during: list(&["Test each fix when asked and report the result in the war room"]),
            cadence: None,
        },
        _ => Tasks::default(),
    }
}

/// The configured roles, in board order. Always holds Incident Lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleCatalog {
    roles: Vec<Role>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoleError {
    #[error("unknown role `{given}`: roles are {known}")]
    Unknown { given: String, known: String },
    #[error("`{given}` could be {candidates}: type more of the name")]
    Ambiguous { given: String, candidates: String },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("the role list must contain `Incident Lead`")]
    MissingIncidentLead,
    #[error("role `{0}` is listed twice")]
    Duplicate(String),
    #[error("a role name is empty")]
    Empty,
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl RoleCatalog {
    pub fn new(roles: Vec<Role>) -> Result<Self, CatalogError> {
        let mut seen = std::collections::HashSet::new();
        for r in &roles {
            if norm(r.name.as_str()).is_empty() {
                return Err(CatalogError::Empty);
            }
            if !seen.insert(norm(r.name.as_str())) {
                return Err(CatalogError::Duplicate(r.name.to_string()));
            }
        }
        if !roles.iter().any(|r| r.name.as_str() == INCIDENT_LEAD) {
            return Err(CatalogError::MissingIncidentLead);
        }
        Ok(Self { roles })
    }

    /// The six roles of the incident process (see docs/process.md).
    pub fn defaults() -> Vec<Role> {
        let role = |name: &str, multiple, duty: &str| Role {
            name: RoleName::new(name),
            multiple,
            duty: duty.to_string(),
            tasks: None,
        };
        vec![
            role(
                INCIDENT_LEAD,
                false,
                "coordinates, assigns roles, engages stakeholders",
            ),
            role(
                "Technical Lead",
                false,
                "leads the fix: logs, terminal, decisions on the system",
            ),
            role(
                TECHNICAL_ASSIST,
                false,
                "supports the Technical Lead, runs side investigations",
            ),
            role(SCRIBE, false, "keeps the timeline of notable events"),
            role(
                COMMUNICATION_LEAD,
                false,
                "updates the audiences every 30 to 60 minutes",
            ),
            role("Tester", true, "validates fixes with a fresh mind"),
        ]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Role> {
        self.roles.iter()
    }

    pub fn get(&self, exact: &RoleName) -> Option<&Role> {
        self.roles.iter().find(|r| r.name == *exact)
    }

    /// Finds a role from what someone typed: any case, with or without spaces
    /// or dashes, or an unambiguous prefix (`tech-lead`, `scribe`, `comms`).
    pub fn resolve(&self, given: &str) -> Result<&Role, RoleError> {
        let g = norm(given);
        if let Some(r) = self.roles.iter().find(|r| norm(r.name.as_str()) == g) {
            return Ok(r);
        }
        let words: Vec<String> = given
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(norm)
            .collect();
        let matches: Vec<&Role> = self
            .roles
            .iter()
            .filter(|r| {
                let name_words: Vec<String> =
                    r.name.as_str().split_whitespace().map(norm).collect();
                !g.is_empty()
                    && (norm(r.name.as_str()).starts_with(&g)
                        || (words.len() == name_words.len()
                            && words
                                .iter()
                                .zip(&name_words)
                                .all(|(w, n)| n.starts_with(w.as_str()))))
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(RoleError::Unknown {
                given: given.to_string(),
                known: self.names().join(", "),
            }),
            many => Err(RoleError::Ambiguous {
                given: given.to_string(),
                candidates: many
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
            }),
        }
    }

    pub fn names(&self) -> Vec<&str> {
        self.roles.iter().map(|r| r.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> RoleCatalog {
        RoleCatalog::new(RoleCatalog::defaults()).unwrap()
    }

    #[test]
    fn resolves_names_loosely() {
        let c = catalog();
        assert_eq!(c.resolve("scribe").unwrap().name.as_str(), "Scribe");
        assert_eq!(
            c.resolve("incident-lead").unwrap().name.as_str(),
            INCIDENT_LEAD
        );
        assert_eq!(
            c.resolve("TechnicalLead").unwrap().name.as_str(),
            "Technical Lead"
        );
        assert_eq!(
            c.resolve("tech-lead").unwrap().name.as_str(),
            "Technical Lead"
        );
        assert_eq!(c.resolve("comm").unwrap().name.as_str(), COMMUNICATION_LEAD);
        assert!(matches!(
            c.resolve("tech"),
            Err(RoleError::Ambiguous { .. })
        ));
        assert!(matches!(c.resolve("chef"), Err(RoleError::Unknown { .. })));
        assert!(matches!(c.resolve(""), Err(RoleError::Unknown { .. })));
    }

    #[test]
    fn catalog_requires_incident_lead_and_unique_names() {
        let mut roles = RoleCatalog::defaults();
        roles.remove(0);
        assert_eq!(
            RoleCatalog::new(roles),
            Err(CatalogError::MissingIncidentLead)
        );
        let mut roles = RoleCatalog::defaults();
        roles.push(roles[1].clone());
        assert!(matches!(
            RoleCatalog::new(roles),
            Err(CatalogError::Duplicate(_))
        ));
    }
}
