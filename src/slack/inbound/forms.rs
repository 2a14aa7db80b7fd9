//! The fields of the bot's modals, as Slack sends them in `view.state`.

use super::lenient;
use crate::domain::{ChannelId, UserId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;

/// The declare modal's fields as Slack sent them, before checking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeclareForm {
    pub title: String,
    pub severity: Option<String>,
    pub summary: String,
    pub impact_started_at: Option<DateTime<Utc>>,
    pub security: bool,
    pub drill: bool,
    /// "Private war room" was ticked.
    pub private: bool,
    /// The impact question's answer (`severity_matrix`), if given.
    pub impact_answer: Option<String>,
    /// The urgency question's answer (`severity_matrix`), if given.
    pub urgency: Option<String>,
    /// Where to announce it, when the form asked (opened away from any
    /// channel, with no `announce_channel` configured).
    pub announce: Option<ChannelId>,
}

/// The severity form's fields as Slack sent them, before checking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeverityForm {
    /// The chosen level; `None` for "Suggest from impact and urgency".
    pub severity: Option<String>,
    pub impact: Option<String>,
    pub urgency: Option<String>,
}

/// The follow-up form's fields as Slack sent them, before checking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowupForm {
    /// As typed (raw, not in Slack's escaped format), trimmed.
    pub text: String,
    pub owner: Option<UserId>,
    /// The picked date: `None` when none was picked, `Err` (what Slack
    /// sent) when it is not a date.
    pub due: Option<Result<chrono::NaiveDate, String>>,
}

/// Block ids of the declare modal, where `service` names them too.
pub use crate::slack::ids::declare as declare_ids;

#[derive(Deserialize, Default)]
pub(super) struct RawState {
    #[serde(default, deserialize_with = "lenient_values")]
    pub(super) values: HashMap<String, HashMap<String, RawValue>>,
}

/// A modal's state values; an input the bot does not know the shape of is
/// left out (it reads as empty, and the form's own checks say so).
fn lenient_values<'de, D>(d: D) -> Result<HashMap<String, HashMap<String, RawValue>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let blocks: HashMap<String, serde_json::Value> = lenient(d)?.unwrap_or_default();
    Ok(blocks
        .into_iter()
        .filter_map(|(block, inputs)| {
            let inputs: HashMap<String, serde_json::Value> = serde_json::from_value(inputs).ok()?;
            let inputs = inputs
                .into_iter()
                .filter_map(|(id, v)| Some((id, serde_json::from_value(v).ok()?)))
                .collect();
            Some((block, inputs))
        })
        .collect())
}

#[derive(Deserialize, Default)]
pub(super) struct RawValue {
    #[serde(default, deserialize_with = "lenient")]
    pub(super) value: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) selected_option: Option<RawOption>,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) selected_options: Option<Vec<RawOption>>,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) selected_date_time: Option<i64>,
    /// A users select's pick.
    #[serde(default, deserialize_with = "lenient")]
    pub(super) selected_user: Option<String>,
    /// A date picker's pick, `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "lenient")]
    pub(super) selected_date: Option<String>,
    /// A conversations select's pick.
    #[serde(default, deserialize_with = "lenient")]
    pub(super) selected_conversation: Option<ChannelId>,
}

#[derive(Deserialize)]
pub(super) struct RawOption {
    pub(super) value: String,
}

impl RawState {
    /// The input of a block whose element has the action id
    /// [`crate::slack::ids::VALUE`] (every input of this bot's modals does).
    fn input(&self, block: &str) -> Option<&RawValue> {
        self.values
            .get(block)
            .and_then(|b| b.get(crate::slack::ids::VALUE))
    }

    /// A text input's trimmed value ("" when empty or absent).
    pub(super) fn text(&self, block: &str) -> String {
        self.input(block)
            .and_then(|v| v.value.as_deref())
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

pub(super) fn update_form(state: &RawState) -> (crate::domain::comms::UpdateAnswers, Vec<String>) {
    use crate::slack::ids::update::*;
    let get = |block: &str| state.input(block);
    let text = |block: &str| state.text(block);
    let answers = crate::domain::comms::UpdateAnswers {
        status: text(STATUS),
        impact: text(IMPACT),
        workaround: text(WORKAROUND),
        next_update_minutes: get(NEXT)
            .and_then(|v| v.selected_option.as_ref())
            .and_then(|o| o.value.parse().ok())
            .filter(|m| (1..=24 * 60).contains(m)),
    };
    let audiences = get(AUDIENCES)
        .map(|v| {
            v.selected_options
                .iter()
                .flatten()
                .map(|o| o.value.clone())
                .collect()
        })
        .unwrap_or_default();
    (answers, audiences)
}

impl RawState {
    /// A static select's chosen value, if any.
    fn selected(&self, block: &str) -> Option<String> {
        self.input(block)
            .and_then(|v| v.selected_option.as_ref())
            .map(|o| o.value.clone())
    }

    /// The severity select: `None` when left to the matrix.
    fn severity(&self) -> Option<String> {
        self.selected(declare_ids::SEVERITY)
            .filter(|v| v != declare_ids::SUGGEST)
    }
}

pub(super) fn followup_form(state: &RawState) -> FollowupForm {
    use crate::slack::ids::followup::*;
    FollowupForm {
        text: state.text(TEXT),
        owner: state
            .input(OWNER)
            .and_then(|v| v.selected_user.clone())
            .filter(|u| !u.is_empty())
            .map(UserId),
        due: state
            .input(DUE)
            .and_then(|v| v.selected_date.as_deref())
            .filter(|d| !d.is_empty())
            .map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| d.to_string())),
    }
}

pub(super) fn severity_form(state: &RawState) -> SeverityForm {
    use declare_ids::*;
    SeverityForm {
        severity: state.severity(),
        impact: state.selected(IMPACT_ANSWER),
        urgency: state.selected(URGENCY),
    }
}

pub(super) fn declare_form(state: &RawState) -> DeclareForm {
    use declare_ids::*;
    let get = |block: &str| state.input(block);
    let text = |block: &str| state.text(block);
    let flags: Vec<&str> = get(FLAGS)
        .map(|v| {
            v.selected_options
                .iter()
                .flatten()
                .map(|o| o.value.as_str())
                .collect()
        })
        .unwrap_or_default();
    DeclareForm {
        title: text(TITLE),
        severity: state.severity(),
        summary: text(SUMMARY),
        impact_started_at: get(IMPACT)
            .and_then(|v| v.selected_date_time)
            .and_then(|s| DateTime::from_timestamp(s, 0)),
        security: flags.contains(&FLAG_SECURITY),
        drill: flags.contains(&FLAG_DRILL),
        private: flags.contains(&FLAG_PRIVATE),
        impact_answer: state.selected(IMPACT_ANSWER),
        urgency: state.selected(URGENCY),
        announce: get(ANNOUNCE).and_then(|v| v.selected_conversation.clone()),
    }
}

/// The incident picked in the "Add to incident timeline" form.
pub(super) fn picked_incident(state: &RawState) -> Option<crate::domain::IncidentNumber> {
    state
        .selected(crate::slack::ids::add_to_timeline::INCIDENT)
        .and_then(|v| v.parse().ok())
}
