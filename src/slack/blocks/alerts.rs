//! Alerts in Slack: the suggestion card (what fired, its labels that
//! matter, how many, since when, links; Declare incident, Attach to…,
//! Dismiss), the same card in a war room an alert opened, the "every alert
//! resolved" message with Mark mitigated, the alert links on the role
//! board, the declare form prefilled from an alert, and the timeline lines
//! of alert changes. Everything an alert source says is escaped; only
//! `alerts.notify`, the operator's own setting, mentions for real.

use super::format::{context, md, message, plain, reference, severity, status, when};
use super::{SECTION_TEXT_MAX, truncate};
use crate::domain::alerts::{Alert, AlertGroup, AlertStatus, CardState, Link};
use crate::domain::{ChannelId, Incident, SeverityCatalog, SeverityMatrix, SeverityName};
use crate::slack::ids::{
    self, ACTION_ALERT_DECLARE, ACTION_ALERT_DISMISS, ACTION_MARK_MITIGATED, alert_link_action_id,
    attach_action_id,
};
use crate::slack::text::Mrkdwn;
use slack_morphism::prelude::*;

/// Labels shown first on a card when present, in this order.
const LABELS_FIRST: [&str; 9] = [
    "severity",
    "service",
    "team",
    "env",
    "environment",
    "cluster",
    "namespace",
    "job",
    "instance",
];
/// Labels a card leaves out: its title says them, or they are plumbing.
const LABELS_HIDDEN: [&str; 3] = ["alertname", "grafana_folder", "__alert_rule_uid__"];
/// Most labels and alerts a card lists.
const MAX_LABELS: usize = 6;
const MAX_ALERTS: usize = 10;

/// What a card shows.
pub struct AlertCard<'a> {
    pub group: &'a AlertGroup,
    pub alerts: &'a [Alert],
    /// What "Attach to…" offers.
    pub open_incidents: &'a [Incident],
    /// The incident the group is linked to, if any.
    pub linked: Option<&'a Incident>,
    /// The incident its key was linked to before (it fired again since).
    pub earlier: Option<&'a Incident>,
    /// `alerts.notify`, mentioned as written ([`Mrkdwn::alerts_notify`]).
    pub notify: Option<Mrkdwn>,
    /// Posted in the war room the alert opened (no buttons, no "linked to").
    pub in_war_room: bool,
    pub timezone: chrono_tz::Tz,
}

/// The labels that matter: the well-known ones first, at most six.
fn shown_labels(group: &AlertGroup) -> Vec<(&str, &str)> {
    let mut shown: Vec<(&str, &str)> = LABELS_FIRST
        .iter()
        .filter_map(|k| group.labels.get_key_value(*k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    shown.extend(
        group
            .labels
            .iter()
            .filter(|(k, _)| {
                !LABELS_FIRST.contains(&k.as_str())
                    && !LABELS_HIDDEN.contains(&k.as_str())
                    && !k.starts_with("__")
            })
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    shown.truncate(MAX_LABELS);
    shown
}

/// An alert's line on the card: its name, what tells it apart, when.
fn alert_item(a: &Alert, group: &AlertGroup, tz: chrono_tz::Tz) -> Mrkdwn {
    let own: Vec<Mrkdwn> = a
        .labels
        .iter()
        .filter(|(k, v)| group.labels.get(*k) != Some(*v) && !k.starts_with("__"))
        .take(3)
        .map(|(k, v)| label("{}={}", k, v))
        .collect();
    let own = if own.is_empty() {
        Mrkdwn::default()
    } else {
        Mrkdwn::fill(" ({})", [Mrkdwn::join(own, ", ")])
    };
    let state = match a.status {
        AlertStatus::Firing => Mrkdwn::fill(":red_circle: since {}", [when(a.starts_at, true, tz)]),
        AlertStatus::Resolved => Mrkdwn::fill(
            ":large_green_circle: resolved {}",
            [when(a.ends_at.unwrap_or(a.starts_at), true, tz)],
        ),
    };
    Mrkdwn::fill("• *{}*{} {}", [Mrkdwn::escaped(a.name()), own, state])
}

/// A label as an alert source sent it, in `template` (`{}={}`).
fn label(template: &'static str, key: &str, value: &str) -> Mrkdwn {
    Mrkdwn::fill(template, [Mrkdwn::escaped(key), Mrkdwn::escaped(value)])
}

fn link_button(l: &Link, i: usize) -> Option<SlackActionBlockElement> {
    let url = url::Url::parse(&l.url).ok()?;
    Some(
        SlackBlockButtonElement::new(plain(truncate(&l.label, 30)))
            .with_action_id(alert_link_action_id(i).into())
            .with_url(url)
            .into(),
    )
}

/// The group's links and its alerts', each once, at most five.
pub fn group_links(group_links: &[Link], alerts: &[Alert]) -> Vec<Link> {
    let mut links: Vec<Link> = Vec::new();
    for l in alerts
        .iter()
        .flat_map(|a| a.links.iter())
        .chain(group_links.iter())
    {
        if !links.iter().any(|k| k.url == l.url || k.label == l.label) {
            links.push(l.clone());
        }
    }
    links.truncate(5);
    links
}

/// The card of an alert group.
pub fn alert_card(card: &AlertCard<'_>) -> SlackMessageContent {
    let g = card.group;
    let siren = Mrkdwn::literal(if g.firing > 0 {
        ":rotating_light:"
    } else {
        ":large_green_circle:"
    });
    let counts = match (g.firing, g.total) {
        (0, total) => Mrkdwn::fill("all {} resolved", [Mrkdwn::number(total)]),
        (f, t) if f == t => Mrkdwn::fill("{} firing", [Mrkdwn::number(f)]),
        (f, t) => Mrkdwn::fill("{} of {} firing", [Mrkdwn::number(f), Mrkdwn::number(t)]),
    };
    let title = Mrkdwn::escaped(&g.title);
    let mut head = Mrkdwn::fill(
        "{} *{}*\n{} · since {} · from `{}` · suggested {}",
        [
            siren,
            title.clone(),
            counts.clone(),
            when(g.first_started_at, true, card.timezone),
            Mrkdwn::escaped(&g.source),
            severity(&g.severity),
        ],
    );
    let labels = shown_labels(g);
    if !labels.is_empty() {
        head.push(Mrkdwn::fill(
            "\n{}",
            [Mrkdwn::join(
                labels.iter().map(|(k, v)| label("`{}={}`", k, v)),
                " ",
            )],
        ));
    }
    let mut notes: Vec<Mrkdwn> = Vec::new();
    if let Some(earlier) = card.earlier {
        notes.push(Mrkdwn::fill(
            ":repeat: This fired before: {} ({}), now {}.",
            [
                reference(earlier),
                Mrkdwn::typed(&earlier.title),
                status(earlier.status),
            ],
        ));
    }
    if let Some(why) = &g.held_back {
        notes.push(Mrkdwn::fill(":pause_button: {}", [Mrkdwn::escaped(why)]));
    }
    let state = g.card_state();
    match (state, card.linked) {
        (CardState::Linked(_), Some(i)) if !card.in_war_room => {
            let room = i
                .channel_id
                .as_ref()
                .map(|c| Mrkdwn::fill(" in {}", [Mrkdwn::channel(c)]))
                .unwrap_or_default();
            notes.push(Mrkdwn::fill(
                ":link: Linked to {}{}: its changes go on that timeline.",
                [reference(i), room],
            ));
        }
        (CardState::Linked(n), None) if !card.in_war_room => {
            notes.push(Mrkdwn::fill(
                ":link: Linked to INC-{}.",
                [Mrkdwn::number(n.get())],
            ));
        }
        (CardState::Dismissed, _) => notes.push(Mrkdwn::fill(
            ":no_entry_sign: Dismissed by {}.",
            [g.dismissed_by
                .as_ref()
                .map(|u| u.mention())
                .unwrap_or_default()],
        )),
        _ => {}
    }
    if let Some(notify) = &card.notify
        && (state == CardState::Open || card.in_war_room)
    {
        notes.push(notify.clone());
    }
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_block_id(ids::block::ALERT_HEAD.into())
            .with_text(md(head.truncate(SECTION_TEXT_MAX)).into())
            .into(),
    ];
    let mut items: Vec<Mrkdwn> = card
        .alerts
        .iter()
        .take(MAX_ALERTS)
        .map(|a| alert_item(a, g, card.timezone))
        .collect();
    if card.alerts.len() > MAX_ALERTS {
        items.push(Mrkdwn::fill(
            "…and {} more",
            [Mrkdwn::number(card.alerts.len() - MAX_ALERTS)],
        ));
    }
    if !items.is_empty() {
        blocks.push(
            SlackSectionBlock::new()
                .with_block_id(ids::block::ALERT_LIST.into())
                .with_text(md(Mrkdwn::join(items, "\n").truncate(SECTION_TEXT_MAX)).into())
                .into(),
        );
    }
    if !notes.is_empty() {
        blocks.push(context(Mrkdwn::join(notes, "\n").truncate(SECTION_TEXT_MAX)).into());
    }
    let links: Vec<SlackActionBlockElement> = group_links(&g.links, card.alerts)
        .iter()
        .enumerate()
        .filter_map(|(i, l)| link_button(l, i))
        .collect();
    if !links.is_empty() {
        blocks.push(
            SlackActionsBlock::new(links)
                .with_block_id(ids::block::ALERT_LINKS.into())
                .into(),
        );
    }
    if state == CardState::Open && !card.in_war_room {
        blocks.push(
            SlackActionsBlock::new(buttons(g, card.open_incidents))
                .with_block_id(ids::block::ALERT_ACTIONS.into())
                .into(),
        );
    }
    message(Mrkdwn::fill("Alert: {} ({})", [title, counts]), blocks)
}

/// Declare incident, Attach to… (when something is open), Dismiss.
fn buttons(g: &AlertGroup, open: &[Incident]) -> Vec<SlackActionBlockElement> {
    let value = g.id.to_string();
    let mut elements: Vec<SlackActionBlockElement> = vec![
        SlackBlockButtonElement::new(plain("Declare incident"))
            .with_action_id(ACTION_ALERT_DECLARE.into())
            .with_value(value.clone())
            .with_style(SlackBlockButtonStyle::Primary)
            .into(),
    ];
    let options = super::format::incident_options(open);
    if !options.is_empty() {
        elements.push(
            SlackBlockStaticSelectElement::new()
                .with_action_id(attach_action_id(g.id).into())
                .with_placeholder(plain("Attach to…"))
                .with_options(options)
                .into(),
        );
    }
    elements.push(
        SlackBlockButtonElement::new(plain("Dismiss"))
            .with_action_id(ACTION_ALERT_DISMISS.into())
            .with_value(value)
            .into(),
    );
    elements
}

/// The war room's message once every alert linked to it resolved: a
/// suggestion, never an automatic change of status.
pub fn alerts_resolved(incident: &Incident) -> SlackMessageContent {
    let text = Mrkdwn::fill(
        ":large_green_circle: Every alert linked to {} has resolved. If the impact is over too, mark it mitigated.",
        [reference(incident)],
    );
    message(
        text.clone(),
        vec![
            SlackSectionBlock::new()
                .with_block_id(ids::block::ALERTS_RESOLVED.into())
                .with_text(md(text).into())
                .with_accessory(
                    SlackBlockButtonElement::new(plain("Mark mitigated"))
                        .with_action_id(ACTION_MARK_MITIGATED.into())
                        .with_value(incident.number.to_string())
                        .with_style(SlackBlockButtonStyle::Primary)
                        .into(),
                )
                .into(),
        ],
    )
}

/// The role board with the alerts' links under its heading.
pub fn with_alert_links(mut content: SlackMessageContent, links: &[Link]) -> SlackMessageContent {
    let buttons: Vec<SlackActionBlockElement> = links
        .iter()
        .enumerate()
        .filter_map(|(i, l)| link_button(l, i))
        .collect();
    if buttons.is_empty() {
        return content;
    }
    if let Some(blocks) = content.blocks.as_mut() {
        let at = 2.min(blocks.len());
        blocks.insert(
            at,
            SlackActionsBlock::new(buttons)
                .with_block_id(ids::block::ALERT_LINKS.into())
                .into(),
        );
    }
    content
}

/// A timeline line: `alert` fired (or resolved).
pub fn alert_line(alert: &Alert, resolved: bool) -> Mrkdwn {
    let what = Mrkdwn::literal(if resolved { "resolved" } else { "firing" });
    let mut line = Mrkdwn::fill("Alert {}: *{}*", [what, Mrkdwn::escaped(alert.name())]);
    let summary = alert
        .annotations
        .get("summary")
        .filter(|s| s.as_str() != alert.name());
    if let Some(s) = summary {
        line.push(Mrkdwn::fill(" ({})", [Mrkdwn::escaped(&truncate(s, 200))]));
    }
    for (key, template) in [("instance", " `instance={}`"), ("service", " `service={}`")] {
        if let Some(v) = alert.labels.get(key) {
            line.push(Mrkdwn::fill(template, [Mrkdwn::escaped(v)]));
        }
    }
    if let Some(l) = alert.links.first() {
        line.push(Mrkdwn::fill(" {}", [Mrkdwn::link(&l.url, &l.label)]));
    }
    line.truncate(SECTION_TEXT_MAX)
}

/// A timeline line about a group from its source (a PagerDuty note).
pub fn alert_note(text: &str) -> Mrkdwn {
    Mrkdwn::escaped(text).truncate(SECTION_TEXT_MAX)
}

/// The declaration's timeline line for an incident an alert opened.
pub fn declared_by_alert(group_title: &str, source: &str) -> Mrkdwn {
    Mrkdwn::fill(
        "An alert from `{}` declared the incident: {}",
        [Mrkdwn::escaped(source), Mrkdwn::escaped(group_title)],
    )
}

/// The line recording who linked a group to the incident.
pub fn linked_line(group_title: &str, who: &crate::domain::UserId) -> Mrkdwn {
    Mrkdwn::fill(
        "{} linked the alert {}",
        [who.mention(), Mrkdwn::escaped(group_title)],
    )
}

/// What the declare form starts with when opened from an alert card.
pub struct AlertPrefill<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    pub severity: &'a SeverityName,
    pub private: bool,
    pub channel: &'a ChannelId,
    pub group: crate::domain::AlertGroupId,
}

/// The declare form prefilled from an alert group: its title, a summary
/// of what fired, its level, the private flag; the group travels in the
/// form's metadata, so the submission links it.
pub fn declare_modal_for_alert(
    prefill: &AlertPrefill<'_>,
    severities: &SeverityCatalog,
    matrix: Option<&SeverityMatrix>,
    security_private: bool,
) -> SlackView {
    super::modals::declare_modal_prefilled(
        &super::modals::DeclarePrefill {
            title: Some(prefill.title),
            summary: Some(prefill.summary),
            severity: Some(prefill.severity),
            private: prefill.private,
            alert_group: Some(prefill.group),
            ..Default::default()
        },
        severities,
        matrix,
        Some(prefill.channel),
        security_private,
    )
}
