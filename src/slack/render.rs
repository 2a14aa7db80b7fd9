//! How the domain's values read in Slack: user mentions, status emoji, the
//! channel topic, refusals and a status update's text. `domain` stays free
//! of Slack syntax; what it says about people it says here.

use super::text::Mrkdwn;
use crate::domain::comms::{Phase, UpdateAnswers};
use crate::domain::permissions::Refusal;
use crate::domain::{Incident, SeverityName, Status, UserId};
use chrono::{DateTime, Duration, Utc};
use std::fmt;

impl UserId {
    /// How Slack renders a mention of this user.
    pub fn mention(&self) -> Mrkdwn {
        Mrkdwn::mention(self)
    }
}

/// `INC-7`, `DRILL-7`.
pub fn reference(incident: &Incident) -> Mrkdwn {
    Mrkdwn::escaped(&incident.reference())
}

/// A status as a word.
pub fn status(status: Status) -> Mrkdwn {
    Mrkdwn::literal(status.as_str())
}

/// A level's name, as configured.
pub fn severity(name: &SeverityName) -> Mrkdwn {
    Mrkdwn::escaped(name.as_str())
}

impl Status {
    pub fn emoji(self) -> &'static str {
        match self {
            Status::Investigating => ":mag:",
            Status::Identified => ":bulb:",
            Status::Mitigated => ":adhesive_bandage:",
            Status::Resolved => ":white_check_mark:",
            Status::Closed => ":lock:",
        }
    }
}

/// A refusal as the person who asked reads it in Slack: people mentioned.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence(&|u| u.mention().into()))
    }
}

impl Refusal {
    /// The refusal as the person who asked reads it: the sentence names
    /// roles as configured and people by mention.
    pub fn to_mrkdwn(&self) -> Mrkdwn {
        Mrkdwn::slack(&self.to_string())
    }
}

/// Slack's limit on a channel topic.
pub const MAX_TOPIC: usize = 250;

/// The topic with the bridge link after it, when it fits Slack's limit
/// (the link is dropped rather than the topic cut).
pub fn topic_with_bridge(incident: &Incident, lead: &UserId, bridge: Option<&str>) -> String {
    let topic = topic(incident, lead);
    match bridge {
        Some(url) => {
            let with = format!("{topic} · bridge: {url}");
            if with.chars().count() <= MAX_TOPIC {
                with
            } else {
                topic
            }
        }
        None => topic,
    }
}

/// The channel topic: severity, status and lead at a glance.
pub fn topic(incident: &Incident, lead: &UserId) -> String {
    let security = if incident.security {
        " · security"
    } else {
        ""
    };
    let drill = if incident.drill { "DRILL · " } else { "" };
    format!(
        "{drill}{} · {}{security} · status: {} · lead: {}",
        incident.reference(),
        incident.severity,
        incident.status,
        lead.mention()
    )
}

/// An update's text from the form's answers (Slack mrkdwn).
pub fn assemble_update(phase: Phase, a: &UpdateAnswers, now: DateTime<Utc>) -> String {
    let mut parts = vec![format!("*{}*", phase.title())];
    for (label, text) in [
        ("Status", &a.status),
        ("Impact", &a.impact),
        ("Workaround", &a.workaround),
    ] {
        if !text.trim().is_empty() {
            parts.push(format!("*{label}:* {}", text.trim()));
        }
    }
    if let Some(m) = a.next_update_minutes {
        let at = now + Duration::minutes(i64::from(m));
        let by = Mrkdwn::date(at, "{time}", &at.format("%H:%M UTC").to_string());
        parts.push(format!("*Next update:* by {by} (in {m} min)"));
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_update_is_assembled_from_the_answers() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        let text = assemble_update(
            Phase::Restoring,
            &UpdateAnswers {
                status: "Rolled back 1.4.2.".into(),
                impact: "EU checkout only.".into(),
                workaround: " ".into(),
                next_update_minutes: Some(30),
            },
            t,
        );
        assert_eq!(
            text,
            "*Restoring service*\n*Status:* Rolled back 1.4.2.\n*Impact:* EU checkout only.\n*Next update:* by <!date^1795404600^{time}|03:30 UTC> (in 30 min)"
        );
    }
}
