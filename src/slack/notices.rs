//! What a person is told when work they caused failed: what failed, why
//! in words a person understands, and what to do about it. `jobs` decides
//! whom to tell and where; the words are here.

use super::blocks;
use super::{CallError, SlackErrorCode};
use crate::domain::{ChannelId, Incident};
use crate::queue::Job;
use std::time::Duration;

/// A slash command's answer when warroom's database is unavailable. Slack
/// does not resend a command, so the person is told plainly that nothing
/// happened and to run it again.
pub const COMMAND_NOT_RECORDED: &str = ":warning: warroom cannot reach its database right now, so this command did nothing. Run it again in a minute; if it keeps failing, ask whoever runs warroom to check its database.";

/// Why a job failed, as a notice tells it.
#[derive(Debug)]
pub enum Failure<'a> {
    /// A Web API call failed, about `channel` if it was about one.
    Call {
        channel: Option<&'a ChannelId>,
        error: &'a CallError,
    },
    /// The bot was not in `channel` and could not join it.
    Join {
        channel: &'a ChannelId,
        error: &'a CallError,
    },
    /// The postmortem template failed.
    Template(&'a str),
    /// warroom's own database was unavailable for too long.
    Unavailable,
}

/// The notice's text: what failed, why, and what to do. `gave_up_after`
/// is how long a job retries before it gives up.
pub fn explain(
    job: &Job,
    incident: &Incident,
    failure: &Failure<'_>,
    gave_up_after: Duration,
) -> String {
    let reference = incident.reference();
    // An archived war room: one message whatever was being kept current
    // there, so the pending copy absorbs the others.
    if let Failure::Call {
        channel: Some(channel),
        error: CallError::Api(SlackErrorCode::IsArchived),
    } = failure
        && incident.channel_id.as_ref() == Some(*channel)
    {
        return format!(
            "{reference}'s war room <#{channel}> was archived, so I can no longer keep it up to date. Unarchive it to go on running the incident there."
        );
    }
    let (why, todo) = why(job, incident, failure, gave_up_after);
    format!("{}: {why}. {todo}", what_failed(job, incident))
}

fn what_failed(job: &Job, incident: &Incident) -> String {
    let reference = incident.reference();
    match job {
        Job::CreateChannel => format!(
            "I could not create the war room for {reference} ({})",
            blocks::safe(&incident.title)
        ),
        Job::Invite { user } => format!("I could not add <@{user}> to {reference}'s war room"),
        Job::SyncTopic => format!("I could not update the topic of {reference}'s war room"),
        Job::SyncBoard | Job::PostBoard => format!("I could not post {reference}'s role board"),
        Job::SyncAnnouncement => format!(
            "I could not post or update {reference}'s announcement in <#{}>",
            incident.announce_channel
        ),
        Job::CaptureMessage { .. } => {
            format!("I could not put the message you tagged on {reference}'s timeline")
        }
        Job::PostUpdate { channel, .. } => {
            format!("Your status update for {reference} was not posted to <#{channel}>")
        }
        Job::PostPostmortem => format!("I could not post {reference}'s postmortem draft"),
        Job::PostReminder { .. }
        | Job::Ephemeral { .. }
        | Job::Notice { .. }
        | Job::FollowupDigest { .. } => {
            format!("I could not send a message about {reference}")
        }
        Job::PostChecklist { role, .. } => {
            format!("I could not post your {role} checklist in {reference}'s war room")
        }
        Job::SyncChecklist { .. } | Job::PostChecklistReminder { .. } => {
            format!("I could not update a checklist in {reference}'s war room")
        }
        Job::PostSummary { .. } => {
            format!("Your internal summary was not posted in {reference}'s war room")
        }
        Job::SyncAlertCard { .. } => "I could not post or update an alert card".to_string(),
        Job::PostAlertsResolved | Job::PostAlertCard { .. } => {
            format!("I could not post about {reference}'s alerts in its war room")
        }
        Job::PostPaged { .. } => {
            format!("I could not say in {reference}'s war room that the on-call was paged")
        }
        Job::CaptureQuote { .. } => {
            format!(
                "I could not fill in the link of the message you added to {reference}'s timeline"
            )
        }
        Job::CompleteStep { .. } | Job::FailStep { .. } => {
            format!("I could not tell the workflow that declared {reference} how it went")
        }
        Job::PublishHome { .. } => "I could not update your warroom Home tab".to_string(),
    }
}

/// How to try again after trouble that may pass.
fn again(job: &Job) -> &'static str {
    match job {
        Job::CreateChannel => "declare the incident again with `/incident declare`",
        Job::Invite { .. } => "add them by hand with `/invite`",
        Job::SyncTopic | Job::SyncBoard | Job::SyncAnnouncement => {
            "the next change to the incident will try again"
        }
        Job::PostBoard => "run `/incident roles` again",
        Job::CaptureMessage { .. } => "remove your reaction and tag the message again",
        Job::PostUpdate { .. } => "post the update again with `/incident update`",
        Job::PostPostmortem => "run `/incident postmortem` in the war room",
        Job::PostReminder { .. }
        | Job::Ephemeral { .. }
        | Job::Notice { .. }
        | Job::FollowupDigest { .. } => "it will not be sent again",
        Job::PostChecklist { .. } => "release the role and claim it again",
        Job::SyncChecklist { .. } => "the next tick will try again",
        Job::PostChecklistReminder { .. } => "it will come round again at its interval",
        Job::PostSummary { .. } => "post it again from the reminder, or paste it in the war room",
        Job::SyncAlertCard { .. } => "the next change to the alert will try again",
        Job::PostAlertsResolved | Job::PostAlertCard { .. } => "it will not be sent again",
        Job::PostPaged { .. } => "the page itself went to PagerDuty; it will not be said again",
        Job::CaptureQuote { .. } => "the message is on the timeline all the same",
        Job::CompleteStep { .. } | Job::FailStep { .. } => {
            "the incident is declared all the same; look for it with `/incident list`"
        }
        Job::PublishHome { .. } => "open the Home tab again",
    }
}

const INVITE_ME: &str = "Invite me there with `/invite @warroom`, then try again.";
const REINSTALL: &str =
    "Ask whoever installed warroom to reinstall it from the current manifest (manifest.yml).";

/// Why it failed and what to do, in words.
fn why(
    job: &Job,
    incident: &Incident,
    failure: &Failure<'_>,
    gave_up_after: Duration,
) -> (String, String) {
    match failure {
        Failure::Join { channel, error } => match error {
            CallError::Api(
                SlackErrorCode::MethodNotSupportedForChannelType | SlackErrorCode::ChannelNotFound,
            ) => {
                (
                    format!(
                        "I am not a member of <#{channel}>, and it is a private channel I cannot join myself"
                    ),
                    INVITE_ME.to_string(),
                )
            }
            CallError::Api(SlackErrorCode::IsArchived) => {
                let place = place(incident, channel);
                (format!("{place} is archived"), fix_channel(job, incident, channel))
            }
            CallError::Api(SlackErrorCode::MissingScope) => (
                format!(
                    "I am not a member of <#{channel}> and may not join channels (the app lacks the `channels:join` permission)"
                ),
                REINSTALL.to_string(),
            ),
            CallError::Api(code) => (
                format!(
                    "I am not a member of <#{channel}>, and Slack would not let me join it (`{code}`)"
                ),
                INVITE_ME.to_string(),
            ),
            other => call_words(job, incident, Some(channel), other, gave_up_after),
        },
        Failure::Call { channel, error } => {
            call_words(job, incident, *channel, error, gave_up_after)
        }
        Failure::Template(e) => (
            format!("the postmortem template failed ({e})"),
            "Fix the template (`postmortem.template`), then run `/incident postmortem` in the war room.".to_string(),
        ),
        Failure::Unavailable => (
            "warroom's database was unavailable for too long".to_string(),
            format!(
                "Try again later ({}); tell whoever runs warroom if it keeps happening.",
                again(job)
            ),
        ),
    }
}

/// A channel as the person knows it.
fn place(incident: &Incident, channel: &ChannelId) -> String {
    if incident.channel_id.as_ref() == Some(channel) {
        format!("the war room <#{channel}>")
    } else if incident.announce_channel == *channel {
        format!("the announcement channel <#{channel}>")
    } else {
        format!("<#{channel}>")
    }
}

/// What to do about a channel that is archived or gone.
fn fix_channel(job: &Job, incident: &Incident, channel: &ChannelId) -> String {
    if incident.channel_id.as_ref() == Some(channel) {
        "Unarchive the war room, or declare a new incident if you still need one.".to_string()
    } else if incident.announce_channel == *channel {
        "Set `announce_channel` to a live channel (ask whoever runs warroom), or unarchive this one."
            .to_string()
    } else if matches!(job, Job::PostUpdate { .. }) {
        "Point that audience at a live channel in the `[audiences]` settings, or post the update to other audiences."
            .to_string()
    } else {
        "Use a live channel instead.".to_string()
    }
}

fn call_words(
    job: &Job,
    incident: &Incident,
    channel: Option<&ChannelId>,
    error: &CallError,
    gave_up_after: Duration,
) -> (String, String) {
    let place =
        |c: Option<&ChannelId>| c.map_or_else(|| "the channel".to_string(), |c| place(incident, c));
    match error {
        CallError::Transient { reason, .. } => (
            format!(
                "Slack was unavailable for over {} hours ({reason})",
                gave_up_after.as_secs() / 3600
            ),
            format!(
                "Once Slack works again (https://slack-status.com), {}.",
                again(job)
            ),
        ),
        CallError::Unreadable { method, .. } => (
            format!(
                "Slack kept answering {method} in a form I could not read, and I could not find that the work was done"
            ),
            format!(
                "Check whether it happened; if not, {}. Tell whoever runs warroom, as Slack may have changed its answers.",
                again(job)
            ),
        ),
        // A paced call is rescheduled, never given up; worded for completeness.
        CallError::Paced { .. } => (
            "Slack kept asking me to slow down".to_string(),
            format!("Wait a few minutes, then {}.", again(job)),
        ),
        CallError::Other { reason, .. } => (
            format!("Slack's answer could not be used ({reason})"),
            format!(
                "Try again: {}; tell whoever runs warroom if it keeps failing.",
                again(job)
            ),
        ),
        CallError::Api(code) => match code {
            SlackErrorCode::RestrictedAction if matches!(job, Job::CreateChannel) => (
                "your workspace does not let apps create channels".to_string(),
                "Ask a Slack admin to allow warroom to create channels, then declare the incident again."
                    .to_string(),
            ),
            SlackErrorCode::RestrictedAction => (
                "your workspace's settings do not let me do that".to_string(),
                "Ask a Slack admin.".to_string(),
            ),
            SlackErrorCode::IsArchived => (
                format!("{} is archived", place(channel)),
                channel.map_or_else(
                    || "Use a live channel instead.".to_string(),
                    |c| fix_channel(job, incident, c),
                ),
            ),
            SlackErrorCode::ChannelNotFound => (
                format!("{} does not exist, or I cannot see it", place(channel)),
                channel.map_or_else(
                    || "Use a live channel instead.".to_string(),
                    |c| fix_channel(job, incident, c),
                ),
            ),
            SlackErrorCode::NotInChannel => (
                format!("I am not a member of {}", place(channel)),
                INVITE_ME.to_string(),
            ),
            SlackErrorCode::MissingScope
            | SlackErrorCode::NotAllowedTokenType
            | SlackErrorCode::NoPermission => (
                format!("the app lacks a permission it needs (`{code}`)"),
                REINSTALL.to_string(),
            ),
            SlackErrorCode::AccountInactive
            | SlackErrorCode::InvalidAuth
            | SlackErrorCode::TokenRevoked
            | SlackErrorCode::NotAuthed => (
                "warroom's Slack token no longer works".to_string(),
                "Ask whoever runs warroom to reinstall the app and update its token.".to_string(),
            ),
            SlackErrorCode::NameTaken => (
                "every name I tried for it is taken".to_string(),
                "Archive or rename old `inc-…` channels, then declare the incident again."
                    .to_string(),
            ),
            SlackErrorCode::InvalidName(_) => (
                "Slack would not accept the channel name".to_string(),
                "Declare the incident again with a title in plain letters and digits.".to_string(),
            ),
            SlackErrorCode::MsgTooLong
            | SlackErrorCode::TooManyAttachments
            | SlackErrorCode::InvalidBlocks => (
                format!("Slack would not take the message (`{code}`)"),
                format!("Shorten it, then {}.", again(job)),
            ),
            SlackErrorCode::UserNotFound
            | SlackErrorCode::UserDisabled
            | SlackErrorCode::CantInvite
            | SlackErrorCode::UserIsRestricted
            | SlackErrorCode::UraMaxChannels => (
                format!("Slack would not add them (`{code}`)"),
                "Invite them by hand with `/invite` if they should be there.".to_string(),
            ),
            _ => (
                format!("Slack refused it (`{code}`)"),
                format!(
                    "Try again: {}; tell whoever runs warroom if it keeps failing.",
                    again(job)
                ),
            ),
        },
    }
}
