//! Slack's other doors onto warroom: the global shortcut and the App
//! Home's button (the declare form), the message shortcuts (declare from a
//! message, add a message to an incident's timeline), and the Workflow
//! Builder step "Declare an incident".

use super::{declare, open_modal, visible_open};
use crate::app::Ctx;
use crate::domain::permissions::Permission;
use crate::domain::timeline::slack_ts_time;
use crate::domain::{
    Declaration, Incident, IncidentNumber, QuotedMessage, TimelineChange, UserId, may,
};
use crate::queue::Job;
use crate::slack::blocks;
use crate::slack::inbound::{DeclareStep, MessageShortcut};
use crate::slack::replies::{self, Form};
use crate::store::{ChangeError, Effects, Guard, StoreError};
use tracing::info;

/// Tells `user` something outside any incident and any channel they are
/// known to be in: a direct message (Slack's Home and shortcuts menu have
/// no channel to answer in).
async fn tell_directly(
    ctx: &Ctx,
    user: &UserId,
    text: impl Into<String>,
) -> Result<(), StoreError> {
    let notice = Job::Notice {
        channel: None,
        user: user.clone(),
        text: text.into(),
    };
    ctx.store
        .add_unowned_jobs(vec![notice], ctx.clock.now())
        .await?;
    ctx.state_changed();
    Ok(())
}

/// The declare form from the global shortcut or the Home tab's button;
/// with a message, from "Declare incident from message" (its first line
/// the title, the message quoted with its link as the summary).
pub async fn open_declare(
    ctx: &Ctx,
    user: &UserId,
    trigger_id: &str,
    source: Option<&QuotedMessage>,
) -> Result<(), StoreError> {
    // The link is a nicety: bounded, so the trigger (3 s) stays alive.
    let permalink = match source {
        Some(m) => tokio::time::timeout(
            std::time::Duration::from_millis(300),
            ctx.slack.permalink(&m.channel, &m.ts),
        )
        .await
        .ok()
        .and_then(Result::ok),
        None => None,
    };
    let view = blocks::declare_modal_from(
        source,
        permalink.as_deref(),
        // With no announce_channel, a declaration announces where it was
        // made: a shortcut menu, the Home tab or a conversation that is
        // not a channel (a direct or group message) is no place for that,
        // so the form asks.
        ctx.settings.announce_channel.is_none()
            && source.is_none_or(|m| !m.channel.as_str().starts_with('C')),
        from_private_room(ctx, source).await?,
        &ctx.settings.severities,
        ctx.settings.severity_matrix.as_ref(),
        ctx.settings.incidents.security_private,
    );
    match open_modal(ctx, trigger_id, view, Form::Declare).await {
        Ok(()) => Ok(()),
        Err(problem) => tell_directly(ctx, user, problem).await,
    }
}

/// Whether `message` was said in a private incident's war room: what it
/// starts is private too, and it goes on no other incident's timeline.
pub(super) async fn from_private_room(
    ctx: &Ctx,
    message: Option<&QuotedMessage>,
) -> Result<bool, StoreError> {
    Ok(match message {
        Some(m) => ctx
            .store
            .incident_by_channel(&m.channel)
            .await?
            .is_some_and(|i| i.private),
        None => false,
    })
}

/// A message shortcut.
pub async fn message_shortcut(
    ctx: &Ctx,
    user: &UserId,
    trigger_id: &str,
    shortcut: MessageShortcut,
    message: &QuotedMessage,
) -> Result<(), StoreError> {
    match shortcut {
        MessageShortcut::DeclareFromMessage => {
            open_declare(ctx, user, trigger_id, Some(message)).await
        }
        MessageShortcut::AddToTimeline => add_to_timeline(ctx, user, trigger_id, message).await,
    }
}

/// "Add to incident timeline": in a war room, onto its incident's
/// timeline; anywhere else, a form to pick one of the open incidents
/// `user` may see. A message already on that timeline opens the question
/// whether to take it off instead.
async fn add_to_timeline(
    ctx: &Ctx,
    user: &UserId,
    trigger_id: &str,
    message: &QuotedMessage,
) -> Result<(), StoreError> {
    if let Some(incident) = ctx.store.incident_by_channel(&message.channel).await? {
        tracing::Span::current().record("incident", incident.number.get());
        return add_to(ctx, user, trigger_id, &incident, message).await;
    }
    let open = visible_open(ctx, user).await?;
    if open.is_empty() {
        return tell_directly(ctx, user, replies::NO_OPEN_INCIDENT_TO_ADD_TO.to_string()).await;
    }
    let view = blocks::add_to_timeline_modal(&open, message);
    if let Err(problem) = open_modal(ctx, trigger_id, view, Form::AddToTimeline).await {
        tell_directly(ctx, user, problem).await?;
    }
    Ok(())
}

/// The "Add to incident timeline" form was submitted.
pub async fn add_to_timeline_submitted(
    ctx: &Ctx,
    user: &UserId,
    message: &QuotedMessage,
    incident: Option<IncidentNumber>,
) -> Result<super::SubmissionReply, StoreError> {
    let found = match incident {
        Some(n) => ctx.store.incident(n).await?,
        None => None,
    };
    let Some(incident) = found else {
        return Ok(super::SubmissionReply::Errors(
            [(
                crate::slack::ids::add_to_timeline::INCIDENT.to_string(),
                "Pick an open incident.".to_string(),
            )]
            .into(),
        ));
    };
    tracing::Span::current().record("incident", incident.number.get());
    // No trigger is left to open the removal question with: a message
    // already there is said to be.
    add_to(ctx, user, "", &incident, message).await?;
    Ok(super::SubmissionReply::Close)
}

/// Whether `user` may see `incident`: everyone a public one, its people a
/// private one (the rule of `/incident list`).
async fn may_see(ctx: &Ctx, incident: &Incident, user: &UserId) -> Result<bool, StoreError> {
    Ok(!incident.private || ctx.store.is_member(incident.number, user).await?)
}

async fn add_to(
    ctx: &Ctx,
    user: &UserId,
    trigger_id: &str,
    incident: &Incident,
    message: &QuotedMessage,
) -> Result<(), StoreError> {
    let in_room = incident.channel_id.as_ref() == Some(&message.channel);
    // Using the shortcut in the war room shows they are in it.
    if !in_room && !may_see(ctx, incident, user).await? {
        return tell_directly(ctx, user, replies::NO_OPEN_INCIDENT_TO_ADD_TO.to_string()).await;
    }
    // A private war room's words stay on its own timeline.
    if !in_room && from_private_room(ctx, Some(message)).await? {
        return tell_directly(ctx, user, replies::PRIVATE_ROOM_MESSAGE_STAYS.to_string()).await;
    }
    if !incident.status.is_open() {
        return tell_directly(ctx, user, replies::timeline_closed(incident)).await;
    }
    let on_it = ctx
        .store
        .timeline(incident.number)
        .await?
        .into_iter()
        .any(|e| e.slack_ts.as_ref() == Some(&message.ts));
    if on_it {
        if trigger_id.is_empty() {
            return tell_directly(ctx, user, replies::already_on_timeline(incident)).await;
        }
        let view = blocks::remove_from_timeline_modal(incident, message);
        if let Err(problem) = open_modal(ctx, trigger_id, view, Form::RemoveFromTimeline).await {
            tell_directly(ctx, user, problem).await?;
        }
        return Ok(());
    }
    quote(ctx, incident, message, user).await?;
    info!(user = %user, "message added to the timeline");
    Ok(())
}

/// Puts `message` on `incident`'s timeline, added by `by`; a job then
/// fills in its link and author's name (and, in the war room, confirms it
/// with the bot's reaction, as a tag is).
pub(super) async fn quote(
    ctx: &Ctx,
    incident: &Incident,
    message: &QuotedMessage,
    by: &UserId,
) -> Result<(), StoreError> {
    let Some(occurred_at) = slack_ts_time(&message.ts) else {
        return Ok(());
    };
    let change = TimelineChange::Quote {
        message: message.clone(),
        occurred_at,
        added_by: by.clone(),
    };
    let effects = Effects {
        jobs: vec![Job::CaptureQuote {
            message: message.clone(),
        }],
        guard: Guard {
            open: true,
            ..Guard::default()
        },
        ..Effects::default()
    };
    match ctx
        .store
        .change_timeline(incident.number, change, ctx.clock.now(), effects)
        .await
    {
        Ok(()) => {}
        Err(ChangeError::Store(e)) => return Err(e),
        Err(ChangeError::Refused(r)) => return tell_directly(ctx, by, r.to_string()).await,
    }
    ctx.state_changed();
    Ok(())
}

/// "Remove" confirmed: the message leaves the timeline as an untagged one
/// does (hidden, kept for audit). Whoever added or tagged it may, and
/// whoever may tag.
pub async fn remove_from_timeline(
    ctx: &Ctx,
    user: &UserId,
    number: IncidentNumber,
    message: &QuotedMessage,
) -> Result<super::SubmissionReply, StoreError> {
    let Some(incident) = ctx.store.incident(number).await? else {
        return Ok(super::SubmissionReply::Close);
    };
    tracing::Span::current().record("incident", number.get());
    if !incident.status.is_open() {
        tell_directly(ctx, user, replies::timeline_closed(&incident)).await?;
        return Ok(super::SubmissionReply::Close);
    }
    let added_by = ctx
        .store
        .timeline_record(number)
        .await?
        .into_iter()
        .find(|(e, _)| e.slack_ts.as_ref() == Some(&message.ts))
        .and_then(|(_, h)| h.tagged_by);
    let assignments = ctx.store.assignments(number).await?;
    let allowed = &ctx.settings.permissions.tag;
    if added_by.as_ref() != Some(user) && !may(&incident, &assignments, allowed, user) {
        let refusal =
            crate::domain::permissions::refusal(&incident, &assignments, allowed, Permission::Tag);
        tell_directly(ctx, user, refusal.to_string()).await?;
        return Ok(super::SubmissionReply::Close);
    }
    let change = TimelineChange::Untag {
        slack_ts: message.ts.clone(),
    };
    match ctx
        .store
        .change_timeline(number, change, ctx.clock.now(), Effects::default())
        .await
    {
        Ok(()) => {}
        Err(ChangeError::Store(e)) => return Err(e),
        Err(ChangeError::Refused(r)) => tell_directly(ctx, user, r.to_string()).await?,
    }
    ctx.state_changed();
    Ok(super::SubmissionReply::Close)
}

/// The Workflow Builder step "Declare an incident": checked as the form
/// is, declared through the same path, keyed by the run so a redelivered
/// event declares once. Slack hears the outcome from a job: the outputs
/// (`incident_number`, `war_room`) once the war room exists, or why not.
pub async fn declare_step(
    ctx: &Ctx,
    event_id: &str,
    step: &DeclareStep,
) -> Result<bool, StoreError> {
    let refuse = |reason: String| Job::FailStep {
        execution: step.execution_id.clone(),
        reason,
    };
    let checked = check_step(ctx, step);
    let declaration = match checked {
        Ok(d) => d,
        Err(reason) => {
            // Said once however often Slack delivers the event: the event
            // id and the answer are written together.
            info!(%reason, "workflow step refused");
            let fresh = ctx
                .store
                .record_event_with_jobs(event_id, ctx.clock.now(), vec![refuse(reason)])
                .await?;
            ctx.state_changed();
            return Ok(fresh);
        }
    };
    let key = format!("workflow:{}", step.execution_id);
    let done = Job::CompleteStep {
        execution: step.execution_id.clone(),
    };
    match declare::record(ctx, declaration, &key, None, None, vec![done]).await? {
        Ok((_, created)) => Ok(created),
        Err(problem) => {
            // Only a linked declaration is refused here, and this one is
            // not; should it ever be, the workflow hears why.
            tracing::warn!(%problem, "workflow declaration refused");
            ctx.store
                .record_event_with_jobs(event_id, ctx.clock.now(), vec![refuse(problem)])
                .await
        }
    }
}

/// The step's inputs as a declaration, or why not (said to the workflow).
fn check_step(ctx: &Ctx, step: &DeclareStep) -> Result<Declaration, String> {
    if step.title.is_empty() {
        return Err("The step's title is empty: give the incident a title.".to_string());
    }
    let severity = match &step.severity {
        Some(given) => ctx
            .settings
            .severities
            .resolve(given)
            .map_err(|e| e.to_string())?
            .name
            .clone(),
        None => ctx.settings.severities.least_severe().name.clone(),
    };
    let Some(declarer) = step.declarer.clone() else {
        return Err(
            "The step has no declarer: set it to the person who runs the workflow.".to_string(),
        );
    };
    let Some(announce) = ctx.settings.announce_channel.clone() else {
        return Err("warroom has no announce_channel configured, so an incident declared by a workflow would be announced nowhere: ask whoever runs warroom to set it.".to_string());
    };
    Ok(Declaration {
        title: step.title.chars().take(150).collect(),
        severity,
        summary: step.summary.chars().take(2000).collect(),
        impact_started_at: None,
        security: false,
        drill: false,
        private: step.private,
        declared_by: declarer,
        origin_channel: announce.clone(),
        announce_channel: announce,
        assessment: None,
    })
}

/// Links to incident pages in a message (`link_shared`): each one the
/// channel may see is queued for a card, a private incident's only in its
/// own war room; once per event id.
pub async fn unfurl(
    ctx: &Ctx,
    event_id: &str,
    channel: &crate::domain::ChannelId,
    ts: &crate::domain::MessageTs,
    urls: &[String],
    composer: Option<&crate::domain::ComposerLinks>,
) -> Result<bool, StoreError> {
    let Some(web) = &ctx.settings.web else {
        return Ok(true);
    };
    let mut cards = Vec::new();
    for url in urls {
        let Some(number) = incident_of_url(&web.base_url, url) else {
            continue;
        };
        let Some(incident) = ctx.store.incident(number).await? else {
            continue;
        };
        // A private incident only in its own war room (never in the
        // composer, whose channel Slack does not say).
        if incident.private && (composer.is_some() || incident.channel_id.as_ref() != Some(channel))
        {
            continue;
        }
        cards.push((url.clone(), number));
    }
    if cards.is_empty() {
        return Ok(true);
    }
    let job = Job::Unfurl {
        channel: channel.clone(),
        ts: ts.clone(),
        urls: cards,
        composer: composer.cloned(),
    };
    let fresh = ctx
        .store
        .record_event_with_jobs(event_id, ctx.clock.now(), vec![job])
        .await?;
    ctx.state_changed();
    Ok(fresh)
}

/// The incident a link to the web record names: same origin as
/// `web.base_url`, path `/web/incidents/{n}`.
fn incident_of_url(base: &url::Url, link: &str) -> Option<IncidentNumber> {
    let link = url::Url::parse(link).ok()?;
    if link.origin() != base.origin() {
        return None;
    }
    let n: i64 = link
        .path()
        .strip_prefix("/web/incidents/")?
        .trim_end_matches('/')
        .parse()
        .ok()?;
    (n > 0).then(|| IncidentNumber::new(n))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_links_to_an_incident_page_of_this_record_count() {
        let base = url::Url::parse("https://warroom.example.com").unwrap();
        let n = |l: &str| super::incident_of_url(&base, l).map(|n| n.get());
        assert_eq!(n("https://warroom.example.com/web/incidents/12"), Some(12));
        assert_eq!(n("https://warroom.example.com/web/incidents/12/"), Some(12));
        assert_eq!(n("https://warroom.example.com/web/incidents/0"), None);
        assert_eq!(n("https://evil.example.com/web/incidents/12"), None);
        assert_eq!(n("http://warroom.example.com/web/incidents/12"), None);
        assert_eq!(n("https://warroom.example.com/web"), None);
    }
}
