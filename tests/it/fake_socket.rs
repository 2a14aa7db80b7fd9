//! A fake of Slack's Socket Mode server on 127.0.0.1 (the fake Web API's
//! `apps.connections.open` hands out its `ws://` URL). It greets each
//! connection with `hello`, sends the envelopes, `disconnect`s and abrupt
//! drops a test asks for, and records every ack with the connection it came
//! on and when. It can also go silent on a connection, as a dead Slack
//! host does while the TCP connection stays up.

#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::helpers::eventually;

enum Cmd {
    Send(String),
    /// Drop the TCP connection without a close handshake.
    Drop,
    /// Stop answering: no frame (not even a pong) from now on.
    Silence,
}

/// One connection as the fake saw it.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub id: usize,
    pub open: bool,
    pub hello_at: Instant,
    pub closed_at: Option<Instant>,
    /// The app closed it (a Close frame), rather than the fake.
    pub closed_by_app: bool,
    /// Pings from the app, while the fake still answered.
    pub pings: usize,
    /// The fake went silent on it.
    pub silent: bool,
    /// Bytes the app sent after that (its pings), unanswered.
    pub unanswered_bytes: usize,
}

/// One ack the app sent.
#[derive(Clone, Debug)]
pub struct Ack {
    pub conn: usize,
    pub body: Value,
    pub at: Instant,
}

struct Conn {
    info: ConnInfo,
    tx: mpsc::UnboundedSender<Cmd>,
}

#[derive(Default)]
struct Inner {
    conns: Vec<Conn>,
    acks: Vec<Ack>,
    counter: u64,
}

#[derive(Clone)]
pub struct FakeSocket {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl FakeSocket {
    pub async fn start() -> FakeSocket {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = FakeSocket {
            inner: Arc::default(),
            url: format!("ws://{addr}/link/?ticket=fake"),
        };
        let accept = fake.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let fake = accept.clone();
                tokio::spawn(async move {
                    // A second handle on the socket, read raw once silent.
                    let Ok((tcp, raw)) = split_raw(tcp) else {
                        return;
                    };
                    if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                        fake.serve(ws, raw).await;
                    }
                });
            }
        });
        fake
    }

    async fn serve(
        &self,
        ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
        mut raw: tokio::net::TcpStream,
    ) {
        let (mut sink, mut stream) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let id = {
            let mut inner = self.inner.lock().unwrap();
            let id = inner.conns.len();
            inner.conns.push(Conn {
                info: ConnInfo {
                    id,
                    open: true,
                    hello_at: Instant::now(),
                    closed_at: None,
                    closed_by_app: false,
                    pings: 0,
                    silent: false,
                    unanswered_bytes: 0,
                },
                tx,
            });
            id
        };
        let open = self.open_connections().len();
        let hello = json!({
            "type": "hello", "num_connections": open,
            "connection_info": {"app_id": "A1"},
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060}
        });
        let _ = sink.send(Message::text(hello.to_string())).await;
        let mut by_app = false;
        let mut silent = false;
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Cmd::Send(text)) => {
                        if sink.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                    Some(Cmd::Silence) => {
                        silent = true;
                        break;
                    }
                    Some(Cmd::Drop) | None => break,
                },
                msg = stream.next() => match msg {
                    Some(Ok(Message::Text(text))) => {
                        let body: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                        self.inner.lock().unwrap().acks.push(Ack { conn: id, body, at: Instant::now() });
                    }
                    Some(Ok(Message::Close(_))) => {
                        by_app = true;
                        let _ = sink.send(Message::Close(None)).await;
                        break;
                    }
                    // Answered by tungstenite itself (a pong).
                    Some(Ok(Message::Ping(_))) => self.inner.lock().unwrap().conns[id].info.pings += 1,
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                },
            }
        }
        if silent {
            // The WebSocket is no longer read, so nothing answers the app's
            // pings; what it sends is counted until it closes the socket.
            self.inner.lock().unwrap().conns[id].info.silent = true;
            let mut buf = [0u8; 1024];
            loop {
                match tokio::io::AsyncReadExt::read(&mut raw, &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.inner.lock().unwrap().conns[id].info.unanswered_bytes += n,
                }
            }
            drop((sink, stream));
        }
        let mut inner = self.inner.lock().unwrap();
        let info = &mut inner.conns[id].info;
        info.open = false;
        info.closed_at = Some(Instant::now());
        info.closed_by_app = by_app;
    }

    pub fn connections(&self) -> Vec<ConnInfo> {
        self.inner
            .lock()
            .unwrap()
            .conns
            .iter()
            .map(|c| c.info.clone())
            .collect()
    }

    /// Ids of the connections open now.
    pub fn open_connections(&self) -> Vec<usize> {
        self.connections()
            .into_iter()
            .filter(|c| c.open)
            .map(|c| c.id)
            .collect()
    }

    /// Waits until `n` connections are open (and greeted).
    pub async fn wait_open(&self, n: usize) -> Vec<usize> {
        self.wait_until(&format!("{n} open connections"), |f| {
            let open = f.open_connections();
            (open.len() == n).then_some(open)
        })
        .await
    }

    /// Waits until `check` holds ([`eventually`]); fails naming `what` and
    /// the connections as they were.
    pub async fn wait_until<T>(&self, what: &str, check: impl Fn(&FakeSocket) -> Option<T>) -> T {
        eventually(what, || {
            std::future::ready(check(self).ok_or_else(|| self.connections()))
        })
        .await
    }

    fn send_raw(&self, conn: usize, frame: Value) {
        let inner = self.inner.lock().unwrap();
        let _ = inner.conns[conn].tx.send(Cmd::Send(frame.to_string()));
    }

    /// Sends an envelope of `kind` on `conn`; returns its envelope id.
    pub fn envelope(&self, conn: usize, kind: &str, payload: Value) -> String {
        let id = {
            let mut inner = self.inner.lock().unwrap();
            inner.counter += 1;
            format!("env-{}-{}", inner.counter, kind)
        };
        self.deliver(conn, &id, kind, payload, 0);
        id
    }

    /// Sends envelope `id` on `conn` (again, when `retry_attempt` > 0).
    pub fn deliver(&self, conn: usize, id: &str, kind: &str, payload: Value, retry_attempt: u32) {
        let mut frame = json!({
            "envelope_id": id,
            "type": kind,
            "accepts_response_payload": kind != "events_api",
            "payload": payload,
        });
        if retry_attempt > 0 {
            frame["retry_attempt"] = json!(retry_attempt);
            frame["retry_reason"] = json!("timeout");
        }
        self.send_raw(conn, frame);
    }

    /// Slack's `disconnect` message with `reason`.
    pub fn disconnect(&self, conn: usize, reason: &str) {
        self.send_raw(
            conn,
            json!({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}),
        );
    }

    /// Drops `conn` without a close handshake, as a network failure would.
    pub fn drop_conn(&self, conn: usize) {
        let inner = self.inner.lock().unwrap();
        let _ = inner.conns[conn].tx.send(Cmd::Drop);
    }

    /// Stops answering on `conn` (not even pongs) while keeping its TCP
    /// connection up, as a Slack host that died would; returns once silent.
    pub async fn silence(&self, conn: usize) {
        {
            let inner = self.inner.lock().unwrap();
            let _ = inner.conns[conn].tx.send(Cmd::Silence);
        }
        self.wait_until(&format!("connection {conn} to go silent"), |f| {
            f.connections()[conn].silent.then_some(())
        })
        .await
    }

    /// Every ack of envelope `id`.
    pub fn acks_of(&self, id: &str) -> Vec<Ack> {
        self.inner
            .lock()
            .unwrap()
            .acks
            .iter()
            .filter(|a| a.body["envelope_id"] == id)
            .cloned()
            .collect()
    }

    /// Waits for the ack of envelope `id` (ten seconds at most: a missing
    /// ack fails the test; how fast it came is the bench's business).
    pub async fn ack(&self, id: &str) -> Ack {
        self.wait_until(&format!("the ack of {id}"), |f| {
            f.acks_of(id).into_iter().next()
        })
        .await
    }

    /// `/incident <text>` typed by `user` in `channel`, over `conn`; returns
    /// the ack's payload (`Null` when it has none).
    pub async fn command(&self, conn: usize, user: &str, channel: &str, text: &str) -> Value {
        let id = self.envelope(conn, "slash_commands", command_payload(user, channel, text));
        payload_of(&self.ack(&id).await)
    }

    /// An interaction payload (button, form) over `conn`; the ack's payload.
    pub async fn interaction(&self, conn: usize, payload: Value) -> Value {
        let id = self.envelope(conn, "interactive", payload);
        payload_of(&self.ack(&id).await)
    }

    /// An Events API callback over `conn`; the ack's payload.
    pub async fn event(&self, conn: usize, payload: Value) -> Value {
        let id = self.envelope(conn, "events_api", payload);
        payload_of(&self.ack(&id).await)
    }
}

/// The socket, and a second handle on it (the same connection).
fn split_raw(
    tcp: tokio::net::TcpStream,
) -> std::io::Result<(tokio::net::TcpStream, tokio::net::TcpStream)> {
    let tcp = tcp.into_std()?;
    let raw = tcp.try_clone()?;
    Ok((
        tokio::net::TcpStream::from_std(tcp)?,
        tokio::net::TcpStream::from_std(raw)?,
    ))
}

/// The ack's `payload`, or `Null`.
pub fn payload_of(ack: &Ack) -> Value {
    ack.body.get("payload").cloned().unwrap_or(Value::Null)
}

/// A slash command as Socket Mode delivers it: the HTTP form's fields as a
/// JSON object.
pub fn command_payload(user: &str, channel: &str, text: &str) -> Value {
    let form = super::helpers::command_form(user, channel, text);
    let fields: std::collections::BTreeMap<String, String> =
        serde_urlencoded::from_str(&form).unwrap();
    json!(fields)
}
