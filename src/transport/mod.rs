//! The doors Slack's requests come in by: HTTP (`http`, served by
//! `server`) and Socket Mode (`socket`, WebSockets warroom opens itself).
//! Each turns what arrived into a raw, authenticated body for `dispatch`
//! and its `Reply` into an HTTP answer or an envelope ack.

pub mod http;
pub mod server;
pub mod socket;
