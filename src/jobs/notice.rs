//! Telling the person who caused a job that it failed: what failed, why in
//! words a person understands, and what to do about it. The notice is a job
//! itself, queued with the failure (see `Store::finish_job`).

use super::{GIVE_UP_AFTER, Job, RunError};
use crate::app::Ctx;
use crate::domain::{ChannelId, EntryKind, Incident, UserId};
use crate::queue::JobRow;
use crate::slack::notices::{self, Failure};
use crate::slack::text::Mrkdwn;
use crate::slack::{CallError, SlackErrorCode};
use crate::store::StoreError;
use slack_morphism::prelude::SlackMessageContent;
use tracing::warn;

/// Sends a notice: an ephemeral in `channel`, or a direct message when
/// there is no channel or Slack refuses the ephemeral there (the bot is not
/// in it, it was archived…).
pub(super) async fn send(
    ctx: &Ctx,
    channel: Option<&ChannelId>,
    user: &UserId,
    text: &Mrkdwn,
) -> Result<(), RunError> {
    if let Some(channel) = channel {
        match ctx.slack.post_ephemeral(channel, user, text).await {
            Ok(()) => return Ok(()),
            Err(CallError::Api(code)) => {
                warn!(%channel, %code, "cannot tell them in the channel; sending a direct message");
            }
            Err(e) => return Err(e.into()),
        }
    }
    match ctx
        .slack
        .post(
            user.into(),
            SlackMessageContent::new().with_text(text.to_string()),
        )
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
            | Job::SyncAlertCard { .. }
            | Job::PostAlertsResolved
            | Job::PostAlertCard { .. }
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
        RunError::Join { channel, .. } => Some(channel),
        RunError::InChannel {
            channel,
            error: CallError::Api(code),
        } if channel_unusable(code) => Some(channel),
        _ => None,
    };
    // The war room if there is one, else where the incident was declared;
    // never a channel that cannot take it. No channel left: a DM.
    let channel = incident
        .channel_id
        .iter()
        .chain(std::iter::once(&incident.origin_channel))
        .find(|c| Some(*c) != failed_in)
        .cloned();
    Ok(Some(Job::Notice {
        channel,
        user,
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
        Job::CaptureMessage { by, .. } => by.clone(),
        Job::PostChecklist { user, .. } => Some(user.clone()),
        Job::PostSummary { by, .. } => Some(by.clone()),
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
    let failure = match error {
        RunError::Join { channel, error } => Failure::Join { channel, error },
        RunError::InChannel { channel, error } => Failure::Call {
            channel: Some(channel),
            error,
        },
        RunError::Slack(error) => Failure::Call {
            channel: None,
            error,
        },
        RunError::Template(e) => Failure::Template(e),
        RunError::Store(_)
        | RunError::NoChannel
        | RunError::NoIncident(_)
        | RunError::Unowned { .. }
        | RunError::NoPost { .. } => Failure::Unavailable,
    };
    notices::explain(job, incident, &failure, GIVE_UP_AFTER).into()
}
