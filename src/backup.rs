//! `warroom backup PATH`: a consistent copy of the SQLite database, taken
//! while `serve` keeps writing. `VACUUM INTO` reads one snapshot (a WAL read
//! transaction, so writers are not blocked) and writes it as a new,
//! compacted database file; the copy is then checked with
//! `PRAGMA integrity_check`.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "`database_url` is PostgreSQL: back it up with pg_dump (see README, \"Backups\"), not warroom backup"
    )]
    Postgres,
    #[error("`database_url` is not a sqlite:// URL")]
    NotSqlite,
    #[error("{0} already exists: pick a new file name (warroom backup never overwrites)")]
    Exists(PathBuf),
    #[error("cannot open the database at `database_url`: {0}")]
    Open(sqlx::Error),
    #[error("the copy to {path} failed: {reason}")]
    Copy { path: PathBuf, reason: String },
    #[error("the copy at {path} is damaged ({reason}); it was kept for inspection")]
    Damaged { path: PathBuf, reason: String },
}

/// What was written.
#[derive(Debug)]
pub struct Copied {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Copies the SQLite database `database_url` names to `target`, a file
/// that must not exist yet.
pub async fn sqlite(database_url: &str, target: &Path) -> Result<Copied, BackupError> {
    if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        return Err(BackupError::Postgres);
    }
    if !database_url.starts_with("sqlite:") {
        return Err(BackupError::NotSqlite);
    }
    if target.exists() {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    let copy_failed = |e: sqlx::Error| BackupError::Copy {
        path: target.to_path_buf(),
        reason: e.to_string(),
    };
    // Never create the source: a mistyped URL must not back up an empty file.
    let mut source = SqliteConnectOptions::from_str(database_url)
        .map_err(BackupError::Open)?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(BackupError::Open)?;
    let target_text = target.to_string_lossy().to_string();
    sqlx::query("VACUUM INTO $1")
        .bind(&target_text)
        .execute(&mut source)
        .await
        .map_err(copy_failed)?;
    let _ = source.close().await;
    let mut copy = SqliteConnectOptions::new()
        .filename(target)
        .read_only(true)
        .connect()
        .await
        .map_err(copy_failed)?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .map_err(copy_failed)?;
    let _ = copy.close().await;
    if verdict != "ok" {
        return Err(BackupError::Damaged {
            path: target.to_path_buf(),
            reason: verdict,
        });
    }
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    Ok(Copied {
        path: target.to_path_buf(),
        bytes,
    })
}
