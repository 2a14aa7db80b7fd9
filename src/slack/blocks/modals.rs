//! The modals: declare, severity, update, follow-up and internal summary.

use super::format::{context, md, plain, reference, severity};
use super::{FOLLOWUP_TEXT_MAX, MODAL_TITLE_MAX, SECTION_TEXT_MAX, SUMMARY_MAX, truncate};
use crate::domain::QuotedMessage;
use crate::domain::{
    Assessment, ChannelId, Incident, SeverityCatalog, SeverityMatrix, SeverityName,
};
use crate::slack::ids::{
    self, CALLBACK_DECLARE, CALLBACK_FOLLOWUP, CALLBACK_SEVERITY, CALLBACK_SUMMARY,
    CALLBACK_UPDATE, SUMMARY_BLOCK, VALUE,
};
use crate::slack::inbound::DeclareMetadata;
use crate::slack::text::Mrkdwn;
use slack_morphism::prelude::*;

/// The severity select and, with a matrix, the impact and urgency
/// questions before it. With a matrix the select starts on "Suggest from
/// impact and urgency" (the level is computed when the form is submitted)
/// and any level picked overrides the suggestion.
fn severity_blocks(
    severities: &SeverityCatalog,
    matrix: Option<&SeverityMatrix>,
    current: Option<&Assessment>,
    level: Option<&SeverityName>,
) -> Vec<SlackBlock> {
    use ids::declare::*;
    let initial = level.and_then(|l| {
        severities
            .iter()
            .find(|s| s.name == *l)
            .map(|s| SlackBlockChoiceItem::new(plain(s.name.as_str()), s.name.to_string()))
    });
    let mut severity_options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = severities
        .iter()
        .map(|l| {
            SlackBlockChoiceItem::new(plain(l.name.as_str()), l.name.to_string())
                .with_description(plain(truncate(&l.description, 75)))
        })
        .collect();
    let Some(matrix) = matrix else {
        let mut select = SlackBlockStaticSelectElement::new()
            .with_action_id(VALUE.into())
            .with_placeholder(plain("How bad is it?"))
            .with_options(severity_options);
        if let Some(initial) = initial {
            select = select.with_initial_option(initial);
        }
        return vec![
            SlackInputBlock::new(plain("Severity"), select.into())
                .with_block_id(SEVERITY.into())
                .into(),
        ];
    };
    let suggest = SlackBlockChoiceItem::new(
        plain("Suggest from impact and urgency"),
        SUGGEST.to_string(),
    );
    severity_options.insert(0, suggest.clone());
    let question = |label: &str, block: &str, names: &[String], initial: Option<&String>| {
        let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = names
            .iter()
            .map(|n| SlackBlockChoiceItem::new(plain(n), n.clone()))
            .collect();
        let mut select = SlackBlockStaticSelectElement::new()
            .with_action_id(VALUE.into())
            .with_placeholder(plain("Pick one"))
            .with_options(options);
        if let Some(n) = initial.filter(|n| names.contains(n)) {
            select = select.with_initial_option(SlackBlockChoiceItem::new(plain(n), n.clone()));
        }
        SlackBlock::from(
            SlackInputBlock::new(plain(label), select.into())
                .with_block_id(block.into())
                .with_optional(true),
        )
    };
    vec![
        question(
            "Who is affected?",
            IMPACT_ANSWER,
            matrix.impacts(),
            current.map(|a| &a.impact),
        ),
        question(
            "How urgent is it?",
            URGENCY,
            matrix.urgencies(),
            current.map(|a| &a.urgency),
        ),
        SlackInputBlock::new(
            plain("Severity"),
            SlackBlockStaticSelectElement::new()
                .with_action_id(VALUE.into())
                .with_options(severity_options)
                .with_initial_option(initial.unwrap_or(suggest))
                .into(),
        )
        .with_block_id(SEVERITY.into())
        .with_hint(plain(
            "Left on \"Suggest\", the severity is set from the two answers above when you submit. Pick a level to override it.",
        ))
        .into(),
    ]
}

/// The modal `/incident severity` opens without a level: the impact and
/// urgency questions (the incident's answers preselected) and the override.
pub fn severity_modal(
    incident: &Incident,
    severities: &SeverityCatalog,
    matrix: &SeverityMatrix,
) -> SlackView {
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(
                md(Mrkdwn::fill(
                    "{} is *{}*{}.",
                    [
                        reference(incident),
                        severity(&incident.severity),
                        incident
                            .assessment
                            .as_ref()
                            .map(|a| {
                                Mrkdwn::fill(
                                    " (impact: {}, urgency: {})",
                                    [Mrkdwn::escaped(&a.impact), Mrkdwn::escaped(&a.urgency)],
                                )
                            })
                            .unwrap_or_default(),
                    ],
                ))
                .into(),
            )
            .into(),
    ];
    blocks.extend(severity_blocks(
        severities,
        Some(matrix),
        incident.assessment.as_ref(),
        None,
    ));
    SlackView::Modal(
        SlackModalView::new(
            plain(truncate(
                &format!("Severity of {}", incident.reference()),
                MODAL_TITLE_MAX,
            )),
            blocks,
        )
        .with_submit(plain("Set severity"))
        .with_close(plain("Cancel"))
        .with_callback_id(CALLBACK_SEVERITY.into())
        .with_private_metadata(incident.number.to_string()),
    )
}

/// The modal `/incident declare` opens.
pub fn declare_modal(
    title: Option<&str>,
    severities: &SeverityCatalog,
    matrix: Option<&SeverityMatrix>,
    origin_channel: &ChannelId,
    security_private: bool,
) -> SlackView {
    declare_modal_prefilled(
        &DeclarePrefill {
            title,
            ..DeclarePrefill::default()
        },
        severities,
        matrix,
        Some(origin_channel),
        security_private,
    )
}

/// The declare modal opened by a door other than the command: the App
/// Home's button and the global shortcut (no channel, no message), or
/// "Declare incident from message" (the message's channel; its first line
/// as the title, the message quoted with `permalink` as the summary; the
/// message travels in the metadata and becomes the first timeline entry).
/// `ask_announce`: no channel to announce in is known, so the form asks.
pub fn declare_modal_from(
    source: Option<&QuotedMessage>,
    permalink: Option<&str>,
    ask_announce: bool,
    private: bool,
    severities: &SeverityCatalog,
    matrix: Option<&SeverityMatrix>,
    security_private: bool,
) -> SlackView {
    let title = source.map(|m| first_line(&m.text));
    let summary = source.map(|m| quoted_summary(m, permalink));
    declare_modal_prefilled(
        &DeclarePrefill {
            title: title.as_deref(),
            summary: summary.as_deref(),
            source,
            ask_announce,
            private,
            ..DeclarePrefill::default()
        },
        severities,
        matrix,
        source.map(|m| &m.channel),
        security_private,
    )
}

/// A message's first non-empty line, as plain words (mentions and links
/// by their labels), for a title.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    crate::slack::text::to_plain_words(line)
}

/// The summary a message starts: the message quoted as plain words, then
/// where it is.
fn quoted_summary(m: &QuotedMessage, permalink: Option<&str>) -> String {
    let quoted: Vec<String> = crate::slack::text::to_plain_words(&m.text)
        .lines()
        .map(|l| format!("> {l}"))
        .collect();
    let mut out = quoted.join("\n");
    if let Some(link) = permalink {
        out.push_str("\n\n");
        out.push_str(link);
    }
    out
}

/// What the declare modal starts with (an alert card fills it in).
#[derive(Default)]
pub(super) struct DeclarePrefill<'a> {
    pub title: Option<&'a str>,
    pub summary: Option<&'a str>,
    pub severity: Option<&'a SeverityName>,
    pub private: bool,
    /// The alert group the declaration links, carried in the metadata.
    pub alert_group: Option<crate::domain::AlertGroupId>,
    /// The message declared from, carried in the metadata.
    pub source: Option<&'a QuotedMessage>,
    /// Ask where to announce (see [`declare_modal_from`]).
    pub ask_announce: bool,
}

/// The declare modal, prefilled.
pub(super) fn declare_modal_prefilled(
    prefill: &DeclarePrefill<'_>,
    severities: &SeverityCatalog,
    matrix: Option<&SeverityMatrix>,
    origin_channel: Option<&ChannelId>,
    security_private: bool,
) -> SlackView {
    use ids::declare::*;
    let title = prefill.title;
    let mut title_input = SlackBlockPlainTextInputElement::new()
        .with_action_id(VALUE.into())
        .with_max_length(150)
        .with_placeholder(plain("What is broken, in a few words"));
    if let Some(t) = title.filter(|t| !t.trim().is_empty()) {
        title_input = title_input.with_initial_value(truncate(t.trim(), 150));
    }
    let flag = |value: &str, label: &str| {
        SlackBlockChoiceItem::new(
            SlackBlockText::from(SlackBlockPlainText::new(label.into())),
            value.to_string(),
        )
    };
    let mut blocks: Vec<SlackBlock> = vec![
        SlackInputBlock::new(plain("Title"), title_input.into())
            .with_block_id(TITLE.into())
            .into(),
    ];
    blocks.extend(severity_blocks(severities, matrix, None, prefill.severity));
    let mut summary_input = SlackBlockPlainTextInputElement::new()
        .with_action_id(VALUE.into())
        .with_multiline(true)
        .with_max_length(2000)
        .with_placeholder(plain("What do we know so far? Who is affected?"));
    if let Some(s) = prefill.summary.filter(|s| !s.trim().is_empty()) {
        summary_input = summary_input.with_initial_value(truncate(s.trim(), 2000));
    }
    let mut flags = SlackBlockCheckboxesElement::new(vec![
        flag(FLAG_PRIVATE, "Private war room"),
        flag(FLAG_SECURITY, "Security incident"),
        flag(FLAG_DRILL, "This is a drill"),
    ])
    .with_action_id(VALUE.into());
    if prefill.private {
        flags = flags.with_initial_options(vec![flag(FLAG_PRIVATE, "Private war room")]);
    }
    blocks.extend([
        SlackInputBlock::new(plain("Summary"), summary_input.into())
        .with_block_id(SUMMARY.into())
        .with_optional(true)
        .into(),
        SlackInputBlock::new(
            plain("Impact started at"),
            SlackBlockDateTimePickerElement::new()
                .with_action_id(VALUE.into())
                .into(),
        )
        .with_block_id(IMPACT.into())
        .with_optional(true)
        .with_hint(plain(
            "If known: when users were first affected. Used for time to detect.",
        ))
        .into(),
        SlackInputBlock::new(plain("Flags"), flags.into())
        .with_block_id(FLAGS.into())
        .with_optional(true)
        .with_hint(plain(if security_private {
            "A private war room is a private channel: its title and summary stay inside it. Security incidents are always private."
        } else {
            "A private war room is a private channel: its title and summary stay inside it."
        }))
        .into(),
    ]);
    if prefill.ask_announce {
        blocks.push(
            SlackInputBlock::new(
                plain("Announce in"),
                SlackBlockConversationsSelectElement::new()
                    .with_action_id(VALUE.into())
                    .with_filter(
                        SlackBlockConversationFilter::new()
                            .with_include(vec![SlackConversationFilterInclude::Public])
                            .with_exclude_bot_users(true),
                    )
                    .into(),
            )
            .with_block_id(ANNOUNCE.into())
            .with_hint(plain(
                "The channel where incidents are announced, such as #incidents.",
            ))
            .into(),
        );
    }
    let metadata = serde_json::to_string(&DeclareMetadata {
        channel: origin_channel.cloned(),
        alert_group: prefill.alert_group,
        source: prefill.source.map(super::doors::carried),
    })
    .unwrap_or_default();
    SlackView::Modal(
        SlackModalView::new(
            plain(truncate("Declare an incident", MODAL_TITLE_MAX)),
            blocks,
        )
        .with_submit(plain("Declare"))
        .with_close(plain("Cancel"))
        .with_callback_id(CALLBACK_DECLARE.into())
        .with_private_metadata(metadata),
    )
}

/// The `/incident update` modal: the question bank's questions for the current phase.
/// The announcement channel is ticked unless `announced` is false (a
/// private incident announced nowhere).
/// The update form. `announced`: the announcement channel is ticked to
/// begin with (a public incident's, or a private one announced in full); a
/// private incident's announcement option warns that the channel is public.
pub fn update_modal(incident: &Incident, audiences: &[&str], announced: bool) -> SlackView {
    use crate::domain::comms::{NEXT_UPDATE_QUESTION, Phase, WORKAROUND_QUESTION};
    use ids::update::*;
    let phase = Phase::of(incident.status);
    let text_input = |multiline: bool| {
        SlackBlockPlainTextInputElement::new()
            .with_action_id(VALUE.into())
            .with_multiline(multiline)
            .with_max_length(1000)
    };
    let choice =
        |value: &str, label: &str| SlackBlockChoiceItem::new(plain(label), value.to_string());
    let next_options = vec![
        choice("15", "In 15 minutes"),
        choice("30", "In 30 minutes"),
        choice("60", "In 60 minutes"),
    ];
    let mut announcement = SlackBlockChoiceItem::new(
        SlackBlockText::from(SlackBlockPlainText::new("Announcement channel".into())),
        ANNOUNCEMENT.to_string(),
    );
    if incident.private && !announced {
        announcement = announcement.with_description(SlackBlockPlainTextOnly::from(
            "A public channel: everyone there will read this private incident's update.",
        ));
    }
    let mut audience_options = vec![announcement.clone()];
    audience_options.extend(audiences.iter().map(|a| {
        SlackBlockChoiceItem::new(
            SlackBlockText::from(SlackBlockPlainText::new(truncate(a, 75))),
            a.to_string(),
        )
    }));
    let mut post_to =
        SlackBlockCheckboxesElement::new(audience_options).with_action_id(VALUE.into());
    if announced {
        post_to = post_to.with_initial_options(vec![announcement]);
    }
    let blocks: Vec<SlackBlock> = vec![
        context(Mrkdwn::fill(
            "*{}* · {} · {} · phase: *{}*",
            [
                reference(incident),
                Mrkdwn::typed(&incident.title),
                severity(&incident.severity),
                Mrkdwn::literal(phase.title()),
            ],
        ))
        .into(),
        SlackInputBlock::new(plain("Status"), text_input(true).into())
            .with_block_id(STATUS.into())
            .with_hint(plain(phase.status_questions()))
            .into(),
        SlackInputBlock::new(plain("Impact"), text_input(true).into())
            .with_block_id(IMPACT.into())
            .with_hint(plain(phase.impact_questions()))
            .with_optional(true)
            .into(),
        SlackInputBlock::new(plain("Workaround"), text_input(false).into())
            .with_block_id(WORKAROUND.into())
            .with_hint(plain(WORKAROUND_QUESTION))
            .with_optional(true)
            .into(),
        SlackInputBlock::new(
            plain("Next update"),
            SlackBlockStaticSelectElement::new()
                .with_action_id(VALUE.into())
                .with_options(next_options.clone())
                .with_initial_option(next_options[1].clone())
                .into(),
        )
        .with_block_id(NEXT.into())
        .with_hint(plain(NEXT_UPDATE_QUESTION))
        .with_optional(true)
        .into(),
        SlackInputBlock::new(plain("Post to"), post_to.into())
            .with_block_id(AUDIENCES.into())
            .with_hint(plain("A copy always goes to the war room."))
            .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(
            plain(truncate(
                &format!("Update {}", incident.reference()),
                MODAL_TITLE_MAX,
            )),
            blocks,
        )
        .with_submit(plain("Post update"))
        .with_close(plain("Cancel"))
        .with_callback_id(CALLBACK_UPDATE.into())
        .with_private_metadata(incident.number.to_string()),
    )
}

/// The form that records a follow-up from the postmortem summary, as
/// `/incident followup` does: what, who (the person who opened it, to
/// begin with), and an optional due date.
pub fn followup_modal(incident: &Incident, owner: &crate::domain::UserId) -> SlackView {
    use ids::followup::*;
    let blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(
                md(Mrkdwn::fill(
                    "*{}* · {}: an action item for the postmortem, with its owner.",
                    [reference(incident), Mrkdwn::typed(&incident.title)],
                )
                .truncate(SECTION_TEXT_MAX))
                .into(),
            )
            .into(),
        SlackInputBlock::new(
            plain("Follow-up"),
            SlackBlockPlainTextInputElement::new()
                .with_action_id(VALUE.into())
                .with_max_length(FOLLOWUP_TEXT_MAX as u64)
                .with_placeholder(plain("Alert on checkout 5xx"))
                .into(),
        )
        .with_block_id(TEXT.into())
        .into(),
        SlackInputBlock::new(
            plain("Owner"),
            SlackBlockUsersSelectElement::new()
                .with_action_id(VALUE.into())
                .with_initial_user(owner.0.clone())
                .into(),
        )
        .with_block_id(OWNER.into())
        .into(),
        SlackInputBlock::new(
            plain("Due"),
            SlackBlockDatePickerElement::new()
                .with_action_id(VALUE.into())
                .into(),
        )
        .with_block_id(DUE.into())
        .with_optional(true)
        .with_hint(plain(
            "The owner gets a direct message at 09:00 that day if it is still open.",
        ))
        .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(
            plain(truncate(
                &format!("Follow-up for {}", incident.reference()),
                MODAL_TITLE_MAX,
            )),
            blocks,
        )
        .with_submit(plain("Add"))
        .with_close(plain("Cancel"))
        .with_callback_id(CALLBACK_FOLLOWUP.into())
        .with_private_metadata(incident.number.to_string()),
    )
}

/// The form that edits the prefilled internal summary before it is posted
/// in the war room.
pub fn summary_modal(incident: &Incident, prefilled: &str) -> SlackView {
    let blocks: Vec<SlackBlock> = vec![
        context(Mrkdwn::fill(
            "*{}* · {}: edit what the timeline gave, then post it in the war room.",
            [reference(incident), Mrkdwn::escaped(&incident.title)],
        ))
        .into(),
        SlackInputBlock::new(
            plain("Internal summary"),
            SlackBlockPlainTextInputElement::new()
                .with_action_id(VALUE.into())
                .with_multiline(true)
                .with_max_length(SUMMARY_MAX as u64)
                .with_initial_value(truncate(prefilled, SUMMARY_MAX))
                .into(),
        )
        .with_block_id(SUMMARY_BLOCK.into())
        .into(),
    ];
    SlackView::Modal(
        SlackModalView::new(plain("Internal summary"), blocks)
            .with_submit(plain("Post"))
            .with_close(plain("Cancel"))
            .with_callback_id(CALLBACK_SUMMARY.into())
            .with_private_metadata(incident.number.to_string()),
    )
}
