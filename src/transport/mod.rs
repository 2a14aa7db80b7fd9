//! The doors Slack's requests come in by: HTTP (`http`, served by
//! `server`) and Socket Mode (`socket`, WebSockets warroom opens itself).
//! Each turns what arrived into a raw, authenticated body for `dispatch`
//! and its `Reply` into an HTTP answer or an envelope ack. Alerts from
//! monitoring come in by `hooks` (`POST /hooks/alerts/{name}`), straight
//! to `service::receive`.

pub mod hooks;
pub mod http;
pub mod server;
pub mod socket;
