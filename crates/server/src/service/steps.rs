//! Host changes in steps, each with its undo: the one pattern every live host change follows
//! (DLPAR, the virtual Ethernet bridge). A step that fails is undone too (it may have gone half
//! way), then the steps before it in reverse, so the host is left as it was.

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
