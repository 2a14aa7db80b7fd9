//! What each job does: its Slack calls, from the incident as stored when
//! it runs. Long on purpose: one arm per `Job` kind in `execute`, and the
//! helpers they share (`current`, `post_once`, `in_channel`) beside them.

use super::*;
use crate::domain::UserId;
use crate::domain::timeline::SummaryWindow;
use crate::slack::client::To;
use crate::slack::text::Mrkdwn;

/// The incident a job works on, as stored when it runs.
struct Current {
    number: IncidentNumber,
    incident: domain::Incident,
    assignments: Vec<domain::Assignment>,
}

/// Reads the incident of `row` (every job but a message to one person has
/// one).
async fn current(ctx: &Ctx, row: &JobRow) -> Result<Current, RunError> {
    let number = row.incident.ok_or(RunError::Unowned {
        kind: row.job.kind(),
    })?;
    let incident = ctx
        .store
        .incident(number)
        .await?
        .ok_or(RunError::NoIncident(number))?;
    let assignments = ctx.store.assignments(number).await?;
    Ok(Current {
        number,
        incident,
        assignments,
    })
}

/// The incident's war room; none yet means its creation failed (a job
/// needing the room waits for that job, by the ordering rule).
fn war_room(incident: &domain::Incident) -> Result<&ChannelId, RunError> {
    incident.channel_id.as_ref().ok_or(RunError::NoChannel)
}

pub(super) async fn execute(ctx: &Ctx, row: &JobRow) -> Result<(), RunError> {
    match &row.job {
        // The bot's own words, which may quote a title or a tagged message:
        // stored as text, made safe again to be sent.
        Job::Ephemeral {
            channel,
            user,
            text,
        } => {
            ctx.slack
                .post_ephemeral(channel, user, &Mrkdwn::slack(text))
                .await?;
            Ok(())
        }
        Job::Notice {
            channel,
            user,
            text,
        } => notice::send(ctx, channel.as_ref(), user, &Mrkdwn::slack(text)).await,
        Job::FollowupDigest { owner, .. } => followup_digest(ctx, row, owner).await,
        Job::CreateChannel => {
            let Current {
                number, incident, ..
            } = current(ctx, row).await?;
            if incident.channel_id.is_some() {
                return Ok(());
            }
            for attempt in 1..=MAX_NAME_ATTEMPTS {
                let name = channel_name(number, &incident.title, incident.drill, attempt);
                match ctx.slack.create_channel(&name, incident.private).await {
                    Ok(created) => {
                        ctx.store
                            .record_channel(number, &created.id, &created.name, ctx.clock.now())
                            .await?;
                        return Ok(());
                    }
                    Err(CallError::Api(SlackErrorCode::NameTaken)) => {
                        // Our own earlier try may have created it and lost
                        // the answer: adopt a channel of that name the bot
                        // created (the name carries this incident's number)
                        // rather than open `-2`.
                        if let Some(ours) = own_channel(ctx, &name, incident.private).await? {
                            ctx.store
                                .record_channel(number, &ours.id, &ours.name, ctx.clock.now())
                                .await?;
                            return Ok(());
                        }
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(CallError::Api(SlackErrorCode::NameTaken).into())
        }
        Job::Invite { user } => {
            let Current {
                number, incident, ..
            } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            in_channel(ctx, channel, || ctx.slack.invite(channel, user)).await?;
            // Who is in a private war room decides who sees it listed.
            ctx.store
                .record_membership(number, user, true, ctx.clock.now(), None)
                .await?;
            Ok(())
        }
        Job::SyncTopic => {
            let Current {
                number,
                incident,
                assignments,
            } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            let lead = domain::lead(&incident, &assignments);
            let bridge = ctx.settings.bridge.as_ref().map(|b| b.url(number));
            let topic =
                crate::slack::render::topic_with_bridge(&incident, &lead, bridge.as_deref());
            in_channel(ctx, channel, || ctx.slack.set_topic(channel, &topic)).await
        }
        Job::SyncBoard | Job::PostBoard => {
            let Current {
                number,
                incident,
                assignments,
            } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            let content = blocks::role_board(
                &incident,
                &assignments,
                &ctx.settings.roles,
                ctx.settings.pagerduty.is_some(),
            );
            let bridge = ctx.settings.bridge.as_ref().map(|b| b.url(number));
            let content = blocks::with_bridge(content, bridge.as_deref());
            let links = ctx.store.incident_alert_links(number).await?;
            let content = blocks::with_alert_links(content, &links);
            let content = blocks::with_web_link(content, web_link(ctx, number).as_deref());
            let existing = match row.job {
                Job::SyncBoard => incident.board_ts.as_ref(),
                _ => None,
            };
            if let Some(ts) = edit_or_post(ctx, row, channel, existing, content).await? {
                ctx.store.record_board(number, &ts).await?;
            }
            Ok(())
        }
        Job::SyncAnnouncement => {
            let Current {
                number,
                incident,
                assignments,
            } = current(ctx, row).await?;
            use crate::config::PrivateAnnounce;
            let content = match ctx.settings.private_incidents.announce_of(incident.private) {
                PrivateAnnounce::None => return Ok(()),
                PrivateAnnounce::Redacted => blocks::announcement_redacted(&incident, &assignments),
                PrivateAnnounce::Full => blocks::with_web_link(
                    blocks::announcement(&incident, &assignments),
                    web_link(ctx, number).as_deref(),
                ),
            };
            let existing = incident.announce_ts.as_ref();
            if let Some(ts) =
                edit_or_post(ctx, row, &incident.announce_channel, existing, content).await?
            {
                ctx.store.record_announcement(number, &ts).await?;
            }
            Ok(())
        }
        Job::CaptureMessage { ts, .. } => {
            let Current {
                number, incident, ..
            } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            capture_message(ctx, number, channel, ts).await
        }
        Job::PostUpdate { update_id, channel } => {
            let Current {
                number, incident, ..
            } = current(ctx, row).await?;
            let comms = ctx.store.communications(number).await?;
            let Some(post) = comms
                .iter()
                .find(|c| c.update_id == *update_id && c.channel == *channel)
            else {
                return Err(RunError::NoPost {
                    update_id: *update_id,
                    channel: channel.clone(),
                });
            };
            if post.ts.is_some() {
                return Ok(());
            }
            let show_title = incident.channel_id.as_ref() == Some(channel)
                || ctx.settings.private_incidents.announce_of(incident.private)
                    == crate::config::PrivateAnnounce::Full;
            let content = blocks::status_update(&incident, &post.text, &post.posted_by, show_title);
            let ts = post_once(ctx, row, channel.into(), content).await?;
            ctx.store
                .record_update_post(*update_id, channel, &ts, ctx.clock.now())
                .await?;
            Ok(())
        }
        Job::PostReminder { kind } => {
            let Current {
                incident,
                assignments,
                ..
            } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            // The timeline since the last update: the scribe's digest for
            // the communication lead.
            let since = incident.last_update_at.unwrap_or(incident.declared_at);
            let digest: Vec<_> = ctx
                .store
                .timeline(incident.number)
                .await?
                .into_iter()
                .filter(|e| e.occurred_at > since && e.kind != crate::domain::EntryKind::Reminder)
                .collect();
            let content = blocks::reminder(
                &incident,
                *kind,
                &ctx.settings.cadence(&incident.severity),
                &crate::domain::comms::ReminderPeople::of(&incident, &assignments),
                since,
                &digest,
                ctx.settings.timezone,
            );
            post_once(ctx, row, channel.into(), content).await?;
            Ok(())
        }
        Job::PostPostmortem => {
            let Current {
                number,
                incident,
                assignments,
            } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            let timeline = ctx.store.timeline(number).await?;
            let communications = ctx.store.communications(number).await?;
            let names = names(ctx, &incident, &assignments, &timeline, &communications).await?;
            let draft = crate::postmortem::draft(&crate::postmortem::Facts {
                incident: &incident,
                assignments: &assignments,
                roles: &ctx.settings.roles,
                timeline: &timeline,
                communications: &communications,
                timezone: ctx.settings.timezone,
                now: ctx.clock.now(),
                names: &names,
            })
            .with_followups(
                &ctx.store.incident_followups(number).await?,
                &names,
                ctx.settings.timezone,
            );
            let markdown = ctx
                .postmortems
                .render(&draft)
                .map_err(|e| RunError::Template(e.to_string()))?;
            ctx.store
                .save_postmortem(number, &markdown, ctx.clock.now())
                .await?;
            let filename = format!("{}-postmortem.md", incident.reference().to_lowercase());
            let summary = blocks::with_web_link(
                blocks::postmortem_summary(&incident, &timeline, &communications, &filename),
                web_link(ctx, number).as_deref(),
            );
            post_once(ctx, row, channel.into(), summary).await?;
            let title = format!("{} postmortem draft", incident.reference());
            // A retry may follow an upload Slack completed but whose answer
            // was lost: share the file once.
            if row.attempts > 1
                && ctx
                    .slack
                    .file_shared_since(channel, &title, row.created_at)
                    .await?
            {
                info!("the postmortem file was already shared");
                return Ok(());
            }
            in_channel(ctx, channel, || {
                ctx.slack.upload_file(channel, &filename, &title, &markdown)
            })
            .await
        }
        Job::PostChecklist { role, user } => {
            let Current { incident, .. } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            post_checklist(ctx, row, &incident, channel, role, user).await
        }
        Job::SyncChecklist { checklist } => {
            let Current { incident, .. } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            let Some(list) = ctx.store.checklist(*checklist).await? else {
                return Ok(());
            };
            let content = blocks::checklist(&incident, &list);
            if let Some(ts) = edit_or_post(ctx, row, channel, list.ts.as_ref(), content).await? {
                ctx.store.record_checklist_post(list.id, &ts).await?;
            }
            Ok(())
        }
        Job::PostChecklistReminder {
            checklist,
            since,
            until,
        } => {
            let Current {
                number, incident, ..
            } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            let Some(list) = ctx.store.checklist(*checklist).await? else {
                return Ok(());
            };
            let button = blocks::summary_action_value(list.id, *since, *until);
            let summary = if list.role.as_str() == domain::roles::SCRIBE {
                let window = SummaryWindow::from_millis(*since, *until, incident.declared_at);
                let entries = window.entries(ctx.store.timeline(number).await?);
                Some(blocks::internal_summary(
                    &incident,
                    &entries,
                    window.since,
                    ctx.settings.timezone,
                ))
            } else {
                None
            };
            let content = blocks::checklist_reminder(
                &incident,
                &list,
                summary.as_deref(),
                summary.as_ref().map(|_| button.as_str()),
            );
            post_once(ctx, row, channel.into(), content).await?;
            Ok(())
        }
        Job::PostSummary { text, by } => {
            let Current { incident, .. } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            let content = blocks::summary_post(&incident, text, by);
            post_once(ctx, row, channel.into(), content).await?;
            Ok(())
        }
        Job::SyncAlertCard { group } => alert_card(ctx, row, *group, None).await,
        Job::PostAlertCard { group } => {
            let Current { incident, .. } = current(ctx, row).await?;
            alert_card(ctx, row, *group, Some(&incident)).await
        }
        Job::PostAlertsResolved => {
            let Current { incident, .. } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            post_once(ctx, row, channel.into(), blocks::alerts_resolved(&incident)).await?;
            Ok(())
        }
        Job::PostPaged { by } => {
            let Current { incident, .. } = current(ctx, row).await?;
            let channel = war_room(&incident)?;
            post_once(
                ctx,
                row,
                channel.into(),
                blocks::paged(&incident, by.as_ref()),
            )
            .await?;
            Ok(())
        }
        Job::CaptureQuote { message } => {
            let Current {
                number, incident, ..
            } = current(ctx, row).await?;
            capture_quote(ctx, number, &incident, message).await
        }
        Job::CompleteStep { execution } => {
            let Current {
                number, incident, ..
            } = current(ctx, row).await?;
            // Run after the job creating the room finished (the ordering
            // rule): no room now means it could not be created, for good.
            match &incident.channel_id {
                Some(room) => {
                    let outputs = serde_json::json!({
                        "incident_number": number.get().to_string(),
                        "war_room": room.as_str(),
                    });
                    ctx.slack.complete_step(execution, outputs).await?;
                }
                None => {
                    let reason = format!(
                        "{} is declared, but its war room could not be created; see /incident list",
                        incident.reference()
                    );
                    ctx.slack.fail_step(execution, &reason).await?;
                }
            }
            Ok(())
        }
        Job::FailStep { execution, reason } => {
            ctx.slack.fail_step(execution, reason).await?;
            Ok(())
        }
        Job::PublishHome { user, .. } => publish_home(ctx, user).await,
        Job::Unfurl {
            channel,
            ts,
            urls,
            composer,
        } => {
            let mut unfurls = serde_json::Map::new();
            for (url, number) in urls {
                let Some(incident) = ctx.store.incident(*number).await? else {
                    continue;
                };
                let assignments = ctx.store.assignments(*number).await?;
                let lead = domain::lead(&incident, &assignments);
                unfurls.insert(url.clone(), blocks::unfurl_card(&incident, &lead));
            }
            if !unfurls.is_empty() {
                ctx.slack
                    .unfurl(
                        channel,
                        ts,
                        composer.as_ref(),
                        serde_json::Value::Object(unfurls),
                    )
                    .await?;
            }
            Ok(())
        }
    }
}

/// The incident's page in the web record, when it is configured.
fn web_link(ctx: &Ctx, number: domain::IncidentNumber) -> Option<String> {
    ctx.settings.web.as_ref().map(|w| w.incident_url(number))
}

/// A message someone put on the timeline with a shortcut: its author's
/// name and its link filled in (what Slack can tell; the text came with
/// the shortcut), and in the war room the bot's confirming reaction.
async fn capture_quote(
    ctx: &Ctx,
    number: domain::IncidentNumber,
    incident: &domain::Incident,
    message: &domain::QuotedMessage,
) -> Result<(), RunError> {
    let author_name = match &message.author {
        Some(user) => display_name(ctx, user).await?,
        None => "a bot".to_string(),
    };
    // Outside the war room the bot may not see the channel: no link then.
    let permalink = match ctx.slack.permalink(&message.channel, &message.ts).await {
        Ok(link) => Some(link),
        Err(CallError::Api(_)) => None,
        Err(e) => return Err(e.into()),
    };
    ctx.store
        .fill_tagged_message(
            number,
            crate::store::FetchedMessage {
                slack_ts: &message.ts,
                text: &message.text,
                author: message.author.as_ref(),
                author_name: &author_name,
                permalink: permalink.as_deref(),
            },
        )
        .await?;
    if incident.channel_id.as_ref() == Some(&message.channel) {
        let emoji = &ctx.settings.timeline.confirm_emoji;
        let channel = &message.channel;
        in_channel(ctx, channel, || {
            ctx.slack.add_reaction(channel, &message.ts, emoji)
        })
        .await?;
    }
    Ok(())
}

/// `user`'s Home tab as things are now: the open incidents they may see
/// with their leads, their roles, their open follow-ups, the last closed
/// incidents they may see.
async fn publish_home(ctx: &Ctx, user: &domain::UserId) -> Result<(), RunError> {
    /// Closed incidents shown.
    const CLOSED_SHOWN: usize = 5;
    /// Follow-ups read (Home shows the first and counts the rest).
    const FOLLOWUPS_READ: i64 = 1000;
    let mut home = blocks::Home::default();
    for incident in ctx
        .store
        .open_incidents_seen_by(user)
        .await?
        .into_iter()
        .rev()
    {
        let assignments = ctx.store.assignments(incident.number).await?;
        for a in assignments.iter().filter(|a| &a.user == user) {
            home.roles.push((incident.clone(), a.role.clone()));
        }
        let lead = domain::lead(&incident, &assignments);
        home.open.push((incident, lead));
    }
    home.followups = ctx
        .store
        .followups(
            Some(user),
            crate::store::Wanted::Open,
            crate::store::SeenBy::Person(user),
            FOLLOWUPS_READ,
        )
        .await?;
    let closed = ctx
        .store
        .list_incidents(&crate::store::IncidentQuery {
            statuses: Some(vec![domain::Status::Closed]),
            private: true,
            // Filtered by membership in the store, before the limit.
            member: Some(user.clone()),
            last_closed_first: true,
            drills: true,
            limit: CLOSED_SHOWN as i64,
            ..crate::store::IncidentQuery::default()
        })
        .await?;
    home.closed = closed;
    let today = ctx
        .clock
        .now()
        .with_timezone(&ctx.settings.timezone)
        .date_naive();
    ctx.slack
        .publish_home(user, blocks::home(&home, today))
        .await?;
    Ok(())
}

/// An alert group's card as the group is now: edited in place in its
/// channel (posted the first time), or, with `room`, posted once in that
/// incident's war room.
async fn alert_card(
    ctx: &Ctx,
    row: &JobRow,
    id: domain::AlertGroupId,
    room: Option<&domain::Incident>,
) -> Result<(), RunError> {
    let Some(group) = ctx.store.alert_group(id).await? else {
        return Ok(());
    };
    let alerts = ctx.store.group_alerts(id).await?;
    let open_incidents: Vec<domain::Incident> =
        if group.card_state() == domain::alerts::CardState::Open && room.is_none() {
            // A card is seen by the whole channel: private incidents stay out.
            ctx.store
                .open_incidents()
                .await?
                .into_iter()
                .filter(|i| !i.private)
                .collect()
        } else {
            vec![]
        };
    let linked = match group.incident {
        Some(n) => ctx.store.incident(n).await?,
        None => None,
    };
    let earlier = match group.earlier_incident {
        Some(n) => ctx.store.incident(n).await?,
        None => None,
    };
    let content = blocks::alert_card(&blocks::AlertCard {
        group: &group,
        alerts: &alerts,
        open_incidents: &open_incidents,
        linked: linked.as_ref(),
        earlier: earlier.as_ref(),
        notify: crate::slack::text::Mrkdwn::alerts_notify(&ctx.settings.alerts),
        in_war_room: room.is_some(),
        timezone: ctx.settings.timezone,
    });
    if let Some(incident) = room {
        let channel = war_room(incident)?;
        post_once(ctx, row, channel.into(), content).await?;
        return Ok(());
    }
    if let Some(ts) =
        edit_or_post(ctx, row, &group.channel, group.card_ts.as_ref(), content).await?
    {
        ctx.store.record_alert_card(id, &ts).await?;
    }
    Ok(())
}

/// Sends `owner` their weekly digest: a direct message (chat.postMessage
/// to the user id, as the due-date reminder) listing their open follow-ups
/// as they are now, once (a retry looks for what an earlier try posted).
/// Someone who ticked everything done since the digest was queued gets
/// nothing.
async fn followup_digest(ctx: &Ctx, row: &JobRow, owner: &UserId) -> Result<(), RunError> {
    /// More than a message shows; the rest are counted.
    const LIMIT: i64 = 500;
    // Oldest first, as the digest lists them.
    let mut items = ctx
        .store
        .followups(
            Some(owner),
            crate::store::Wanted::Open,
            crate::store::SeenBy::Anyone,
            LIMIT,
        )
        .await?;
    items.reverse();
    if items.is_empty() {
        info!("no open follow-ups left; no digest");
        return Ok(());
    }
    let today = ctx
        .clock
        .now()
        .with_timezone(&ctx.settings.timezone)
        .date_naive();
    let content = blocks::followup_digest(&items, today);
    post_once(ctx, row, owner.into(), content).await?;
    Ok(())
}

/// Opens a new holder's checklist and posts it (once: a retry finds the
/// message an earlier try posted). A role without tasks has no checklist.
async fn post_checklist(
    ctx: &Ctx,
    row: &JobRow,
    incident: &domain::Incident,
    channel: &ChannelId,
    role: &domain::RoleName,
    user: &UserId,
) -> Result<(), RunError> {
    let Some(tasks) = ctx.settings.roles.get(role).map(|r| r.tasks()) else {
        return Ok(());
    };
    if tasks.is_empty() {
        return Ok(());
    }
    let cadence_at = tasks
        .cadence
        .as_ref()
        .and_then(|c| chrono::Duration::from_std(c.every).ok())
        .map(|every| row.created_at + every);
    let list = ctx
        .store
        .open_checklist(
            incident.number,
            role,
            &domain::UserId(user.to_string()),
            &tasks,
            cadence_at,
            row.created_at,
        )
        .await?;
    let content = blocks::checklist(incident, &list);
    let ts = post_once(ctx, row, channel.into(), content).await?;
    ctx.store.record_checklist_post(list.id, &ts).await?;
    // The scheduler may now have an earlier due time to sleep until.
    ctx.state_changed();
    Ok(())
}

/// Edits the message at `existing` in place, or posts a new one (returning
/// its ts) when there is none yet or it was deleted from Slack.
async fn edit_or_post(
    ctx: &Ctx,
    row: &JobRow,
    channel: &ChannelId,
    existing: Option<&MessageTs>,
    content: slack_morphism::prelude::SlackMessageContent,
) -> Result<Option<MessageTs>, RunError> {
    if let Some(ts) = existing {
        let edit = in_channel(ctx, channel, || {
            ctx.slack.update(channel, ts, content.clone())
        })
        .await;
        match edit {
            Ok(()) => return Ok(None),
            Err(RunError::InChannel {
                error:
                    CallError::Api(
                        code
                        @ (SlackErrorCode::MessageNotFound | SlackErrorCode::CantUpdateMessage),
                    ),
                ..
            }) => {
                warn!(%code, "the message to edit is gone; posting it again");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Some(post_once(ctx, row, channel.into(), content).await?))
}

/// Posts for a job, once: a retry first looks for the message an earlier
/// try may have posted before its answer was lost (by the job id in the
/// message metadata).
async fn post_once(
    ctx: &Ctx,
    row: &JobRow,
    to: To<'_>,
    content: slack_morphism::prelude::SlackMessageContent,
) -> Result<MessageTs, RunError> {
    if row.attempts > 1
        && let Some(ts) = ctx.slack.find_job_post(to, row.id).await?
    {
        info!("found the message an earlier try posted");
        return Ok(ts);
    }
    let post = || ctx.slack.post_for_job(to, content.clone(), row.id);
    match to {
        To::Channel(channel) => in_channel(ctx, channel, post).await,
        To::Person(_) => Ok(post().await?),
    }
}

/// Runs a Slack call about `channel`. When the bot is not in the channel
/// (`not_in_channel`: it was removed, or never joined one it must edit in),
/// it joins and makes the call once more. Errors name the channel, so the
/// person told about a failure learns which one.
async fn in_channel<T, F>(
    ctx: &Ctx,
    channel: &ChannelId,
    call: impl Fn() -> F,
) -> Result<T, RunError>
where
    F: Future<Output = Result<T, CallError>>,
{
    let in_channel = |error| RunError::InChannel {
        channel: channel.clone(),
        error,
    };
    match call().await {
        Err(CallError::Api(SlackErrorCode::NotInChannel)) => {
            info!(%channel, "not in the channel; joining it and trying again");
            ctx.slack
                .join(channel)
                .await
                .map_err(|error| RunError::Join {
                    channel: channel.clone(),
                    error,
                })?;
            call().await.map_err(in_channel)
        }
        other => other.map_err(in_channel),
    }
}

/// The channel named `name` (private with `private`) if the bot created it.
async fn own_channel(
    ctx: &Ctx,
    name: &str,
    private: bool,
) -> Result<Option<crate::slack::client::CreatedChannel>, RunError> {
    let me = ctx.slack.bot_user_id().await?;
    Ok(ctx
        .slack
        .find_channel(name, private)
        .await?
        .filter(|c| c.creator.as_ref() == Some(&me)))
}

/// A person's display name: cached for [`USER_NAME_TTL`], else asked of
/// Slack (`users.info`) and cached.
async fn display_name(ctx: &Ctx, user: &domain::UserId) -> Result<String, RunError> {
    if let Some((name, at)) = ctx.store.user_name(user).await?
        && ctx.clock.now() - at < USER_NAME_TTL
    {
        return Ok(name);
    }
    let name = ctx.slack.user_name(user).await?;
    ctx.store
        .remember_user_name(user, &name, ctx.clock.now())
        .await?;
    Ok(name)
}

/// Names for everyone and every channel a postmortem mentions, so the file
/// reads well outside Slack. Someone Slack will not describe stays an id;
/// trouble that may pass is retried like any call.
async fn names(
    ctx: &Ctx,
    incident: &domain::Incident,
    assignments: &[domain::Assignment],
    timeline: &[domain::Entry],
    communications: &[crate::domain::comms::Communication],
) -> Result<crate::slack::text::Names, RunError> {
    let (users, channels) =
        crate::postmortem::ids_to_name(incident, assignments, timeline, communications);
    let mut names = crate::slack::text::Names::default();
    for id in users {
        match display_name(ctx, &id).await {
            Ok(name) => {
                names.users.insert(id.to_string(), name);
            }
            Err(RunError::Slack(CallError::Api(code))) => {
                warn!(%code, user = %id, "no name for a person the postmortem mentions");
            }
            Err(e) => return Err(e),
        }
    }
    for id in channels {
        let known = (incident.channel_id.as_ref() == Some(&id))
            .then(|| incident.channel_name.clone())
            .flatten();
        let name = match known {
            Some(name) => Some(name),
            None => ctx.slack.channel_name(&id).await?,
        };
        if let Some(name) = name {
            names.channels.insert(id.to_string(), name);
        }
    }
    Ok(names)
}

/// How long a cached display name is trusted.
const USER_NAME_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

async fn capture_message(
    ctx: &Ctx,
    number: IncidentNumber,
    channel: &ChannelId,
    ts: &MessageTs,
) -> Result<(), RunError> {
    let Some(message) = in_channel(ctx, channel, || ctx.slack.find_message(channel, ts)).await?
    else {
        ctx.store.mark_message_gone(number, ts).await?;
        return Ok(());
    };
    let author = message.user.clone();
    let author_name = match &author {
        Some(user) => display_name(ctx, user).await?,
        None => message
            .username
            .clone()
            .unwrap_or_else(|| "a bot".to_string()),
    };
    let permalink = ctx.slack.permalink(channel, ts).await?;
    ctx.store
        .fill_tagged_message(
            number,
            crate::store::FetchedMessage {
                slack_ts: ts,
                text: &message.text,
                author: author.as_ref(),
                author_name: &author_name,
                permalink: Some(&permalink),
            },
        )
        .await?;
    let emoji = &ctx.settings.timeline.confirm_emoji;
    in_channel(ctx, channel, || ctx.slack.add_reaction(channel, ts, emoji)).await
}
