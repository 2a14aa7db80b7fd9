//! Severity from impact and urgency (`severity_matrix`): the declare form's
//! two questions, the suggestion and the override, the answers stored and
//! shown in the announcement and the draft, and the severity form that
//! `/incident severity` opens without a level.

use crate::helpers::*;
use crate::process::assert_block_kit;
use serde_json::{Value, json};
use std::collections::HashSet;
use warroom::domain::Assessment;

const BOB: &str = "UBOB";

/// Slack's limits for a modal and its input blocks: title and buttons at
/// most 24 characters, at most 100 blocks, block ids unique, labels at most
/// 2,000, a static select's options 1 to 100 with text at most 75 and
/// values at most 150, an initial option one of the options, metadata at
/// most 3,000.
pub fn assert_modal(view: &Value) {
    assert_eq!(view["type"], "modal");
    for key in ["title", "submit", "close"] {
        let t = view[key]["text"].as_str().expect(key);
        assert!(view[key]["type"] == "plain_text" && !t.is_empty() && t.chars().count() <= 24);
    }
    assert!(view["private_metadata"].as_str().unwrap_or_default().len() <= 3000);
    let blocks = view["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 100);
    let mut ids = HashSet::new();
    for b in blocks {
        if let Some(id) = b["block_id"].as_str() {
            assert!(
                id.len() <= 255 && ids.insert(id.to_string()),
                "block_id {id}"
            );
        }
        match b["type"].as_str() {
            Some("section") => {
                let text = b["text"]["text"].as_str().expect("section text");
                assert!(!text.is_empty() && text.chars().count() <= 3000);
            }
            Some("input") => {
                let label = b["label"]["text"].as_str().expect("label");
                assert!(b["label"]["type"] == "plain_text" && label.chars().count() <= 2000);
                if let Some(hint) = b["hint"]["text"].as_str() {
                    assert!(hint.chars().count() <= 2000);
                }
                let e = &b["element"];
                assert!(e["action_id"].as_str().is_some_and(|a| a.len() <= 255));
                if e["type"] == "static_select" {
                    let options = e["options"].as_array().expect("options");
                    assert!(!options.is_empty() && options.len() <= 100);
                    for o in options {
                        assert_eq!(o["text"]["type"], "plain_text");
                        assert!(o["text"]["text"].as_str().unwrap().chars().count() <= 75);
                        assert!(o["value"].as_str().unwrap().len() <= 150);
                    }
                    if !e["initial_option"].is_null() {
                        assert!(
                            options
                                .iter()
                                .any(|o| o["value"] == e["initial_option"]["value"]),
                            "initial option not among the options: {e}"
                        );
                    }
                }
            }
            other => panic!("unexpected block {other:?}"),
        }
    }
}

fn options(view: &Value, block: &str) -> Vec<String> {
    view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == block)
        .unwrap_or_else(|| panic!("no {block} block"))["element"]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap().to_string())
        .collect()
}

fn answered(impact: &str, urgency: &str) -> Option<Assessment> {
    Some(Assessment {
        impact: impact.into(),
        urgency: urgency.into(),
    })
}

/// Declares through the form with these answers and severity choice
/// (`None`: left on "Suggest"); returns the incident's war room.
async fn declare_with(
    app: &TestApp,
    impact: &str,
    urgency: &str,
    severity: Option<&str>,
) -> String {
    let res = app
        .command(DECLARER, ORIGIN, "declare Checkout returns 500")
        .await;
    assert_eq!(res.status(), 200);
    let n = app.slack.calls("views.open").len();
    let res = app
        .submit_declare(
            DECLARER,
            &format!("V-matrix-{n}"),
            DeclareInput {
                severity: Some(severity.unwrap_or("suggest").to_string()),
                impact_answer: Some(impact.to_string()),
                urgency: Some(urgency.to_string()),
                ..DeclareInput::default()
            },
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.is_empty(), "the form closes: {body}");
    let number = app.count("SELECT MAX(number) FROM incidents").await;
    app.settle().await;
    app.room(number).await.expect("a war room")
}

/// The severity form's submission as Slack sends it.
fn severity_submission(
    user: &str,
    incident: i64,
    severity: &str,
    impact: Option<&str>,
    urgency: Option<&str>,
) -> Value {
    let select = |v: Option<&str>| json!({"value": {"type": "static_select", "selected_option": v.map(|v| json!({"text": {"type": "plain_text", "text": v}, "value": v}))}});
    json!({
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": "u", "name": "u", "team_id": "T1"},
        "api_app_id": "A1",
        "trigger_id": "1337.42.abcd",
        "view": {
            "id": "VSEV1",
            "team_id": "T1",
            "type": "modal",
            "callback_id": "severity",
            "private_metadata": incident.to_string(),
            "hash": "1.abc",
            "blocks": [],
            "state": {"values": {
                "impact_answer": select(impact),
                "urgency": select(urgency),
                "severity": select(Some(severity)),
            }}
        }
    })
}

#[tokio::test]
async fn the_declare_form_asks_impact_and_urgency_and_suggests_the_severity() {
    let app = TestApp::spawn(Setup::default()).await;
    app.command(DECLARER, ORIGIN, "declare Checkout returns 500")
        .await;
    let view = &app.slack.calls("views.open")[0].body["view"];
    assert_modal(view);
    assert_eq!(
        options(view, "impact_answer"),
        ["All customers", "Some customers", "Internal only"]
    );
    assert_eq!(
        options(view, "urgency"),
        ["Getting worse", "Stable", "No deadline"]
    );

    let room = declare_with(&app, "Some customers", "Getting worse", None).await;
    let incident = app.incident(1).await;
    assert_eq!(
        incident.severity.as_str(),
        "SEV1",
        "suggested by the matrix"
    );
    assert_eq!(
        incident.assessment,
        answered("Some customers", "Getting worse")
    );
    let announcement = &app.slack.messages_in(ORIGIN)[0];
    assert_block_kit(&announcement.body);
    assert!(announcement.body.to_string().contains("SEV1"));
    assert!(
        announcement
            .body
            .to_string()
            .contains("Impact: Some customers · Urgency: Getting worse"),
        "{}",
        announcement.body
    );
    assert!(app.slack.channel(&room).unwrap().topic.contains("SEV1"));

    // Another pair, another level.
    declare_with(&app, "Internal only", "No deadline", None).await;
    assert_eq!(app.incident(2).await.severity.as_str(), "SEV3");
}

#[tokio::test]
async fn a_chosen_level_overrides_the_suggestion_and_the_answers_are_kept() {
    let app = TestApp::spawn(Setup::default()).await;
    declare_with(&app, "All customers", "Getting worse", Some("SEV3")).await;
    let incident = app.incident(1).await;
    assert_eq!(
        incident.severity.as_str(),
        "SEV3",
        "the declarer's choice wins"
    );
    assert_eq!(
        incident.assessment,
        answered("All customers", "Getting worse")
    );
}

#[tokio::test]
async fn a_level_without_answers_still_declares_and_stores_no_answers() {
    let app = TestApp::spawn(Setup::default()).await;
    app.declare("Checkout returns 500", "SEV2").await;
    let incident = app.incident(1).await;
    assert_eq!(incident.severity.as_str(), "SEV2");
    assert_eq!(incident.assessment, None);
    assert!(
        !app.slack.messages_in(ORIGIN)[0]
            .body
            .to_string()
            .contains("Urgency")
    );
}

#[tokio::test]
async fn answers_from_an_older_form_are_refused_by_block() {
    let app = TestApp::spawn(Setup::default()).await;
    let res = app
        .submit_declare(
            DECLARER,
            "V1",
            DeclareInput {
                severity: Some("suggest".into()),
                impact_answer: Some("Everyone".into()),
                urgency: Some("Stable".into()),
                ..DeclareInput::default()
            },
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["response_action"], "errors");
    assert!(body["errors"]["impact_answer"].is_string(), "{body}");
    assert_eq!(app.count("SELECT COUNT(*) FROM incidents").await, 0);
}

#[tokio::test]
async fn the_answers_are_in_the_postmortem_draft() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = declare_with(&app, "Some customers", "Stable", None).await;
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV2");
    let answer = app.command_json(DECLARER, &room, "close").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    app.settle().await;
    let files = app.slack.files_in(&room);
    assert_eq!(files.len(), 1);
    assert!(
        files[0]
            .1
            .contains("| Impact · urgency | Some customers · Stable |"),
        "{}",
        files[0].1
    );
}

#[tokio::test]
async fn severity_without_a_level_opens_the_form_and_its_submission_changes_the_severity() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = declare_with(&app, "Internal only", "Stable", None).await;
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV3");

    let answer = app.command_json(DECLARER, &room, "severity").await;
    assert_eq!(answer, Value::Null, "the form is the answer");
    let opened = app.slack.calls("views.open");
    assert_eq!(opened.len(), 2);
    let view = &opened[1].body["view"];
    assert_modal(view);
    assert_eq!(view["callback_id"], "severity");
    assert_eq!(view["private_metadata"], "1");
    // The incident's answers are preselected; the level is left to them.
    let blocks = view["blocks"].as_array().unwrap();
    let block = |id: &str| blocks.iter().find(|b| b["block_id"] == id).unwrap();
    assert_eq!(
        block("impact_answer")["element"]["initial_option"]["value"],
        "Internal only"
    );
    assert_eq!(
        block("urgency")["element"]["initial_option"]["value"],
        "Stable"
    );
    assert_eq!(
        block("severity")["element"]["initial_option"]["value"],
        "suggest"
    );

    let res = app
        .interaction(severity_submission(
            DECLARER,
            1,
            "suggest",
            Some("All customers"),
            Some("Getting worse"),
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty(), "the form closes");
    app.settle().await;
    let incident = app.incident(1).await;
    assert_eq!(incident.severity.as_str(), "SEV1");
    assert_eq!(
        incident.assessment,
        answered("All customers", "Getting worse")
    );
    let announcement = &app.slack.messages_in(ORIGIN)[0];
    assert!(announcement.edits > 0, "edited in place");
    let text = announcement.body.to_string();
    assert!(
        text.contains("SEV1") && text.contains("Impact: All customers · Urgency: Getting worse"),
        "{text}"
    );
    assert!(app.slack.channel(&room).unwrap().topic.contains("SEV1"));
    let timeline = app
        .ctx
        .store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert!(
        timeline.iter().any(|e| e.text
            == "Severity changed from SEV3 to SEV1 (impact: All customers, urgency: Getting worse)"),
        "{timeline:?}"
    );
    // The person who submitted is told, to them only.
    assert!(app.slack.calls("chat.postEphemeral").iter().any(|c| {
        c.body["user"] == DECLARER
            && c.body["text"]
                .as_str()
                .unwrap()
                .contains("INC-1 is now *SEV1*")
    }),);

    // An override in the same form wins.
    app.interaction(severity_submission(
        DECLARER,
        1,
        "SEV2",
        Some("All customers"),
        Some("Getting worse"),
    ))
    .await;
    app.settle().await;
    assert_eq!(app.incident(1).await.severity.as_str(), "SEV2");
}

#[tokio::test]
async fn the_severity_form_is_refused_to_someone_without_permission() {
    let app = TestApp::spawn(Setup::default()).await;
    let room = declare_with(&app, "Internal only", "Stable", None).await;
    let refusal = "Only the Incident Lead (<@UALICE>) can change the severity of INC-1. Claim Incident Lead on the role board if you are taking over.";

    // The command: refused before any form opens.
    let answer = app.command_json(BOB, &room, "severity").await;
    assert_eq!(answer["response_type"], "ephemeral");
    assert_eq!(answer["text"], refusal);
    assert_eq!(
        app.slack.calls("views.open").len(),
        1,
        "only the declare form"
    );

    // A form opened by the lead, submitted by someone else: the check is
    // made in the write, the form stays open with the refusal.
    app.settle().await;
    let jobs = app.count("SELECT COUNT(*) FROM jobs").await;
    let entries = app.count("SELECT COUNT(*) FROM timeline_entries").await;
    let res = app
        .interaction(severity_submission(
            BOB,
            1,
            "SEV1",
            Some("All customers"),
            Some("Getting worse"),
        ))
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["response_action"], "errors");
    assert_eq!(body["errors"]["severity"], refusal);
    let incident = app.incident(1).await;
    assert_eq!(incident.severity.as_str(), "SEV3");
    assert_eq!(incident.assessment, answered("Internal only", "Stable"));
    assert_eq!(app.count("SELECT COUNT(*) FROM jobs").await, jobs);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM timeline_entries").await,
        entries
    );
}

#[tokio::test]
async fn without_a_matrix_the_form_asks_only_for_the_level() {
    let app = TestApp::spawn(Setup {
        toml: "[[severities]]\nname = \"P1\"\ndescription = \"all down\"\n[[severities]]\nname = \"P2\"\ndescription = \"partly down\"\n",
        ..Setup::default()
    })
    .await;
    let room = app.declare("Checkout returns 500", "P2").await;
    let view = &app.slack.calls("views.open")[0].body["view"];
    assert_modal(view);
    assert_eq!(options(view, "severity"), ["P1", "P2"]);
    assert!(!view.to_string().contains("impact_answer"));
    let answer = app.command_json(DECLARER, &room, "severity").await;
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("No `severity_matrix` is configured"),
        "{answer}"
    );
}
