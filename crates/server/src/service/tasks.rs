//! Reading the task log.

use ivm_model::Task;

use super::{Actor, Service, ServiceError};

/// Most entries one read returns.
pub const MAX_TASKS_PER_READ: u32 = 1000;

impl Service {
    /// The newest tasks first; any signed-in role may read the log.
    pub fn tasks(
        &self,
        _actor: &Actor,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<Task>, ServiceError> {
        Ok(self
            .store
            .read(|tx| tx.tasks(limit.clamp(1, MAX_TASKS_PER_READ), before))?)
    }

    /// Removes what must not grow without bound: tasks older than `keep_days` and sessions
    /// idle past their timeout. Returns (tasks, sessions) removed.
    pub fn prune(&self, keep_days: u32) -> Result<(usize, usize), ServiceError> {
        let now = super::now_ms();
        let cutoff = now - i64::from(keep_days) * 86_400_000;
        self.store
            .write(|tx| Ok::<_, ServiceError>((tx.prune_tasks(cutoff)?, tx.prune_sessions(now)?)))
    }
}
