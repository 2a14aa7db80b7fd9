//! What a person is told when work they caused failed: what failed, why
//! in words a person understands, and what to do about it. `jobs` decides
//! whom to tell and where; the words are here.

use super::render::reference;
use super::text::Mrkdwn;
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
) -> Mrkdwn {
    // An archived war room: one message whatever was being kept current
    // there, so the pending copy absorbs the others.
    if let Failure::Call {
        channel: Some(channel),
        error: CallError::Api(SlackErrorCode::IsArchived),
    } = failure
        && incident.channel_id.as_ref() == Some(*channel)
    {
        return Mrkdwn::fill(
            "{}'s war room {} was archived, so I can no longer keep it up to date. Unarchive it to go on running the incident there.",
            [reference(incident), Mrkdwn::channel(channel)],
        );
    }
    let (why, todo) = why(job, incident, failure, gave_up_after);
    Mrkdwn::fill("{}: {}. {}", [what_failed(job, incident), why, todo])
}

fn what_failed(job: &Job, incident: &Incident) -> Mrkdwn {
    let inc = reference(incident);
    let template = match job {
        Job::CreateChannel => {
            return Mrkdwn::fill(
                "I could not create the war room for {} ({})",
                [inc, Mrkdwn::typed(&incident.title)],
            );
        }
        Job::Invite { user } => {
            return Mrkdwn::fill(
                "I could not add {} to {}'s war room",
                [Mrkdwn::mention(user), inc],
            );
        }
        Job::SyncAnnouncement => {
            return Mrkdwn::fill(
                "I could not post or update {}'s announcement in {}",
                [inc, Mrkdwn::channel(&incident.announce_channel)],
            );
        }
        Job::PostUpdate { channel, .. } => {
            return Mrkdwn::fill(
                "Your status update for {} was not posted to {}",
                [inc, Mrkdwn::channel(channel)],
            );
        }
        Job::PostChecklist { role, .. } => {
            return Mrkdwn::fill(
                "I could not post your {} checklist in {}'s war room",
                [Mrkdwn::escaped(role.as_str()), inc],
            );
        }
        Job::SyncAlertCard { .. } => {
            return Mrkdwn::literal("I could not post or update an alert card");
        }
        Job::SyncTopic => "I could not update the topic of {}'s war room",
        Job::SyncBoard | Job::PostBoard => "I could not post {}'s role board",
        Job::CaptureMessage { .. } => "I could not put the message you tagged on {}'s timeline",
        Job::PostPostmortem => "I could not post {}'s postmortem draft",
        Job::PostReminder { .. }
        | Job::Ephemeral { .. }
        | Job::Notice { .. }
        | Job::FollowupDigest { .. } => "I could not send a message about {}",
        Job::SyncChecklist { .. } | Job::PostChecklistReminder { .. } => {
            "I could not update a checklist in {}'s war room"
        }
        Job::PostSummary { .. } => "Your internal summary was not posted in {}'s war room",
        Job::PostAlertsResolved | Job::PostAlertCard { .. } => {
            "I could not post about {}'s alerts in its war room"
        }
        Job::PostPaged { .. } => "I could not say in {}'s war room that the on-call was paged",
        Job::CaptureQuote { .. } => {
            "I could not fill in the link of the message you added to {}'s timeline"
        }
        Job::CompleteStep { .. } | Job::FailStep { .. } => {
            "I could not tell the workflow that declared {} how it went"
        }
        Job::PublishHome { .. } => "I could not update your warroom Home tab (about {})",
        Job::Unfurl { .. } => "I could not show a card for a link to {}",
    };
    Mrkdwn::fill(template, [inc])
}

/// How to try again after trouble that may pass.
fn again(job: &Job) -> Mrkdwn {
    Mrkdwn::literal(match job {
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
        Job::Unfurl { .. } => "the link works all the same",
    })
}

const INVITE_ME: &str = "Invite me there with `/invite @warroom`, then try again.";
const REINSTALL: &str =
    "Ask whoever installed warroom to reinstall it from the current manifest (manifest.yml).";

/// An error code as Slack wrote it, or an error's words.
fn code(text: &impl std::fmt::Display) -> Mrkdwn {
    Mrkdwn::escaped(&text.to_string())
}

/// Why it failed and what to do, in words.
fn why(
    job: &Job,
    incident: &Incident,
    failure: &Failure<'_>,
    gave_up_after: Duration,
) -> (Mrkdwn, Mrkdwn) {
    match failure {
        Failure::Join { channel, error } => {
            let room = Mrkdwn::channel(channel);
            match error {
                CallError::Api(
                    SlackErrorCode::MethodNotSupportedForChannelType
                    | SlackErrorCode::ChannelNotFound,
                ) => (
                    Mrkdwn::fill(
                        "I am not a member of {}, and it is a private channel I cannot join myself",
                        [room],
                    ),
                    Mrkdwn::literal(INVITE_ME),
                ),
                CallError::Api(SlackErrorCode::IsArchived) => (
                    Mrkdwn::fill("{} is archived", [place(incident, channel)]),
                    fix_channel(job, incident, channel),
                ),
                CallError::Api(SlackErrorCode::MissingScope) => (
                    Mrkdwn::fill(
                        "I am not a member of {} and may not join channels (the app lacks the `channels:join` permission)",
                        [room],
                    ),
                    Mrkdwn::literal(REINSTALL),
                ),
                CallError::Api(c) => (
                    Mrkdwn::fill(
                        "I am not a member of {}, and Slack would not let me join it (`{}`)",
                        [room, code(c)],
                    ),
                    Mrkdwn::literal(INVITE_ME),
                ),
                other => call_words(job, incident, Some(channel), other, gave_up_after),
            }
        }
        Failure::Call { channel, error } => {
            call_words(job, incident, *channel, error, gave_up_after)
        }
        Failure::Template(e) => (
            Mrkdwn::fill("the postmortem template failed ({})", [code(e)]),
            Mrkdwn::literal(
                "Fix the template (`postmortem.template`), then run `/incident postmortem` in the war room.",
            ),
        ),
        Failure::Unavailable => (
            Mrkdwn::literal("warroom's database was unavailable for too long"),
            Mrkdwn::fill(
                "Try again later ({}); tell whoever runs warroom if it keeps happening.",
                [again(job)],
            ),
        ),
    }
}

/// A channel as the person knows it.
fn place(incident: &Incident, channel: &ChannelId) -> Mrkdwn {
    let room = Mrkdwn::channel(channel);
    if incident.channel_id.as_ref() == Some(channel) {
        Mrkdwn::fill("the war room {}", [room])
    } else if incident.announce_channel == *channel {
        Mrkdwn::fill("the announcement channel {}", [room])
    } else {
        room
    }
}

/// What to do about a channel that is archived or gone.
fn fix_channel(job: &Job, incident: &Incident, channel: &ChannelId) -> Mrkdwn {
    Mrkdwn::literal(if incident.channel_id.as_ref() == Some(channel) {
        "Unarchive the war room, or declare a new incident if you still need one."
    } else if incident.announce_channel == *channel {
        "Set `announce_channel` to a live channel (ask whoever runs warroom), or unarchive this one."
    } else if matches!(job, Job::PostUpdate { .. }) {
        "Point that audience at a live channel in the `[audiences]` settings, or post the update to other audiences."
    } else {
        "Use a live channel instead."
    })
}

fn call_words(
    job: &Job,
    incident: &Incident,
    channel: Option<&ChannelId>,
    error: &CallError,
    gave_up_after: Duration,
) -> (Mrkdwn, Mrkdwn) {
    let place = || channel.map_or_else(|| Mrkdwn::literal("the channel"), |c| place(incident, c));
    let fix = || {
        channel.map_or_else(
            || Mrkdwn::literal("Use a live channel instead."),
            |c| fix_channel(job, incident, c),
        )
    };
    let try_again = || {
        Mrkdwn::fill(
            "Try again: {}; tell whoever runs warroom if it keeps failing.",
            [again(job)],
        )
    };
    match error {
        CallError::Transient { reason, .. } => (
            Mrkdwn::fill(
                "Slack was unavailable for over {} hours ({})",
                [Mrkdwn::number(gave_up_after.as_secs() / 3600), code(reason)],
            ),
            Mrkdwn::fill(
                "Once Slack works again (https://slack-status.com), {}.",
                [again(job)],
            ),
        ),
        CallError::Unreadable { method, .. } => (
            Mrkdwn::fill(
                "Slack kept answering {} in a form I could not read, and I could not find that the work was done",
                [code(method)],
            ),
            Mrkdwn::fill(
                "Check whether it happened; if not, {}. Tell whoever runs warroom, as Slack may have changed its answers.",
                [again(job)],
            ),
        ),
        // A paced call is rescheduled, never given up; worded for completeness.
        CallError::Paced { .. } => (
            Mrkdwn::literal("Slack kept asking me to slow down"),
            Mrkdwn::fill("Wait a few minutes, then {}.", [again(job)]),
        ),
        CallError::Other { reason, .. } => (
            Mrkdwn::fill("Slack's answer could not be used ({})", [code(reason)]),
            try_again(),
        ),
        CallError::Api(c) => match c {
            SlackErrorCode::RestrictedAction if matches!(job, Job::CreateChannel) => (
                Mrkdwn::literal("your workspace does not let apps create channels"),
                Mrkdwn::literal(
                    "Ask a Slack admin to allow warroom to create channels, then declare the incident again.",
                ),
            ),
            SlackErrorCode::RestrictedAction => (
                Mrkdwn::literal("your workspace's settings do not let me do that"),
                Mrkdwn::literal("Ask a Slack admin."),
            ),
            SlackErrorCode::IsArchived => (Mrkdwn::fill("{} is archived", [place()]), fix()),
            SlackErrorCode::ChannelNotFound => (
                Mrkdwn::fill("{} does not exist, or I cannot see it", [place()]),
                fix(),
            ),
            SlackErrorCode::NotInChannel => (
                Mrkdwn::fill("I am not a member of {}", [place()]),
                Mrkdwn::literal(INVITE_ME),
            ),
            SlackErrorCode::MissingScope
            | SlackErrorCode::NotAllowedTokenType
            | SlackErrorCode::NoPermission => (
                Mrkdwn::fill("the app lacks a permission it needs (`{}`)", [code(c)]),
                Mrkdwn::literal(REINSTALL),
            ),
            SlackErrorCode::AccountInactive
            | SlackErrorCode::InvalidAuth
            | SlackErrorCode::TokenRevoked
            | SlackErrorCode::NotAuthed => (
                Mrkdwn::literal("warroom's Slack token no longer works"),
                Mrkdwn::literal(
                    "Ask whoever runs warroom to reinstall the app and update its token.",
                ),
            ),
            SlackErrorCode::NameTaken => (
                Mrkdwn::literal("every name I tried for it is taken"),
                Mrkdwn::literal(
                    "Archive or rename old `inc-…` channels, then declare the incident again.",
                ),
            ),
            SlackErrorCode::InvalidName(_) => (
                Mrkdwn::literal("Slack would not accept the channel name"),
                Mrkdwn::literal(
                    "Declare the incident again with a title in plain letters and digits.",
                ),
            ),
            SlackErrorCode::MsgTooLong
            | SlackErrorCode::TooManyAttachments
            | SlackErrorCode::InvalidBlocks => (
                Mrkdwn::fill("Slack would not take the message (`{}`)", [code(c)]),
                Mrkdwn::fill("Shorten it, then {}.", [again(job)]),
            ),
            SlackErrorCode::UserNotFound
            | SlackErrorCode::UserDisabled
            | SlackErrorCode::CantInvite
            | SlackErrorCode::UserIsRestricted
            | SlackErrorCode::UraMaxChannels => (
                Mrkdwn::fill("Slack would not add them (`{}`)", [code(c)]),
                Mrkdwn::literal("Invite them by hand with `/invite` if they should be there."),
            ),
            _ => (
                Mrkdwn::fill("Slack refused it (`{}`)", [code(c)]),
                try_again(),
            ),
        },
    }
}
