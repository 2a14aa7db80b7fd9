//! Whether this process should receive traffic (`GET /readyz`): its
//! migrations are applied, its database answered lately and, in Socket
//! Mode, at least one socket is connected. Liveness (`/healthz`) is a
//! different question: a process that is not ready (its database is down)
//! is still alive, and restarting it would not bring the database back.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a database check answers for `/readyz`: probes and scrapers
/// asking often cost the database one ping per interval.
pub const DATABASE_CHECK_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct Readiness {
    migrated: AtomicBool,
    socket_mode: AtomicBool,
    sockets: AtomicUsize,
    /// The last database check: when, and whether it answered.
    database: Mutex<Option<(Instant, bool)>>,
}

impl Readiness {
    pub fn set_migrated(&self, v: bool) {
        self.migrated.store(v, Ordering::SeqCst);
    }

    pub fn set_socket_mode(&self, v: bool) {
        self.socket_mode.store(v, Ordering::SeqCst);
    }

    /// One more Socket Mode connection is open.
    pub fn socket_connected(&self) {
        self.sockets.fetch_add(1, Ordering::SeqCst);
    }

    /// One Socket Mode connection closed (never below zero).
    pub fn socket_disconnected(&self) {
        let _ = self
            .sockets
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_sub(1))
            });
    }

    pub fn sockets(&self) -> usize {
        self.sockets.load(Ordering::SeqCst)
    }

    /// The migrations are applied (the database takes writes): alerts
    /// need no socket to Slack to be recorded.
    pub fn is_migrated(&self) -> bool {
        self.migrated.load(Ordering::SeqCst)
    }

    /// Migrated, and in Socket Mode at least one socket connected (the
    /// database aside: see [`Readiness::database`]).
    pub fn is_ready(&self) -> bool {
        self.migrated.load(Ordering::SeqCst)
            && (!self.socket_mode.load(Ordering::SeqCst) || self.sockets() > 0)
    }

    /// The database check's result if it is recent enough to reuse.
    pub fn database(&self, now: Instant) -> Option<bool> {
        let last = *self.database.lock().unwrap_or_else(|e| e.into_inner());
        last.filter(|(at, _)| now.duration_since(*at) < DATABASE_CHECK_EVERY)
            .map(|(_, ok)| ok)
    }

    /// Records a database check.
    pub fn set_database(&self, at: Instant, ok: bool) {
        *self.database.lock().unwrap_or_else(|e| e.into_inner()) = Some((at, ok));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_once_migrated_and_over_http() {
        let r = Readiness::default();
        assert!(!r.is_ready(), "not ready before migrations");
        r.set_migrated(true);
        assert!(r.is_ready());
    }

    #[test]
    fn a_database_check_is_reused_for_a_while() {
        let r = Readiness::default();
        let t = Instant::now();
        assert_eq!(r.database(t), None, "never checked");
        r.set_database(t, false);
        assert_eq!(r.database(t + Duration::from_millis(500)), Some(false));
        assert_eq!(r.database(t + DATABASE_CHECK_EVERY), None, "stale");
    }

    #[test]
    fn socket_mode_needs_a_connection() {
        let r = Readiness::default();
        r.set_migrated(true);
        r.set_socket_mode(true);
        assert!(!r.is_ready());
        r.socket_connected();
        r.socket_connected();
        assert!(r.is_ready());
        r.socket_disconnected();
        assert!(r.is_ready(), "one of two still up");
        r.socket_disconnected();
        r.socket_disconnected();
        assert_eq!(r.sockets(), 0, "saturates at zero");
        assert!(!r.is_ready());
        r.socket_connected();
        assert!(r.is_ready());
    }
}
