//! `warroom playground`: the real bot beside a Slack simulator in one
//! process, and a web page that plays Slack's client.

pub mod slack;
