//! How long a signed `view_submission` takes to become a posted role board,
//! against the fake Slack on 127.0.0.1, with the real server, SQLite file,
//! job workers and slack-morphism client (rate control on).
//!
//! Run: `cargo bench --bench declare` (prints figures; asserts nothing).

mod common;

use common::helpers::{DECLARER, DeclareInput, Setup, TestApp};
use common::report;
use std::time::{Duration, Instant};

const SPACED: usize = 30;
const BURST: usize = 10;

/// Waits (polling every 200 µs) until incident `number`'s war room holds a
/// message: its role board.
async fn board_posted(app: &TestApp, number: i64) {
    loop {
        if let Some(room) = app.room(number).await
            && !app.slack.messages_in(&room).is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn main() {
    let rt = common::runtime();
    rt.block_on(async {
        let app = TestApp::spawn(Setup {
            real_clock: true,
            ..Setup::default()
        })
        .await;
        let mut acks = Vec::new();
        let mut boards = Vec::new();
        // One declaration at a time, as at 3 a.m.: a second apart so the
        // client's chat.postMessage rate control (1/s) starts each one fresh.
        for i in 0..SPACED {
            let started = Instant::now();
            let res = app
                .submit_declare(
                    DECLARER,
                    &format!("VBENCH{i}"),
                    DeclareInput {
                        title: format!("Bench incident {i}"),
                        ..DeclareInput::default()
                    },
                )
                .await;
            assert_eq!(res.status(), 200);
            acks.push(started.elapsed());
            board_posted(&app, i as i64 + 1).await;
            boards.push(started.elapsed());
            app.wait_idle().await;
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        println!("declare → role board, {SPACED} declarations one at a time:");
        report("  ack (view_submission answered)", acks);
        report("  role board posted", boards);

        // A burst: several incidents declared at once share the rate limit.
        let mut started = Vec::new();
        for i in 0..BURST {
            started.push(Instant::now());
            app.submit_declare(
                DECLARER,
                &format!("VBURST{i}"),
                DeclareInput {
                    title: format!("Burst {i}"),
                    ..DeclareInput::default()
                },
            )
            .await;
        }
        let mut burst = Vec::new();
        for (i, t) in started.iter().enumerate() {
            board_posted(&app, (SPACED + i) as i64 + 1).await;
            burst.push(t.elapsed());
        }
        println!("declare → role board, {BURST} declarations submitted at once:");
        report("  role board posted", burst);
    });
}
