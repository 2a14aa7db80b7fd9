//! Whether this process can do its job, for `GET /readyz`: the database is
//! migrated and, in Socket Mode, at least one socket to Slack is open (a
//! connection counts from Slack's `hello` until it closes).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[derive(Debug, Default)]
pub struct Readiness {
    migrated: AtomicBool,
    socket_mode: AtomicBool,
    sockets: AtomicUsize,
}

impl Readiness {
    pub fn set_migrated(&self, v: bool) {
        self.migrated.store(v, Ordering::SeqCst);
    }

    pub fn set_socket_mode(&self, v: bool) {
        self.socket_mode.store(v, Ordering::SeqCst);
    }

    /// A socket said `hello`.
    pub fn socket_connected(&self) {
        self.sockets.fetch_add(1, Ordering::SeqCst);
    }

    /// A socket that had said `hello` closed.
    pub fn socket_disconnected(&self) {
        let _ = self
            .sockets
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_sub(1))
            });
    }

    /// Sockets open now.
    pub fn sockets(&self) -> usize {
        self.sockets.load(Ordering::SeqCst)
    }

    pub fn is_ready(&self) -> bool {
        self.migrated.load(Ordering::SeqCst)
            && (!self.socket_mode.load(Ordering::SeqCst) || self.sockets() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_when_migrated_and_a_socket_is_open_in_socket_mode() {
        let r = Readiness::default();
        assert!(!r.is_ready(), "not migrated yet");
        r.set_migrated(true);
        assert!(r.is_ready(), "HTTP mode needs no socket");
        r.set_socket_mode(true);
        assert!(!r.is_ready());
        r.socket_connected();
        r.socket_connected();
        assert_eq!(r.sockets(), 2);
        assert!(r.is_ready());
        r.socket_disconnected();
        assert!(r.is_ready());
        r.socket_disconnected();
        r.socket_disconnected();
        assert_eq!(r.sockets(), 0, "saturates at zero");
        assert!(!r.is_ready());
    }
}
