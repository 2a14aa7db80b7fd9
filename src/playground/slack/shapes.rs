//! Slack's published answer shapes, built into the binary.

use super::*;

/// The published shape of each method's successful answer, by method name
/// (`tests/fixtures/slack-shapes/api/`, built into the binary).
macro_rules! shape {
    ($method:literal) => {
        (
            $method,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/slack-shapes/api/",
                $method,
                ".json"
            )),
        )
    };
}

pub(super) const SHAPES: &[(&str, &str)] = &[
    shape!("auth.test"),
    shape!("chat.getPermalink"),
    shape!("chat.postEphemeral"),
    shape!("chat.postMessage"),
    shape!("chat.update"),
    shape!("conversations.create"),
    shape!("conversations.history"),
    shape!("conversations.info"),
    shape!("conversations.invite"),
    shape!("conversations.join"),
    shape!("conversations.list"),
    shape!("conversations.replies"),
    shape!("conversations.setTopic"),
    shape!("files.completeUploadExternal"),
    shape!("files.getUploadURLExternal"),
    shape!("files.list"),
    shape!("reactions.add"),
    shape!("users.info"),
    shape!("views.open"),
];

pub(super) fn full_shape(method: &str) -> Option<&'static Value> {
    static PARSED: std::sync::OnceLock<HashMap<&'static str, Value>> = std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| {
            SHAPES
                .iter()
                .filter_map(|(method, text)| Some((*method, serde_json::from_str(text).ok()?)))
                .collect()
        })
        .get(method)
}

/// `answer` laid over `shape`: objects field by field, each element of a
/// list over the shape's first element, anything else replaced.
pub fn overlay(shape: &Value, answer: Value) -> Value {
    match (shape, answer) {
        (Value::Object(shape), Value::Object(answer)) => {
            let mut out = shape.clone();
            for (k, v) in answer {
                let merged = match shape.get(&k) {
                    Some(s) => overlay(s, v),
                    None => v,
                };
                out.insert(k, merged);
            }
            Value::Object(out)
        }
        (Value::Array(shape), Value::Array(answer)) => match shape.first() {
            Some(first) => Value::Array(answer.into_iter().map(|v| overlay(first, v)).collect()),
            None => Value::Array(answer),
        },
        (_, answer) => answer,
    }
}

/// A successful JSON answer in its full published shape, or garbled down to
/// `{"ok": true}`; anything else (errors, 500s, 429s) as it was.
pub(super) async fn reshape(method: &str, response: Response, garbled: bool) -> Response {
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let answer: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, axum::body::Body::from(bytes)),
    };
    if answer["ok"] != json!(true) {
        return Json(answer).into_response();
    }
    if garbled {
        return Json(json!({"ok": true})).into_response();
    }
    match full_shape(method) {
        Some(shape) => Json(overlay(shape, answer)).into_response(),
        None => Json(answer).into_response(),
    }
}
