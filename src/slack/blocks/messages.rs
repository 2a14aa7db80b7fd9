//! The bot's messages: the role board, the announcements, the timeline,
//! status updates, reminders, the postmortem summary and the bridge button.

use super::format::{
    context, headline, md, message, plain, reference, severity, span, status, timeline_line, when,
};
use super::{MAX_BLOCKS, SECTION_TEXT_MAX};
use crate::domain::comms::Cadence;
use crate::domain::{Assignment, Entry, Incident, RoleCatalog, holders, lead};
use crate::slack::ids::{
    self, ACTION_ADD_FOLLOWUP, ACTION_BRIDGE, ACTION_CLAIM, ACTION_OPEN_UPDATE, ACTION_PAGE,
    ACTION_RELEASE, role_value, snooze_action_id, snooze_value,
};
use crate::slack::text::Mrkdwn;
use slack_morphism::prelude::*;

/// The role board in the war room: one line per role, Claim and Release;
/// with `page`, a Page on-call button under it (PagerDuty paging is set).
pub fn role_board(
    incident: &Incident,
    assignments: &[Assignment],
    roles: &RoleCatalog,
    page: bool,
) -> SlackMessageContent {
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_block_id(ids::block::BOARD_HEAD.into())
            .with_text(md(headline(incident)).into())
            .into(),
        context(Mrkdwn::literal(
            "Roles: claim one with its button; one person may hold several.",
        ))
        .into(),
    ];
    let mut fallback = vec![Mrkdwn::fill("{} role board", [reference(incident)])];
    for (i, role) in roles.iter().enumerate() {
        let who = holders(assignments, role.name.as_str());
        let held = if who.is_empty() {
            Mrkdwn::literal("_unclaimed_")
        } else {
            Mrkdwn::join(who.iter().map(|u| u.mention()), ", ")
        };
        let duty = if role.duty.is_empty() {
            Mrkdwn::default()
        } else {
            Mrkdwn::fill("\n_{}_", [Mrkdwn::escaped(&role.duty)])
        };
        let name = Mrkdwn::escaped(role.name.as_str());
        fallback.push(Mrkdwn::fill("{}: {}", [name.clone(), held.clone()]));
        blocks.push(
            SlackSectionBlock::new()
                .with_block_id(ids::block::role(i).into())
                .with_text(md(Mrkdwn::fill("*{}*: {}{}", [name, held, duty])).into())
                .into(),
        );
        let value = role_value(incident.number, &role.name);
        let mut buttons: Vec<SlackActionBlockElement> = vec![
            SlackBlockButtonElement::new(plain("Claim"))
                .with_action_id(ACTION_CLAIM.into())
                .with_value(value.clone())
                .with_style(SlackBlockButtonStyle::Primary)
                .into(),
        ];
        if !who.is_empty() {
            buttons.push(
                SlackBlockButtonElement::new(plain("Release"))
                    .with_action_id(ACTION_RELEASE.into())
                    .with_value(value)
                    .into(),
            );
        }
        blocks.push(
            SlackActionsBlock::new(buttons)
                .with_block_id(ids::block::role_actions(i).into())
                .into(),
        );
    }
    if page && incident.status.is_open() {
        blocks.push(
            SlackActionsBlock::new(vec![
                SlackBlockButtonElement::new(plain("Page on-call"))
                    .with_action_id(ACTION_PAGE.into())
                    .with_value(incident.number.to_string())
                    .with_style(SlackBlockButtonStyle::Danger)
                    .into(),
            ])
            .with_block_id(ids::block::PAGE.into())
            .into(),
        );
    }
    message(Mrkdwn::join(fallback, "\n"), blocks)
}

/// The war room's note that the on-call was paged through PagerDuty: by
/// `by` (Page on-call), or by the incident's severity.
pub fn paged(incident: &Incident, by: Option<&crate::domain::UserId>) -> SlackMessageContent {
    let text = match by {
        Some(user) => Mrkdwn::fill(
            ":pager: {} paged the on-call through PagerDuty.",
            [user.mention()],
        ),
        None => Mrkdwn::fill(
            ":pager: Paged the on-call through PagerDuty: {} is {}.",
            [reference(incident), severity(&incident.severity)],
        ),
    };
    message(
        text.clone(),
        vec![
            SlackSectionBlock::new()
                .with_block_id(ids::block::PAGED.into())
                .with_text(md(text).into())
                .into(),
        ],
    )
}

/// The announcement in the announcement channel, edited in place.
pub fn announcement(incident: &Incident, assignments: &[Assignment]) -> SlackMessageContent {
    let room = match &incident.channel_id {
        Some(id) => Mrkdwn::channel(id),
        None => Mrkdwn::literal("being opened…"),
    };
    let mut text = Mrkdwn::fill(
        "{} {}\nLead: {} · War room: {}",
        [
            siren(incident),
            headline(incident),
            lead(incident, assignments).mention(),
            room,
        ],
    );
    if let Some(a) = &incident.assessment {
        text.push(Mrkdwn::fill(
            "\nImpact: {} · Urgency: {}",
            [Mrkdwn::escaped(&a.impact), Mrkdwn::escaped(&a.urgency)],
        ));
    }
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_block_id(ids::block::ANNOUNCE.into())
            .with_text(md(text.truncate(SECTION_TEXT_MAX)).into())
            .into(),
    ];
    if !incident.summary.is_empty() {
        blocks.push(
            SlackSectionBlock::new()
                .with_block_id(ids::block::SUMMARY.into())
                .with_text(md(Mrkdwn::typed(&incident.summary).truncate(SECTION_TEXT_MAX)).into())
                .into(),
        );
    }
    message(
        Mrkdwn::fill(
            "{}: {} ({}, {})",
            [
                reference(incident),
                Mrkdwn::typed(&incident.title),
                severity(&incident.severity),
                status(incident.status),
            ],
        ),
        blocks,
    )
}

/// The announcement's siren: on while the incident is open.
fn siren(incident: &Incident) -> Mrkdwn {
    Mrkdwn::literal(if incident.status.is_open() {
        ":rotating_light:"
    } else {
        ":large_green_circle:"
    })
}

/// The announcement of a private incident for people outside its war
/// room: number, severity, status and whom to ask; neither title nor
/// summary (`private_incidents.announce = "redacted"`).
pub fn announcement_redacted(
    incident: &Incident,
    assignments: &[Assignment],
) -> SlackMessageContent {
    let lead = lead(incident, assignments).mention();
    let drill = Mrkdwn::literal(if incident.drill {
        " · :test_tube: drill"
    } else {
        ""
    });
    let text = Mrkdwn::fill(
        "{} *{}* · *{}* · {} {}{} · :lock: private incident · ask {} to be added",
        [
            siren(incident),
            reference(incident),
            severity(&incident.severity),
            Mrkdwn::literal(incident.status.emoji()),
            status(incident.status),
            drill,
            lead.clone(),
        ],
    );
    message(
        Mrkdwn::fill(
            "{} · {} · private incident · ask {} to be added",
            [reference(incident), severity(&incident.severity), lead],
        ),
        vec![
            SlackSectionBlock::new()
                .with_block_id(ids::block::ANNOUNCE.into())
                .with_text(md(text.truncate(SECTION_TEXT_MAX)).into())
                .into(),
        ],
    )
}

/// The `/incident timeline` view: chronological, packed into sections of at
/// most 3,000 characters and 50 blocks; what does not fit is counted.
pub fn timeline(incident: &Incident, entries: &[Entry], tz: chrono_tz::Tz) -> SlackMessageContent {
    let with_date = match (entries.first(), entries.last()) {
        (Some(a), Some(b)) => {
            a.occurred_at.with_timezone(&tz).date_naive()
                != b.occurred_at.with_timezone(&tz).date_naive()
        }
        _ => false,
    };
    let head = Mrkdwn::fill(
        "*Timeline of {}: {}* ({} entries)",
        [
            reference(incident),
            Mrkdwn::typed(&incident.title),
            Mrkdwn::number(entries.len()),
        ],
    );
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md(head.clone().truncate(SECTION_TEXT_MAX)).into())
            .into(),
    ];
    // Room for the head and, if needed, the "not shown" note.
    let mut sections: Vec<Mrkdwn> = Vec::new();
    let mut shown = 0;
    for e in entries {
        let line = timeline_line(e, with_date, tz);
        let room = sections.len() < MAX_BLOCKS - 2;
        match sections.last_mut() {
            Some(current) if current.len() + 1 + line.len() <= SECTION_TEXT_MAX => {
                current.push(Mrkdwn::fill("\n{}", [line]));
            }
            _ if room => sections.push(line),
            _ => break,
        }
        shown += 1;
    }
    if entries.is_empty() {
        sections.push(Mrkdwn::literal("_Nothing on the timeline yet._"));
    }
    blocks.extend(
        sections
            .into_iter()
            .map(|t| SlackSectionBlock::new().with_text(md(t).into()).into()),
    );
    if shown < entries.len() {
        blocks.push(
            context(Mrkdwn::fill(
                "{} later entries are not shown here; the whole timeline is kept and goes into the postmortem.",
                [Mrkdwn::number(entries.len() - shown)],
            ))
            .into(),
        );
    }
    message(head, blocks)
}

/// A status update as posted in one place; without the incident's title
/// when `show_title` is false (a private incident, outside its war room).
pub fn status_update(
    incident: &Incident,
    text: &str,
    posted_by: &crate::domain::UserId,
    show_title: bool,
) -> SlackMessageContent {
    let drill = Mrkdwn::literal(if incident.drill {
        " :test_tube: drill"
    } else {
        ""
    });
    let title = if show_title {
        Mrkdwn::typed(&incident.title)
    } else {
        Mrkdwn::literal(":lock: private incident")
    };
    let head = Mrkdwn::fill(
        ":loudspeaker: *{} status update*{} · {} · {}\n*{}*",
        [
            reference(incident),
            drill,
            severity(&incident.severity),
            status(incident.status),
            title,
        ],
    );
    let text = Mrkdwn::slack(text);
    message(
        Mrkdwn::fill(
            "{} status update: {}",
            [reference(incident), text.clone().truncate(200)],
        ),
        vec![
            SlackSectionBlock::new()
                .with_text(md(head.truncate(SECTION_TEXT_MAX)).into())
                .into(),
            SlackSectionBlock::new()
                .with_text(md(text.truncate(SECTION_TEXT_MAX)).into())
                .into(),
            context(Mrkdwn::fill("Posted by {}", [posted_by.mention()])).into(),
        ],
    )
}

/// A reminder in the war room, with the timeline entries since the last
/// update (the scribe's digest for the communication lead). The nudge
/// states the incident's `cadence`: updates at least `nudge_after` apart,
/// never more than `due_after`.
pub fn reminder(
    incident: &Incident,
    kind: crate::domain::comms::ReminderKind,
    cadence: &Cadence,
    people: &crate::domain::comms::ReminderPeople,
    since: chrono::DateTime<chrono::Utc>,
    digest: &[Entry],
    tz: chrono_tz::Tz,
) -> SlackMessageContent {
    use crate::domain::comms::ReminderKind;
    let head = match kind {
        ReminderKind::Nudge => Mrkdwn::fill(
            ":hourglass_flowing_sand: {} no status update since {}. Time for one? Keep them at least {} apart, and never let {} pass without one.",
            [
                people.comms.mention(),
                when(since, false, tz),
                Mrkdwn::escaped(&span(cadence.nudge_after)),
                Mrkdwn::escaped(&span(cadence.due_after)),
            ],
        ),
        ReminderKind::Due => Mrkdwn::fill(
            ":rotating_light: {} {} a status update is *due*: none since {}. People waiting for news should hear from us now, even if there is nothing new.",
            [
                people.comms.mention(),
                if people.lead == people.comms {
                    Mrkdwn::default()
                } else {
                    Mrkdwn::fill("{} ", [people.lead.mention()])
                },
                when(since, false, tz),
            ],
        ),
        ReminderKind::ScribeQuiet => Mrkdwn::fill(
            ":memo: {} nothing has been added to the timeline for a while. Ask {} for status{}.",
            [
                people.scribe.mention(),
                people
                    .assist
                    .as_ref()
                    .map(|u| u.mention())
                    .unwrap_or_else(|| Mrkdwn::literal("the Technical Assist")),
                Mrkdwn::literal(if people.assist.is_none() {
                    " (nobody holds the role: claim it on the role board)"
                } else {
                    ""
                }),
            ],
        ),
    };
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md(head.truncate(SECTION_TEXT_MAX)).into())
            .into(),
    ];
    if kind != ReminderKind::ScribeQuiet {
        let digest_text = if digest.is_empty() {
            Mrkdwn::literal("_Nothing was added to the timeline since the last update._")
        } else {
            Mrkdwn::fill(
                "*Since the last update ({}):*\n{}",
                [
                    Mrkdwn::number(digest.len()),
                    Mrkdwn::join(digest.iter().map(|e| timeline_line(e, false, tz)), "\n"),
                ],
            )
        };
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md(digest_text.truncate(SECTION_TEXT_MAX)).into())
                .into(),
        );
        let n = incident.number;
        blocks.push(
            SlackActionsBlock::new(vec![
                SlackBlockButtonElement::new(plain("Post an update"))
                    .with_action_id(ACTION_OPEN_UPDATE.into())
                    .with_value(n.to_string())
                    .with_style(SlackBlockButtonStyle::Primary)
                    .into(),
                SlackBlockButtonElement::new(plain("Snooze 15 min"))
                    .with_action_id(snooze_action_id(15).into())
                    .with_value(snooze_value(n, 15))
                    .into(),
                SlackBlockButtonElement::new(plain("Snooze 30 min"))
                    .with_action_id(snooze_action_id(30).into())
                    .with_value(snooze_value(n, 30))
                    .into(),
            ])
            .into(),
        );
    }
    message(
        Mrkdwn::fill(
            "{} reminder: {}",
            [reference(incident), Mrkdwn::literal(kind.as_str())],
        ),
        blocks,
    )
}

/// The postmortem draft's summary in the war room; the whole draft is the
/// attached Markdown file.
pub fn postmortem_summary(
    incident: &Incident,
    timeline: &[Entry],
    communications: &[crate::domain::comms::Communication],
    filename: &str,
) -> SlackMessageContent {
    use crate::domain::metrics::{human, metrics};
    let drill = Mrkdwn::literal(if incident.drill { " (drill)" } else { "" });
    let head = Mrkdwn::fill(
        ":page_facing_up: *Postmortem draft for {}{}: {}*\n{} · {}",
        [
            reference(incident),
            drill,
            Mrkdwn::typed(&incident.title),
            severity(&incident.severity),
            status(incident.status),
        ],
    );
    let figures = metrics(incident).map(|m| match m.value {
        Ok(d) => Mrkdwn::fill(
            "*{}:* {}",
            [Mrkdwn::literal(m.name), Mrkdwn::escaped(&human(d))],
        ),
        Err(missing) => Mrkdwn::fill(
            "*{}:* unknown ({})",
            [Mrkdwn::literal(m.name), Mrkdwn::literal(missing)],
        ),
    });
    let updates = communications
        .iter()
        .map(|c| c.update_id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let counts = Mrkdwn::fill(
        "{} timeline entries · {} status updates · full draft attached as `{}`: fill in impact, root cause, what went well and poorly, and action items with owners.",
        [
            Mrkdwn::number(timeline.len()),
            Mrkdwn::number(updates),
            Mrkdwn::escaped(filename),
        ],
    );
    message(
        Mrkdwn::fill("Postmortem draft for {}", [reference(incident)]),
        vec![
            SlackSectionBlock::new()
                .with_text(md(head.truncate(SECTION_TEXT_MAX)).into())
                .into(),
            SlackSectionBlock::new()
                .with_text(md(Mrkdwn::join(figures, "\n")).into())
                .into(),
            context(counts).into(),
            SlackActionsBlock::new(vec![
                SlackBlockButtonElement::new(plain("Add follow-up"))
                    .with_action_id(ACTION_ADD_FOLLOWUP.into())
                    .with_value(incident.number.to_string())
                    .into(),
            ])
            .into(),
        ],
    )
}

/// Adds a "View in browser" link button (the incident's page in the web
/// record, when `web.base_url` is set) at the end of a message.
pub fn with_web_link(mut content: SlackMessageContent, url: Option<&str>) -> SlackMessageContent {
    let Some(url) = url.and_then(|u| url::Url::parse(u).ok()) else {
        return content;
    };
    let button = SlackBlockButtonElement::new(plain("View in browser"))
        .with_action_id(ids::ACTION_WEB_LINK.into())
        .with_url(url);
    let blocks = content.blocks.get_or_insert_with(Vec::new);
    if blocks.len() < super::MAX_BLOCKS {
        blocks.push(SlackActionsBlock::new(vec![button.into()]).into());
    }
    content
}

/// Puts a "Join the bridge" link button beside the first section of a
/// message (the role board's heading), so it costs no block.
pub fn with_bridge(mut content: SlackMessageContent, url: Option<&str>) -> SlackMessageContent {
    let Some(url) = url.and_then(|u| url::Url::parse(u).ok()) else {
        return content;
    };
    let first = content.blocks.as_mut().and_then(|blocks| {
        blocks.iter_mut().find_map(|b| match b {
            SlackBlock::Section(s) => Some(s),
            _ => None,
        })
    });
    if let Some(section) = first {
        section.accessory = Some(
            SlackBlockButtonElement::new(plain("Join the bridge"))
                .with_action_id(ACTION_BRIDGE.into())
                .with_url(url)
                .into(),
        );
    }
    content
}
