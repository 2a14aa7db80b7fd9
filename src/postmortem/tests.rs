use super::*;
use crate::domain::metrics::metrics;
use crate::domain::{Status, UserId};
use chrono::TimeZone;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

fn incident() -> Incident {
    Incident {
        number: crate::domain::IncidentNumber::new(7),
        title: "Checkout returns 500 for EU cards".into(),
        severity: crate::domain::SeverityName::new("SEV1"),
        status: Status::Closed,
        summary: "Card payments from EU customers fail with HTTP 500 at checkout.".into(),
        security: false,
        drill: false,
        private: false,
        declared_by: UserId("UALICE".into()),
        declared_at: at(2, 40),
        impact_started_at: Some(at(2, 18)),
        detected_at: Some(at(2, 31)),
        mitigated_at: Some(at(3, 25)),
        resolved_at: Some(at(3, 55)),
        closed_at: Some(at(4, 10)),
        origin_channel: crate::domain::ChannelId::new("CGENERAL"),
        announce_channel: crate::domain::ChannelId::new("CINCIDENTS"),
        channel_id: Some(crate::domain::ChannelId::new("C07")),
        channel_name: Some("inc-7-checkout-returns-500-for-eu-cards".into()),
        board_ts: None,
        announce_ts: None,
        last_update_at: Some(at(3, 30)),
        schedule: Default::default(),
        assessment: Some(crate::domain::Assessment {
            impact: "Some customers".into(),
            urgency: "Getting worse".into(),
        }),
    }
}

fn entry(id: i64, when: DateTime<Utc>, kind: EntryKind, who: Option<&str>, text: &str) -> Entry {
    Entry {
        id,
        occurred_at: when,
        kind,
        author: Some(UserId("UALICE".into())),
        author_name: who.map(str::to_string),
        text: text.into(),
        slack_ts: None,
        permalink: who.map(|_| format!("https://acme.slack.com/archives/C07/p{id}")),
        fetched: true,
        added_by: None,
    }
}

fn names() -> Names {
    let pairs = |p: &[(&str, &str)]| {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    Names {
        users: pairs(&[
            ("UALICE", "Alice"),
            ("UBOB", "Bob"),
            ("UCAROL", "Carol"),
            ("UERIN", "Erin"),
            ("UFRED", "Fred"),
        ]),
        channels: pairs(&[
            ("C07", "inc-7-checkout-returns-500-for-eu-cards"),
            ("CINCIDENTS", "incidents"),
            ("CCUSTOMERS", "customer-news"),
        ]),
    }
}

/// Everything Slack's format can carry, as people really type it: the
/// file must read as a document, and tables must stay tables.
#[test]
fn a_draft_full_of_mentions_links_and_pipes() {
    let mut i = incident();
    i.private = true;
    i.security = true;
    i.title = "Tokens | keys leaked".into();
    i.summary = "Found by Bob in the audit log.\nSee the runbook | section 4.".into();
    let timeline = vec![
        entry(
            1,
            at(2, 40),
            EntryKind::Declared,
            None,
            "<@UALICE> declared the incident: Tokens | keys leaked &amp; more",
        ),
        entry(
            2,
            at(2, 45),
            EntryKind::Message,
            Some("Bob"),
            "<!channel> <@UCAROL> look at <https://grafana.acme.io/d/x?a=1&amp;b=2|the | dashboard> and <#C999|security-ops>\nsecond line",
        ),
        entry(
            3,
            at(2, 50),
            EntryKind::Severity,
            None,
            "Severity changed from SEV2 | SEV1 to SEV1\n(by <@UALICE>)",
        ),
        entry(
            4,
            at(3, 0),
            EntryKind::Note,
            None,
            "<!here> <!subteam^S1|@sec-oncall> paged; <https://status.acme.io> updated; a &lt;b&gt; c",
        ),
        entry(
            5,
            at(3, 10),
            EntryKind::Update,
            None,
            "Status update by <@UCAROL> to <#CINCIDENTS>: keys rotated",
        ),
    ];
    let comms = vec![Communication {
        update_id: crate::domain::UpdateId::new(1),
        posted_by: UserId("UCAROL".into()),
        recorded_at: at(3, 10),
        text: "Keys rotated | <!everyone> no action needed, ask <@UALICE>".into(),
        channel: crate::domain::ChannelId::new("CINCIDENTS"),
        audience: "announcement".into(),
        posted_at: Some(at(3, 10)),
        ts: Some(crate::domain::MessageTs::new("1.1")),
    }];
    let mut roles = RoleCatalog::defaults();
    roles.push(crate::domain::Role {
        name: crate::domain::RoleName::new("Legal | Privacy"),
        multiple: false,
        duty: String::new(),
        tasks: None,
    });
    let roles = RoleCatalog::new(roles).unwrap();
    let assignments = vec![
        Assignment {
            role: crate::domain::RoleName::new("Incident Lead"),
            user: UserId("UALICE".into()),
        },
        Assignment {
            role: crate::domain::RoleName::new("Legal | Privacy"),
            user: UserId("UNOTCACHED".into()),
        },
    ];
    let d = draft(&Facts {
        incident: &i,
        assignments: &assignments,
        roles: &roles,
        timeline: &timeline,
        communications: &comms,
        timezone: chrono_tz::UTC,
        now: at(4, 11),
        names: &names(),
    });
    let md = Postmortems::load(None).unwrap().render(&d).unwrap();
    assert!(!md.contains("<@"), "{md}");
    assert!(!md.contains("<#"), "{md}");
    assert!(!md.contains("<!"), "{md}");
    insta::assert_snapshot!(md);
}

/// Markup typed anywhere (a title, a summary, a tagged message, a link's
/// label, a person's name) reaches the file as text: a wiki that renders
/// inline HTML must not run it.
#[test]
fn html_typed_in_slack_reaches_the_file_as_text() {
    const EVIL: &str = r#"<img src=x onerror=alert(1)>"#;
    let mut i = incident();
    i.title = format!("Title {EVIL}");
    i.summary = format!("Summary {EVIL}");
    let timeline = vec![entry(
        1,
        at(2, 40),
        EntryKind::Note,
        Some(&format!("Mallory {EVIL}")),
        &format!(
            "note {} and <https://x.io|{}>",
            crate::slack::text::escape(EVIL),
            crate::slack::text::escape(EVIL)
        ),
    )];
    let mut names = names();
    names.users.insert("UALICE".into(), format!("Alice {EVIL}"));
    let roles = RoleCatalog::new(RoleCatalog::defaults()).unwrap();
    let assignments = vec![Assignment {
        role: crate::domain::RoleName::new("Incident Lead"),
        user: UserId("UALICE".into()),
    }];
    let d = draft(&Facts {
        incident: &i,
        assignments: &assignments,
        roles: &roles,
        timeline: &timeline,
        communications: &[],
        timezone: chrono_tz::UTC,
        now: at(4, 11),
        names: &names,
    });
    let md = Postmortems::load(None).unwrap().render(&d).unwrap();
    assert!(!md.contains("<img"), "{md}");
    assert!(!md.contains("onerror=alert(1)>"), "{md}");
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;"), "{md}");
}

#[test]
fn ids_to_name_covers_people_channels_and_mentions() {
    let i = incident();
    let timeline = [entry(
        1,
        at(2, 45),
        EntryKind::Message,
        Some("Bob"),
        "ask <@UDAN> in <#COPS|ops>",
    )];
    let comms = [Communication {
        update_id: crate::domain::UpdateId::new(1),
        posted_by: UserId("UCAROL".into()),
        recorded_at: at(3, 10),
        text: "see <#CSTATUS>".into(),
        channel: crate::domain::ChannelId::new("CINCIDENTS"),
        audience: "announcement".into(),
        posted_at: None,
        ts: None,
    }];
    let (users, channels) = ids_to_name(&i, &[], &timeline, &comms);
    assert_eq!(
        users,
        ["UALICE", "UCAROL", "UDAN"].map(crate::domain::UserId::new)
    );
    assert_eq!(
        channels,
        ["C07", "CINCIDENTS", "COPS", "CSTATUS"].map(crate::domain::ChannelId::new)
    );
}

#[test]
fn a_realistic_draft() {
    let timeline = vec![
        entry(
            1,
            at(2, 18),
            EntryKind::ImpactStarted,
            Some("Bob"),
            "first 500s from payments-api in the logs",
        ),
        entry(
            2,
            at(2, 31),
            EntryKind::Detected,
            Some("Carol"),
            "pager: checkout error rate > 5%",
        ),
        entry(
            3,
            at(2, 40),
            EntryKind::Declared,
            None,
            "<@UALICE> declared the incident: Checkout returns 500 for EU cards",
        ),
        entry(
            4,
            at(2, 42),
            EntryKind::Role,
            None,
            "<@UBOB> claimed Scribe",
        ),
        entry(
            5,
            at(2, 50),
            EntryKind::Severity,
            None,
            "Severity changed from SEV2 to SEV1",
        ),
        entry(
            6,
            at(3, 5),
            EntryKind::Hypothesis,
            Some("Dan"),
            "new card-network TLS certificate?",
        ),
        entry(
            7,
            at(3, 10),
            EntryKind::Update,
            None,
            "Status update by <@UCAROL> to <#CINCIDENTS>: investigating EU card failures",
        ),
        entry(
            8,
            at(3, 25),
            EntryKind::Mitigated,
            Some("Dan"),
            "rolled back payments-api 1.4.2",
        ),
        entry(
            9,
            at(3, 30),
            EntryKind::Update,
            None,
            "Status update by <@UCAROL> to <#CINCIDENTS>: mitigated",
        ),
        entry(
            10,
            at(3, 55),
            EntryKind::Status,
            None,
            "Status changed from mitigated to resolved",
        ),
    ];
    let comms = vec![
        Communication {
            update_id: crate::domain::UpdateId::new(1),
            posted_by: UserId("UCAROL".into()),
            recorded_at: at(3, 10),
            text: "Investigating failures of EU card payments.".into(),
            channel: crate::domain::ChannelId::new("CINCIDENTS"),
            audience: "announcement".into(),
            posted_at: Some(at(3, 10)),
            ts: Some(crate::domain::MessageTs::new("1.1")),
        },
        Communication {
            update_id: crate::domain::UpdateId::new(2),
            posted_by: UserId("UCAROL".into()),
            recorded_at: at(3, 30),
            text: "Mitigated by a rollback; watching error rates.".into(),
            channel: crate::domain::ChannelId::new("CCUSTOMERS"),
            audience: "customers".into(),
            posted_at: Some(at(3, 31)),
            ts: Some(crate::domain::MessageTs::new("1.2")),
        },
    ];
    let roles = RoleCatalog::new(RoleCatalog::defaults()).unwrap();
    let assignments = vec![
        Assignment {
            role: crate::domain::RoleName::new("Incident Lead"),
            user: UserId("UALICE".into()),
        },
        Assignment {
            role: crate::domain::RoleName::new("Scribe"),
            user: UserId("UBOB".into()),
        },
        Assignment {
            role: crate::domain::RoleName::new("Communication Lead"),
            user: UserId("UCAROL".into()),
        },
        Assignment {
            role: crate::domain::RoleName::new("Tester"),
            user: UserId("UERIN".into()),
        },
        Assignment {
            role: crate::domain::RoleName::new("Tester"),
            user: UserId("UFRED".into()),
        },
    ];
    let i = incident();
    let d = draft(&Facts {
        incident: &i,
        assignments: &assignments,
        roles: &roles,
        timeline: &timeline,
        communications: &comms,
        timezone: chrono_tz::Europe::Paris,
        now: at(4, 11),
        names: &names(),
    })
    .with_followups(
        &[
            crate::domain::followups::Followup {
                id: crate::domain::FollowupId::new(1),
                incident: i.number,
                text: "Alert on payments-api 5xx | rate".into(),
                owner: UserId("UBOB".into()),
                due: chrono::NaiveDate::from_ymd_opt(2026, 12, 24),
                created_by: UserId("UALICE".into()),
                created_at: at(4, 0),
                done_at: None,
                done_by: None,
            },
            crate::domain::followups::Followup {
                id: crate::domain::FollowupId::new(2),
                incident: i.number,
                text: "Roll back the pool size".into(),
                owner: UserId("UALICE".into()),
                due: None,
                created_by: UserId("UALICE".into()),
                created_at: at(4, 0),
                done_at: Some(at(4, 10)),
                done_by: Some(UserId("UALICE".into())),
            },
        ],
        &names(),
        chrono_tz::Europe::Paris,
    );
    let md = Postmortems::load(None).unwrap().render(&d).unwrap();
    insta::assert_snapshot!(md);
}

#[test]
fn metrics_say_which_input_is_missing() {
    let mut i = incident();
    let shown: Vec<String> = metrics(&i)
        .iter()
        .map(|m| format!("{}={:?}", m.name, m.value.map(|d| d.num_minutes())))
        .collect();
    assert_eq!(
        shown,
        [
            "Time to detect=Ok(13)",
            "Time to mitigate=Ok(45)",
            "Time to resolve=Ok(75)",
            "Total duration=Ok(97)"
        ]
    );
    i.impact_started_at = None;
    i.mitigated_at = None;
    i.resolved_at = None;
    let m = metrics(&i);
    assert_eq!(m[0].value, Err("impact start not recorded"));
    assert_eq!(m[1].value, Err("not mitigated yet"));
    assert_eq!(m[2].value, Err("not resolved yet"));
    assert_eq!(m[3].value, Err("not resolved yet"));
}
