//! The rule that no host change runs while the store's write lock is held, enforced where the
//! host is touched.
//!
//! A store write transaction holds SQLite's write lock: a host step inside it (an LVM command,
//! a mount, a QMP call) would stall every other change for as long as the host takes, and a
//! host step that succeeded before a rollback would leave the host and the store disagreeing.
//! The store marks the thread for the length of each write transaction ([`enter_write`]); every
//! host driver's entry point calls [`host_action`] first, which refuses on a marked thread. A
//! closure passed to `Store::write` that reaches a driver therefore fails the first time it runs
//! (a panic in debug builds and tests, an error in release), whatever path led there.

use std::cell::Cell;
use std::marker::PhantomData;

thread_local! {
    /// How many write transactions this thread is inside (nesting is a store error, but the
    /// count keeps the mark right even then).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// A host action attempted inside a store write transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("internal error: the host action `{what}` was attempted inside a store write transaction and was not run; report this as a bug")]
pub struct InWriteTransaction {
    /// The driver entry point that refused.
    pub what: &'static str,
}

/// Marks the current thread as inside a write transaction until dropped.
#[must_use = "the mark lasts only while the scope lives"]
pub struct WriteScope {
    // Tied to the thread that made it: the mark is thread-local.
    _not_send: PhantomData<*const ()>,
}

/// Marks the current thread as inside a store write transaction.
pub fn enter_write() -> WriteScope {
    DEPTH.with(|d| d.set(d.get() + 1));
    WriteScope {
        _not_send: PhantomData,
    }
}

impl Drop for WriteScope {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Whether the current thread is inside a store write transaction.
pub fn in_write() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

/// Called by a host driver before it acts: refused inside a store write transaction.
///
/// Debug builds panic, so a test that takes such a path fails even where the caller would
/// swallow the error (an undo that ignores its result); release builds return the error.
pub fn host_action(what: &'static str) -> Result<(), InWriteTransaction> {
    if !in_write() {
        return Ok(());
    }
    if cfg!(debug_assertions) {
        panic!("host action `{what}` inside a store write transaction");
    }
    Err(InWriteTransaction { what })
}

/// Called by a host driver entry point that cannot report an error (a device scan, a signal):
/// debug builds panic inside a write transaction, so every test that takes such a path fails;
/// release builds let it run rather than change the driver's answer.
pub fn host_infallible(what: &'static str) {
    if cfg!(debug_assertions) && in_write() {
        panic!("host scan `{what}` inside a store write transaction");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_actions_run_outside_a_write_and_are_refused_inside() {
        assert!(host_action("test.outside").is_ok());
        {
            let _w = enter_write();
            assert!(in_write());
            let refused = std::panic::catch_unwind(|| host_action("test.inside"));
            assert!(refused.is_err(), "a debug build panics inside a write");
        }
        assert!(!in_write());
        assert!(host_action("test.after").is_ok());
    }

    #[test]
    fn the_mark_is_per_thread() {
        let _w = enter_write();
        let other = std::thread::spawn(|| host_action("test.other-thread").is_ok())
            .join()
            .unwrap();
        assert!(
            other,
            "another thread is not inside this thread's transaction"
        );
    }
}
