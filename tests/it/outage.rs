//! A database outage as the probes see it: the process stays alive
//! (`/healthz`) while it is not ready (`/readyz`), and is ready again once
//! the database answers.

use super::helpers::*;
use super::pg::TestDb;

async fn status(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.http.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[ignore = "needs WARROOM_TEST_POSTGRES_URL (a PostgreSQL server); .ci/run sets it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_makes_the_process_unready_not_dead() {
    let db = TestDb::create("a_database_outage_makes_the_process_unready_not_dead").await;
    let app = TestApp::spawn(Setup {
        env: vec![("WARROOM_DATABASE_URL", db.url.clone())],
        ..Setup::default()
    })
    .await;
    assert_eq!(status(&app, "/readyz").await, (200, "ready".to_string()));
    assert_eq!(status(&app, "/healthz").await.0, 200);

    db.go_down().await;
    eventually("readiness to notice the outage", || async {
        match status(&app, "/readyz").await {
            (503, body) if body == "database unavailable" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(
        status(&app, "/healthz").await,
        (200, "ok".to_string()),
        "alive all along"
    );

    db.come_back().await;
    eventually("readiness to come back", || async {
        match status(&app, "/readyz").await {
            (200, _) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}
