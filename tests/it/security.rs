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
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
