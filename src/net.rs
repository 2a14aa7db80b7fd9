//! Outbound connections: the one TLS connector every client builds on
//! (the Slack Web API, `warroom check`'s probe, Socket Mode).

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

/// HTTPS with the system's root certificates, or plain HTTP (tests and the
/// playground point clients at 127.0.0.1), HTTP/1.
pub fn https_connector() -> std::io::Result<HttpsConnector<HttpConnector>> {
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build())
}
