//! What people do in the simulated workspace, and what a page shows of it.

use super::*;

/// What people do in the simulated workspace, and what a page shows of it.
impl Simulator {
    /// The Web API accepts only this bot token from now on.
    pub fn set_token(&self, token: &str) {
        self.inner.lock().unwrap().token = Some(token.to_string());
    }

    /// Message timestamps come from `clock` (the bot's) from now on.
    pub fn set_clock(&self, clock: crate::clock::Clock) {
        self.inner.lock().unwrap().clock = Some(clock);
    }

    /// Tells followers ([`Simulator::subscribe`]) something changed.
    pub fn changed(&self) {
        self.changes.send_modify(|v| *v += 1);
    }

    /// Follows changes anyone could see: the value counts them.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// A `trigger_id` for something `user` just did: a modal the bot opens
    /// with it appears on their screen.
    pub fn issue_trigger(&self, user: &str) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let trigger = format!("{}.{}.playground", inner.counter, inner.ts(inner.counter));
        inner.triggers.insert(trigger.clone(), user.to_string());
        trigger
    }

    /// A `response_url` for a command `user` typed in `channel`.
    pub fn issue_response_url(&self, channel: &str, user: &str) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let id = format!("R{:06}", inner.counter);
        inner
            .response_urls
            .insert(id.clone(), (channel.to_string(), user.to_string()));
        format!("{}/response/{id}", self.base_url.trim_end_matches("/api"))
    }

    /// Shows `body` (`text`, `blocks`) to `user` only, in `channel`.
    pub fn show_ephemeral(&self, channel: &str, user: &str, body: Value) {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let ts = inner.ts(inner.counter);
        inner.ephemerals.push(Ephemeral {
            channel: channel.to_string(),
            user: user.to_string(),
            ts,
            body,
        });
        drop(inner);
        self.changed();
    }

    /// A command's answer made public: a message from the bot in `channel`.
    pub fn bot_says(&self, channel: &str, body: Value) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let ts = inner.ts(inner.counter);
        inner.messages.push(Message {
            channel: channel.to_string(),
            ts: ts.clone(),
            body,
            edits: 0,
        });
        drop(inner);
        self.changed();
        ts
    }

    /// `user` reacts with `name` to a message; refused like Slack
    /// (`message_not_found`, `already_reacted`).
    pub fn react(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), &'static str> {
        let mut inner = self.inner.lock().unwrap();
        if !inner
            .messages
            .iter()
            .any(|m| m.channel == channel && m.ts == ts)
        {
            return Err("message_not_found");
        }
        let reaction = Reaction {
            channel: channel.to_string(),
            ts: ts.to_string(),
            name: name.to_string(),
            user: user.to_string(),
        };
        if inner.reactions.contains(&reaction) {
            return Err("already_reacted");
        }
        inner.reactions.push(reaction);
        drop(inner);
        self.changed();
        Ok(())
    }

    /// `user` takes their reaction back (`no_reaction` if there was none).
    pub fn unreact(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), &'static str> {
        let mut inner = self.inner.lock().unwrap();
        let before = inner.reactions.len();
        inner
            .reactions
            .retain(|r| !(r.user == user && r.channel == channel && r.ts == ts && r.name == name));
        if inner.reactions.len() == before {
            return Err("no_reaction");
        }
        drop(inner);
        self.changed();
        Ok(())
    }

    /// Everyone's reactions to a message.
    pub fn reactions_on(&self, channel: &str, ts: &str) -> Vec<Reaction> {
        self.inner
            .lock()
            .unwrap()
            .reactions
            .iter()
            .filter(|r| r.channel == channel && r.ts == ts)
            .cloned()
            .collect()
    }

    /// The ephemerals `user` was shown, oldest first.
    pub fn ephemerals_for(&self, user: &str) -> Vec<Ephemeral> {
        self.inner
            .lock()
            .unwrap()
            .ephemerals
            .iter()
            .filter(|e| e.user == user)
            .cloned()
            .collect()
    }

    /// The modals open on `user`'s screen, the one on top last.
    pub fn views_of(&self, user: &str) -> Vec<View> {
        self.inner
            .lock()
            .unwrap()
            .views
            .iter()
            .filter(|v| v.user.as_deref() == Some(user))
            .cloned()
            .collect()
    }

    pub fn view(&self, id: &str) -> Option<View> {
        let inner = self.inner.lock().unwrap();
        inner.views.iter().find(|v| v.id == id).cloned()
    }

    /// Closes the modal `id` and those pushed on top of it.
    pub fn close_view(&self, id: &str) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(at) = inner.views.iter().position(|v| v.id == id) {
            let user = inner.views[at].user.clone();
            let mut i = 0;
            inner.views.retain(|v| {
                let keep = i < at || v.user != user;
                i += 1;
                keep
            });
        }
        drop(inner);
        self.changed();
    }

    /// Closes every modal on `user`'s screen (`response_action: clear`).
    pub fn clear_views(&self, user: &str) {
        self.inner
            .lock()
            .unwrap()
            .views
            .retain(|v| v.user.as_deref() != Some(user));
        self.changed();
    }

    /// Replaces the modal `id` (`response_action: update`).
    pub fn replace_view(&self, id: &str, mut view: Value) {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let n = inner.counter;
        if let Some(open) = inner.views.iter_mut().find(|v| v.id == id) {
            view["id"] = json!(id);
            view["hash"] = json!(format!("{n}.abc"));
            open.view = view;
        }
        drop(inner);
        self.changed();
    }

    /// Opens `view` on top of `user`'s modals (`response_action: push`).
    pub fn push_view(&self, user: &str, mut view: Value) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        let n = inner.counter;
        let id = format!("V{n}");
        view["id"] = json!(id);
        view["hash"] = json!(format!("{n}.abc"));
        inner.views.push(View {
            id: id.clone(),
            user: Some(user.to_string()),
            view,
        });
        drop(inner);
        self.changed();
        id
    }

    /// An uploaded file: its title and content.
    pub fn file(&self, id: &str) -> Option<(String, Vec<u8>)> {
        let inner = self.inner.lock().unwrap();
        inner
            .files
            .get(id)
            .map(|f| (f.title.clone(), f.bytes.clone()))
    }

    /// One message (not an ephemeral).
    pub fn message(&self, channel: &str, ts: &str) -> Option<Message> {
        let inner = self.inner.lock().unwrap();
        inner
            .messages
            .iter()
            .find(|m| m.channel == channel && m.ts == ts)
            .cloned()
    }

    /// Everything a page shows, as JSON: people, channels (direct messages
    /// included), messages, ephemerals, reactions, open modals and files.
    pub fn snapshot(&self) -> Value {
        let version = *self.changes.borrow();
        let inner = self.inner.lock().unwrap();
        let mut people: Vec<(&String, &String)> = inner.names.iter().collect();
        people.sort();
        let people: Vec<Value> = people
            .into_iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect();
        let mut channels: Vec<Value> = inner
            .channels
            .iter()
            .map(|c| {
                json!({"id": c.id, "name": c.name, "topic": c.topic, "members": c.members,
                    "private": inner.private.contains(&c.id), "archived": inner.archived.contains(&c.id)})
            })
            .collect();
        let mut dms: Vec<&str> = inner
            .messages
            .iter()
            .map(|m| m.channel.as_str())
            .filter(|c| c.starts_with('D'))
            .collect();
        dms.sort();
        dms.dedup();
        for dm in dms {
            channels.push(
                json!({"id": dm, "name": "warroom", "dm_with": format!("U{}", &dm[1..]),
                "topic": "", "members": [], "private": true, "archived": false}),
            );
        }
        let message_json = |channel: &str, ts: &str, body: &Value, edits: usize| {
            json!({
                "channel": channel, "ts": ts,
                "user": body.get("user").and_then(Value::as_str).unwrap_or(BOT_USER),
                "text": body.get("text").cloned().unwrap_or(json!("")),
                "blocks": body.get("blocks").cloned().unwrap_or(json!([])),
                "thread_ts": body.get("thread_ts"),
                "edited": edits > 0,
            })
        };
        let messages: Vec<Value> = inner
            .messages
            .iter()
            .map(|m| message_json(&m.channel, &m.ts, &m.body, m.edits))
            .collect();
        let ephemerals: Vec<Value> = inner
            .ephemerals
            .iter()
            .map(|e| {
                let mut v = message_json(&e.channel, &e.ts, &e.body, 0);
                v["to"] = json!(e.user);
                v["user"] = json!(BOT_USER);
                v
            })
            .collect();
        let reactions: Vec<Value> = inner
            .reactions
            .iter()
            .map(|r| json!({"channel": r.channel, "ts": r.ts, "name": r.name, "user": r.user}))
            .collect();
        let views: Vec<Value> = inner
            .views
            .iter()
            .map(|v| json!({"id": v.id, "user": v.user, "view": v.view}))
            .collect();
        let mut files: Vec<(&String, &File)> = inner
            .files
            .iter()
            .filter(|(_, f)| f.channel.is_some())
            .collect();
        files.sort_by_key(|(id, _)| (*id).clone());
        let files: Vec<Value> = files
            .into_iter()
            .map(|(id, f)| {
                json!({"id": id, "title": f.title, "channel": f.channel, "ts": f.shared_ts, "size": f.bytes.len()})
            })
            .collect();
        json!({
            "version": version, "bot": BOT_USER, "people": people, "channels": channels,
            "messages": messages, "ephemerals": ephemerals, "reactions": reactions,
            "views": views, "files": files, "homes": inner.homes,
        })
    }
}
