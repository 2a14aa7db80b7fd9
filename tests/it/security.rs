//! Requests that are not signed by Slack are refused with 401 and change nothing.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn unsigned_stale_or_forged_requests_get_401_and_do_nothing() {
    let app = TestApp::spawn(Setup::default()).await;
    let body = "command=%2Fincident&text=declare+x&user_id=U1&channel_id=C1&trigger_id=1";
    let ts = app.clock.now().timestamp();
    let secret = secrecy::SecretString::from(SECRET);
    let sign =
        |t: i64, b: &str| warroom::slack::signature::sign(&secret, &t.to_string(), b.as_bytes());

    for path in ["/slack/commands", "/slack/events", "/slack/interactivity"] {
        // Missing headers.
        let res = app
            .http
            .post(app.url(path))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} unsigned");
        // Wrong secret.
        let forged = warroom::slack::signature::sign(
            &secrecy::SecretString::from("guess"),
            &ts.to_string(),
            body.as_bytes(),
        );
        let res = app
            .http
            .post(app.url(path))
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", forged)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} forged");
        // Correctly signed, but six minutes old (a replay).
        let old = ts - 360;
        let res = app
            .http
            .post(app.url(path))
            .header("x-slack-request-timestamp", old.to_string())
            .header("x-slack-signature", sign(old, body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} stale");
        // Signed body, tampered in transit.
        let res = app
            .http
            .post(app.url(path))
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", sign(ts, body))
            .body(body.replace("declare", "list"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} tampered");
    }
    assert!(app.slack.all_calls().is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM slack_events").await, 0);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = TestApp::spawn(Setup::default()).await;
    let big = "a".repeat(1024 * 1024 + 1);
    let res = app
        .post_signed("/slack/events", "application/json", big, &[])
        .await;
    assert_eq!(res.status(), 413);
}

/// A request that cannot be Slack's (no signature headers, or a timestamp
/// an hour old) is refused on its headers: its body, here too large to
/// accept, is never read.
#[tokio::test]
async fn requests_without_a_plausible_signature_are_refused_before_their_body_is_read() {
    let app = TestApp::spawn(Setup::default()).await;
    let big = "a".repeat(1024 * 1024 + 1);
    let res = app
        .http
        .post(app.url("/slack/events"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let stale = (app.clock.now() - chrono::Duration::hours(1)).timestamp();
    let res = app
        .http
        .post(app.url("/slack/commands"))
        .header("x-slack-request-timestamp", stale.to_string())
        .header("x-slack-signature", format!("v0={}", "0".repeat(64)))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn url_verification_and_event_dedup() {
    let app = TestApp::spawn(Setup::default()).await;
    let res = app.event(json!({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}), None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );

    let event = json!({
        "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": "Ev0PV52K21", "event_time": 1_700_000_000,
        "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "1700000000.000100", "channel": "C1", "event_ts": "1700000000.000100"}
    });
    for retry in [None, Some(1), Some(2), Some(3)] {
        let res = app.event(event.clone(), retry).await;
        assert_eq!(res.status(), 200);
    }
    // Nothing to act on: answered, not stored (redelivery of events that do
    // act is covered in timeline.rs).
    assert_eq!(app.count("SELECT COUNT(*) FROM slack_events").await, 0);
}

#[tokio::test]
async fn healthz_and_metrics() {
    let app = TestApp::spawn(Setup::default()).await;
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    app.declare("Metrics check", "SEV3").await;
    let text = app.metrics().await;
    assert!(
        text.contains("warroom_incidents_declared_total 1"),
        "{text}"
    );
    assert!(
        text.contains("warroom_jobs_finished_total{kind=\"create_channel\",outcome=\"done\"} 1"),
        "{text}"
    );
    assert!(text.contains("warroom_jobs{state=\"pending\"} 0"), "{text}");
}

/// A small deterministic generator for mutations (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(seed: &[u8], rng: &mut Lcg) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(3) {
            0 if at < out.len() => {
                let alphabet = b"{}[]\":,%&=+|<>@0aZ\\";
                out[at] = alphabet[rng.below(alphabet.len())];
            }
            1 => out.insert(at, (rng.next() % 256) as u8),
            _ if at < out.len() => {
                out.remove(at);
            }
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn mutated_slack_payloads_never_get_a_5xx_or_leave_partial_state() {
    let app = TestApp::spawn(Setup {
        workers: false,
        ..Setup::default()
    })
    .await;
    let command = "token=t&team_id=T1&channel_id=CGENERAL&user_id=UALICE&command=%2Fincident&text=assign+scribe+%3C%40UBOB%7Cbob%3E&trigger_id=1.2.3&response_url=https%3A%2F%2Fx".to_string();
    let declare = serde_urlencoded::to_string([(
        "payload",
        json!({"type": "view_submission", "user": {"id": "UALICE"}, "view": {"id": "V1", "callback_id": "declare",
            "private_metadata": "{\"channel\":\"CGENERAL\"}", "state": {"values": {
                "title": {"value": {"type": "plain_text_input", "value": "DB down"}},
                "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV1"}}}}}}})
        .to_string(),
    )])
    .unwrap();
    let click = serde_urlencoded::to_string([(
        "payload",
        json!({"type": "block_actions", "user": {"id": "UBOB"}, "trigger_id": "1.2", "channel": {"id": "C1"},
            "actions": [{"action_id": "reminder.snooze.15", "value": "1|15"}]})
        .to_string(),
    )])
    .unwrap();
    let event = json!({"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": {"type": "reaction_added",
        "user": "UALICE", "reaction": "pushpin", "item": {"type": "message", "channel": "C1", "ts": "1700000000.000100"}}})
    .to_string();
    let seeds: [(&str, &str, String); 4] = [
        (
            "/slack/commands",
            "application/x-www-form-urlencoded",
            command,
        ),
        (
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            declare,
        ),
        (
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            click,
        ),
        ("/slack/events", "application/json", event),
    ];
    let mut rng = Lcg(20261123);
    for i in 0..400 {
        let (path, content_type, seed) = &seeds[i % seeds.len()];
        let body = String::from_utf8_lossy(&mutate(seed.as_bytes(), &mut rng)).to_string();
        let res = app.post_signed(path, content_type, body.clone(), &[]).await;
        assert!(
            !res.status().is_server_error(),
            "{} for {path}: {body}",
            res.status()
        );
    }
    // Whatever was accepted was accepted whole: every incident has its
    // declaration on the timeline and its war-room job queued.
    let incidents = app.count("SELECT COUNT(*) FROM incidents").await;
    let whole = app
        .count("SELECT COUNT(*) FROM incidents i WHERE EXISTS (SELECT 1 FROM timeline_entries e WHERE e.incident_number = i.number AND e.kind = 'declared') AND EXISTS (SELECT 1 FROM jobs j WHERE j.incident_number = i.number AND j.kind = 'create_channel')")
        .await;
    assert!(
        incidents > 0,
        "no mutated declaration was accepted, so nothing was checked"
    );
    assert_eq!(incidents, whole);
}
