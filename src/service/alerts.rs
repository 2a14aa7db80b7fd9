//! Alerts in: a notification from monitoring routed and taken in
//! ([`receive`]: the route chosen, the title, severity and channel, the
//! incident to open when the route declares, all handed to one store
//! transaction that decides, within the locked group and the hourly
//! budget, whether it declares, suggests, or updates what is there), and
//! the buttons of the cards (Declare incident, Attach to…, Dismiss) and of
//! the "every alert resolved" message (Mark mitigated).

use super::declare::declaration_effects;
use super::{Reply, commands, entry, open_modal, tell};
use crate::alerts::AlertNotification;
use crate::app::Ctx;
use crate::config::AlertSource;
use crate::domain::alerts::{Alert, AlertStatus, RouteAction, TitleAlert, TitleContext};
use crate::domain::roles::INCIDENT_LEAD;
use crate::domain::{
    AlertGroupId, ChannelId, Declaration, EntryKind, Incident, IncidentNumber, NewEntry, RoleName,
    Status, UserId,
};
use crate::slack::blocks;
use crate::slack::replies::Form;
use crate::slack::text::Mrkdwn;
use crate::store::{
    DeclarePlan, Effects, Guard, IncomingAlert, Ingested, Intake, LinkRefusal, StoreError,
};
use std::time::Duration;
use tracing::{info, warn};

/// How long taking an alert in waits for the bot's own user id (one
/// `auth.test`, cached): an alert that would open a war room while Slack
/// cannot say who the bot is becomes a card instead.
const BOT_ID_TIMEOUT: Duration = Duration::from_secs(2);

/// What became of a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Its route says `ignore`.
    Ignored,
    /// Not about an alert (a PagerDuty event about a service).
    NotAnAlert,
    Taken(Ingested),
}

/// Routes `n` from `source` and takes it in, in one transaction.
pub async fn receive(
    ctx: &Ctx,
    source: &AlertSource,
    n: Option<AlertNotification>,
) -> Result<Received, StoreError> {
    let Some(n) = n else {
        return Ok(Received::NotAnAlert);
    };
    let labels = n.route_labels();
    let (index, route) = ctx.settings.alerts.routes.choose(&labels);
    if route.action == RouteAction::Ignore {
        info!(route = ?index, "alert group ignored by its route");
        return Ok(Received::Ignored);
    }
    let Some(channel) = route
        .channel
        .clone()
        .or_else(|| ctx.settings.announce_channel.clone())
    else {
        // Configuration refuses sources without an announce channel.
        warn!("no channel for this alert's card: set announce_channel");
        return Ok(Received::Ignored);
    };
    let now = ctx.clock.now();
    let severity = route.severity_for(&labels, &ctx.settings.severities);
    let title = title_of(source, &n, route.title.as_ref());
    let alerts: Vec<IncomingAlert> = n
        .alerts
        .iter()
        .map(|a| IncomingAlert {
            alert: a.clone(),
            fired: blocks::alert_line(a, false).into(),
            resolved: blocks::alert_line(a, true).into(),
        })
        .collect();
    let mut held_back = format!(
        "Not declared automatically: alerts already opened {} war rooms in the last hour (alerts.max_declares_per_hour). Declare it here if it needs one.",
        ctx.settings.alerts.max_declares_per_hour
    );
    let declare = match route.action {
        RouteAction::Declare => match bot_id(ctx).await {
            Some(bot) => {
                let declaration = Declaration {
                    title: title.clone(),
                    severity: severity.clone(),
                    summary: summary_of(&n.annotations, &n.alerts),
                    impact_started_at: None,
                    security: false,
                    drill: false,
                    private: route.private,
                    declared_by: bot.clone(),
                    origin_channel: channel.clone(),
                    announce_channel: ctx
                        .settings
                        .announce_channel
                        .clone()
                        .unwrap_or_else(|| channel.clone()),
                    assessment: None,
                };
                let declared = entry(
                    ctx,
                    EntryKind::Declared,
                    &bot,
                    blocks::declared_by_alert(&title, &source.name).into(),
                );
                Some(DeclarePlan {
                    effects: declaration_effects(ctx, &declaration, declared, None),
                    declaration,
                    lead_role: RoleName::new(INCIDENT_LEAD),
                    detected_at: n.first_started_at().unwrap_or(now),
                })
            }
            None => {
                held_back = "Not declared automatically: Slack could not be reached to open the war room. Declare it here.".to_string();
                None
            }
        },
        RouteAction::Suggest | RouteAction::Ignore => None,
    };
    let intake = Intake {
        source: source.name.clone(),
        group_key: n.group_key.clone(),
        delivery: n.delivery.clone(),
        title,
        labels: n.labels.clone(),
        links: n.links.clone(),
        severity,
        channel,
        private: route.private,
        action: route.action,
        alerts,
        note: n.note.as_ref().map(|note| NewEntry {
            occurred_at: note.at,
            kind: EntryKind::Alert,
            author: None,
            text: blocks::alert_note(&note.text).into(),
        }),
        declare,
        max_declares_per_hour: ctx.settings.alerts.max_declares_per_hour,
        held_back,
    };
    let taken = ctx.store.ingest_alerts(&intake, now).await?;
    match &taken {
        Ingested::Declared { group, incident } => {
            tracing::Span::current().record("incident", incident.get());
            ctx.metrics.declared();
            info!(%group, "alert declared an incident");
            ctx.state_changed();
        }
        Ingested::Suggested { group, held_back } => {
            info!(%group, held_back, "alert suggested an incident");
            ctx.state_changed();
        }
        Ingested::Updated {
            group,
            incident,
            changes,
        } => {
            if let Some(n) = incident {
                tracing::Span::current().record("incident", n.get());
            }
            if *changes > 0 || n.note.is_some() {
                info!(%group, changes, "alert group updated");
                ctx.state_changed();
            }
        }
        Ingested::Duplicate | Ingested::Nothing => {}
    }
    Ok(Received::Taken(taken))
}

/// The bot's user id, if Slack tells it in time (cached after the first).
async fn bot_id(ctx: &Ctx) -> Option<UserId> {
    match tokio::time::timeout(BOT_ID_TIMEOUT, ctx.slack.bot_user_id()).await {
        Ok(Ok(id)) => Some(id),
        Ok(Err(e)) => {
            warn!(error = %e, "auth.test failed; the alert gets a card instead of a war room");
            None
        }
        Err(_) => {
            warn!("auth.test timed out; the alert gets a card instead of a war room");
            None
        }
    }
}

/// The route's title template on the group, else the default title.
fn title_of(
    source: &AlertSource,
    n: &AlertNotification,
    template: Option<&crate::domain::alerts::TitleTemplate>,
) -> String {
    let fallback_annotations;
    let annotations = if n.annotations.is_empty() {
        fallback_annotations = n
            .alerts
            .first()
            .map(|a| a.annotations.clone())
            .unwrap_or_default();
        &fallback_annotations
    } else {
        &n.annotations
    };
    let labels = n.route_labels();
    let rendered = template.and_then(|t| {
        t.render(&TitleContext {
            labels: &labels,
            annotations,
            status: n.status.as_str(),
            source: &source.name,
            count: n.alerts.len(),
            alerts: n
                .alerts
                .iter()
                .map(|a| TitleAlert {
                    labels: &a.labels,
                    annotations: &a.annotations,
                    status: a.status.as_str(),
                })
                .collect(),
        })
    });
    rendered.unwrap_or_else(|| {
        crate::domain::alerts::default_title(&labels, annotations, n.title.as_deref(), &source.name)
    })
}

/// A declaration's summary from the alerts: the description, else the
/// summaries of what fires.
fn summary_of(annotations: &crate::domain::alerts::Labels, alerts: &[Alert]) -> String {
    if let Some(d) = annotations.get("description").or_else(|| {
        alerts
            .first()
            .and_then(|a| a.annotations.get("description"))
    }) {
        return d.trim().chars().take(2000).collect();
    }
    let firing: Vec<String> = alerts
        .iter()
        .filter(|a| a.status == AlertStatus::Firing)
        .take(5)
        .map(|a| format!("- {}", a.name()))
        .collect();
    firing.join("\n")
}

/// The timeline entries of linking a group: each of its alerts' firing
/// (and resolution) at their own times, and `by`'s link now.
fn link_entries(ctx: &Ctx, alerts: &[Alert], title: &str, by: &UserId) -> Vec<NewEntry> {
    let mut entries = Vec::new();
    for a in alerts {
        let line = |resolved| NewEntry {
            occurred_at: crate::domain::alerts::changed_at(a, resolved),
            kind: EntryKind::Alert,
            author: None,
            text: blocks::alert_line(a, resolved).into(),
        };
        entries.push(line(false));
        if a.status == AlertStatus::Resolved {
            entries.push(line(true));
        }
    }
    entries.push(entry(
        ctx,
        EntryKind::Alert,
        by,
        blocks::linked_line(title, by).into(),
    ));
    entries
}

/// Why a card's button did nothing, for the person who clicked.
fn refusal_text(why: &LinkRefusal) -> Mrkdwn {
    let inc = |n: &crate::domain::IncidentNumber| Mrkdwn::number(n.get());
    match why {
        LinkRefusal::NoGroup => Mrkdwn::literal("That alert is no longer known."),
        LinkRefusal::Linked(n) => Mrkdwn::fill("That alert is already linked to INC-{}.", [inc(n)]),
        LinkRefusal::Dismissed => Mrkdwn::literal("That alert was dismissed already."),
        LinkRefusal::Superseded => {
            Mrkdwn::literal("That alert fired again since: use its newer card.")
        }
        LinkRefusal::NotOpen(n) => {
            Mrkdwn::fill("INC-{} is no longer open: pick another incident.", [inc(n)])
        }
    }
}

/// Tells `user` privately in `channel` (the card's), with no incident.
async fn tell_unowned(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    text: Mrkdwn,
) -> Result<(), StoreError> {
    let jobs = super::telling(channel, user, text);
    if jobs.is_empty() {
        return Ok(());
    }
    ctx.store.add_unowned_jobs(jobs, ctx.clock.now()).await?;
    ctx.state_changed();
    Ok(())
}

/// "Declare incident" on a card: the declare form, prefilled from the
/// group, which links it when submitted.
pub(super) async fn open_declare(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    trigger_id: &str,
    id: AlertGroupId,
) -> Result<(), StoreError> {
    let Some(group) = ctx.store.alert_group(id).await? else {
        return tell_unowned(ctx, user, channel, refusal_text(&LinkRefusal::NoGroup)).await;
    };
    if let Some(n) = group.incident {
        return tell_unowned(ctx, user, channel, refusal_text(&LinkRefusal::Linked(n))).await;
    }
    let alerts = ctx.store.group_alerts(id).await?;
    let summary = summary_of(&crate::domain::alerts::Labels::new(), &alerts);
    let view = blocks::declare_modal_for_alert(
        &blocks::AlertPrefill {
            title: &group.title,
            summary: &summary,
            severity: &group.severity,
            private: group.private,
            channel: &group.channel,
            group: id,
        },
        &ctx.settings.severities,
        ctx.settings.severity_matrix.as_ref(),
        ctx.settings.incidents.security_private,
    );
    match open_modal(ctx, trigger_id, view, Form::Declare).await {
        Ok(()) => Ok(()),
        Err(problem) => tell_unowned(ctx, user, channel, problem).await,
    }
}

/// The declare form opened from a card was submitted: the incident is
/// declared and the group linked in one transaction (the same form
/// submitted again returns the incident it made). `Err`: what the form
/// shows instead.
pub(super) async fn declare_linked(
    ctx: &Ctx,
    id: AlertGroupId,
    declaration: Declaration,
    effects: Effects,
    view_id: &str,
    user: &UserId,
) -> Result<Result<(Incident, bool), String>, StoreError> {
    let Some(group) = ctx.store.alert_group(id).await? else {
        return Ok(Err(refusal_text(&LinkRefusal::NoGroup).into()));
    };
    let alerts = ctx.store.group_alerts(id).await?;
    let plan = DeclarePlan {
        declaration,
        lead_role: RoleName::new(INCIDENT_LEAD),
        effects,
        detected_at: group.first_started_at,
    };
    let entries = link_entries(ctx, &alerts, &group.title, user);
    Ok(ctx
        .store
        .declare_for_group(id, plan, view_id, entries, ctx.clock.now())
        .await?
        .map_err(|why| refusal_text(&why).into()))
}

/// An incident picked in "Attach to…": the group is linked to it, its
/// alerts so far go on that timeline, the card says so.
pub(super) async fn attach(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    id: AlertGroupId,
    number: IncidentNumber,
) -> Result<(), StoreError> {
    tracing::Span::current().record("incident", number.get());
    let Some(group) = ctx.store.alert_group(id).await? else {
        return tell_unowned(ctx, user, channel, refusal_text(&LinkRefusal::NoGroup)).await;
    };
    let alerts = ctx.store.group_alerts(id).await?;
    let entries = link_entries(ctx, &alerts, &group.title, user);
    match ctx
        .store
        .link_alert_group(id, number, entries, ctx.clock.now())
        .await?
    {
        Ok(()) => {
            info!(group = %id, "alert group attached");
            ctx.state_changed();
            Ok(())
        }
        Err(why) => tell_unowned(ctx, user, channel, refusal_text(&why)).await,
    }
}

/// "Dismiss" on a card: recorded with who; the card says so.
pub(super) async fn dismiss(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    id: AlertGroupId,
) -> Result<(), StoreError> {
    match ctx
        .store
        .dismiss_alert_group(id, user, ctx.clock.now())
        .await?
    {
        Ok(()) => {
            info!(group = %id, "alert group dismissed");
            ctx.state_changed();
            Ok(())
        }
        Err(why) => tell_unowned(ctx, user, channel, refusal_text(&why)).await,
    }
}

/// "Mark mitigated": the same change as `/incident status mitigated` by
/// whoever clicked, checked the same way; they are told how it went.
pub(super) async fn mark_mitigated(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    number: IncidentNumber,
) -> Result<(), StoreError> {
    tracing::Span::current().record("incident", number.get());
    let Some(incident) = ctx.store.incident(number).await? else {
        return Ok(());
    };
    let answer = match commands::set_status(
        ctx,
        &incident,
        user,
        Status::Mitigated,
        Guard::open_by(user),
    )
    .await
    {
        Ok(Reply::Ephemeral(text) | Reply::InChannel(text)) => text,
        Ok(_) => return Ok(()),
        Err(crate::store::ChangeError::Refused(why)) => why.to_mrkdwn(),
        Err(crate::store::ChangeError::Store(e)) => return Err(e),
    };
    ctx.state_changed();
    let channel = channel.or(incident.channel_id.as_ref());
    tell(ctx, number, user, channel, answer).await
}
