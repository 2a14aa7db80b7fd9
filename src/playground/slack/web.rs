//! The simulated Web API: one answer per method, as Slack gives it.
//!
//! Long on purpose: `respond` is one match with an arm per Web API method
//! warroom calls, each keeping the state that method changes; split up,
//! a method's behaviour would sit apart from the state it shares.

use super::*;

impl Inner {
    /// A fresh message timestamp: the clock's second (if the simulator has
    /// a clock) and the call counter, fixed width so they sort as text.
    pub(super) fn ts(&self, n: u64) -> String {
        let secs = match &self.clock {
            Some(clock) => clock.now().timestamp(),
            None => 1_700_000_000,
        };
        format!("{secs}.{n:06}")
    }
}

/// Methods that change nothing anyone could see.
pub(super) const READS: &[&str] = &[
    "auth.test",
    "conversations.info",
    "conversations.list",
    "conversations.history",
    "conversations.replies",
    "users.info",
    "chat.getPermalink",
    "files.list",
    "files.getUploadURLExternal",
    "apps.connections.open",
];

pub(super) use crate::slack::ids::is_user_id;

/// The id of the app's direct-message channel with `user`.
pub(super) fn dm_channel(user: &str) -> String {
    format!("D{}", &user[1..])
}

/// What the bot posts to a `response_url` it was given: an ephemeral for
/// the person who typed the command, or a message in the channel.
pub(super) async fn respond_to_url(
    State(fake): State<Simulator>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    let target = fake.inner.lock().unwrap().response_urls.get(&id).cloned();
    let Some((channel, user)) = target else {
        return (StatusCode::NOT_FOUND, "no_such_response_url").into_response();
    };
    if body["response_type"] == "in_channel" {
        fake.bot_says(&channel, body);
    } else {
        fake.show_ephemeral(&channel, &user, body);
    }
    (StatusCode::OK, "ok").into_response()
}

/// HTTP 429 with `Retry-After: secs`, as Slack answers.
#[cfg(feature = "test-support")]
pub(super) fn rate_limited(secs: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            ("retry-after", secs.to_string()),
            ("content-type", "application/json".to_string()),
        ],
        r#"{"ok":false,"error":"ratelimited"}"#,
    )
        .into_response()
}

pub(super) fn ok(mut v: Value) -> Response {
    v["ok"] = json!(true);
    Json(v).into_response()
}

pub(super) fn err(code: &str) -> Response {
    Json(json!({"ok": false, "error": code})).into_response()
}

pub(super) fn channel_json(c: &Channel) -> Value {
    channel_json_private(c, false)
}

pub(super) fn channel_json_private(c: &Channel, private: bool) -> Value {
    json!({
        "id": c.id, "name": c.name, "created": 1_700_000_000, "creator": c.creator,
        "is_channel": !private, "is_group": private, "is_private": private, "is_archived": false,
        "topic": {"value": c.topic, "creator": BOT_USER, "last_set": 0}
    })
}

/// The upload URL Slack hands out: the bytes of one file.
pub(super) async fn upload(
    State(fake): State<Simulator>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = fake.inner.lock().unwrap();
    inner.calls.push(Call {
        method: "upload".to_string(),
        body: json!({"id": id, "length": body.len()}),
        auth: None,
    });
    match inner.files.get_mut(&id) {
        Some(file) => {
            file.bytes = body.to_vec();
            drop(inner);
            fake.changed();
            (StatusCode::OK, format!("OK - {}", body.len())).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such upload").into_response(),
    }
}

pub(super) fn history_json(m: &Message) -> Value {
    json!({
        "type": "message",
        "ts": m.ts,
        "text": m.body.get("text").cloned().unwrap_or(json!("")),
        "user": m.body.get("user").cloned().unwrap_or(json!(BOT_USER)),
        "thread_ts": m.body.get("thread_ts"),
        "metadata": m.body.get("metadata"),
    })
}

/// `oldest <= ts <= latest`, with Slack's `inclusive` flag (fixed-width ts).
pub(super) fn in_range(ts: &str, q: &Value) -> bool {
    let inclusive = q.get("inclusive").and_then(Value::as_str) == Some("true");
    let ok = |bound: Option<&str>, after: bool| match bound {
        None => true,
        Some(b) if after => ts > b || (inclusive && ts == b),
        Some(b) => ts < b || (inclusive && ts == b),
    };
    ok(q.get("oldest").and_then(Value::as_str), true)
        && ok(q.get("latest").and_then(Value::as_str), false)
}

pub(super) async fn handle(
    State(fake): State<Simulator>,
    Path(method): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // slack-morphism sends JSON bodies for POST and query strings for GET.
    let body: Value = match query.filter(|q| !q.is_empty()) {
        Some(q) => {
            json!(serde_urlencoded::from_str::<HashMap<String, String>>(&q).unwrap_or_default())
        }
        None => serde_json::from_slice(&body)
            .or_else(|_| {
                serde_urlencoded::from_bytes::<HashMap<String, String>>(&body).map(|m| json!(m))
            })
            .unwrap_or(Value::Null),
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (failure, latency) = {
        let mut inner = fake.inner.lock().unwrap();
        let call = Call {
            method: method.clone(),
            body: body.clone(),
            auth: auth.clone(),
        };
        #[cfg(feature = "test-support")]
        if let Some(wait) = inner.limits.clone().and_then(|l| l.check(&method, &body)) {
            inner.throttled.push(call);
            return rate_limited(wait);
        }
        inner.calls.push(call);
        let name = body["channel"].as_str().and_then(|id| {
            inner
                .channels
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.name.clone())
        });
        let in_channel = name.and_then(|name| {
            inner
                .channel_failures
                .iter_mut()
                .find(|(m, prefix, f)| *m == method && name.starts_with(prefix) && !f.is_empty())
                .and_then(|(_, _, f)| f.pop_front())
        });
        (
            in_channel.or_else(|| {
                inner
                    .failures
                    .get_mut(&method)
                    .and_then(VecDeque::pop_front)
            }),
            inner.latency,
        )
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // Only apps.connections.open takes the app-level token.
    let token = if method == "apps.connections.open" {
        APP_TOKEN.to_string()
    } else {
        let inner = fake.inner.lock().unwrap();
        inner
            .token
            .clone()
            .unwrap_or_else(|| TEST_TOKEN.to_string())
    };
    if auth.as_deref() != Some(format!("Bearer {token}").as_str()) {
        return err("not_authed");
    }
    if let Some(Failure::Slow(d)) = failure {
        tokio::time::sleep(d).await;
    }
    if let Some(Failure::Until(gate)) = &failure {
        gate.notified().await;
    }
    let hang = matches!(failure, Some(Failure::Hang));
    #[cfg(feature = "test-support")]
    let garbled = matches!(failure, Some(Failure::Garbled));
    #[cfg(feature = "test-support")]
    let full_shapes = fake.inner.lock().unwrap().full_shapes;
    let late = match failure {
        Some(Failure::LateAnswer(d)) => Some(d),
        _ => None,
    };
    let response = respond(&fake, method.clone(), body, failure);
    if !READS.contains(&method.as_str()) {
        fake.changed();
    }
    #[cfg(feature = "test-support")]
    let response = if garbled || full_shapes {
        reshape(&method, response, garbled).await
    } else {
        response
    };
    if hang {
        std::future::pending::<()>().await;
    }
    if let Some(d) = late {
        tokio::time::sleep(d).await;
    }
    response
}

/// What Slack does and answers, once any delay is over (synchronous, so the
/// lock on the fake's state is never held across an await).
pub(super) fn respond(
    fake: &Simulator,
    method: String,
    body: Value,
    failure: Option<Failure>,
) -> Response {
    let lose_response = matches!(failure, Some(Failure::LostResponse));
    let mut inner = fake.inner.lock().unwrap();
    // Refusals answer without doing anything; the other failures only
    // change when or whether the answer arrives.
    let refusal = match failure {
        Some(Failure::Status500) => {
            Some((StatusCode::INTERNAL_SERVER_ERROR, "upstream trouble").into_response())
        }
        Some(Failure::RateLimited(secs)) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("retry-after", secs.to_string()),
                    ("content-type", "application/json".to_string()),
                ],
                json!({"ok": false, "error": "ratelimited"}).to_string(),
            )
                .into_response(),
        ),
        Some(Failure::Api(code)) => Some(err(code)),
        _ => None,
    };
    if let Some(refusal) = refusal {
        return refusal;
    }
    inner.counter += 1;
    let n = inner.counter;
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let target = s("channel");
    let writes = matches!(
        method.as_str(),
        "chat.postMessage"
            | "chat.update"
            | "chat.postEphemeral"
            | "conversations.setTopic"
            | "conversations.invite"
            | "conversations.join"
            | "reactions.add"
    );
    if writes && inner.archived.contains(&target) {
        return err("is_archived");
    }
    if method == "conversations.join" && inner.private.contains(&target) {
        return err("method_not_supported_for_channel_type");
    }
    let needs_member = writes && !matches!(method.as_str(), "conversations.join");
    if needs_member && inner.outside.contains(&target) {
        return err("not_in_channel");
    }
    if method == "conversations.join" {
        inner.outside.remove(&target);
    }
    let response = match method.as_str() {
        "auth.test" => {
            // Slack lists the token's scopes in a response header.
            let scopes = match &inner.scopes {
                Some(s) => s.join(","),
                None => crate::slack::probe::BOT_SCOPES.join(","),
            };
            let mut response = ok(
                json!({"user_id": BOT_USER, "user": "warroom", "team_id": "T1", "team": "Acme", "url": "https://acme.slack.com/", "bot_id": "BWARROOM"}),
            );
            if let Ok(v) = scopes.parse() {
                response.headers_mut().insert("x-oauth-scopes", v);
            }
            response
        }
        "conversations.info" => {
            let id = s("channel");
            let Some(c) = inner.channels.iter().find(|c| c.id == id) else {
                return err("channel_not_found");
            };
            let mut json = channel_json_private(c, inner.private.contains(&id));
            json["is_member"] =
                json!(c.members.iter().any(|m| m == BOT_USER) && !inner.outside.contains(&id));
            json["is_archived"] = json!(inner.archived.contains(&id));
            ok(json!({"channel": json}))
        }
        "conversations.list" => {
            // Like Slack: public channels unless `types` asks for private
            // ones too (which the bot sees only when it is a member).
            let types = s("types");
            let types = if types.is_empty() {
                "public_channel".to_string()
            } else {
                types
            };
            let channels: Vec<Value> = inner
                .channels
                .iter()
                .filter_map(|c| {
                    let private = inner.private.contains(&c.id);
                    let listed = if private {
                        types.contains("private_channel") && c.members.iter().any(|m| m == BOT_USER)
                    } else {
                        types.contains("public_channel")
                    };
                    listed.then(|| channel_json_private(c, private))
                })
                .collect();
            ok(json!({"channels": channels, "response_metadata": {"next_cursor": ""}}))
        }
        "views.open" | "views.push" => {
            let trigger = s("trigger_id");
            if trigger.is_empty() {
                return err("invalid_trigger_id");
            }
            let user = inner.triggers.remove(&trigger);
            let mut view = body.get("view").cloned().unwrap_or(json!({}));
            view["id"] = json!(format!("V{n}"));
            view["team_id"] = json!("T1");
            view["hash"] = json!(format!("{n}.abc"));
            inner.views.push(View {
                id: format!("V{n}"),
                user,
                view: view.clone(),
            });
            ok(json!({"view": view}))
        }
        "views.update" => {
            let (id, external) = (s("view_id"), s("external_id"));
            let hash = s("hash");
            let Some(open) = inner.views.iter_mut().find(|v| {
                (!id.is_empty() && v.id == id)
                    || (!external.is_empty() && v.view["external_id"] == json!(external))
            }) else {
                return err("not_found");
            };
            if !hash.is_empty() && open.view["hash"] != json!(hash) {
                return err("hash_conflict");
            }
            let mut view = body.get("view").cloned().unwrap_or(json!({}));
            view["id"] = json!(open.id);
            view["team_id"] = json!("T1");
            view["hash"] = json!(format!("{n}.abc"));
            open.view = view.clone();
            ok(json!({"view": view}))
        }
        "conversations.create" => {
            let name = s("name");
            let valid = !name.is_empty()
                && name.len() <= 80
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !valid {
                return err("invalid_name_specials");
            }
            if inner.channels.iter().any(|c| c.name == name) {
                return err("name_taken");
            }
            // Never an id a channel already has (one restored from an
            // earlier run's database, say).
            let mut id = format!("C{n:06}");
            while inner.channels.iter().any(|c| c.id == id) {
                inner.counter += 1;
                id = format!("C{:06}", inner.counter);
            }
            let channel = Channel {
                id,
                name,
                creator: BOT_USER.to_string(),
                topic: String::new(),
                members: vec![BOT_USER.to_string()],
            };
            let private = body.get("is_private").and_then(Value::as_bool) == Some(true);
            if private {
                inner.private.insert(channel.id.clone());
            }
            let json = channel_json_private(&channel, private);
            inner.channels.push(channel);
            ok(json!({"channel": json}))
        }
        "conversations.invite" => {
            let id = s("channel");
            let users = s("users");
            let Some(c) = inner.channels.iter_mut().find(|c| c.id == id) else {
                return err("channel_not_found");
            };
            for u in users.split(',') {
                if c.members.iter().any(|m| m == u) {
                    return err("already_in_channel");
                }
                c.members.push(u.to_string());
            }
            let json = channel_json(c);
            ok(json!({"channel": json}))
        }
        "conversations.join" => {
            // Channels the fake did not create (the announcement channel,
            // say) are public channels anyone may join.
            let id = s("channel");
            let json = match inner.channels.iter_mut().find(|c| c.id == id) {
                Some(c) => {
                    if !c.members.iter().any(|m| m == BOT_USER) {
                        c.members.push(BOT_USER.to_string());
                    }
                    channel_json(c)
                }
                None if id.starts_with('C') => channel_json(&Channel {
                    id: id.clone(),
                    name: id.to_lowercase(),
                    creator: "UHUMAN".to_string(),
                    topic: String::new(),
                    members: vec![BOT_USER.to_string()],
                }),
                None => return err("channel_not_found"),
            };
            ok(json!({"channel": json}))
        }
        "conversations.setTopic" => {
            let id = s("channel");
            let Some(c) = inner.channels.iter_mut().find(|c| c.id == id) else {
                return err("channel_not_found");
            };
            c.topic = s("topic");
            let json = channel_json(c);
            ok(json!({"channel": json}))
        }
        "chat.postMessage" => {
            let mut channel = s("channel");
            // A user id as the channel is a direct message from the app.
            if is_user_id(&channel) {
                channel = dm_channel(&channel);
            }
            let is_channel =
                channel.starts_with('C') || channel.starts_with('G') || channel.starts_with('D');
            if !is_channel {
                return err("channel_not_found");
            }
            let ts = inner.ts(n);
            inner.messages.push(Message {
                channel: channel.clone(),
                ts: ts.clone(),
                body: body.clone(),
                edits: 0,
            });
            ok(
                json!({"channel": channel, "ts": ts, "message": {"ts": ts, "text": body.get("text"), "user": BOT_USER}}),
            )
        }
        "chat.update" => {
            let (channel, ts) = (s("channel"), s("ts"));
            let Some(m) = inner
                .messages
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts)
            else {
                return err("message_not_found");
            };
            m.body = body.clone();
            m.edits += 1;
            ok(
                json!({"channel": channel, "ts": ts, "text": body.get("text"), "message": {"text": body.get("text"), "user": BOT_USER}}),
            )
        }
        "chat.postEphemeral" => {
            let ts = inner.ts(n);
            inner.ephemerals.push(Ephemeral {
                channel: s("channel"),
                user: s("user"),
                ts: ts.clone(),
                body: body.clone(),
            });
            ok(json!({"message_ts": ts}))
        }
        "conversations.history" => {
            let channel = s("channel");
            let limit = body
                .get("limit")
                .and_then(Value::as_str)
                .and_then(|l| l.parse().ok())
                .unwrap_or(100usize);
            let mut found: Vec<Value> = inner
                .messages
                .iter()
                .filter(|m| {
                    m.channel == channel
                        && m.body.get("thread_ts").is_none()
                        && in_range(&m.ts, &body)
                })
                .map(history_json)
                .collect();
            found.reverse(); // newest first, as Slack answers
            found.truncate(limit);
            ok(json!({"messages": found, "has_more": false}))
        }
        "conversations.replies" => {
            let (channel, ts) = (s("channel"), s("ts"));
            let Some(target) = inner
                .messages
                .iter()
                .find(|m| m.channel == channel && m.ts == ts)
            else {
                return err("thread_not_found");
            };
            let parent = target
                .body
                .get("thread_ts")
                .and_then(Value::as_str)
                .unwrap_or(&target.ts)
                .to_string();
            let thread: Vec<&Message> = inner
                .messages
                .iter()
                .filter(|m| {
                    m.channel == channel
                        && (m.ts == parent
                            || m.body.get("thread_ts").and_then(Value::as_str)
                                == Some(parent.as_str()))
                })
                .collect();
            // Slack always answers with the parent first, then the replies in range.
            let mut found: Vec<Value> = thread
                .iter()
                .filter(|m| m.ts == parent)
                .map(|m| history_json(m))
                .collect();
            found.extend(
                thread
                    .iter()
                    .filter(|m| m.ts != parent && in_range(&m.ts, &body))
                    .map(|m| history_json(m)),
            );
            let limit = body
                .get("limit")
                .and_then(Value::as_str)
                .and_then(|l| l.parse().ok())
                .unwrap_or(1000usize);
            found.truncate(limit);
            ok(json!({"messages": found, "has_more": false}))
        }
        "files.getUploadURLExternal" => {
            let id = format!("F{n:06}");
            inner.files.insert(
                id.clone(),
                File {
                    title: s("filename"),
                    created: chrono::Utc::now().timestamp(),
                    ..File::default()
                },
            );
            let base = fake.base_url.trim_end_matches("/api").to_string();
            ok(json!({"upload_url": format!("{base}/upload/{id}"), "file_id": id}))
        }
        "files.completeUploadExternal" => {
            let channel = s("channel_id");
            let shared_ts = inner.ts(n);
            let mut done = Vec::new();
            for f in body
                .get("files")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                let id = f
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let Some(file) = inner.files.get_mut(&id) else {
                    return err("file_not_found");
                };
                if let Some(title) = f.get("title").and_then(Value::as_str) {
                    file.title = title.to_string();
                }
                file.channel = Some(channel.clone());
                file.shared_ts = Some(shared_ts.clone());
                done.push(json!({"id": id, "title": file.title}));
            }
            ok(json!({"files": done}))
        }
        "files.list" => {
            let channel = s("channel");
            let from = s("ts_from").parse::<i64>().unwrap_or(0);
            let mut files: Vec<(&String, &File)> = inner
                .files
                .iter()
                .filter(|(_, f)| {
                    f.channel.as_deref() == Some(channel.as_str()) && f.created >= from
                })
                .collect();
            files.sort_by_key(|(id, _)| (*id).clone());
            let files: Vec<Value> = files
                .iter()
                .map(|(id, f)| json!({"id": id, "title": f.title, "created": f.created}))
                .collect();
            ok(json!({"files": files}))
        }
        "users.lookupByEmail" => {
            let email = s("email").to_lowercase();
            let local = email.strip_suffix("@example.com").unwrap_or_default();
            match inner
                .names
                .iter()
                .find(|(_, name)| name.to_lowercase() == local)
            {
                Some((id, _)) if !local.is_empty() => ok(json!({"user": {"id": id}})),
                _ => err("users_not_found"),
            }
        }
        "users.info" => {
            let user = s("user");
            let name = inner
                .names
                .get(&user)
                .cloned()
                .unwrap_or_else(|| user.to_lowercase());
            ok(
                json!({"user": {"id": user, "name": name, "real_name": format!("{name} (real)"), "profile": {"display_name": name, "real_name": format!("{name} (real)")}}}),
            )
        }
        "chat.getPermalink" => {
            let (channel, ts) = (s("channel"), s("message_ts"));
            ok(
                json!({"channel": channel, "permalink": format!("https://acme.slack.com/archives/{channel}/p{}", ts.replace('.', ""))}),
            )
        }
        "reactions.add" => {
            let (channel, ts, name) = (s("channel"), s("timestamp"), s("name"));
            if !inner
                .messages
                .iter()
                .any(|m| m.channel == channel && m.ts == ts)
            {
                return err("message_not_found");
            }
            let reaction = Reaction {
                channel,
                ts,
                name,
                user: BOT_USER.to_string(),
            };
            if inner.reactions.contains(&reaction) {
                return err("already_reacted");
            }
            inner.reactions.push(reaction);
            ok(json!({}))
        }
        "reactions.remove" => {
            let reaction = Reaction {
                channel: s("channel"),
                ts: s("timestamp"),
                name: s("name"),
                user: BOT_USER.to_string(),
            };
            let before = inner.reactions.len();
            inner.reactions.retain(|r| *r != reaction);
            if inner.reactions.len() == before {
                return err("no_reaction");
            }
            ok(json!({}))
        }
        "conversations.open" => {
            let users = s("users");
            let user = users.split(',').next().unwrap_or_default();
            if !is_user_id(user) {
                return err("user_not_found");
            }
            ok(json!({"channel": {"id": dm_channel(user)}}))
        }
        // Links still in the composer: nothing posted to show them under.
        "chat.unfurl" if s("source") == "composer" && !s("unfurl_id").is_empty() => ok(json!({})),
        "chat.unfurl" => {
            let (channel, ts) = (s("channel"), s("ts"));
            let Some(message) = inner
                .messages
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts)
            else {
                return err("cannot_unfurl_message");
            };
            // Shown under the message, as Slack shows an unfurl.
            message.body["unfurls"] = body.get("unfurls").cloned().unwrap_or(json!({}));
            ok(json!({}))
        }
        "views.publish" => {
            let user = s("user_id");
            if !is_user_id(&user) {
                return err("invalid_arguments");
            }
            let mut view = body.get("view").cloned().unwrap_or(json!({}));
            if view["type"] != json!("home") {
                return err("invalid_arguments");
            }
            view["id"] = json!(format!("VH{n}"));
            inner.homes.insert(user, view.clone());
            ok(json!({"view": view}))
        }
        "functions.completeSuccess" | "functions.completeError" => {
            let execution = s("function_execution_id");
            if execution.is_empty() {
                return err("function_execution_not_found");
            }
            // Workflow Builder tells whoever ran the workflow how it went.
            if let Some(user) = inner.workflow_runs.remove(&execution) {
                let text = if method == "functions.completeSuccess" {
                    let out = &body["outputs"];
                    format!(
                        "Your workflow ran *Declare an incident*: incident {} in <#{}>.",
                        out["incident_number"].as_str().unwrap_or("?"),
                        out["war_room"].as_str().unwrap_or("?")
                    )
                } else {
                    format!(
                        "Your workflow stopped at *Declare an incident*: {}",
                        s("error")
                    )
                };
                let ts = inner.ts(n);
                inner.messages.push(Message {
                    channel: format!("D{}", &user[1..]),
                    ts,
                    body: json!({"user": "USLACKBOT", "text": text}),
                    edits: 0,
                });
            }
            ok(json!({}))
        }
        "apps.connections.open" => match &inner.socket_url {
            Some(url) => ok(json!({"url": url})),
            None => err("invalid_auth"),
        },
        _ => err("unknown_method"),
    };
    if lose_response {
        return (StatusCode::INTERNAL_SERVER_ERROR, "the answer was lost").into_response();
    }
    response
}
