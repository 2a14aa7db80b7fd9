//! Focused stories through the store trait, each run on SQLite always and
//! on PostgreSQL when `WARROOM_TEST_POSTGRES_URL` is set: both backends must
//! keep the same promises (once-only events, declarations and reminders,
//! ordered and fenced job claims). Each story starts from an empty
//! database, so one failing hides none of the others.

use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::HashSet;
use std::sync::Arc;
use warroom::domain::comms::ReminderKind;
use warroom::domain::{
    ChannelId, Declaration, EntryKind, Incident, IncidentNumber, MessageTs, NewEntry, SeverityName,
    Status, TimelineChange, UpdateId, UserId,
};
use warroom::queue::{Job, JobOutcome};
use warroom::store::{
    Destination, DueReminder, DynStore, Effects, EventChange, FetchedMessage, RoleChange,
    ScheduleOp, SeenBy, Wanted,
};

/// Incident `number`.
fn n(number: i64) -> IncidentNumber {
    IncidentNumber::new(number)
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

fn declaration(title: &str, drill: bool) -> Declaration {
    Declaration {
        title: title.to_string(),
        severity: SeverityName::new("SEV2"),
        summary: "Checkout fails".to_string(),
        impact_started_at: Some(t0() - Duration::minutes(7)),
        security: false,
        drill,
        private: false,
        declared_by: UserId("UALICE".to_string()),
        origin_channel: ChannelId::new("CGENERAL"),
        announce_channel: ChannelId::new("CINCIDENTS"),
        assessment: None,
    }
}

fn jobs(jobs: Vec<Job>) -> Effects {
    Effects {
        jobs,
        ..Effects::default()
    }
}

/// A post into one channel: posts of one incident into one channel keep
/// their order.
fn post(update_id: i64) -> Job {
    Job::PostUpdate {
        update_id: UpdateId::new(update_id),
        channel: ChannelId::new("CSAME"),
    }
}

/// A fresh, migrated store with incident 1 declared (view `V1`, a
/// `CreateChannel` job queued).
async fn with_incident_one(store: &DynStore) -> Incident {
    store.migrate().await.unwrap();
    let (one, _) = store
        .create_incident(
            &declaration("Checkout 500", false),
            Some("V1"),
            t0(),
            &warroom::domain::RoleName::new("Incident Lead"),
            jobs(vec![Job::CreateChannel]),
        )
        .await
        .unwrap();
    one
}

/// Incident 2: a drill, declared with no effects.
async fn declare_drill(store: &DynStore) -> Incident {
    store
        .create_incident(
            &declaration("Game day", true),
            Some("V2"),
            t0(),
            &warroom::domain::RoleName::new("Incident Lead"),
            Effects::default(),
        )
        .await
        .unwrap()
        .0
}

const TAGGED_TS: &str = "1700000000.000100";

/// Alice tags a message of incident 1 as the mitigation; the event queues
/// a `CaptureMessage` job named `id`.
fn tag(id: &str) -> EventChange {
    EventChange {
        incident: warroom::domain::IncidentNumber::new(1),
        change: Some(TimelineChange::Tag {
            slack_ts: MessageTs::new(TAGGED_TS),
            occurred_at: t0() + Duration::minutes(2),
            kind: EntryKind::Mitigated,
            tagged_by: UserId("UALICE".to_string()),
        }),
        effects: jobs(vec![Job::CaptureMessage {
            ts: MessageTs::new(id),
            by: None,
        }]),
    }
}

/// A note on incident 1 by Alice.
fn note() -> Effects {
    Effects {
        timeline: vec![NewEntry {
            occurred_at: t0() + Duration::minutes(3),
            kind: EntryKind::Note,
            author: Some(UserId("UALICE".to_string())),
            text: "customers notified".to_string(),
        }],
        ..Effects::default()
    }
}

/// Slack event `Ev2`: the tag of [`tag`] taken back.
fn untag() -> EventChange {
    EventChange {
        incident: warroom::domain::IncidentNumber::new(1),
        change: Some(TimelineChange::Untag {
            slack_ts: MessageTs::new(TAGGED_TS),
        }),
        effects: Effects::default(),
    }
}

/// Where incident 1's status update goes, in this order.
fn destinations() -> [Destination; 3] {
    [
        Destination {
            channel: ChannelId::new("CINCIDENTS"),
            audience: "announcement".to_string(),
        },
        Destination {
            channel: ChannelId::new("CWAR1"),
            audience: "war room".to_string(),
        },
        Destination {
            channel: ChannelId::new("CEXEC"),
            audience: "executives".to_string(),
        },
    ]
}

/// Migrations can run again; the database answers.
async fn migrations_rerun_and_ping(store: DynStore) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

/// Declaring: numbers 1, 2, …; a repeated view submission declares once.
async fn declaring(store: DynStore) {
    store.migrate().await.unwrap();
    let now = t0();
    let (one, created) = store
        .create_incident(
            &declaration("Checkout 500", false),
            Some("V1"),
            now,
            &warroom::domain::RoleName::new("Incident Lead"),
            jobs(vec![Job::CreateChannel]),
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!(one.number, n(1));
    assert_eq!(one.status, Status::Investigating);
    let (again, created) = store
        .create_incident(
            &declaration("Checkout 500", false),
            Some("V1"),
            now,
            &warroom::domain::RoleName::new("Incident Lead"),
            jobs(vec![Job::CreateChannel]),
        )
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.number, n(1));
    let two = declare_drill(&store).await;
    assert_eq!(two.number, n(2));
    store
        .record_channel(
            n(1),
            &ChannelId::new("CWAR1"),
            "inc-1-checkout-500",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let by_channel = store
        .incident_by_channel(&ChannelId::new("CWAR1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_channel.number, n(1));
    assert_eq!(by_channel.impact_started_at, one.impact_started_at);
}

/// Roles: one holder, hand-over recorded, release only by the holder.
async fn roles(store: DynStore) {
    with_incident_one(&store).await;
    let alice = UserId("UALICE".to_string());
    let bob = UserId("UBOB".to_string());
    let now = t0();
    let holders = store
        .assignments(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    assert_eq!(holders.len(), 1);
    assert_eq!(holders[0].user, alice);
    assert_eq!(
        store
            .set_role(
                warroom::domain::IncidentNumber::new(1),
                &warroom::domain::RoleName::new("Incident Lead"),
                &alice,
                true,
                now,
                Effects::default()
            )
            .await
            .unwrap(),
        RoleChange::Unchanged
    );
    assert_eq!(
        store
            .set_role(
                warroom::domain::IncidentNumber::new(1),
                &warroom::domain::RoleName::new("Incident Lead"),
                &bob,
                true,
                now,
                Effects::default()
            )
            .await
            .unwrap(),
        RoleChange::Changed {
            replaced: vec![alice.clone()]
        }
    );
    // The first holder of a role, many incidents in one query: the one who
    // has held it longest.
    for (who, at) in [
        (&bob, now + chrono::Duration::minutes(2)),
        (&alice, now + chrono::Duration::minutes(1)),
    ] {
        store
            .set_role(
                n(1),
                &warroom::domain::RoleName::new("Tester"),
                who,
                false,
                at,
                Effects::default(),
            )
            .await
            .unwrap();
    }
    let first = store
        .first_holders(&[n(1), n(99)], "Incident Lead")
        .await
        .unwrap();
    assert_eq!(first.into_iter().collect::<Vec<_>>(), [(n(1), bob.clone())]);
    let first = store.first_holders(&[n(1)], "Tester").await.unwrap();
    assert_eq!(
        first.get(&n(1)),
        Some(&alice),
        "held since a minute earlier"
    );
    assert!(store.first_holders(&[], "Tester").await.unwrap().is_empty());
    assert!(
        !store
            .release_role(
                n(1),
                &warroom::domain::RoleName::new("Incident Lead"),
                &alice,
                now,
                Effects::default()
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .release_role(
                n(1),
                &warroom::domain::RoleName::new("Incident Lead"),
                &bob,
                now,
                Effects::default()
            )
            .await
            .unwrap()
    );
}

/// Events: acted on once, however often Slack delivers them; a tagged
/// message is filled in, stamps the incident, and an untag hides it.
async fn events_act_once(store: DynStore) {
    with_incident_one(&store).await;
    let bob = UserId("UBOB".to_string());
    let now = t0();
    assert!(
        store
            .record_event("Ev1", now, Some(tag("a")))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_event("Ev1", now, Some(tag("b")))
            .await
            .unwrap()
    );
    store
        .fill_tagged_message(
            warroom::domain::IncidentNumber::new(1),
            FetchedMessage {
                slack_ts: &MessageTs::new(TAGGED_TS),
                text: "rolled back the deploy",
                author: Some(&bob),
                author_name: "Bob",
                permalink: Some("https://example.slack.com/p1"),
            },
        )
        .await
        .unwrap();
    let timeline = store
        .timeline(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let tagged: Vec<_> = timeline.iter().filter(|e| e.slack_ts.is_some()).collect();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0].text, "rolled back the deploy");
    assert_eq!(tagged[0].kind, EntryKind::Mitigated);
    assert!(tagged[0].fetched);
    assert_eq!(
        store
            .incident(warroom::domain::IncidentNumber::new(1))
            .await
            .unwrap()
            .unwrap()
            .mitigated_at,
        Some(now + Duration::minutes(2))
    );
    store.add_effects(n(1), now, note()).await.unwrap();
    assert_eq!(
        store
            .timeline(warroom::domain::IncidentNumber::new(1))
            .await
            .unwrap()
            .len(),
        2
    );
    store.record_event("Ev2", now, Some(untag())).await.unwrap();
    assert_eq!(
        store
            .timeline(warroom::domain::IncidentNumber::new(1))
            .await
            .unwrap()
            .len(),
        1,
        "untag hides"
    );
}

/// Lifecycle stamps the first time each state is reached; a resolved
/// incident is no longer open.
async fn lifecycle(store: DynStore) {
    with_incident_one(&store).await;
    declare_drill(&store).await;
    let now = t0();
    assert_eq!(
        store
            .set_status(
                warroom::domain::IncidentNumber::new(1),
                Status::Resolved,
                now + Duration::minutes(30),
                Effects::default()
            )
            .await
            .unwrap(),
        Some(Status::Investigating)
    );
    assert_eq!(
        store
            .set_status(
                warroom::domain::IncidentNumber::new(1),
                Status::Resolved,
                now + Duration::minutes(40),
                Effects::default()
            )
            .await
            .unwrap(),
        None
    );
    let resolved = store
        .incident(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resolved.resolved_at, Some(now + Duration::minutes(30)));
    assert!(
        store
            .open_incidents()
            .await
            .unwrap()
            .iter()
            .all(|i| i.number != n(1))
    );
    assert_eq!(
        store
            .set_severity(n(2), &SeverityName::new("SEV1"), now, Effects::default())
            .await
            .unwrap(),
        Some(SeverityName::new("SEV2"))
    );
}

/// Status updates keep their destinations' order.
async fn status_updates_keep_order(store: DynStore) {
    with_incident_one(&store).await;
    let alice = UserId("UALICE".to_string());
    let now = t0();
    let update = store
        .record_update(
            warroom::domain::IncidentNumber::new(1),
            &alice,
            "Mitigated.",
            &destinations(),
            now,
            Effects::default(),
        )
        .await
        .unwrap();
    store
        .record_update_post(
            update,
            &ChannelId::new("CWAR1"),
            &MessageTs::new("1.2"),
            now + Duration::seconds(1),
        )
        .await
        .unwrap();
    let comms = store
        .communications(warroom::domain::IncidentNumber::new(1))
        .await
        .unwrap();
    let channels: Vec<&str> = comms.iter().map(|c| c.channel.as_str()).collect();
    assert_eq!(channels, ["CINCIDENTS", "CWAR1", "CEXEC"]);
    assert_eq!(comms[1].ts.as_ref().map(|x| x.as_str()), Some("1.2"));
    assert!(comms[0].posted_at.is_none());
}

/// Postmortems and stats (drills left out).
async fn postmortems_and_stats(store: DynStore, url: &str) {
    with_incident_one(&store).await;
    declare_drill(&store).await;
    let now = t0();
    store.save_postmortem(n(1), "# one", now).await.unwrap();
    store.save_postmortem(n(1), "# two", now).await.unwrap();
    assert_eq!(latest_postmortem(url, 1).await.as_deref(), Some("# two"));
    let since: Vec<IncidentNumber> = store
        .incidents_since(now - Duration::days(1))
        .await
        .unwrap()
        .iter()
        .map(|i| i.number)
        .collect();
    assert_eq!(since, [n(1)]);
}

/// The newest postmortem draft of incident `number`, read from the
/// database at `url` (the store has no reader: nothing in warroom needs one).
async fn latest_postmortem(url: &str, number: i64) -> Option<String> {
    const SQL: &str =
        "SELECT markdown FROM postmortems WHERE incident_number = $1 ORDER BY id DESC LIMIT 1";
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let md = sqlx::query_scalar(SQL)
            .bind(number)
            .fetch_optional(&pool)
            .await
            .unwrap();
        pool.close().await;
        md
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let md = sqlx::query_scalar(SQL)
            .bind(number)
            .fetch_optional(&pool)
            .await
            .unwrap();
        pool.close().await;
        md
    }
}

/// Reminders fire once, by compare-and-set on their due time.
async fn reminders_fire_once(store: DynStore) {
    with_incident_one(&store).await;
    declare_drill(&store).await;
    let now = t0();
    store
        .add_effects(
            warroom::domain::IncidentNumber::new(2),
            now,
            Effects {
                schedule: vec![ScheduleOp::Comms {
                    nudge_at: Some(now + Duration::minutes(30)),
                    due_at: Some(now + Duration::minutes(60)),
                }],
                ..Effects::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.next_reminder_due().await.unwrap(),
        Some(now + Duration::minutes(30))
    );
    let due = store
        .due_reminders(now + Duration::minutes(61), 10)
        .await
        .unwrap();
    let kinds: HashSet<ReminderKind> = due.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        HashSet::from([ReminderKind::Nudge, ReminderKind::Due])
    );
    let nudge: &DueReminder = due.iter().find(|d| d.kind == ReminderKind::Nudge).unwrap();
    let later = now + Duration::minutes(61);
    assert!(
        store
            .fire_reminder(nudge, None, later, Effects::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .fire_reminder(nudge, None, later, Effects::default())
            .await
            .unwrap(),
        "a reminder fires once"
    );
}

/// Jobs: ordered by what they write and need; a claim whose lease ran
/// out is fenced. The queue: incident 1's war room (job 1), a tagged
/// message to capture (2) and a status update's three posts (3–5), all
/// needing the room; incident 2's two posts into one channel (6, 7).
async fn jobs_ordered_and_fenced(store: DynStore) {
    with_incident_one(&store).await;
    let alice = UserId("UALICE".to_string());
    let now = t0();
    store
        .record_event("Ev1", now, Some(tag("a")))
        .await
        .unwrap();
    declare_drill(&store).await;
    store
        .record_update(
            warroom::domain::IncidentNumber::new(1),
            &alice,
            "Mitigated.",
            &destinations(),
            now,
            Effects::default(),
        )
        .await
        .unwrap();
    store
        .add_effects(n(2), now, jobs(vec![post(101), post(102)]))
        .await
        .unwrap();
    let lease = |at: DateTime<Utc>| at + Duration::seconds(60);
    let c1 = store.claim_job(now, lease(now)).await.unwrap().unwrap();
    assert!(matches!(c1.job, Job::CreateChannel));
    assert_eq!((c1.incident, c1.attempts), (Some(n(1)), 1));
    let c2 = store.claim_job(now, lease(now)).await.unwrap().unwrap();
    assert_eq!(
        c2.job,
        post(101),
        "incident 1's next jobs wait for its war room"
    );
    assert!(
        store.claim_job(now, lease(now)).await.unwrap().is_none(),
        "the second post into one channel waits for the first"
    );
    assert!(
        store
            .finish_job(c1.claim(), JobOutcome::Done, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_job(c1.claim(), JobOutcome::Done, now)
            .await
            .unwrap()
    );
    let c3 = store
        .claim_job(now, now + Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(c3.job, Job::CaptureMessage { .. }));
    // The update's posts go to three channels: none waits for another.
    for _ in 0..3 {
        let p = store.claim_job(now, lease(now)).await.unwrap().unwrap();
        assert!(matches!(p.job, Job::PostUpdate { .. }), "{p:?}");
        assert!(
            store
                .finish_job(p.claim(), JobOutcome::Done, now)
                .await
                .unwrap()
        );
    }

    let expired = now + Duration::seconds(61);
    let c2_again = store
        .claim_job(expired, lease(expired))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (c2_again.id, c2_again.attempts),
        (c2.id, 2),
        "lease ran out"
    );
    assert!(
        !store
            .finish_job(c2.claim(), JobOutcome::Done, expired)
            .await
            .unwrap()
    );
    assert!(
        !store
            .extend_lease(c2.claim(), lease(expired))
            .await
            .unwrap()
    );
    assert!(
        store
            .extend_lease(c2_again.claim(), lease(expired))
            .await
            .unwrap()
    );
    let retry_at = now + Duration::minutes(10);
    let retry = JobOutcome::Retry {
        at: retry_at,
        error: "ratelimited".to_string(),
    };
    assert!(
        store
            .finish_job(c2_again.claim(), retry, expired)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_job(expired, lease(expired))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.next_job_due().await.unwrap(), Some(retry_at));
    let failed = JobOutcome::Failed {
        error: "message_not_found".to_string(),
        notice: None,
    };
    assert!(store.finish_job(c3.claim(), failed, expired).await.unwrap());
    let counts = store.job_counts().await.unwrap();
    assert_eq!(
        (counts.pending, counts.running, counts.done, counts.failed),
        (2, 0, 4, 1),
        "the first post's retry, the second waiting behind it"
    );
    assert_eq!(store.release_stale_jobs().await.unwrap(), 0);
}

/// Pruning forgets old event ids and finished jobs, nothing else: with two
/// event ids, four done jobs, one failed and two pending, and incident 1's
/// timeline holding one visible entry.
async fn pruning(store: DynStore) {
    store.migrate().await.unwrap();
    let now = t0();
    // An endpoint that takes declarations: the declare below makes one
    // delivery, delivered at once and then pruned with the jobs.
    hook_for_declarations(&store).await;
    store
        .create_incident(
            &declaration("Checkout 500", false),
            Some("V1"),
            now,
            &warroom::domain::RoleName::new("Incident Lead"),
            Effects::default(),
        )
        .await
        .unwrap();
    let quiet_tag = EventChange {
        effects: Effects::default(),
        ..tag("a")
    };
    store
        .record_event("Ev1", now, Some(quiet_tag))
        .await
        .unwrap();
    store.add_effects(n(1), now, note()).await.unwrap();
    store.record_event("Ev2", now, Some(untag())).await.unwrap();
    // Posts into five channels run at once; two more wait in a sixth.
    let post_to = |update_id: i64, channel: &str| Job::PostUpdate {
        update_id: UpdateId::new(update_id),
        channel: ChannelId::new(channel),
    };
    let queued = ["CA", "CB", "CC", "CD", "CE", "CF", "CF"];
    store
        .add_effects(
            warroom::domain::IncidentNumber::new(1),
            now,
            jobs(
                (1..)
                    .zip(queued)
                    .map(|(update, channel)| post_to(update, channel))
                    .collect(),
            ),
        )
        .await
        .unwrap();
    for _ in 0..4 {
        let row = store.claim_job(now, now).await.unwrap().unwrap();
        store
            .finish_job(row.claim(), JobOutcome::Done, now)
            .await
            .unwrap();
    }
    let row = store.claim_job(now, now).await.unwrap().unwrap();
    let failed = JobOutcome::Failed {
        error: "message_not_found".to_string(),
        notice: None,
    };
    store
        .finish_job(row.claim(), failed, now + Duration::seconds(61))
        .await
        .unwrap();
    let lease = now + Duration::seconds(60);
    let delivery = store.claim_delivery(now, lease).await.unwrap().unwrap();
    assert_eq!(delivery.event.kind.as_str(), "incident.declared");
    assert!(
        store.claim_delivery(now, lease).await.unwrap().is_none(),
        "one delivery, leased"
    );
    store
        .finish_delivery(
            &delivery,
            &warroom::store::DeliveryOutcome::Delivered { status: 200 },
            now,
        )
        .await
        .unwrap();
    // An alert sender's delivery id, kept as long as Slack's event ids.
    let delivered = warroom::store::Intake {
        source: "pd".to_string(),
        group_key: "Q1".to_string(),
        delivery: Some("wh-1".to_string()),
        title: "Checkout".to_string(),
        labels: Default::default(),
        links: vec![],
        severity: warroom::domain::SeverityName::new("SEV2"),
        channel: ChannelId::new("CALERTS"),
        private: false,
        action: warroom::domain::alerts::RouteAction::Suggest,
        alerts: vec![],
        note: None,
        declare: None,
        max_declares_per_hour: 10,
        held_back: String::new(),
    };
    store.ingest_alerts(&delivered, now).await.unwrap();
    let again = store.ingest_alerts(&delivered, now).await.unwrap();
    let pruned = store
        .prune(now + Duration::seconds(1), now + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        pruned, 8,
        "two event ids, an alert delivery id, four done jobs and a webhook delivery"
    );
    let after = store.ingest_alerts(&delivered, now).await.unwrap();
    assert_eq!(again, warroom::store::Ingested::Duplicate);
    assert_eq!(
        after,
        warroom::store::Ingested::Nothing,
        "once pruned, the delivery id is new again"
    );
    let hook = store.webhook_status().await.unwrap();
    assert_eq!((hook[0].pending, hook[0].failed), (0, 0));
    assert_eq!(store.job_counts().await.unwrap().pending, 2);
    assert_eq!(
        store
            .timeline(warroom::domain::IncidentNumber::new(1))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Names are cached.
async fn user_names_cached(store: DynStore) {
    store.migrate().await.unwrap();
    let bob = UserId("UBOB".to_string());
    let now = t0();
    let later = now + Duration::minutes(61);
    store.remember_user_name(&bob, "Bob", now).await.unwrap();
    store
        .remember_user_name(&bob, "Bobby", later)
        .await
        .unwrap();
    assert_eq!(
        store.user_name(&bob).await.unwrap(),
        Some(("Bobby".to_string(), later))
    );
}

/// Impact and urgency answers (`severity_matrix`): stored at declaration,
/// replaced with a severity change, kept by a plain one; a change of
/// answers alone is a change; the same level and answers write nothing.
async fn assessment_story(store: DynStore) {
    use warroom::domain::Assessment;
    store.migrate().await.unwrap();
    let now = t0();
    let a = |impact: &str, urgency: &str| Assessment {
        impact: impact.to_string(),
        urgency: urgency.to_string(),
    };
    let d = Declaration {
        assessment: Some(a("Some customers", "Stable")),
        ..declaration("Assessed", false)
    };
    let (incident, _) = store
        .create_incident(
            &d,
            Some("V-assessed"),
            now,
            &warroom::domain::RoleName::new("Incident Lead"),
            Effects::default(),
        )
        .await
        .unwrap();
    let n = incident.number;
    assert_eq!(incident.assessment, Some(a("Some customers", "Stable")));
    let worse = a("All customers", "Getting worse");
    assert_eq!(
        store
            .set_severity_assessed(
                n,
                &SeverityName::new("SEV1"),
                Some(&worse),
                now,
                Effects::default()
            )
            .await
            .unwrap(),
        Some(SeverityName::new("SEV2"))
    );
    assert_eq!(
        store.incident(n).await.unwrap().unwrap().assessment,
        Some(worse.clone())
    );
    // Same level, same answers: nothing to write.
    assert_eq!(
        store
            .set_severity_assessed(
                n,
                &SeverityName::new("SEV1"),
                Some(&worse),
                now,
                Effects::default()
            )
            .await
            .unwrap(),
        None
    );
    // Same level, new answers: recorded.
    let internal = a("Internal only", "Getting worse");
    assert_eq!(
        store
            .set_severity_assessed(
                n,
                &SeverityName::new("SEV1"),
                Some(&internal),
                now,
                Effects::default()
            )
            .await
            .unwrap(),
        Some(SeverityName::new("SEV1"))
    );
    // A plain level change keeps the answers.
    store
        .set_severity(n, &SeverityName::new("SEV3"), now, Effects::default())
        .await
        .unwrap();
    let stored = store.incident(n).await.unwrap().unwrap();
    assert_eq!(
        (stored.severity.as_str(), stored.assessment),
        ("SEV3", Some(internal))
    );
}

/// Private incidents: the flag is kept, membership follows the latest
/// word, and guards refuse inside the transaction.
async fn private_incidents(store: DynStore) {
    use warroom::domain::{Allowed, Permission};
    use warroom::store::{ChangeError, Guard};
    store.migrate().await.unwrap();
    let alice = UserId("UALICE".to_string());
    let bob = UserId("UBOB".to_string());
    let now = t0() + Duration::hours(1);
    let mut d = declaration("Leaked keys", false);
    d.private = true;
    let (incident, _) = store
        .create_incident(
            &d,
            Some("VPRIVATE"),
            now,
            &warroom::domain::RoleName::new("Incident Lead"),
            Effects::default(),
        )
        .await
        .unwrap();
    let n = incident.number;
    assert!(incident.private);
    assert!(store.incident(n).await.unwrap().unwrap().private);
    assert!(store.is_member(n, &alice).await.unwrap(), "the declarer");
    assert!(!store.is_member(n, &bob).await.unwrap());
    // A list for one person leaves out, before its limit, the private
    // incidents they are not in.
    let listed = |member: &UserId| warroom::store::IncidentQuery {
        private: true,
        member: Some(member.clone()),
        limit: 10,
        ..warroom::store::IncidentQuery::default()
    };
    assert_eq!(
        store.list_incidents(&listed(&alice)).await.unwrap().len(),
        1
    );
    assert!(
        store
            .list_incidents(&listed(&bob))
            .await
            .unwrap()
            .is_empty()
    );

    // Bob joins, then leaves; the join delivered again later changes nothing,
    // and an older word does not override a newer one.
    let t = |m: i64| now + Duration::minutes(m);
    assert!(
        store
            .record_membership(n, &bob, true, t(1), Some("EvJ"))
            .await
            .unwrap()
    );
    assert!(store.is_member(n, &bob).await.unwrap());
    assert!(
        store
            .record_membership(n, &bob, false, t(3), Some("EvL"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_membership(n, &bob, true, t(1), Some("EvJ"))
            .await
            .unwrap()
    );
    store
        .record_membership(n, &bob, true, t(2), None)
        .await
        .unwrap();
    assert!(!store.is_member(n, &bob).await.unwrap(), "left at t(3)");
    // Acting in the room later shows he is back.
    store
        .add_effects(
            n,
            t(4),
            Effects {
                guard: Guard::open_by(&bob),
                ..Effects::default()
            },
        )
        .await
        .unwrap();
    assert!(store.is_member(n, &bob).await.unwrap());

    // A permission checked in the transaction.
    let lead_only = Allowed::roles(&["Incident Lead"]);
    let refused = store
        .set_severity(
            n,
            &SeverityName::new("SEV1"),
            t(5),
            Effects {
                guard: Guard::open_by(&bob).allowing(Permission::Severity, &lead_only, &bob),
                ..Effects::default()
            },
        )
        .await;
    assert!(
        matches!(refused, Err(ChangeError::Refused(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.incident(n).await.unwrap().unwrap().severity.as_str(),
        "SEV2"
    );
    // Taking over a held role: refused for Bob, nothing written.
    let take_over = Effects {
        guard: Guard {
            take_over: Some((lead_only.clone(), bob.clone())),
            ..Guard::open_by(&bob)
        },
        ..Effects::default()
    };
    let refused = store
        .set_role(
            n,
            &warroom::domain::RoleName::new("Incident Lead"),
            &bob,
            true,
            t(6),
            take_over.clone(),
        )
        .await;
    assert!(
        matches!(refused, Err(ChangeError::Refused(_))),
        "{refused:?}"
    );
    // An unheld role is no take-over.
    assert_eq!(
        store
            .set_role(
                n,
                &warroom::domain::RoleName::new("Scribe"),
                &bob,
                true,
                t(6),
                take_over
            )
            .await
            .unwrap(),
        RoleChange::Changed { replaced: vec![] }
    );
    // Closed: a late status change cannot reopen it.
    store
        .set_status(n, Status::Closed, t(7), Effects::default())
        .await
        .unwrap();
    let late = store
        .set_status(
            n,
            Status::Investigating,
            t(8),
            Effects {
                guard: Guard::open_by(&alice),
                ..Effects::default()
            },
        )
        .await;
    assert!(matches!(late, Err(ChangeError::Refused(_))), "{late:?}");
    assert_eq!(
        store.incident(n).await.unwrap().unwrap().status,
        Status::Closed
    );
    // A newer incident closed earlier: the last closed come first (the
    // Home tab's "recently closed"), a person's private ones only if theirs.
    let (newer, _) = store
        .create_incident(
            &declaration("Slow search", false),
            Some("VNEWER"),
            t(1),
            &warroom::domain::RoleName::new("Incident Lead"),
            Effects::default(),
        )
        .await
        .unwrap();
    store
        .set_status(newer.number, Status::Closed, t(2), Effects::default())
        .await
        .unwrap();
    let closed = |who: &UserId| warroom::store::IncidentQuery {
        statuses: Some(vec![Status::Closed]),
        private: true,
        member: Some(who.clone()),
        last_closed_first: true,
        limit: 5,
        ..warroom::store::IncidentQuery::default()
    };
    let order =
        |list: Vec<warroom::domain::Incident>| list.iter().map(|i| i.number).collect::<Vec<_>>();
    assert_eq!(
        order(store.list_incidents(&closed(&alice)).await.unwrap()),
        [n, newer.number]
    );
    // Carol was never in its war room.
    let carol = UserId("UCAROL".to_string());
    assert_eq!(
        order(store.list_incidents(&closed(&carol)).await.unwrap()),
        [newer.number]
    );
}

/// Eight workers drain 60 posts of 20 incidents into one channel each:
/// every job runs once, and never two posts of one incident at a time.
async fn claim_race(store: DynStore) {
    // Two incidents declared before, their jobs left over.
    with_incident_one(&store).await;
    store
        .add_effects(n(1), t0(), jobs(vec![post(101), post(102)]))
        .await
        .unwrap();
    declare_drill(&store).await;
    let now = t0() + Duration::days(2);
    // The leftover jobs run first, one at a time.
    while let Some(row) = store.claim_job(now, now).await.unwrap() {
        assert!(
            store
                .finish_job(row.claim(), JobOutcome::Done, now)
                .await
                .unwrap()
        );
    }
    assert_eq!(store.job_counts().await.unwrap().pending, 0);
    let mut total = 0;
    for n in 0..20 {
        let (incident, _) = store
            .create_incident(
                &declaration(&format!("race {n}"), false),
                None,
                now,
                &warroom::domain::RoleName::new("Incident Lead"),
                jobs((0..3).map(post).collect()),
            )
            .await
            .unwrap();
        assert!(incident.number > IncidentNumber::new(2));
        total += 3;
    }
    let running = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let claimed = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (store, running, claimed) = (store.clone(), running.clone(), claimed.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let row = store
                    .claim_job(now, now + Duration::seconds(60))
                    .await
                    .unwrap();
                let Some(row) = row else {
                    let c = store.job_counts().await.unwrap();
                    if c.running == 0 && c.pending == 0 {
                        return;
                    }
                    tokio::task::yield_now().await;
                    continue;
                };
                assert!(
                    running.lock().unwrap().insert(row.incident),
                    "two jobs of incident {:?} at once",
                    row.incident
                );
                claimed.lock().unwrap().push((row.incident, row.id));
                tokio::task::yield_now().await;
                running.lock().unwrap().remove(&row.incident);
                assert!(
                    store
                        .finish_job(row.claim(), JobOutcome::Done, now)
                        .await
                        .unwrap()
                );
            }
        }));
    }
    let all = async {
        for w in workers {
            w.await.unwrap();
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), all)
        .await
        .expect("the workers drained the queue");
    let claimed = claimed.lock().unwrap().clone();
    let ids: HashSet<i64> = claimed.iter().map(|(_, id)| *id).collect();
    assert_eq!(claimed.len(), total, "each job claimed once");
    assert_eq!(ids.len(), total);
    for incident in claimed.iter().map(|(i, _)| *i).collect::<HashSet<_>>() {
        let order: Vec<i64> = claimed
            .iter()
            .filter(|(i, _)| *i == incident)
            .map(|(_, id)| *id)
            .collect();
        assert!(
            order.is_sorted(),
            "incident {incident:?} ran out of order: {order:?}"
        );
    }
}

/// Follow-ups on one backend: recorded with their entry, listed by owner
/// and state, done once, reminded once by compare-and-set.
async fn followups_story(store: DynStore) {
    use warroom::store::NewFollowup;
    store.migrate().await.unwrap();
    let alice = UserId("UALICE".to_string());
    let bob = UserId("UBOB".to_string());
    let now = t0();
    let (one, _) = store
        .create_incident(
            &declaration("Checkout 500", false),
            Some("VF"),
            now,
            &warroom::domain::RoleName::new("Incident Lead"),
            jobs(vec![]),
        )
        .await
        .unwrap();
    let remind = now + chrono::Duration::hours(1);
    let item = NewFollowup {
        incident: one.number,
        text: "Alert on 5xx".into(),
        owner: bob.clone(),
        due: chrono::NaiveDate::from_ymd_opt(2026, 12, 24),
        created_by: alice.clone(),
        remind_at: Some(remind),
    };
    let id = store
        .add_followup(&item, now, Default::default())
        .await
        .unwrap();
    let other = NewFollowup {
        owner: alice.clone(),
        remind_at: None,
        due: None,
        text: "Runbook".into(),
        ..item.clone()
    };
    store
        .add_followup(&other, now, Default::default())
        .await
        .unwrap();
    assert_eq!(
        store
            .followups(Some(&bob), Wanted::Open, SeenBy::Anyone, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .followups(None, Wanted::Open, SeenBy::Anyone, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
    // Due on the 24th: overdue from the 25th; the one without a date never.
    let overdue = |today| {
        let store = store.clone();
        async move {
            let listed = store
                .followups(None, Wanted::Overdue { today }, SeenBy::Anyone, 10)
                .await
                .unwrap();
            assert!(listed.iter().all(|f| f.is_overdue(today)));
            listed.len()
        }
    };
    assert_eq!(overdue(day(24)).await, 0);
    assert_eq!(overdue(day(25)).await, 1);
    assert_eq!(store.next_followup_due().await.unwrap(), Some(remind));
    assert!(store.due_followups(now, 10).await.unwrap().is_empty());
    let due = store.due_followups(remind, 10).await.unwrap();
    assert_eq!(due, vec![(id, one.number, remind)]);
    assert!(
        store
            .fire_followup(id, one.number, remind, remind, Default::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .fire_followup(id, one.number, remind, remind, Default::default())
            .await
            .unwrap(),
        "once"
    );
    assert_eq!(store.next_followup_due().await.unwrap(), None);
    assert!(
        store
            .complete_followup(id, &bob, remind, Default::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .complete_followup(id, &bob, remind, Default::default())
            .await
            .unwrap()
    );
    let f = store.followup(id).await.unwrap().unwrap();
    assert_eq!(f.done_by, Some(bob.clone()));
    assert_eq!(f.due, chrono::NaiveDate::from_ymd_opt(2026, 12, 24));
    assert_eq!(
        store
            .followups(None, Wanted::Open, SeenBy::Anyone, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(overdue(day(25)).await, 0, "done is not overdue");
    // Filtered before the limit: the one done is found behind a newer open
    // one.
    let done = store
        .followups(None, Wanted::Done, SeenBy::PublicOnly, 1)
        .await
        .unwrap();
    assert_eq!(done.iter().map(|f| f.id).collect::<Vec<_>>(), [id]);
    assert_eq!(
        store
            .followups(None, Wanted::All, SeenBy::Anyone, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.incident_followups(one.number).await.unwrap().len(), 2);
}

/// A webhook endpoint `hook` that takes declarations.
async fn hook_for_declarations(store: &DynStore) {
    store
        .sync_endpoints(&[warroom::store::EndpointFilter {
            name: "hook".to_string(),
            events: vec!["incident.declared".to_string()],
        }])
        .await
        .unwrap();
}

/// A replica that does not know an endpoint (a rolling deploy adding it)
/// leaves its delivery for another without spending one of its attempts.
async fn deliveries_not_made_here(store: DynStore) {
    use warroom::store::DeliveryOutcome;
    store.migrate().await.unwrap();
    let now = t0();
    hook_for_declarations(&store).await;
    with_incident_one(&store).await;
    let lease = now + Duration::minutes(1);
    let first = store.claim_delivery(now, lease).await.unwrap().unwrap();
    assert_eq!(first.attempt, 1);
    let later = now + Duration::minutes(5);
    assert!(
        store
            .finish_delivery(&first, &DeliveryOutcome::NotHere { at: later }, now)
            .await
            .unwrap()
    );
    assert!(
        store.claim_delivery(now, lease).await.unwrap().is_none(),
        "left until then"
    );
    let again = store
        .claim_delivery(later, later + Duration::minutes(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.id, again.attempt),
        (first.id, 1),
        "the attempt given back"
    );
}

crate::on_both_backends!(
    deliveries_not_made_here,
    migrations_rerun_and_ping,
    declaring,
    roles,
    events_act_once,
    lifecycle,
    status_updates_keep_order,
    reminders_fire_once,
    jobs_ordered_and_fenced,
    pruning,
    user_names_cached,
    private_incidents,
    claim_race,
    assessment_story,
    followups_story,
);

crate::on_both_backends!(with_url: postmortems_and_stats);
/// The weekly follow-up digest on one backend: a week's digest is sent
/// once (even by two replicas at the same moment), queues one direct
/// message per owner of open follow-ups, and an empty week is recorded too.
async fn digest_story(store: DynStore) {
    use warroom::store::NewFollowup;
    store.migrate().await.unwrap();
    let week = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let now = t0();
    // No follow-ups yet: last week's digest goes to nobody, but is done.
    assert!(!store.followup_digest_sent(week(16)).await.unwrap());
    assert_eq!(
        store
            .fire_followup_digest(week(16), now - Duration::days(7), now)
            .await
            .unwrap(),
        Some(0)
    );
    assert!(store.followup_digest_sent(week(16)).await.unwrap());
    assert_eq!(store.job_counts().await.unwrap().pending, 0);

    let (one, _) = store
        .create_incident(
            &declaration("Checkout 500", false),
            Some("VD"),
            now,
            &warroom::domain::RoleName::new("Incident Lead"),
            jobs(vec![]),
        )
        .await
        .unwrap();
    let item = |text: &str, owner: &str| NewFollowup {
        incident: one.number,
        text: text.into(),
        owner: UserId(owner.into()),
        due: None,
        created_by: UserId("UALICE".into()),
        remind_at: None,
    };
    for (text, owner) in [
        ("Alert on 5xx", "UBOB"),
        ("Raise the pool", "UBOB"),
        ("Runbook", "UCAROL"),
        ("Done already", "UALICE"),
    ] {
        store
            .add_followup(&item(text, owner), now, Default::default())
            .await
            .unwrap();
    }
    let done = store
        .followups(
            Some(&UserId("UALICE".into())),
            Wanted::Open,
            SeenBy::Anyone,
            10,
        )
        .await
        .unwrap();
    store
        .complete_followup(
            done[0].id,
            &UserId("UALICE".into()),
            now,
            Default::default(),
        )
        .await
        .unwrap();
    let queued_before = store.job_counts().await.unwrap().pending;

    // Two replicas fire this week's at once: one sends it.
    let due = now + Duration::hours(6);
    let (a, b) = tokio::join!(
        store.fire_followup_digest(week(23), due, due),
        store.fire_followup_digest(week(23), due, due),
    );
    let mut fired: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().collect();
    fired.sort();
    assert_eq!(fired, vec![None, Some(2)], "Bob and Carol, once");
    assert!(store.followup_digest_sent(week(23)).await.unwrap());
    assert_eq!(
        store
            .fire_followup_digest(week(23), due, due + Duration::hours(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.job_counts().await.unwrap().pending, queued_before + 2);
    let mut owners = HashSet::new();
    while let Some(row) = store
        .claim_job(due, due + Duration::minutes(1))
        .await
        .unwrap()
    {
        if let Job::FollowupDigest { owner, week } = &row.job {
            assert_eq!(week, "2026-11-23");
            assert_eq!(row.incident, None, "nobody's incident");
            assert!(owners.insert(owner.clone()), "{owner} twice");
        }
        store
            .finish_job(row.claim(), JobOutcome::Done, due)
            .await
            .unwrap();
    }
    assert_eq!(
        owners,
        HashSet::from([UserId::new("UBOB"), UserId::new("UCAROL")])
    );
}

crate::on_both_backends!(digest_story);

/// The event log: each change appends its events in its own transaction,
/// with who made it and what it was about; a change that changes nothing
/// (a redelivered event, a role already held, an entry already shown)
/// appends none.
async fn event_log(store: DynStore) {
    use warroom::domain::events::EventType as T;
    let one = with_incident_one(&store).await;
    let alice = UserId::new("UALICE");
    let bob = UserId::new("UBOB");
    let now = t0() + Duration::minutes(1);
    let scribe = warroom::domain::RoleName::new("Scribe");
    let lead = warroom::domain::RoleName::new("Incident Lead");
    let by = |user: &UserId| Effects {
        timeline: vec![NewEntry {
            occurred_at: now,
            kind: EntryKind::Role,
            author: Some(user.clone()),
            text: "role".to_string(),
        }],
        ..Effects::default()
    };
    store
        .set_role(one.number, &scribe, &bob, true, now, by(&bob))
        .await
        .unwrap();
    // Held already: nothing changes, nothing is told.
    store
        .set_role(one.number, &scribe, &bob, true, now, Effects::default())
        .await
        .unwrap();
    store
        .set_role(one.number, &lead, &bob, true, now, by(&bob))
        .await
        .unwrap();
    store
        .set_severity(one.number, &SeverityName::new("SEV1"), now, by(&alice))
        .await
        .unwrap();
    assert!(
        store
            .record_event("Ev1", now, Some(tag("1.1")))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_event("Ev1", now, Some(tag("1.1")))
            .await
            .unwrap()
    );
    store.record_event("Ev2", now, Some(untag())).await.unwrap();
    store.record_event("Ev3", now, Some(untag())).await.unwrap();
    store
        .record_update(
            one.number,
            &alice,
            "All good",
            &destinations(),
            now,
            Effects::default(),
        )
        .await
        .unwrap();
    store
        .release_role(one.number, &scribe, &bob, now, Effects::default())
        .await
        .unwrap();
    store
        .set_status(one.number, Status::Closed, now, by(&alice))
        .await
        .unwrap();
    let followup = store
        .add_followup(
            &warroom::store::NewFollowup {
                incident: one.number,
                text: "Add a canary".to_string(),
                owner: bob.clone(),
                due: None,
                created_by: alice.clone(),
                remind_at: None,
            },
            now,
            Effects::default(),
        )
        .await
        .unwrap();
    assert!(
        store
            .complete_followup(followup, &bob, now, Effects::default())
            .await
            .unwrap()
    );
    assert!(
        !store
            .complete_followup(followup, &bob, now, Effects::default())
            .await
            .unwrap()
    );
    store
        .save_postmortem(one.number, "# draft", now)
        .await
        .unwrap();

    let events = store.events(one.number).await.unwrap();
    let kinds: Vec<T> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            T::IncidentDeclared,
            T::RoleAssigned,
            T::RoleAssigned,
            T::EntryAdded,
            T::RoleReleased,
            T::RoleAssigned,
            T::EntryAdded,
            T::SeverityChanged,
            T::EntryAdded,
            T::EntryAdded,
            T::EntryRemoved,
            T::StatusUpdatePosted,
            T::RoleReleased,
            T::StatusChanged,
            T::Closed,
            T::EntryAdded,
            T::FollowupCreated,
            T::FollowupCompleted,
            T::PostmortemDrafted,
        ]
    );
    let of = |kind: T| events.iter().find(|e| e.kind == kind).unwrap();
    assert_eq!(
        of(T::SeverityChanged).data,
        serde_json::json!({"from": "SEV2", "to": "SEV1"})
    );
    assert_eq!(of(T::SeverityChanged).actor, Some(alice.clone()));
    // Bob took the lead from Alice: she is told she lost it, then he got it.
    let lead_change = &events[4..6];
    assert_eq!(
        lead_change[0].data,
        serde_json::json!({"role": "Incident Lead", "user": "UALICE"})
    );
    assert_eq!(
        lead_change[1].data,
        serde_json::json!({"role": "Incident Lead", "user": "UBOB", "replaced": ["UALICE"]})
    );
    assert_eq!(
        of(T::StatusChanged).data,
        serde_json::json!({"from": "investigating", "to": "closed"})
    );
    assert_eq!(of(T::StatusUpdatePosted).data["text"], "All good");
    assert_eq!(
        of(T::StatusUpdatePosted).data["channels"],
        serde_json::json!(["CINCIDENTS", "CWAR1", "CEXEC"])
    );
    // The tagged entry's id, added then removed.
    let tagged = events
        .iter()
        .filter(|e| e.kind == T::EntryAdded)
        .find(|e| e.data["kind"] == "mitigated")
        .unwrap();
    assert_eq!(tagged.actor, Some(alice.clone()));
    assert_eq!(
        of(T::EntryRemoved).data["entry_id"],
        tagged.data["entry_id"]
    );
    assert_eq!(
        of(T::FollowupCompleted).data,
        serde_json::json!({"followup_id": followup})
    );
    // Public ids are unique and found again.
    let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len());
    assert!(events.iter().all(|e| e.id.starts_with("evt_")));
    assert_eq!(
        store.event(&events[3].id).await.unwrap().as_ref(),
        Some(&events[3])
    );
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
}

crate::on_both_backends!(event_log);

/// PostgreSQL: every connection carries `lock_timeout` and
/// `statement_timeout`, so a write waiting on a row lock held elsewhere (a
/// stuck replica, an operator's open transaction) fails after a few seconds
/// and writes nothing, instead of waiting as long as the other; once the
/// lock is gone the same write goes through.
#[ignore = "needs WARROOM_TEST_POSTGRES_URL (a PostgreSQL server); .ci/run sets it"]
#[tokio::test]
async fn postgres_bounds_lock_waits() {
    use sqlx::Connection;
    use warroom::db::{Backend, Read};
    let db = crate::pg::TestDb::create("store::postgres_bounds_lock_waits").await;
    let pg = warroom::db::PostgresStore::connect(&db.url).await.unwrap();
    for (setting, value) in [("lock_timeout", "5s"), ("statement_timeout", "30s")] {
        let set: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
            .read_one(pg.reader())
            .await
            .unwrap();
        assert_eq!(set, value, "{setting}");
    }
    let store = warroom::store::connect(&db.url).await.unwrap();
    with_incident_one(&store).await;

    let mut other = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut held = other.begin().await.unwrap();
    sqlx::query("SELECT number FROM incidents WHERE number = 1 FOR UPDATE")
        .execute(&mut *held)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let blocked = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        store.set_status(n(1), Status::Identified, t0(), Effects::default()),
    )
    .await
    .expect("the write waited on the lock for 20 s");
    let waited = started.elapsed();
    let Err(e) = blocked else {
        panic!("a write on a locked incident went through: {blocked:?}");
    };
    assert!(e.to_string().contains("lock timeout"), "{e}");
    assert!(
        waited >= std::time::Duration::from_secs(4),
        "waited {waited:?}"
    );
    assert_eq!(
        store
            .incident(warroom::domain::IncidentNumber::new(1))
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Investigating
    );

    held.rollback().await.unwrap();
    assert_eq!(
        store
            .set_status(n(1), Status::Identified, t0(), Effects::default())
            .await
            .unwrap(),
        Some(Status::Investigating)
    );
}
