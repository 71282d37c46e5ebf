//! A wake-up signal for a background thread that otherwise waits a fixed period: the
//! utilization sampler waits its sample rate, and a changed rate must not wait out the old one.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A counter of changes and a condition variable to wait on it.
#[derive(Default)]
pub struct Wake {
    changes: Mutex<u64>,
    cv: Condvar,
}

impl Wake {
    /// The count of changes so far (what `wait` compares with).
    pub fn seen(&self) -> u64 {
        *self.changes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a change and wakes every waiter.
    pub fn notify(&self) {
        *self.changes.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_all();
    }

    /// Waits until `period` has passed (`None`: without end) or a change after `seen`; true
    /// when woken by a change. Spurious wake-ups go back to waiting for what is left.
    pub fn wait(&self, seen: u64, period: Option<Duration>) -> bool {
        let deadline = period.map(|p| Instant::now() + p);
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *changes != seen {
                return true;
            }
            match deadline {
                None => {
                    changes = self.cv.wait(changes).unwrap_or_else(|e| e.into_inner());
                }
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return false;
                    }
                    changes = self
                        .cv
                        .wait_timeout(changes, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_change_ends_a_long_wait_and_an_unchanged_wait_runs_its_period() {
        let w = Arc::new(Wake::default());
        let seen = w.seen();
        let waiter = {
            let w = w.clone();
            std::thread::spawn(move || w.wait(seen, Some(Duration::from_secs(600))))
        };
        w.notify();
        assert!(waiter.join().unwrap(), "woken by the change");
        // A change before the wait starts is not lost.
        assert!(w.wait(seen, None));
        let started = Instant::now();
        assert!(!w.wait(w.seen(), Some(Duration::from_millis(50))));
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
