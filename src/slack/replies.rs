//! The bot's answers and timeline lines as Slack text (mrkdwn: mentions,
//! channel links, emphasis, emoji). `service` decides what to say; the
//! words and their markup are written here, so `service` builds no
//! Slack syntax of its own. Block Kit messages are in `blocks`.

use super::blocks;
use super::text::{Mrkdwn, defuse};
use crate::domain::followups::{Followup, Scope};
use crate::domain::metrics::{Stats, human};
use crate::domain::{ChannelId, Incident, Status, UserId};

/// A modal the bot opens while Slack waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Declare,
    Update,
    Severity,
    Followup,
    Summary,
    AddToTimeline,
    RemoveFromTimeline,
}

impl Form {
    /// What the person calls it.
    fn name(self) -> &'static str {
        match self {
            Form::Declare => "declare form",
            Form::Update => "update form",
            Form::Severity => "severity form",
            Form::Followup => "follow-up form",
            Form::Summary => "summary form",
            Form::AddToTimeline => "timeline form",
            Form::RemoveFromTimeline => "removal form",
        }
    }

    /// How to open it again once its trigger expired.
    fn again(self) -> &'static str {
        match self {
            Form::Declare => "run `/incident declare` again",
            Form::Update => {
                "run `/incident update` again, or post the text directly: `/incident update <text>`"
            }
            Form::Severity => {
                "run `/incident severity` again, or give the level: `/incident severity <level>`"
            }
            Form::Followup => "click *Add follow-up* again",
            Form::Summary => "click *Edit and post* again",
            Form::AddToTimeline | Form::RemoveFromTimeline => {
                "use *Add to incident timeline* on the message again"
            }
        }
    }

    /// What to do when Slack failed to open it.
    fn retry(self) -> &'static str {
        match self {
            Form::Declare => "Run `/incident declare` again.",
            Form::Update => "Try again, or post the text directly: `/incident update <text>`.",
            Form::Severity => "Try again, or give the level: `/incident severity <level>`.",
            Form::Followup => "Try again, or use `/incident followup`.",
            Form::Summary | Form::AddToTimeline | Form::RemoveFromTimeline => "Try again.",
        }
    }
}

/// Why a form did not open.
#[derive(Debug)]
pub enum FormProblem<'a> {
    /// Its `trigger_id` outlived its three seconds.
    Expired,
    /// Slack refused or failed.
    Failed(&'a super::CallError),
    /// Slack did not answer in time.
    Slow,
}

/// What the person is told when `form` did not open.
pub fn form_not_opened(form: Form, problem: FormProblem<'_>) -> String {
    match problem {
        FormProblem::Expired => format!("That took too long to open; {}.", form.again()),
        FormProblem::Failed(e) => {
            format!(
                "I could not open the {} ({e}). {}",
                form.name(),
                form.retry()
            )
        }
        FormProblem::Slow => format!(
            "Slack took too long to open the {}. {}",
            form.name(),
            form.retry()
        ),
    }
}

/// A command typed outside a war room that needs one.
pub const NOT_IN_A_WAR_ROOM: &str = "This command works in an incident's war room. `/incident list` shows them; `/incident declare` opens a new one.";

/// A command on a closed incident that may no longer change it.
pub fn closed_incident(incident: &Incident) -> String {
    format!(
        "{} is closed; nothing more can change here.",
        incident.reference()
    )
}

/// The timeline line of a status change.
pub fn status_line(from: Status, to: Status) -> String {
    format!("Status changed from {from} to {to}")
}

/// The status asked for is the status it has.
pub fn already_status(incident: &Incident, status: Status) -> String {
    format!("{} is already {status}.", incident.reference())
}

/// What the war room is told of a status change.
pub fn status_changed(user: &UserId, old: Status, new: Status) -> String {
    format!(
        "{} changed status: {old} → *{new}* {}",
        user.mention(),
        new.emoji()
    )
}

/// The timeline line of a close.
pub fn closed_line(user: &UserId) -> String {
    format!("{} closed the incident", user.mention())
}

/// What the war room is told of a close.
pub fn closed(user: &UserId, incident: &Incident) -> String {
    format!(
        ":lock: {} closed {}. The postmortem draft is on its way to this channel.",
        user.mention(),
        incident.reference()
    )
}

/// `/incident list`: the open incidents with their war rooms.
pub fn open_incidents(open: &[Incident]) -> String {
    if open.is_empty() {
        return "No open incidents. :sunny:".to_string();
    }
    let lines: Vec<String> = open
        .iter()
        .map(|i| {
            let room = i
                .channel_id
                .as_ref()
                .map(channel_link)
                .unwrap_or_else(|| "(war room being opened)".to_string());
            let private = if i.private { " :lock:" } else { "" };
            format!(
                "• *{}*{private} {} · {} · {} · {room}",
                i.reference(),
                blocks::safe(&i.title),
                i.severity,
                i.status
            )
        })
        .collect();
    format!("*Open incidents*\n{}", lines.join("\n"))
}

/// `/incident stats`: counts by severity, the time-to metrics and the
/// follow-ups, over the last `days`.
pub fn stats(days: u32, stats: &Stats) -> String {
    if stats.incidents == 0 {
        return format!("No incidents in the last {days} days (drills are not counted).");
    }
    let mut lines = vec![format!(
        "*Incidents in the last {days} days: {}* (drills not counted)",
        stats.incidents
    )];
    let mut by_severity: Vec<String> = stats
        .by_severity
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name}: {n}"))
        .collect();
    if stats.other_levels > 0 {
        by_severity.push(format!("other levels: {}", stats.other_levels));
    }
    lines.push(by_severity.join(" · "));
    for m in &stats.times {
        lines.push(match m.mean_median {
            Some((mean, median)) => format!(
                "• Mean {}: {} · median {} ({} of {} incidents)",
                m.name,
                human(mean),
                human(median),
                m.known,
                stats.incidents
            ),
            None => format!("• {}: not known for any incident yet", m.name),
        });
    }
    lines.push(format!(
        "• Follow-ups: {} open, {} overdue (`/incident followups open`)",
        stats.followups_open, stats.followups_overdue
    ));
    lines.join("\n")
}

/// A channel as Slack links it.
pub fn channel_link(channel: &ChannelId) -> String {
    format!("<#{channel}>")
}

/// Where a status update went, as the person who posted it reads it.
pub fn places(channels: &[&ChannelId]) -> String {
    channels
        .iter()
        .map(|c| channel_link(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The answer to `/incident update <text>`.
pub fn update_posted(places: &str) -> String {
    format!("Status update posted to {places}.")
}

/// The timeline line of a status update.
pub fn update_line(user: &UserId, places: &str, text: &str) -> String {
    format!("Status update by {} to {places}: {text}", user.mention())
}

fn due_text(due: Option<chrono::NaiveDate>) -> String {
    due.map(|d| format!(", due {d}")).unwrap_or_default()
}

/// The timeline line of a recorded follow-up (`text` in Slack's format).
pub fn followup_line(
    user: &UserId,
    owner: &UserId,
    text: &str,
    due: Option<chrono::NaiveDate>,
) -> String {
    format!(
        "{} added a follow-up for {}: “{}”{}",
        user.mention(),
        owner.mention(),
        text,
        due_text(due)
    )
}

/// What the war room is told of a recorded follow-up.
pub fn followup_recorded(
    incident: &Incident,
    text: &str,
    owner: &UserId,
    due: Option<chrono::NaiveDate>,
) -> String {
    format!(
        ":pushpin: Follow-up for {} on {}: {}{}. `/incident followups` lists it with a Done button.",
        owner.mention(),
        incident.reference(),
        defuse(text),
        due_text(due)
    )
}

/// The heading of a follow-up list.
/// The heading of a follow-up list of `shown` items; `more`: older ones
/// were left out.
pub fn followups_heading(scope: Scope, shown: usize, more: bool) -> Mrkdwn {
    let heading = match scope {
        Scope::Mine => "*Your open follow-ups* ({})",
        Scope::Open => "*Open follow-ups* ({})",
        Scope::All => "*All follow-ups* ({})",
    };
    let heading = Mrkdwn::fill(heading, [Mrkdwn::number(shown)]);
    if more {
        Mrkdwn::fill(
            "{}, the newest; older ones are in the read API (`GET /api/v1/followups`)",
            [heading],
        )
    } else {
        heading
    }
}

/// The timeline line of a follow-up ticked done.
pub fn followup_done_line(user: &UserId, followup: &Followup) -> String {
    format!(
        "{} ticked the follow-up “{}” done",
        user.mention(),
        followup.text
    )
}

/// What the person who ticked a follow-up done is told.
pub fn followup_done(followup: &Followup) -> String {
    format!(
        ":white_check_mark: Done: {} (INC-{}).",
        defuse(&followup.text),
        followup.incident
    )
}

/// Done on a follow-up that already was.
pub fn followup_already_done(followup: &Followup) -> String {
    format!(
        "That follow-up (INC-{}) was already done.",
        followup.incident
    )
}

/// "Add to incident timeline" with no open incident the person may see.
pub const NO_OPEN_INCIDENT_TO_ADD_TO: &str = "There is no open incident you can add this message to. Declare one with `/incident declare`, or from the message itself: *Declare incident from message*.";

/// A message added to a closed incident's timeline.
pub fn timeline_closed(incident: &Incident) -> String {
    format!(
        "{} is closed, so its timeline is final: nothing was added.",
        incident.reference()
    )
}

/// A message that is on the incident's timeline already.
pub fn already_on_timeline(incident: &Incident) -> String {
    format!(
        "That message is on the timeline of {} already.",
        incident.reference()
    )
}
