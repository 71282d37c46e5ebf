//! Host changes in steps, each with its undo: the one pattern every host change follows. A
//! step that fails is undone too (it may have gone half way), then the steps before it in
//! reverse, so the host is left as it was. `run` takes a plan of steps laid out beforehand
//! (DLPAR, the virtual Ethernet bridge, storage); `Ledger` takes them one by one when a step
//! produces what the next needs (activation: taps, then the pool's share, then the CPUs).

use super::ServiceError;
use crate::failpoint;
use crate::runtime::HostError;

/// One host step of a change, and how to take it back.
pub(super) struct Step<'a> {
    /// Its name, for the log and the failure point `<area>.<name>`.
    pub name: &'static str,
    apply: Box<dyn Fn() -> Result<(), ServiceError> + 'a>,
    undo: Box<dyn Fn() -> Result<(), ServiceError> + 'a>,
}

/// A step: what it does and how to take it back.
pub(super) fn step<'a>(
    name: &'static str,
    apply: impl Fn() -> Result<(), ServiceError> + 'a,
    undo: impl Fn() -> Result<(), ServiceError> + 'a,
) -> Step<'a> {
    Step {
        name,
        apply: Box::new(apply),
        undo: Box::new(undo),
    }
}

/// Runs `steps` in order; on a failure undoes it and those before it, and returns the error.
/// `area` names the failure points (`IVM_FAILPOINTS=<area>.<step>=error`) and `what` the log's
/// subject.
pub(super) fn run(area: &str, what: &str, steps: &[Step]) -> Result<(), ServiceError> {
    for (i, s) in steps.iter().enumerate() {
        let result = failpoint::hit(&format!("{area}.{}", s.name))
            .map_err(|e| ServiceError::from(HostError::from(e)))
            .and_then(|()| (s.apply)());
        if let Err(e) = result {
            tracing::warn!(what, step = s.name, error = %e, "host change failed; undoing");
            for s in steps[..=i].iter().rev() {
                if let Err(u) = (s.undo)() {
                    tracing::error!(what, step = s.name, error = %u, "cannot undo a step");
                }
            }
            return Err(e);
        }
    }
    Ok(())
}

/// How to take one step of a ledger back.
type UndoFn<'a> = Box<dyn FnOnce() + 'a>;

/// Steps taken one at a time, each giving back what it made; every undo is kept until
/// `commit`, and a failed step unwinds the ledger (the step itself, then the others in
/// reverse).
pub(super) struct Ledger<'a> {
    area: &'static str,
    what: String,
    undo: Vec<(&'static str, UndoFn<'a>)>,
}

impl<'a> Ledger<'a> {
    /// A ledger whose failure points are `<area>.<step>`, for the log's subject `what`.
    pub fn new(area: &'static str, what: String) -> Ledger<'a> {
        Ledger {
            area,
            what,
            undo: Vec::new(),
        }
    }

    /// Takes step `name`: `apply`, whose undo is `undo`. On a failure everything taken so
    /// far is undone and the error returned.
    pub fn step<T>(
        &mut self,
        name: &'static str,
        apply: impl FnOnce() -> Result<T, ServiceError>,
        undo: impl FnOnce() + 'a,
    ) -> Result<T, ServiceError> {
        let result = failpoint::hit(&format!("{}.{name}", self.area))
            .map_err(|e| ServiceError::from(HostError::from(e)))
            .and_then(|()| apply());
        self.undo.push((name, Box::new(undo)));
        if let Err(e) = &result {
            tracing::warn!(what = self.what, step = name, error = %e, "host change failed; undoing");
            self.unwind();
        }
        result
    }

    /// Undoes every step taken, last first.
    fn unwind(&mut self) {
        while let Some((name, undo)) = self.undo.pop() {
            tracing::debug!(what = self.what, step = name, "undoing");
            undo();
        }
    }

    /// The change went through: nothing is undone.
    pub fn commit(mut self) {
        self.undo.clear();
    }
}

impl Drop for Ledger<'_> {
    /// A ledger dropped without `commit` (an early return) undoes what it holds.
    fn drop(&mut self) {
        self.unwind();
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// Steps that write what they do to a journal; `fail` names the one whose apply fails
    /// (after "half" doing its work, as a real host step may).
    fn journaled<'a>(
        journal: &'a RefCell<Vec<String>>,
        names: &[&'static str],
        fail: Option<&'static str>,
    ) -> Vec<Step<'a>> {
        names
            .iter()
            .map(|&n| {
                step(
                    n,
                    move || {
                        journal.borrow_mut().push(format!("do {n}"));
                        if Some(n) == fail {
                            return Err(ServiceError::Host(HostError::Failed(format!(
                                "{n} failed"
                            ))));
                        }
                        Ok(())
                    },
                    move || {
                        journal.borrow_mut().push(format!("undo {n}"));
                        Ok(())
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_ledger_undoes_the_failed_step_and_those_before_it_and_nothing_after_a_commit() {
        let journal = RefCell::new(Vec::new());
        let log = |s: &str| journal.borrow_mut().push(s.to_string());
        {
            let mut l = Ledger::new("test", "ledger".into());
            let a = l.step("a", || Ok(1), || log("undo a")).unwrap();
            let b = l.step("b", || Ok(a + 1), || log("undo b")).unwrap();
            assert_eq!(b, 2);
            let e = l
                .step(
                    "c",
                    || -> Result<(), ServiceError> {
                        Err(ServiceError::Host(HostError::Failed("c failed".into())))
                    },
                    || log("undo c"),
                )
                .unwrap_err();
            assert!(e.to_string().contains("c failed"));
        }
        assert_eq!(*journal.borrow(), ["undo c", "undo b", "undo a"]);
        journal.borrow_mut().clear();
        {
            let mut l = Ledger::new("test", "ledger".into());
            l.step("a", || Ok(()), || log("undo a")).unwrap();
            l.commit();
        }
        assert!(journal.borrow().is_empty(), "{:?}", journal.borrow());
        {
            // Dropped without a commit (an early return with `?` elsewhere): undone.
            let mut l = Ledger::new("test", "ledger".into());
            l.step("a", || Ok(()), || log("undo a")).unwrap();
        }
        assert_eq!(*journal.borrow(), ["undo a"]);
    }

    #[test]
    fn all_steps_run_in_order_and_nothing_is_undone() {
        let journal = RefCell::new(Vec::new());
        run("test", "ok", &journaled(&journal, &["a", "b", "c"], None)).unwrap();
        assert_eq!(*journal.borrow(), ["do a", "do b", "do c"]);
    }

    #[test]
    fn a_failing_step_is_undone_with_those_before_it_in_reverse() {
        let journal = RefCell::new(Vec::new());
        let e = run(
            "test",
            "fails",
            &journaled(&journal, &["a", "b", "c"], Some("b")),
        );
        assert!(e.unwrap_err().to_string().contains("b failed"));
        // The failing step may have gone half way, so it is undone too; c never ran.
        assert_eq!(*journal.borrow(), ["do a", "do b", "undo b", "undo a"]);
    }

    #[test]
    fn a_failing_undo_does_not_stop_the_others_and_the_first_error_is_returned() {
        let journal = RefCell::new(Vec::new());
        let mut steps = journaled(&journal, &["a"], None);
        steps.push(step(
            "b",
            || Ok(()),
            || {
                journal.borrow_mut().push("undo b refused".into());
                Err(ServiceError::Host(HostError::Failed(
                    "cannot undo b".into(),
                )))
            },
        ));
        steps.extend(journaled(&journal, &["c"], Some("c")));
        let e = run("test", "undo fails", &steps).unwrap_err();
        assert!(e.to_string().contains("c failed"), "{e}");
        assert_eq!(
            *journal.borrow(),
            ["do a", "do c", "undo c", "undo b refused", "undo a"]
        );
    }
}
