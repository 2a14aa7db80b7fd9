//! The bot's answers and timeline lines as Slack text (mrkdwn: mentions,
//! channel links, emphasis, emoji). `service` decides what to say; the
//! words and their markup are written here, so `service` builds no
//! Slack syntax of its own. What is sent is a [`Mrkdwn`]; timeline lines,
//! stored in Slack's format and defused when shown, are `String`s. Block
//! Kit messages are in `blocks`.

use super::render::{reference, severity, status};
use super::text::Mrkdwn;
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
pub fn form_not_opened(form: Form, problem: FormProblem<'_>) -> Mrkdwn {
    let (again, retry) = (Mrkdwn::escaped(form.again()), Mrkdwn::escaped(form.retry()));
    let name = Mrkdwn::literal(form.name());
    match problem {
        FormProblem::Expired => Mrkdwn::fill("That took too long to open; {}.", [again]),
        FormProblem::Failed(e) => Mrkdwn::fill(
            "I could not open the {} ({}). {}",
            [name, Mrkdwn::escaped(&e.to_string()), retry],
        ),
        FormProblem::Slow => Mrkdwn::fill("Slack took too long to open the {}. {}", [name, retry]),
    }
}

/// A command typed outside a war room that needs one.
pub fn not_in_a_war_room() -> Mrkdwn {
    Mrkdwn::literal(
        "This command works in an incident's war room. `/incident list` shows them; `/incident declare` opens a new one.",
    )
}

/// A command on a closed incident that may no longer change it.
pub fn closed_incident(incident: &Incident) -> Mrkdwn {
    Mrkdwn::fill(
        "{} is closed; nothing more can change here.",
        [reference(incident)],
    )
}

/// The timeline line of a status change (stored in Slack's format).
pub fn status_line(from: Status, to: Status) -> String {
    format!("Status changed from {from} to {to}")
}

/// The status asked for is the status it has.
pub fn already_status(incident: &Incident, now: Status) -> Mrkdwn {
    Mrkdwn::fill("{} is already {}.", [reference(incident), status(now)])
}

/// What the war room is told of a status change.
pub fn status_changed(user: &UserId, old: Status, new: Status) -> Mrkdwn {
    Mrkdwn::fill(
        "{} changed status: {} → *{}* {}",
        [
            user.mention(),
            status(old),
            status(new),
            Mrkdwn::literal(new.emoji()),
        ],
    )
}

/// The timeline line of a close.
pub fn closed_line(user: &UserId) -> String {
    format!("{} closed the incident", user.mention())
}

/// What the war room is told of a close.
pub fn closed(user: &UserId, incident: &Incident) -> Mrkdwn {
    Mrkdwn::fill(
        ":lock: {} closed {}. The postmortem draft is on its way to this channel.",
        [user.mention(), reference(incident)],
    )
}

/// `/incident list`: the open incidents with their war rooms.
pub fn open_incidents(open: &[Incident]) -> Mrkdwn {
    if open.is_empty() {
        return Mrkdwn::literal("No open incidents. :sunny:");
    }
    let lines = open.iter().map(|i| {
        let room = i
            .channel_id
            .as_ref()
            .map(Mrkdwn::channel)
            .unwrap_or_else(|| Mrkdwn::literal("(war room being opened)"));
        let private = Mrkdwn::literal(if i.private { " :lock:" } else { "" });
        Mrkdwn::fill(
            "• *{}*{} {} · {} · {} · {}",
            [
                reference(i),
                private,
                Mrkdwn::typed(&i.title),
                severity(&i.severity),
                status(i.status),
                room,
            ],
        )
    });
    Mrkdwn::fill("*Open incidents*\n{}", [Mrkdwn::join(lines, "\n")])
}

/// `/incident stats`: counts by severity, the time-to metrics and the
/// follow-ups, over the last `days`.
pub fn stats(days: u32, stats: &Stats) -> Mrkdwn {
    let days = Mrkdwn::number(days);
    if stats.incidents == 0 {
        return Mrkdwn::fill(
            "No incidents in the last {} days (drills are not counted).",
            [days],
        );
    }
    let incidents = Mrkdwn::number(stats.incidents);
    let mut lines = vec![Mrkdwn::fill(
        "*Incidents in the last {} days: {}* (drills not counted)",
        [days, incidents.clone()],
    )];
    let mut by_severity: Vec<Mrkdwn> = stats
        .by_severity
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| Mrkdwn::fill("{}: {}", [Mrkdwn::escaped(name), Mrkdwn::number(*n)]))
        .collect();
    if stats.other_levels > 0 {
        by_severity.push(Mrkdwn::fill(
            "other levels: {}",
            [Mrkdwn::number(stats.other_levels)],
        ));
    }
    lines.push(Mrkdwn::join(by_severity, " · "));
    for m in &stats.times {
        let name = Mrkdwn::literal(m.name);
        lines.push(match m.mean_median {
            Some((mean, median)) => Mrkdwn::fill(
                "• Mean {}: {} · median {} ({} of {} incidents)",
                [
                    name,
                    Mrkdwn::escaped(&human(mean)),
                    Mrkdwn::escaped(&human(median)),
                    Mrkdwn::number(m.known),
                    incidents.clone(),
                ],
            ),
            None => Mrkdwn::fill("• {}: not known for any incident yet", [name]),
        });
    }
    lines.push(Mrkdwn::fill(
        "• Follow-ups: {} open, {} overdue (`/incident followups open`)",
        [
            Mrkdwn::number(stats.followups_open),
            Mrkdwn::number(stats.followups_overdue),
        ],
    ));
    Mrkdwn::join(lines, "\n")
}

/// Where a status update went, as the person who posted it reads it.
pub fn places(channels: &[&ChannelId]) -> Mrkdwn {
    Mrkdwn::join(channels.iter().map(|c| Mrkdwn::channel(c)), ", ")
}

/// The answer to `/incident update <text>`.
pub fn update_posted(places: Mrkdwn) -> Mrkdwn {
    Mrkdwn::fill("Status update posted to {}.", [places])
}

/// The timeline line of a status update (`text` in Slack's format, stored
/// as it is).
pub fn update_line(user: &UserId, places: &Mrkdwn, text: &str) -> String {
    format!("Status update by {} to {places}: {text}", user.mention())
}

fn due_text(due: Option<chrono::NaiveDate>) -> Mrkdwn {
    due.map(|d| Mrkdwn::fill(", due {}", [Mrkdwn::escaped(&d.to_string())]))
        .unwrap_or_default()
}

/// The timeline line of a recorded follow-up (`text` in Slack's format,
/// stored as it is).
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
) -> Mrkdwn {
    Mrkdwn::fill(
        ":pushpin: Follow-up for {} on {}: {}{}. `/incident followups` lists it with a Done button.",
        [
            owner.mention(),
            reference(incident),
            Mrkdwn::slack(text),
            due_text(due),
        ],
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
pub fn followup_done(followup: &Followup) -> Mrkdwn {
    Mrkdwn::fill(
        ":white_check_mark: Done: {} (INC-{}).",
        [
            Mrkdwn::slack(&followup.text),
            Mrkdwn::number(followup.incident.get()),
        ],
    )
}

/// Done on a follow-up that already was.
pub fn followup_already_done(followup: &Followup) -> Mrkdwn {
    Mrkdwn::fill(
        "That follow-up (INC-{}) was already done.",
        [Mrkdwn::number(followup.incident.get())],
    )
}

/// "Add to incident timeline" with no open incident the person may see.
pub const NO_OPEN_INCIDENT_TO_ADD_TO: &str = "There is no open incident you can add this message to. Declare one with `/incident declare`, or from the message itself: *Declare from message*.";

/// "Add to incident timeline" on a message from a private incident's war
/// room, for another incident.
pub const PRIVATE_ROOM_MESSAGE_STAYS: &str = "That message was said in a private incident's war room: it can go on that incident's timeline only (use the shortcut there), not on another's.";

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
