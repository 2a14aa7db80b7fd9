//! The HTTP accept loop: hyper's HTTP/1 connections with a header-read
//! timeout (a client that trickles its headers is cut off), the router's
//! own request timeout and concurrency limit (`http::harden`), and a
//! graceful stop: stop accepting, let requests in flight finish within the
//! grace period, then cut what is left.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Serves `router` on `listener` until `stop` turns true (or its sender is
/// dropped), then drains for at most `grace`. Returns how many connections
/// had to be cut when the grace ran out.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) -> usize {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let stopped = async {
            // A dropped sender means nobody can stop us any more: stop now.
            let _ = stop.wait_for(|s| *s).await;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped => break,
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait, then carry on.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        connections.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let open = connections.len();
    if open > 0 {
        tracing::info!(
            connections = open,
            "no longer accepting; waiting for requests in flight"
        );
    }
    let drained = tokio::time::timeout(grace, async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_ok() {
        return 0;
    }
    let cut = connections.len();
    connections.abort_all();
    tracing::warn!(
        connections = cut,
        grace = ?grace,
        "requests still running after shutdown_grace were cut off"
    );
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(
        router: Router,
        header_timeout: Duration,
        grace: Duration,
    ) -> (
        std::net::SocketAddr,
        watch::Sender<bool>,
        tokio::task::JoinHandle<usize>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, router, header_timeout, rx, grace));
        (addr, tx, task)
    }

    fn slow(ms: u64) -> Router {
        Router::new().route(
            "/",
            get(move || async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                "done"
            }),
        )
    }

    async fn get_raw(addr: std::net::SocketAddr) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out).await;
        out
    }

    #[tokio::test]
    async fn slow_requests_get_503_and_excess_ones_wait_their_turn() {
        // One request at a time, 150 ms each, 1 s allowed: of eight sent
        // together the first ones are served in turn, the last time out.
        // (Without the limit all eight would take 150 ms; without the
        // timeout all eight would succeed.)
        let router = crate::transport::http::harden_with(slow(150), Duration::from_secs(1), 1);
        let (addr, _tx, _task) =
            start(router, Duration::from_secs(5), Duration::from_secs(1)).await;
        let answers = futures_join_all((0..8).map(|_| tokio::spawn(get_raw(addr))).collect()).await;
        let status = |code: &str| {
            answers
                .iter()
                .filter(|a| a.split_whitespace().nth(1) == Some(code))
                .count()
        };
        assert!(status("200") >= 1, "{answers:?}");
        assert!(status("503") >= 1, "{answers:?}");
        assert_eq!(status("200") + status("503"), 8, "{answers:?}");
    }

    async fn futures_join_all(tasks: Vec<tokio::task::JoinHandle<String>>) -> Vec<String> {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_client_trickling_its_headers_is_cut_off() {
        let (addr, _tx, _task) =
            start(slow(0), Duration::from_millis(200), Duration::from_secs(1)).await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n").await.unwrap();
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "the server closed the connection");
        // A complete request on a new connection is still served.
        assert!(get_raw(addr).await.ends_with("done"));
    }

    #[tokio::test]
    async fn stopping_lets_a_request_in_flight_finish() {
        let (addr, tx, task) =
            start(slow(300), Duration::from_secs(5), Duration::from_secs(5)).await;
        let request = tokio::spawn(get_raw(addr));
        tokio::time::sleep(Duration::from_millis(100)).await;
        tx.send(true).unwrap();
        let answer = request.await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("done"),
            "{answer}"
        );
        assert_eq!(task.await.unwrap(), 0, "nothing was cut");
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "no longer accepting"
        );
    }

    #[tokio::test]
    async fn stopping_cuts_requests_still_running_after_the_grace() {
        let (addr, tx, task) = start(
            slow(60_000),
            Duration::from_secs(5),
            Duration::from_millis(200),
        )
        .await;
        let request = tokio::spawn(get_raw(addr));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stopped_at = std::time::Instant::now();
        tx.send(true).unwrap();
        assert_eq!(task.await.unwrap(), 1, "one request cut");
        assert!(stopped_at.elapsed() < Duration::from_secs(5));
        let answer = request.await.unwrap();
        assert!(!answer.contains("done"), "{answer}");
    }
}
