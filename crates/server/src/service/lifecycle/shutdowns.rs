//! What the service remembers of partitions on their way down: whose QEMU exit is a clean
//! shutdown (not a crash), and who is to be activated again once stopped (`--restart`).

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Partitions on their way down.
pub(in crate::service) struct Shutdowns {
    /// How long an OS shutdown may take before QEMU is stopped (`ivm.toml`'s
    /// `shutdown_delay_secs`).
    pub delay: Duration,
    /// Partitions whose QEMU reported a shutdown, so their exit is clean.
    clean: Mutex<HashSet<u32>>,
    /// Partitions to activate again once stopped.
    restart: Mutex<HashSet<u32>>,
}

/// A set behind a lock whose holder may have panicked (the set stays valid).
fn held(set: &Mutex<HashSet<u32>>) -> MutexGuard<'_, HashSet<u32>> {
    set.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shutdowns {
    /// Nobody on the way down; OS shutdowns may take `delay`.
    pub fn new(delay: Duration) -> Shutdowns {
        Shutdowns {
            delay,
            clean: Mutex::default(),
            restart: Mutex::default(),
        }
    }

    /// Partition `id`'s coming exit is a shutdown, not a crash.
    pub fn expect_clean_exit(&self, id: u32) {
        held(&self.clean).insert(id);
    }

    /// Partition `id` is to be activated again once stopped.
    pub fn restart_after(&self, id: u32) {
        held(&self.restart).insert(id);
    }

    /// Partition `id` is not to be activated again (its shutdown failed or was declined).
    pub fn no_restart(&self, id: u32) {
        held(&self.restart).remove(&id);
    }

    /// Partition `id` stopped: whether its exit was clean and whether it restarts. Both are
    /// forgotten, so each counts once.
    pub fn stopped(&self, id: u32) -> (bool, bool) {
        (
            held(&self.clean).remove(&id),
            held(&self.restart).remove(&id),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_answers_once_and_a_cancelled_restart_is_not_taken() {
        let s = Shutdowns::new(Duration::from_secs(1));
        s.expect_clean_exit(2);
        s.restart_after(2);
        s.restart_after(3);
        s.no_restart(3);
        assert_eq!(s.stopped(2), (true, true));
        assert_eq!(s.stopped(2), (false, false));
        assert_eq!(s.stopped(3), (false, false));
    }
}
