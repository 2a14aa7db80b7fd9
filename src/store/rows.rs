//! What the store's SQL shares besides the transaction: the one definition
//! of "open" ([`not_open!`]) and the rows read as domain values.

use crate::db::{Result, StoreError, from_millis, sql_impl};
use crate::domain::{Assignment, ChannelId, Incident, MessageTs, RoleName, SeverityName, UserId};
use chrono::{DateTime, Utc};

/// The statuses of incidents no longer open, as a SQL list: the one
/// definition of "open" (`status NOT IN` this) in the store's SQL. It is
/// a macro so that `concat!` splices it into the statements' literals; a
/// unit test holds it equal to `Status::is_open`.
macro_rules! not_open {
    () => {
        "('resolved', 'closed')"
    };
}
pub(super) use not_open;

/// The columns [`incident_from_row`] reads.
pub(super) const INCIDENT_COLUMNS: &str = "number, title, severity, status, summary, security, drill, is_private, declared_by, declared_at, impact_started_at, detected_at, mitigated_at, resolved_at, closed_at, origin_channel, announce_channel, channel_id, channel_name, board_ts, announce_ts, last_update_at, nudge_at, due_at, scribe_at, impact, urgency";

sql_impl! {
    /// An incident, from a row of [`INCIDENT_COLUMNS`].
    pub(super) fn incident_from_row(row: &R) -> Result<Incident> {
        let opt_time = |col: &str| -> Result<Option<DateTime<Utc>>> {
            row.try_get::<Option<i64>, _>(col)?
                .map(from_millis)
                .transpose()
        };
        let status: String = row.try_get("status")?;
        Ok(Incident {
            number: row.try_get("number")?,
            title: row.try_get("title")?,
            severity: SeverityName(row.try_get("severity")?),
            status: status
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
            summary: row.try_get("summary")?,
            security: row.try_get("security")?,
            drill: row.try_get("drill")?,
            private: row.try_get("is_private")?,
            declared_by: UserId(row.try_get("declared_by")?),
            declared_at: from_millis(row.try_get("declared_at")?)?,
            impact_started_at: opt_time("impact_started_at")?,
            detected_at: opt_time("detected_at")?,
            mitigated_at: opt_time("mitigated_at")?,
            resolved_at: opt_time("resolved_at")?,
            closed_at: opt_time("closed_at")?,
            origin_channel: ChannelId(row.try_get("origin_channel")?),
            announce_channel: ChannelId(row.try_get("announce_channel")?),
            channel_id: row
                .try_get::<Option<String>, _>("channel_id")?
                .map(ChannelId),
            channel_name: row.try_get("channel_name")?,
            board_ts: row.try_get::<Option<String>, _>("board_ts")?.map(MessageTs),
            announce_ts: row
                .try_get::<Option<String>, _>("announce_ts")?
                .map(MessageTs),
            last_update_at: opt_time("last_update_at")?,
            schedule: crate::domain::comms::Schedule {
                nudge_at: opt_time("nudge_at")?,
                due_at: opt_time("due_at")?,
                scribe_at: opt_time("scribe_at")?,
            },
            assessment: match (
                row.try_get::<Option<String>, _>("impact")?,
                row.try_get::<Option<String>, _>("urgency")?,
            ) {
                (Some(impact), Some(urgency)) => Some(crate::domain::Assessment { impact, urgency }),
                _ => None,
            },
        })
    }
}

sql_impl! {
    /// A role assignment, from a row of `role, user_id`.
    pub(super) fn assignment_from_row(row: &R) -> Result<Assignment> {
        Ok(Assignment {
            role: RoleName(row.try_get("role")?),
            user: UserId(row.try_get("user_id")?),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Status;

    /// The SQL's "not open" list is exactly the statuses `is_open` rejects.
    #[test]
    fn not_open_matches_the_domain_rule() {
        let all = [
            Status::Investigating,
            Status::Identified,
            Status::Mitigated,
            Status::Resolved,
            Status::Closed,
        ];
        let closed: Vec<String> = all
            .iter()
            .filter(|s| !s.is_open())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(not_open!(), format!("({})", closed.join(", ")));
    }
}
