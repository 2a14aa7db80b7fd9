//! Severity: `/incident severity [level]`, the severity form (impact,
//! urgency, override) and its submission, and what a change of level does
//! to the communication clocks.

use super::{Reply, SubmissionReply, entry, notable, open_modal, sync_all, telling};
use crate::app::Ctx;
use crate::domain::permissions::Permission;
use crate::domain::{EntryKind, Incident, IncidentNumber, SeverityName, Status, UserId};
use crate::slack::blocks;
use crate::slack::inbound::declare_ids;
use crate::slack::render::{reference, severity};
use crate::slack::replies::Form;
use crate::slack::text::Mrkdwn;
use crate::store::{ChangeError, Guard, ScheduleOp, StoreError};
use std::collections::BTreeMap;
use tracing::info;

/// `/incident severity <level>`, the level resolved: whoever
/// `permissions.severity` allows, checked before and in `guard`.
pub(super) async fn set_severity(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    level: &SeverityName,
    guard: Guard,
) -> Result<Reply, ChangeError> {
    Ok(
        match change_severity(ctx, incident, user, level, None, guard).await? {
            None => Reply::Ephemeral(Mrkdwn::fill(
                "{} is already {}.",
                [reference(incident), severity(level)],
            )),
            Some(old) => Reply::InChannel(Mrkdwn::fill(
                "{} changed severity: {} → *{}*",
                [user.mention(), severity(&old), severity(level)],
            )),
        },
    )
}

/// `/incident severity` without a level: the severity form, when a
/// `severity_matrix` gives it questions to ask.
pub(super) async fn severity_form(ctx: &Ctx, incident: &Incident, trigger_id: &str) -> Reply {
    match &ctx.settings.severity_matrix {
        Some(matrix) => open_severity(ctx, incident, matrix, trigger_id).await,
        None => Reply::Ephemeral(Mrkdwn::fill(
            "No `severity_matrix` is configured, so there are no impact and urgency questions: `/incident severity &lt;level&gt;` ({}).",
            [Mrkdwn::escaped(&level_names(ctx))],
        )),
    }
}

fn level_names(ctx: &Ctx) -> String {
    ctx.settings
        .severities
        .iter()
        .map(|l| l.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Comms clocks under a new severity's cadence, counted from the last
/// update (or the declaration). A reminder already sent stays sent; one that
/// the new cadence makes overdue fires now.
fn comms_for_severity(ctx: &Ctx, incident: &Incident, severity: &SeverityName) -> ScheduleOp {
    let c = ctx.settings.cadence(severity);
    let now = ctx.clock.now();
    let base = incident.last_update_at.unwrap_or(incident.declared_at);
    let keep = |pending: Option<chrono::DateTime<chrono::Utc>>, after: chrono::Duration| {
        pending.map(|_| (base + after).max(now))
    };
    ScheduleOp::Comms {
        nudge_at: keep(incident.schedule.nudge_at, c.nudge_after),
        due_at: keep(incident.schedule.due_at, c.due_after),
    }
}

/// Sets the severity (and the impact and urgency answers, when given) with
/// its timeline entry, the syncs and the cadence of the new level; `guard`
/// is checked in the write. Returns the previous level, or `None` when
/// nothing changed.
async fn change_severity(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    level: &SeverityName,
    assessment: Option<&crate::domain::Assessment>,
    guard: Guard,
) -> Result<Option<SeverityName>, ChangeError> {
    let mut text = if incident.severity == *level {
        format!("Severity stays {level}")
    } else {
        format!("Severity changed from {} to {level}", incident.severity)
    };
    if let Some(a) = assessment {
        text.push_str(&format!(
            " (impact: {}, urgency: {})",
            crate::slack::text::escape(&a.impact),
            crate::slack::text::escape(&a.urgency)
        ));
    }
    let mut effects = notable(
        ctx,
        incident,
        vec![entry(ctx, EntryKind::Severity, user, text)],
        sync_all(),
    );
    effects.guard = guard;
    if incident.status.is_open() && incident.severity != *level {
        effects
            .schedule
            .push(comms_for_severity(ctx, incident, level));
    }
    ctx.store
        .set_severity_assessed(incident.number, level, assessment, ctx.clock.now(), effects)
        .await
}

/// Opens the severity form (the `trigger_id` dies in 3 s, so now).
async fn open_severity(
    ctx: &Ctx,
    incident: &Incident,
    matrix: &crate::domain::SeverityMatrix,
    trigger_id: &str,
) -> Reply {
    let view = blocks::severity_modal(incident, &ctx.settings.severities, matrix);
    match open_modal(ctx, trigger_id, view, Form::Severity).await {
        Ok(()) => Reply::Empty,
        Err(problem) => Reply::Ephemeral(problem),
    }
}

/// What the severity questions of a form decide: the level (the override,
/// else the matrix's suggestion) and the answers to store, or the errors
/// to show by block.
pub(super) fn assess_form(
    ctx: &Ctx,
    chosen: Option<&str>,
    impact: Option<&str>,
    urgency: Option<&str>,
) -> Result<(SeverityName, Option<crate::domain::Assessment>), BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let chosen = match chosen.map(|s| ctx.settings.severities.resolve(s)) {
        None => None,
        Some(Ok(l)) => Some(l.name.clone()),
        Some(Err(e)) => {
            errors.insert(declare_ids::SEVERITY.to_string(), e.to_string());
            return Err(errors);
        }
    };
    let Some(matrix) = &ctx.settings.severity_matrix else {
        return match chosen {
            Some(level) => Ok((level, None)),
            None => {
                errors.insert(
                    declare_ids::SEVERITY.to_string(),
                    "Pick a severity.".to_string(),
                );
                Err(errors)
            }
        };
    };
    let assessment = match (impact, urgency) {
        (Some(i), Some(u)) => match matrix.assess(i, u) {
            Some(a) => Some(a),
            None => {
                errors.insert(
                    declare_ids::IMPACT_ANSWER.to_string(),
                    "These choices changed since the form opened: close it and open it again."
                        .to_string(),
                );
                return Err(errors);
            }
        },
        _ => None,
    };
    match crate::domain::severity_matrix::decide(matrix, chosen.as_ref(), assessment.as_ref()) {
        Some(level) => Ok((level, assessment)),
        None => {
            let message =
                "Answer both questions to get a suggested severity, or pick a severity below.";
            if impact.is_none() {
                errors.insert(declare_ids::IMPACT_ANSWER.to_string(), message.to_string());
            }
            if urgency.is_none() {
                errors.insert(declare_ids::URGENCY.to_string(), message.to_string());
            }
            Err(errors)
        }
    }
}

/// The severity form was submitted: the same permission and "still open"
/// checks as `/incident severity <level>`, made in the write.
pub async fn severity_submitted(
    ctx: &Ctx,
    user: &UserId,
    number: IncidentNumber,
    form: &crate::slack::inbound::SeverityForm,
) -> Result<SubmissionReply, StoreError> {
    tracing::Span::current().record("incident", number.get());
    let refuse = |why: String| {
        let mut errors = BTreeMap::new();
        errors.insert(declare_ids::SEVERITY.to_string(), why);
        Ok(SubmissionReply::Errors(errors))
    };
    let Some(incident) = ctx.store.incident(number).await? else {
        return refuse("This incident no longer exists.".to_string());
    };
    if incident.status == Status::Closed {
        return refuse(format!("{} is closed.", incident.reference()));
    }
    let (level, assessment) = match assess_form(
        ctx,
        form.severity.as_deref(),
        form.impact.as_deref(),
        form.urgency.as_deref(),
    ) {
        Ok(x) => x,
        Err(errors) => return Ok(SubmissionReply::Errors(errors)),
    };
    let allowed = ctx.settings.permissions.get(Permission::Severity);
    // A form is not the war room: submitting one records no membership.
    let guard = Guard {
        open: true,
        ..Guard::default()
    }
    .allowing(Permission::Severity, allowed, user);
    let channel = incident
        .channel_id
        .clone()
        .unwrap_or_else(|| incident.origin_channel.clone());
    match change_severity(ctx, &incident, user, &level, assessment.as_ref(), guard).await {
        Err(ChangeError::Refused(why)) => {
            info!(user = %user, "refused");
            refuse(why.to_string())
        }
        Err(ChangeError::Store(e)) => Err(e),
        Ok(old) => {
            let text = match old {
                None => Mrkdwn::fill(
                    "{} is already {}.",
                    [reference(&incident), severity(&level)],
                ),
                Some(old) if old == level => Mrkdwn::fill(
                    "{} stays {}; the impact and urgency answers are recorded.",
                    [reference(&incident), severity(&level)],
                ),
                Some(old) => Mrkdwn::fill(
                    "{} is now *{}* (was {}).",
                    [reference(&incident), severity(&level), severity(&old)],
                ),
            };
            let told = telling(Some(&channel), user, text);
            ctx.store.add_jobs(number, ctx.clock.now(), told).await?;
            ctx.state_changed();
            Ok(SubmissionReply::Close)
        }
    }
}
