//! Declaring: `/incident declare` opens the declare form; its submission
//! creates the incident, whose war room the jobs then open.

use super::{Reply, SubmissionReply, entry, open_modal, severity};
use crate::app::Ctx;
use crate::domain::comms::Schedule;
use crate::domain::roles::INCIDENT_LEAD;
use crate::domain::{
    AlertGroupId, Declaration, EntryKind, Incident, NewEntry, QuotedMessage, RoleName, UserId,
};
use crate::queue::Job;
use crate::slack::blocks;
use crate::slack::inbound::{DeclareForm, DeclareMetadata, SlashCommand, declare_ids};
use crate::slack::replies::Form;
use crate::store::{Effects, Guard, ScheduleOp, StoreError};
use std::collections::BTreeMap;
use tracing::info;

pub(super) async fn open_declare(ctx: &Ctx, cmd: &SlashCommand, title: Option<&str>) -> Reply {
    let view = blocks::declare_modal(
        title,
        &ctx.settings.severities,
        ctx.settings.severity_matrix.as_ref(),
        &cmd.channel_id,
        ctx.settings.incidents.security_private,
    );
    match open_modal(ctx, &cmd.trigger_id, view, Form::Declare).await {
        Ok(()) => Reply::Empty,
        Err(problem) => Reply::Ephemeral(problem),
    }
}

/// What a declaration writes besides the incident: its timeline entry,
/// the war room's jobs (inviting `invite`, the declarer, when a person),
/// and the reminder clocks started.
pub(super) fn declaration_effects(
    ctx: &Ctx,
    declaration: &Declaration,
    declared: NewEntry,
    invite: Option<&UserId>,
) -> Effects {
    let now = ctx.clock.now();
    let mut jobs = vec![Job::CreateChannel];
    jobs.extend(invite.map(|user| Job::Invite { user: user.clone() }));
    jobs.extend([Job::SyncTopic, Job::SyncBoard, Job::SyncAnnouncement]);
    let c = ctx.settings.cadence(&declaration.severity);
    let (nudge_at, due_at) = Schedule::comms_from(now, &c);
    Effects {
        events: Vec::new(),
        timeline: vec![declared],
        jobs,
        schedule: vec![
            ScheduleOp::Comms { nudge_at, due_at },
            ScheduleOp::Scribe(Some(now + c.scribe_quiet_after)),
        ],
        guard: Guard::default(),
    }
}

/// A declare modal was submitted.
pub async fn declare(
    ctx: &Ctx,
    user: &UserId,
    view_id: &str,
    metadata: Option<&DeclareMetadata>,
    form: &DeclareForm,
) -> Result<SubmissionReply, StoreError> {
    let mut errors = BTreeMap::new();
    if form.title.is_empty() {
        errors.insert(
            declare_ids::TITLE.to_string(),
            "Give the incident a title.".to_string(),
        );
    }
    let (severity, assessment) = match severity::assess_form(
        ctx,
        form.severity.as_deref(),
        form.impact_answer.as_deref(),
        form.urgency.as_deref(),
    ) {
        Ok((level, assessment)) => (Some(level), assessment),
        Err(e) => {
            errors.extend(e);
            (None, None)
        }
    };
    let now = ctx.clock.now();
    if form.impact_started_at.is_some_and(|t| t > now) {
        errors.insert(
            declare_ids::IMPACT.to_string(),
            "Impact cannot start in the future.".to_string(),
        );
    }
    let origin = metadata.and_then(|m| m.channel.clone());
    let announce = ctx
        .settings
        .announce_channel
        .clone()
        // Where the form asked (a door without a channel, or a direct
        // message), the answer; else where it was declared.
        .or_else(|| form.announce.clone())
        .or_else(|| origin.clone());
    let (Some(severity), Some(announce_channel), true) = (severity, announce, errors.is_empty())
    else {
        if errors.is_empty() {
            let (block, text) = if metadata.is_some_and(|m| m.channel.is_none()) {
                (declare_ids::ANNOUNCE, "Pick the channel to announce it in.")
            } else {
                (
                    declare_ids::TITLE,
                    "This form lost track of its channel: close it and run /incident declare again.",
                )
            };
            errors.insert(block.to_string(), text.to_string());
        }
        return Ok(SubmissionReply::Errors(errors));
    };
    let declaration = Declaration {
        title: form.title.clone(),
        severity,
        summary: form.summary.clone(),
        impact_started_at: form.impact_started_at,
        security: form.security,
        drill: form.drill,
        private: form.private || (form.security && ctx.settings.incidents.security_private),
        declared_by: user.clone(),
        origin_channel: origin.unwrap_or_else(|| announce_channel.clone()),
        announce_channel,
        assessment,
    };
    let linked = metadata.and_then(|m| m.alert_group);
    let source = metadata.and_then(|m| m.source.as_ref());
    // Started from a message in a private incident's war room: private too,
    // whatever the box said.
    let mut declaration = declaration;
    declaration.private |= super::doors::from_private_room(ctx, source).await?;
    match record(ctx, declaration, view_id, linked, source, Vec::new()).await? {
        Ok(_) => Ok(SubmissionReply::Close),
        Err(problem) => {
            errors.insert(declare_ids::TITLE.to_string(), problem);
            Ok(SubmissionReply::Errors(errors))
        }
    }
}

/// Records a checked declaration, whatever door it came by (the form, the
/// Workflow Builder step): the incident with its first entry and the war
/// room's jobs (and `jobs`), linked to the alert group `linked` in the
/// same write, or the message `source` quoted as its first timeline
/// entry. `key` makes a repeat (a form submitted twice, a redelivered
/// event) return the incident already declared, `created` false. `Err`:
/// why it was refused (the alert group was taken meanwhile).
pub(super) async fn record(
    ctx: &Ctx,
    declaration: Declaration,
    key: &str,
    linked: Option<AlertGroupId>,
    source: Option<&QuotedMessage>,
    jobs: Vec<Job>,
) -> Result<Result<(Incident, bool), String>, StoreError> {
    let user = declaration.declared_by.clone();
    let drill = if declaration.drill { " (drill)" } else { "" };
    let mut effects = declaration_effects(
        ctx,
        &declaration,
        entry(
            ctx,
            EntryKind::Declared,
            &user,
            // Timeline texts are in Slack's format; a typed title is raw.
            format!(
                "{} declared the incident{drill}: {}",
                user.mention(),
                crate::slack::text::escape(&declaration.title)
            ),
        ),
        Some(&user),
    );
    effects.jobs.extend(jobs);
    let now = ctx.clock.now();
    let (incident, created) = match linked {
        // Opened from an alert card: declared and linked in one go.
        Some(group) => {
            match super::alerts::declare_linked(ctx, group, declaration, effects, key, &user)
                .await?
            {
                Ok(declared) => declared,
                Err(problem) => return Ok(Err(problem)),
            }
        }
        None => {
            ctx.store
                .create_incident(
                    &declaration,
                    Some(key),
                    now,
                    &RoleName::new(INCIDENT_LEAD),
                    effects,
                )
                .await?
        }
    };
    tracing::Span::current().record("incident", incident.number.get());
    if let Some(message) = source {
        // Its own write, after the incident's: a repeat of the declaration
        // (`created` false) quotes it again, which changes nothing.
        super::doors::quote(ctx, &incident, message, &user).await?;
    }
    if created {
        ctx.metrics.declared();
        info!(severity = %incident.severity, "incident declared");
        ctx.state_changed();
    }
    Ok(Ok((incident, created)))
}
