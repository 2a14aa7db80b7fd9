//! The record built from what the store holds: role tenures and histories
//! from the event log, durations from the times.

use super::*;
use crate::domain::events::NewEvent;
use crate::domain::{Assignment, Declaration};
use chrono::TimeZone;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

fn incident() -> Incident {
    let d = Declaration {
        title: "Checkout 500".into(),
        severity: SeverityName::new("SEV2"),
        summary: "Payments fail".into(),
        impact_started_at: Some(at(-10)),
        security: false,
        drill: false,
        private: false,
        declared_by: UserId::new("UALICE"),
        origin_channel: ChannelId::new("CGENERAL"),
        announce_channel: ChannelId::new("CINCIDENTS"),
        assessment: None,
    };
    Incident {
        number: IncidentNumber::new(7),
        title: d.title,
        severity: SeverityName::new("SEV1"),
        status: Status::Resolved,
        summary: d.summary,
        security: false,
        drill: false,
        private: false,
        declared_by: d.declared_by,
        declared_at: at(0),
        impact_started_at: d.impact_started_at,
        detected_at: None,
        mitigated_at: Some(at(30)),
        resolved_at: Some(at(50)),
        closed_at: None,
        origin_channel: d.origin_channel,
        announce_channel: d.announce_channel,
        channel_id: Some(ChannelId::new("CWAR")),
        channel_name: Some("inc-7-checkout-500".into()),
        board_ts: None,
        announce_ts: None,
        last_update_at: None,
        schedule: Default::default(),
        assessment: None,
    }
}

fn event(seq: i64, minutes: i64, new: NewEvent, actor: &str) -> Event {
    Event {
        seq,
        id: format!("evt_{seq}"),
        incident: Some(IncidentNumber::new(7)),
        kind: new.kind,
        occurred_at: at(minutes),
        actor: Some(UserId::new(actor)),
        data: new.data,
    }
}

#[test]
fn roles_history_and_durations_come_from_the_log() {
    let lead = RoleName::new("Incident Lead");
    let scribe = RoleName::new("Scribe");
    let alice = UserId::new("UALICE");
    let bob = UserId::new("UBOB");
    let events = [
        event(1, 0, NewEvent::declared(), "UALICE"),
        event(2, 0, NewEvent::role_assigned(&lead, &alice, &[]), "UALICE"),
        event(3, 5, NewEvent::role_assigned(&scribe, &bob, &[]), "UBOB"),
        event(4, 10, NewEvent::role_released(&lead, &alice), "UBOB"),
        event(
            5,
            10,
            NewEvent::role_assigned(&lead, &bob, std::slice::from_ref(&alice)),
            "UBOB",
        ),
        event(
            6,
            12,
            NewEvent::severity_changed(&SeverityName::new("SEV2"), &SeverityName::new("SEV1")),
            "UBOB",
        ),
        event(
            7,
            30,
            NewEvent::status_changed(Status::Investigating, Status::Mitigated),
            "UBOB",
        ),
        event(
            8,
            50,
            NewEvent::status_changed(Status::Mitigated, Status::Resolved),
            "UBOB",
        ),
    ];
    let assignments = [
        Assignment {
            role: scribe.clone(),
            user: bob.clone(),
        },
        Assignment {
            role: lead.clone(),
            user: bob.clone(),
        },
    ];
    let names: BTreeMap<UserId, String> = [(bob.clone(), "Bob".to_string())].into();
    let r = IncidentRecord::build(incident(), &assignments, &events, &names);

    assert_eq!(r.reference, "INC-7");
    assert_eq!(r.severity.as_str(), "SEV1");
    assert_eq!(
        r.war_room.as_ref().map(|w| w.permalink.as_str()),
        Some("https://slack.com/app_redirect?channel=CWAR")
    );
    assert_eq!(r.durations.time_to_detect, Some(600));
    assert_eq!(r.durations.time_to_mitigate, Some(1800));
    assert_eq!(r.durations.time_to_resolve, Some(3000));
    assert_eq!(r.durations.total, Some(3600));

    let lead_role = r.roles.iter().find(|x| x.role == lead).unwrap();
    assert_eq!(lead_role.holders.len(), 1);
    assert_eq!(lead_role.holders[0].name.as_deref(), Some("Bob"));
    type Span<'a> = (&'a str, DateTime<Utc>, Option<DateTime<Utc>>);
    let tenures: Vec<Span> = lead_role
        .history
        .iter()
        .map(|t| (t.person.id.as_str(), t.from, t.until))
        .collect();
    assert_eq!(
        tenures,
        [("UALICE", at(0), Some(at(10))), ("UBOB", at(10), None)]
    );
    assert_eq!(r.severity_history.len(), 1);
    assert_eq!(
        r.severity_history[0].by.as_ref().map(|p| p.id.as_str()),
        Some("UBOB")
    );
    let statuses: Vec<(Status, Status)> = r.status_history.iter().map(|c| (c.from, c.to)).collect();
    assert_eq!(
        statuses,
        [
            (Status::Investigating, Status::Mitigated),
            (Status::Mitigated, Status::Resolved)
        ]
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["times"]["declared"], "2026-12-01T09:00:00Z");
    assert_eq!(json["status"], "resolved");
    assert_eq!(
        json["declared_by"],
        serde_json::json!({"id": "UALICE", "name": null})
    );
}

#[test]
fn holders_the_log_never_saw_held_the_role_from_the_declaration() {
    let lead = RoleName::new("Incident Lead");
    let assignments = [Assignment {
        role: lead.clone(),
        user: UserId::new("UALICE"),
    }];
    let r = IncidentRecord::build(incident(), &assignments, &[], &BTreeMap::new());
    assert_eq!(r.roles.len(), 1);
    assert_eq!(r.roles[0].history[0].from, at(0));
    assert_eq!(r.roles[0].history[0].until, None);
}
