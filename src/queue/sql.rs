//! The queue's SQL, once for every backend (`crate::db::Backend`):
//! enqueueing inside a write transaction ([`Tx::enqueue`], which the store's
//! changes call), claiming, finishing, leases.

use super::{Claim, Job, JobCounts, JobOutcome, JobRow, Queue, Result};
use crate::db::{Read, RowsAffected, StoreError, from_millis, millis, sql_impl};
use crate::domain::IncidentNumber;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// The ordering rule, as a condition on job `j`: no earlier unfinished job
/// of its incident writes the same Slack object (`object`: the topic, the
/// board, the announcement, one channel's posts), and, when it needs the war
/// room, none creates the room. Jobs without an object wait only for that.
/// Two lookups by `(incident_number, object)` (index `jobs_waiting`), so the
/// check costs the same however many jobs of the incident are waiting.
/// A job of no incident that writes an object (an alert card) waits for
/// earlier unfinished jobs of no incident on that object, by the same
/// index.
const UNBLOCKED: &str = "NOT EXISTS (
    SELECT 1 FROM jobs e
    WHERE e.incident_number = j.incident_number AND e.object = j.object AND e.id < j.id
      AND e.state IN ('pending', 'running'))
  AND NOT (j.incident_number IS NULL AND j.object IS NOT NULL AND EXISTS (
    SELECT 1 FROM jobs e
    WHERE e.incident_number IS NULL AND e.object = j.object AND e.id < j.id
      AND e.state IN ('pending', 'running')))
  AND NOT (j.needs_room AND EXISTS (
    SELECT 1 FROM jobs e
    WHERE e.incident_number = j.incident_number AND e.object = 'room' AND e.id < j.id
      AND e.state IN ('pending', 'running')))";

sql_impl! {
    impl Tx {
        /// Queues `jobs` (of `incident`, if any) in this transaction. A sync
        /// job is skipped when an identical one is still pending: it renders
        /// the state current when it runs.
        pub(crate) async fn enqueue(
            &mut self,
            incident: Option<IncidentNumber>,
            jobs: Vec<Job>,
            now: DateTime<Utc>,
        ) -> Result<()> {
            for job in jobs {
                let payload = serde_json::to_string(&job)
                    .map_err(|e| StoreError::Serialize(format!("a {} job ({e})", job.kind())))?;
                if job.coalesces() {
                    // (`= NULL` matches nothing: a job of no incident is
                    // looked for among those of none.)
                    let pending: Option<i64> = match incident {
                        Some(n) => sqlx::query_scalar(
                            "SELECT id FROM jobs WHERE incident_number = $1 AND state = 'pending' AND payload = $2 LIMIT 1",
                        )
                        .bind(n.get()),
                        None => sqlx::query_scalar(
                            "SELECT id FROM jobs WHERE incident_number IS NULL AND state = 'pending' AND payload = $1 LIMIT 1",
                        ),
                    }
                    .bind(&payload)
                    .fetch_optional(&mut **self)
                    .await?;
                    if let Some(id) = pending {
                        // The pending copy now carries this change too: its give-up
                        // clock starts afresh so the change is not given up early.
                        // Its attempt count stays: it fences claims and tells a retry
                        // to look for what an earlier attempt may have posted.
                        let reused = sqlx::query(
                            "UPDATE jobs SET created_at = $1 WHERE id = $2 AND state = 'pending'",
                        )
                        .bind(millis(now))
                        .bind(id)
                        .execute(&mut **self)
                        .await?
                        .rows_affected();
                        if reused == 1 {
                            continue;
                        }
                    }
                }
                // A job whose first call the pacer holds back waits until then
                // rather than being claimed only to be put back (see
                // `finish_job`).
                let mut run_after = millis(now + job.settle());
                if let Some(key) = job.pace_key() {
                    let held: Option<i64> =
                        sqlx::query_scalar("SELECT held_until FROM job_pace WHERE pace_key = $1")
                            .bind(key)
                            .fetch_optional(&mut **self)
                            .await?;
                    run_after = run_after.max(held.unwrap_or(0));
                }
                sqlx::query(
                    "INSERT INTO jobs (incident_number, kind, payload, created_at, run_after, object, needs_room, pace_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(incident.map(IncidentNumber::get))
                .bind(job.kind())
                .bind(payload)
                .bind(millis(now))
                .bind(run_after)
                .bind(job.object())
                .bind(job.needs_room())
                .bind(job.pace_key())
                .execute(&mut **self)
                .await?;
            }
            Ok(())
        }

        /// Records that the pacer holds `key` back until `until` (a job of that
        /// key was paced before it sent anything): jobs of that key already due
        /// move to then in one statement, and jobs queued meanwhile start there
        /// (see `enqueue`), so none is claimed only to be put back.
        pub(super) async fn hold_pace_key(&mut self, key: &str, until: i64) -> Result<()> {
            sqlx::query(
                "INSERT INTO job_pace (pace_key, held_until) VALUES ($1, $2)
                 ON CONFLICT (pace_key) DO UPDATE SET held_until = excluded.held_until
                 WHERE job_pace.held_until < excluded.held_until",
            )
            .bind(key)
            .bind(until)
            .execute(&mut **self)
            .await?;
            sqlx::query(
                "UPDATE jobs SET run_after = $1 WHERE state = 'pending' AND pace_key = $2 AND run_after < $1",
            )
            .bind(until)
            .bind(key)
            .execute(&mut **self)
            .await?;
            Ok(())
        }

        /// Marks a claimed job failed and queues `notice` in the same transaction.
        /// The notice has no incident, so it runs at once rather than behind the
        /// incident's other jobs; one identical to a notice of the last hour is
        /// dropped.
        pub(super) async fn fail_with_notice(
            mut self,
            claim: Claim,
            error: String,
            notice: Job,
            now: DateTime<Utc>,
        ) -> Result<bool> {
            let failed = sqlx::query(
                "UPDATE jobs SET state = 'failed', finished_at = $1, last_error = $4, locked_until = NULL WHERE id = $2 AND attempts = $3 AND state = 'running'",
            )
            .bind(millis(now))
            .bind(claim.id)
            .bind(claim.attempt)
            .bind(error)
            .execute(&mut *self)
            .await?
            .rows_affected()
            == 1;
            if !failed {
                return Ok(false);
            }
            let payload = serde_json::to_string(&notice)
                .map_err(|e| StoreError::Serialize(format!("a notice job ({e})")))?;
            // The same words to the same person within the hour say nothing new
            // (several jobs meeting one archived war room, say).
            let recent: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE incident_number IS NULL AND payload = $1 AND created_at > $2 LIMIT 1",
            )
            .bind(&payload)
            .bind(millis(now - chrono::Duration::hours(1)))
            .fetch_optional(&mut *self)
            .await?;
            if recent.is_none() {
                sqlx::query(
                    "INSERT INTO jobs (incident_number, kind, payload, created_at, run_after) VALUES (NULL, $1, $2, $3, $4)",
                )
                .bind(notice.kind())
                .bind(payload)
                .bind(millis(now))
                .bind(millis(now))
                .execute(&mut *self)
                .await?;
            }
            self.commit().await?;
            Ok(true)
        }
    }
}

sql_impl! {
    #[async_trait]
    impl Queue for B {
        async fn claim_job(
            &self,
            now: DateTime<Utc>,
            lease_until: DateTime<Utc>,
        ) -> Result<Option<JobRow>> {
            // One statement: pick the first due job that waits for nothing
            // (`UNBLOCKED`), and lease it. `CLAIM_LOCK` makes replicas
            // skip a row another one is claiming instead of waiting for it.
            // Pending jobs and expired leases are looked up apart, each in due
            // order (index `jobs_due`), so the lookup stops at the first job
            // that waits for nothing instead of checking every due job.
            let claim_lock = Self::CLAIM_LOCK;
            let sql = format!(
                "UPDATE jobs SET state = 'running', locked_until = $1, attempts = attempts + 1
                 WHERE id = (
                   SELECT id FROM (
                     SELECT id, run_after FROM (
                       SELECT j.id, j.run_after FROM jobs j
                       WHERE j.state = 'pending' AND j.run_after <= $2 AND {UNBLOCKED}
                       ORDER BY j.run_after, j.id LIMIT 1 {claim_lock}) pending
                     UNION ALL
                     SELECT id, run_after FROM (
                       SELECT j.id, j.run_after FROM jobs j
                       WHERE j.state = 'running' AND j.locked_until <= $2 AND {UNBLOCKED}
                       ORDER BY j.run_after, j.id LIMIT 1 {claim_lock}) expired
                   ) due
                   ORDER BY run_after, id LIMIT 1)
                 RETURNING id, incident_number, payload, attempts, created_at"
            );
            let mut tx = self.write_background().await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(millis(lease_until))
                .bind(millis(now))
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let id: i64 = row.try_get("id")?;
            let payload: String = row.try_get("payload")?;
            Ok(Some(JobRow {
                id,
                incident: row.try_get("incident_number")?,
                job: serde_json::from_str(&payload)
                    .map_err(|e| StoreError::Corrupt(format!("job {id}: {e}")))?,
                attempts: row.try_get("attempts")?,
                created_at: from_millis(row.try_get("created_at")?)?,
            }))
        }

        async fn next_job_due(&self) -> Result<Option<DateTime<Utc>>> {
            // A job waiting for an earlier one (see `UNBLOCKED`) is not due,
            // whatever its run_after.
            // The earliest of each state, read in due order, so the scan stops
            // at the first job that waits for nothing.
            let sql = format!(
                "SELECT MIN(t) FROM (
                   SELECT (SELECT j.run_after FROM jobs j WHERE j.state = 'pending' AND {UNBLOCKED}
                           ORDER BY j.run_after LIMIT 1) AS t
                   UNION ALL
                   SELECT (SELECT j.locked_until FROM jobs j WHERE j.state = 'running' AND {UNBLOCKED}
                           ORDER BY j.locked_until LIMIT 1) AS t) due"
            );
            let next: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .read_one(self.reader())
                .await?;
            next.map(from_millis).transpose()
        }

        async fn finish_job(
            &self,
            claim: Claim,
            outcome: JobOutcome,
            now: DateTime<Utc>,
        ) -> Result<bool> {
            // Fenced by the attempt number: a worker whose lease ran out and
            // whose job was claimed again cannot overwrite the new claim.
            let q = match outcome {
                JobOutcome::Done => sqlx::query(
                    "UPDATE jobs SET state = 'done', finished_at = $1, locked_until = NULL WHERE id = $2 AND attempts = $3 AND state = 'running'",
                )
                .bind(millis(now))
                .bind(claim.id)
                .bind(claim.attempt),
                // Not run (paced): back in the queue for when its call may be
                // made; an attempt that sent nothing is given back, and then its
                // first call's key is what the pacer holds: the key's other jobs
                // wait for then too (`hold_pace_key`).
                JobOutcome::Deferred { at, refund } => {
                    let mut tx = self.write_background().await?;
                    let key: Option<Option<String>> = sqlx::query_scalar(
                        "UPDATE jobs SET state = 'pending', run_after = $1, attempts = attempts - $4, locked_until = NULL WHERE id = $2 AND attempts = $3 AND state = 'running' RETURNING pace_key",
                    )
                    .bind(millis(at))
                    .bind(claim.id)
                    .bind(claim.attempt)
                    .bind(i64::from(refund))
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(key) = key else {
                        return Ok(false);
                    };
                    if let (Some(key), true) = (key, refund) {
                        tx.hold_pace_key(&key, millis(at)).await?;
                    }
                    tx.commit().await?;
                    return Ok(true);
                }
                JobOutcome::Retry { at, error } => sqlx::query(
                    "UPDATE jobs SET state = 'pending', run_after = $1, last_error = $4, locked_until = NULL WHERE id = $2 AND attempts = $3 AND state = 'running'",
                )
                .bind(millis(at))
                .bind(claim.id)
                .bind(claim.attempt)
                .bind(error),
                JobOutcome::Failed {
                    error,
                    notice: Some(notice),
                } => return self.write_background().await?.fail_with_notice(claim, error, notice, now).await,
                JobOutcome::Failed {
                    error,
                    notice: None,
                } => sqlx::query(
                    "UPDATE jobs SET state = 'failed', finished_at = $1, last_error = $4, locked_until = NULL WHERE id = $2 AND attempts = $3 AND state = 'running'",
                )
                .bind(millis(now))
                .bind(claim.id)
                .bind(claim.attempt)
                .bind(error),
            };
            let mut tx = self.write_background().await?;
            let finished = q.execute(&mut *tx).await?.rows_affected() == 1;
            tx.commit().await?;
            Ok(finished)
        }

        async fn extend_lease(&self, claim: Claim, until: DateTime<Utc>) -> Result<bool> {
            let mut tx = self.write_background().await?;
            let extended = sqlx::query(
                "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND attempts = $3 AND state = 'running'",
            )
            .bind(millis(until))
            .bind(claim.id)
            .bind(claim.attempt)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            tx.commit().await?;
            Ok(extended)
        }

        async fn release_stale_jobs(&self) -> Result<u64> {
            if !B::ONE_PROCESS {
                return Ok(0);
            }
            let mut tx = self.write_background().await?;
            let released = sqlx::query(
                "UPDATE jobs SET state = 'pending', locked_until = NULL WHERE state = 'running'",
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(released)
        }

        async fn job_counts(&self) -> Result<JobCounts> {
            let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
                .read_all(self.reader())
                .await?;
            let mut c = JobCounts::default();
            for r in rows {
                let n: i64 = r.try_get("n")?;
                match r.try_get::<String, _>("state")?.as_str() {
                    "pending" => c.pending = n,
                    "running" => c.running = n,
                    "done" => c.done = n,
                    "failed" => c.failed = n,
                    _ => {}
                }
            }
            Ok(c)
        }
    }
}
