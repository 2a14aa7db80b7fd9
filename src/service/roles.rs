//! Roles and their checklists: `/incident roles`, `/incident assign`,
//! `/incident checklist`, Claim and Release on the role board, and ticks on
//! a checklist.

use super::interactions::Click;
use super::{Reply, entry, notable, telling};
use crate::app::Ctx;
use crate::domain::permissions::Permission;
use crate::domain::roles::{INCIDENT_LEAD, Role};
use crate::domain::{
    ChannelId, ChecklistId, EntryKind, Incident, IncidentNumber, RoleName, Status, UserId,
};
use crate::queue::Job;
use crate::slack::render::reference;
use crate::slack::text::Mrkdwn;
use crate::store::{ChangeError, Effects, Guard, RoleChange, StoreError};
use tracing::{info, warn};

/// `/incident roles`: the role board, posted again.
pub(super) async fn roles(
    ctx: &Ctx,
    incident: &Incident,
    guard: Guard,
) -> Result<Reply, ChangeError> {
    ctx.store
        .add_effects(
            incident.number,
            ctx.clock.now(),
            Effects {
                jobs: vec![Job::PostBoard],
                guard,
                ..Effects::default()
            },
        )
        .await?;
    Ok(Reply::Empty)
}

/// `/incident assign <role> @person`: the role, the invitation to the war
/// room and the holder's checklist. Whoever `permissions.assign` allows,
/// checked before.
pub(super) async fn assign(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
    role: &Role,
    assignee: &UserId,
    guard: Guard,
) -> Result<Reply, ChangeError> {
    let mut jobs = vec![
        Job::Invite {
            user: assignee.clone(),
        },
        Job::SyncBoard,
    ];
    if role.name.as_str() == INCIDENT_LEAD {
        jobs.extend([Job::SyncTopic, Job::SyncAnnouncement]);
    }
    jobs.push(checklist_for(&role.name, assignee));
    let text = format!(
        "{} assigned {} to {}",
        user.mention(),
        role.name,
        assignee.mention()
    );
    let mut effects = notable(
        ctx,
        incident,
        vec![entry(ctx, EntryKind::Role, user, text)],
        jobs,
    );
    effects.guard = guard;
    Ok(
        match ctx
            .store
            .set_role(
                incident.number,
                &role.name,
                assignee,
                !role.multiple,
                ctx.clock.now(),
                effects,
            )
            .await?
        {
            RoleChange::Unchanged => Reply::Ephemeral(Mrkdwn::fill(
                "{} already holds {}.",
                [assignee.mention(), Mrkdwn::escaped(role.name.as_str())],
            )),
            RoleChange::Changed { replaced } => Reply::InChannel(Mrkdwn::fill(
                "{} is now *{}* (assigned by {}){}",
                [
                    assignee.mention(),
                    Mrkdwn::escaped(role.name.as_str()),
                    user.mention(),
                    handed_over(&replaced),
                ],
            )),
        },
    )
}

/// `, taking over from …` when the role was taken from its holders.
fn handed_over(replaced: &[UserId]) -> Mrkdwn {
    if replaced.is_empty() {
        Mrkdwn::default()
    } else {
        Mrkdwn::fill(
            ", taking over from {}",
            [Mrkdwn::join(replaced.iter().map(UserId::mention), ", ")],
        )
    }
}

/// `/incident checklist`: posts (again) the checklist of every role the
/// caller holds, ticks kept; the declarer, who leads from the start, gets
/// the Incident Lead's this way.
pub(super) async fn checklists_of(
    ctx: &Ctx,
    incident: &Incident,
    user: &UserId,
) -> Result<Reply, StoreError> {
    let held: Vec<RoleName> = ctx
        .store
        .assignments(incident.number)
        .await?
        .into_iter()
        .filter(|a| a.user == *user)
        .map(|a| a.role)
        .filter(|role| {
            ctx.settings
                .roles
                .get(role)
                .is_some_and(|r| !r.tasks().is_empty())
        })
        .collect();
    if held.is_empty() {
        return Ok(Reply::Ephemeral(Mrkdwn::fill(
            "You hold no role with a checklist in {}. Claim one on the role board (`/incident roles`) and its checklist appears here.",
            [reference(incident)],
        )));
    }
    let jobs = held.iter().map(|role| checklist_for(role, user)).collect();
    ctx.store
        .add_jobs(incident.number, ctx.clock.now(), jobs)
        .await?;
    Ok(Reply::Ephemeral(Mrkdwn::fill(
        "Posting your {} checklist{} here.",
        [
            Mrkdwn::join(held.iter().map(|r| Mrkdwn::escaped(r.as_str())), " and "),
            Mrkdwn::literal(if held.len() > 1 { "s" } else { "" }),
        ],
    )))
}

/// Claim or Release on the role board. Claiming a role someone holds is
/// taking it over, which `permissions.take_over` decides.
pub(super) async fn claim_or_release(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    number: IncidentNumber,
    role_name: &RoleName,
    claim: bool,
) -> Result<(), StoreError> {
    let Some(click) = Click::on_open(ctx, user, channel, number).await? else {
        return Ok(());
    };
    let (incident, now) = (&click.incident, click.now);
    let Some(role) = ctx.settings.roles.get(role_name).cloned() else {
        return click
            .tell(Mrkdwn::fill(
                "{} is no longer a role here.",
                [Mrkdwn::escaped(role_name.as_str())],
            ))
            .await;
    };
    let mut jobs = vec![Job::SyncBoard];
    if role.name.as_str() == INCIDENT_LEAD {
        jobs.extend([Job::SyncTopic, Job::SyncAnnouncement]);
    }
    if claim {
        jobs.push(checklist_for(&role.name, user));
    }
    let verb = if claim { "claimed" } else { "released" };
    let text = format!("{} {verb} {}", user.mention(), role.name);
    let mut effects = notable(
        ctx,
        incident,
        vec![entry(ctx, EntryKind::Role, user, text)],
        jobs,
    );
    // The board is in the war room: whoever clicks is in it.
    effects.guard = Guard::open_by(user);
    if claim {
        effects.guard.take_over = Some((ctx.settings.permissions.take_over.clone(), user.clone()));
        match ctx
            .store
            .set_role(number, &role.name, user, !role.multiple, now, effects)
            .await
        {
            Ok(RoleChange::Unchanged) => {
                return click
                    .tell(Mrkdwn::fill(
                        "You already hold {}.",
                        [Mrkdwn::escaped(role.name.as_str())],
                    ))
                    .await;
            }
            Ok(RoleChange::Changed { .. }) => {}
            Err(ChangeError::Refused(why)) => {
                info!(user = %user, permission = Permission::TakeOver.key(), "refused");
                return click.tell(why.to_mrkdwn()).await;
            }
            Err(ChangeError::Store(e)) => return Err(e),
        }
    } else if !match ctx
        .store
        .release_role(number, &role.name, user, now, effects)
        .await
    {
        Ok(released) => released,
        Err(ChangeError::Refused(why)) => return click.tell(why.to_mrkdwn()).await,
        Err(ChangeError::Store(e)) => return Err(e),
    } {
        return click
            .tell(Mrkdwn::fill(
                "You don't hold {}, so there is nothing to release.",
                [Mrkdwn::escaped(role.name.as_str())],
            ))
            .await;
    }
    ctx.state_changed();
    Ok(())
}

/// A tick on a role checklist: recorded on the timeline with who ticked
/// it, and the message edited in place so everyone sees the progress.
/// Anyone in the war room may tick (a lead may tick for a busy holder).
pub(super) async fn tick(
    ctx: &Ctx,
    user: &UserId,
    channel: Option<&ChannelId>,
    checklist: ChecklistId,
    task: usize,
    done: bool,
) -> Result<(), StoreError> {
    let Some(list) = ctx.store.checklist(checklist).await? else {
        return Ok(());
    };
    let Some(incident) = ctx.store.incident(list.incident).await? else {
        return Ok(());
    };
    let Some(text) = list.tasks.all().get(task).map(|t| t.text.to_string()) else {
        warn!(
            checklist = checklist.get(),
            task, "tick on a task the checklist does not have"
        );
        return Ok(());
    };
    tracing::Span::current().record("incident", incident.number.get());
    let now = ctx.clock.now();
    if incident.status == Status::Closed {
        // Put the message back as it was and say why.
        let mut jobs = vec![Job::SyncChecklist { checklist }];
        jobs.extend(telling(
            channel.or(incident.channel_id.as_ref()),
            user,
            Mrkdwn::fill(
                "{} is closed; its checklists no longer change.",
                [reference(&incident)],
            ),
        ));
        ctx.store.add_jobs(incident.number, now, jobs).await?;
        ctx.state_changed();
        return Ok(());
    }
    let verb = if done { "ticked" } else { "unticked" };
    let whose = if list.holder == *user {
        String::new()
    } else {
        format!(" of {}", list.holder.mention())
    };
    let note = format!(
        "{} {verb} “{text}” on the {} checklist{whose}",
        user.mention(),
        list.role
    );
    let effects = notable(
        ctx,
        &incident,
        vec![entry(ctx, EntryKind::Task, user, note)],
        vec![Job::SyncChecklist { checklist }],
    );
    if ctx
        .store
        .tick_task(checklist, task, user, done, now, effects)
        .await?
    {
        ctx.state_changed();
    }
    Ok(())
}

/// The job that shows a new role holder their checklist (written with the
/// role change, so it is posted once the change is, whatever restarts).
fn checklist_for(role: &RoleName, user: &UserId) -> Job {
    Job::PostChecklist {
        role: role.clone(),
        user: user.clone(),
    }
}
