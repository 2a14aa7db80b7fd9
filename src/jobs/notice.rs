//! Telling the person who caused a job that it failed: what failed, why in
//! words a person understands, and what to do about it. The notice is a job
//! itself, queued with the failure (see `Store::finish_job`).

use super::{GIVE_UP_AFTER, Job, RunError};
use crate::app::Ctx;
use crate::domain::{EntryKind, Incident, UserId};
use crate::queue::JobRow;
use crate::slack::{CallError, SlackErrorCode, blocks};
use crate::store::StoreError;
use slack_morphism::prelude::SlackMessageContent;
use tracing::warn;

/// Sends a notice: an ephemeral in `channel`, or a direct message when
/// there is no channel or Slack refuses the ephemeral there (the bot is not
/// in it, it was archived…).
pub(super) async fn send(
    ctx: &Ctx,
    channel: Option<&str>,
    user: &str,
    text: &str,
) -> Result<(), RunError> {
    if let Some(channel) = channel {
        match ctx.slack.post_ephemeral(channel, user, text).await {
            Ok(()) => return Ok(()),
            Err(CallError::Api(code)) => {
                warn!(channel, %code, "cannot tell them in the channel; sending a direct message");
            }
            Err(e) => return Err(e.into()),
        }
    }
    match ctx
        .slack
        .post(user, SlackMessageContent::new().with_text(text.to_string()))
        .await
    {
        // Slack took it; only the `ts`, which a notice does not need, was
        // unreadable. Sending it again would tell them twice.
        Err(e @ CallError::Unreadable { .. }) => {
            warn!(error = %e, "the notice was sent, but Slack's answer could not be read");
            Ok(())
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// The notice for a job that failed with `error`, if anyone is to be told.
pub(super) async fn compose(ctx: &Ctx, row: &JobRow, error: &RunError) -> Option<Job> {
    match try_compose(ctx, row, error).await {
        Ok(notice) => notice,
        Err(e) => {
            warn!(error = %e, "cannot work out whom to tell about the failure");
            None
        }
    }
}

async fn try_compose(ctx: &Ctx, row: &JobRow, error: &RunError) -> Result<Option<Job>, StoreError> {
    // A message that could not be delivered tells no one (no loops); a
    // reminder is nobody's doing; a job that found no war room follows a
    // failed creation, whose notice already said so.
    if matches!(
        row.job,
        Job::Ephemeral { .. }
            | Job::Notice { .. }
            | Job::PostReminder { .. }
            | Job::PostChecklistReminder { .. }
            | Job::FollowupDigest { .. }
    ) || matches!(
        error,
        RunError::NoChannel
            | RunError::NoIncident(_)
            | RunError::Unowned { .. }
            | RunError::NoPost { .. }
    ) {
        return Ok(None);
    }
    let Some(number) = row.incident else {
        return Ok(None);
    };
    let Some(incident) = ctx.store.incident(number).await? else {
        return Ok(None);
    };
    let user = culprit(ctx, &row.job, &incident).await?;
    // A channel Slack refused because of the channel itself (archived, gone,
    // the bot shut out) will not take the notice either; other refusals
    // (a missing scope, say) are no reason to look elsewhere.
    let failed_in = match error {
        RunError::Join { channel, .. } => Some(channel.as_str()),
        RunError::InChannel {
            channel,
            error: CallError::Api(code),
        } if channel_unusable(code) => Some(channel.as_str()),
        _ => None,
    };
    // The war room if there is one, else where the incident was declared;
    // never a channel that cannot take it. No channel left: a DM.
    let channel = incident
        .channel_id
        .iter()
        .chain(std::iter::once(&incident.origin_channel))
        .find(|c| Some(c.as_str()) != failed_in)
        .cloned();
    Ok(Some(Job::Notice {
        channel,
        user: user.0,
        text: explain(&row.job, &incident, error),
    }))
}

fn channel_unusable(code: &SlackErrorCode) -> bool {
    matches!(
        code,
        SlackErrorCode::IsArchived
            | SlackErrorCode::ChannelNotFound
            | SlackErrorCode::NotInChannel
            | SlackErrorCode::MethodNotSupportedForChannelType
            | SlackErrorCode::RestrictedAction
    )
}

/// Who caused the job: the update's author, the tagger, the closer; the
/// declarer for the war room's own upkeep.
async fn culprit(ctx: &Ctx, job: &Job, incident: &Incident) -> Result<UserId, StoreError> {
    let who = match job {
        Job::PostUpdate { update_id, .. } => ctx
            .store
            .communications(incident.number)
            .await?
            .into_iter()
            .find(|c| c.update_id == *update_id)
            .map(|c| c.posted_by),
        Job::CaptureMessage { by, .. } => by.clone().map(UserId),
        Job::PostChecklist { user, .. } => Some(UserId(user.clone())),
        Job::PostSummary { by, .. } => Some(UserId(by.clone())),
        Job::PostPostmortem => ctx
            .store
            .timeline(incident.number)
            .await?
            .into_iter()
            .rev()
            .find(|e| e.kind == EntryKind::Status)
            .and_then(|e| e.author),
        _ => None,
    };
    Ok(who.unwrap_or_else(|| incident.declared_by.clone()))
}

/// The notice's text.
pub(super) fn explain(job: &Job, incident: &Incident, error: &RunError) -> String {
    let reference = incident.reference();
    // An archived war room: one message whatever was being kept current
    // there, so the pending copy absorbs the others.
    if let RunError::InChannel {
        channel,
        error: CallError::Api(SlackErrorCode::IsArchived),
    } = error
        && incident.channel_id.as_deref() == Some(channel.as_str())
    {
        return format!(
            "{reference}'s war room <#{channel}> was archived, so I can no longer keep it up to date. Unarchive it to go on running the incident there."
        );
    }
    let (why, todo) = why(job, incident, error);
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
    }
}

const INVITE_ME: &str = "Invite me there with `/invite @warroom`, then try again.";
const REINSTALL: &str =
    "Ask whoever installed warroom to reinstall it from the current manifest (manifest.yml).";

/// Why it failed and what to do, in words.
fn why(job: &Job, incident: &Incident, error: &RunError) -> (String, String) {
    match error {
        RunError::Join { channel, error } => match error {
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
            other => call_words(job, incident, Some(channel), other),
        },
        RunError::InChannel { channel, error } => call_words(job, incident, Some(channel), error),
        RunError::Slack(error) => call_words(job, incident, None, error),
        RunError::Template(e) => (
            format!("the postmortem template failed ({e})"),
            "Fix the template (`postmortem.template`), then run `/incident postmortem` in the war room.".to_string(),
        ),
        RunError::Store(_)
        | RunError::NoChannel
        | RunError::NoIncident(_)
        | RunError::Unowned { .. }
        | RunError::NoPost { .. } => (
            "warroom's database was unavailable for too long".to_string(),
            format!(
                "Try again later ({}); tell whoever runs warroom if it keeps happening.",
                again(job)
            ),
        ),
    }
}

/// A channel as the person knows it.
fn place(incident: &Incident, channel: &str) -> String {
    if incident.channel_id.as_deref() == Some(channel) {
        format!("the war room <#{channel}>")
    } else if incident.announce_channel == channel {
        format!("the announcement channel <#{channel}>")
    } else {
        format!("<#{channel}>")
    }
}

/// What to do about a channel that is archived or gone.
fn fix_channel(job: &Job, incident: &Incident, channel: &str) -> String {
    if incident.channel_id.as_deref() == Some(channel) {
        "Unarchive the war room, or declare a new incident if you still need one.".to_string()
    } else if incident.announce_channel == channel {
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
    channel: Option<&str>,
    error: &CallError,
) -> (String, String) {
    let place =
        |c: Option<&str>| c.map_or_else(|| "the channel".to_string(), |c| place(incident, c));
    match error {
        CallError::Transient { reason, .. } => (
            format!(
                "Slack was unavailable for over {} hours ({reason})",
                GIVE_UP_AFTER.as_secs() / 3600
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
        CallError::Other(e) => (
            format!("Slack's answer could not be used ({e})"),
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
