//! Role checklists: what each role does when the incident starts, while it
//! runs, and at a fixed cadence. Pure: the tasks, their defaults and the
//! progress of one holder's checklist.

use super::UserId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// Limits that keep a checklist one valid Slack message (a section per
/// task, a heading per group, 50 blocks in all).
pub const MAX_TASKS: usize = 40;
pub const MAX_TASK_CHARS: usize = 300;
/// Cadence bounds: not a flood, not forgotten.
pub const MIN_EVERY: Duration = Duration::from_secs(60);
pub const MAX_EVERY: Duration = Duration::from_secs(24 * 3600);

/// A role's tasks, as configured (`roles[].tasks`) or by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tasks {
    /// When the incident starts (or the role is taken).
    #[serde(default)]
    pub start: Vec<String>,
    /// While the incident runs.
    #[serde(default)]
    pub during: Vec<String>,
    /// Again and again, every `every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cadence: Option<CadenceTasks>,
}

/// Tasks that come back at an interval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CadenceTasks {
    #[serde(with = "humantime_serde")]
    pub every: Duration,
    pub tasks: Vec<String>,
}

/// When in the incident a task belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Start,
    During,
    Cadence,
}

/// One task with its place in the checklist (the index ticks refer to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task<'a> {
    pub index: usize,
    pub group: Group,
    pub text: &'a str,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TasksError {
    #[error("more than {MAX_TASKS} tasks (one message holds {MAX_TASKS})")]
    TooMany,
    #[error("a task is empty or longer than {MAX_TASK_CHARS} characters")]
    BadText,
    #[error("a cadence `every` outside 1m to 24h")]
    BadEvery,
    #[error("a cadence without tasks")]
    EmptyCadence,
}

impl Tasks {
    /// Every task in checklist order: start, during, cadence.
    pub fn all(&self) -> Vec<Task<'_>> {
        let cadence = self.cadence.iter().flat_map(|c| c.tasks.iter());
        self.start
            .iter()
            .map(|t| (Group::Start, t))
            .chain(self.during.iter().map(|t| (Group::During, t)))
            .chain(cadence.map(|t| (Group::Cadence, t)))
            .enumerate()
            .map(|(index, (group, text))| Task {
                index,
                group,
                text: text.as_str(),
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.all().is_empty()
    }

    pub fn check(&self) -> Result<(), TasksError> {
        let all = self.all();
        if all.len() > MAX_TASKS {
            return Err(TasksError::TooMany);
        }
        if all
            .iter()
            .any(|t| t.text.trim().is_empty() || t.text.chars().count() > MAX_TASK_CHARS)
        {
            return Err(TasksError::BadText);
        }
        if let Some(c) = &self.cadence {
            if c.tasks.is_empty() {
                return Err(TasksError::EmptyCadence);
            }
            if c.every < MIN_EVERY || c.every > MAX_EVERY {
                return Err(TasksError::BadEvery);
            }
        }
        Ok(())
    }
}

/// One holder's checklist for one role in one incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checklist {
    pub id: super::ChecklistId,
    pub incident: super::IncidentNumber,
    pub role: super::RoleName,
    pub holder: UserId,
    /// The tasks as they were when the role was taken.
    pub tasks: Tasks,
    /// Indexes of the ticked tasks.
    pub done: BTreeSet<usize>,
    /// The checklist message, once posted.
    pub ts: Option<super::MessageTs>,
    /// When the cadence tasks are next due (`None`: not scheduled).
    pub cadence_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the cadence last came round (or the role was taken).
    pub since: chrono::DateTime<chrono::Utc>,
}

impl Checklist {
    /// Ticked and total tasks.
    pub fn progress(&self) -> (usize, usize) {
        let total = self.tasks.all().len();
        (self.done.iter().filter(|i| **i < total).count(), total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_role_has_tasks_and_they_are_valid() {
        for role in super::super::RoleCatalog::defaults() {
            let t = super::super::roles::default_tasks(role.name.as_str());
            assert!(!t.is_empty(), "{}", role.name);
            assert_eq!(t.check(), Ok(()), "{}", role.name);
        }
        assert!(super::super::roles::default_tasks("Chef").is_empty());
        let lead = super::super::roles::default_tasks(super::super::roles::INCIDENT_LEAD);
        assert!(
            lead.start
                .iter()
                .any(|t| t == "Bridge established and recording")
        );
        let scribe = super::super::roles::default_tasks(super::super::roles::SCRIBE);
        assert_eq!(
            scribe.cadence.as_ref().map(|c| c.every),
            Some(Duration::from_secs(900))
        );
    }

    #[test]
    fn tasks_are_numbered_in_checklist_order() {
        let t = super::super::roles::default_tasks(super::super::roles::SCRIBE);
        let all = t.all();
        assert_eq!(all[0].group, Group::Start);
        assert_eq!(all[3].group, Group::During);
        assert_eq!(all.last().map(|t| t.group), Some(Group::Cadence));
        assert!(all.iter().enumerate().all(|(i, t)| t.index == i));
    }

    #[test]
    fn bad_tasks_are_refused() {
        let mut t = Tasks {
            start: vec!["x".repeat(MAX_TASK_CHARS + 1)],
            ..Tasks::default()
        };
        assert_eq!(t.check(), Err(TasksError::BadText));
        t.start = vec!["ok".into(); MAX_TASKS + 1];
        assert_eq!(t.check(), Err(TasksError::TooMany));
        t.start = vec!["ok".into()];
        t.cadence = Some(CadenceTasks {
            every: Duration::from_secs(10),
            tasks: vec!["x".into()],
        });
        assert_eq!(t.check(), Err(TasksError::BadEvery));
        t.cadence = Some(CadenceTasks {
            every: Duration::from_secs(600),
            tasks: vec![],
        });
        assert_eq!(t.check(), Err(TasksError::EmptyCadence));
    }

    #[test]
    fn tasks_read_from_config_shapes() {
        let t: Tasks = serde_json::from_str(
            r#"{"start": ["a"], "cadence": {"every": "10m", "tasks": ["b"]}}"#,
        )
        .unwrap();
        assert_eq!(t.all().len(), 2);
        assert_eq!(t.cadence.unwrap().every, Duration::from_secs(600));
    }
}
