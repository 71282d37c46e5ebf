//! The task log.

use ivm_model::{Task, TaskResult};
use rusqlite::params;

use crate::tx::{corrupt, Tx};
use crate::StoreError;

fn result_text(r: TaskResult) -> &'static str {
    match r {
        TaskResult::Running => "running",
        TaskResult::Succeeded => "succeeded",
        TaskResult::Failed => "failed",
    }
}

fn parse_result(s: &str) -> Result<TaskResult, StoreError> {
    match s {
        "running" => Ok(TaskResult::Running),
        "succeeded" => Ok(TaskResult::Succeeded),
        "failed" => Ok(TaskResult::Failed),
        other => Err(corrupt(format!("task result {other}"))),
    }
}

impl Tx<'_> {
    /// Opens a task entry and returns its ID.
    pub fn begin_task(
        &self,
        user: &str,
        operation: &str,
        target: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        self.tx.execute(
            "INSERT INTO tasks (user, operation, target, started_ms, result) VALUES (?1, ?2, ?3, ?4, 'running')",
            params![user, operation, target, now_ms],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Closes a task entry with its outcome.
    pub fn finish_task(
        &self,
        id: i64,
        result: TaskResult,
        target: &str,
        message: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE tasks SET result = ?2, target = ?3, message = ?4, finished_ms = ?5 WHERE id = ?1",
            params![id, result_text(result), target, message, now_ms],
        )?;
        Ok(())
    }

    /// Records how far a long task has come, in percent.
    pub fn set_task_progress(&self, id: i64, percent: u8) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE tasks SET progress = ?2 WHERE id = ?1",
            params![id, percent.min(100)],
        )?;
        Ok(())
    }

    /// Marks tasks left running by a daemon that stopped as failed.
    pub fn fail_interrupted_tasks(&self, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self.tx.execute(
            "UPDATE tasks SET result = 'failed', message = 'interrupted: ivm stopped while the task ran', \
             finished_ms = ?1 WHERE result = 'running'",
            [now_ms],
        )?)
    }

    /// Deletes finished tasks that ended before `cutoff_ms`; returns how many.
    pub fn prune_tasks(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        Ok(self.tx.execute(
            "DELETE FROM tasks WHERE result != 'running' AND finished_ms < ?1",
            [cutoff_ms],
        )?)
    }

    /// The newest tasks first, at most `limit`, older than `before` when given.
    pub fn tasks(&self, limit: u32, before: Option<i64>) -> Result<Vec<Task>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, user, operation, target, started_ms, finished_ms, result, message, progress FROM tasks \
             WHERE id < ?2 ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit, before.unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, Option<u8>>(8)?,
            ))
        })?;
        rows.map(|r| {
            let (id, user, operation, target, started_ms, finished_ms, result, message, progress) =
                r?;
            Ok(Task {
                id,
                user,
                operation,
                target,
                started_ms,
                finished_ms,
                result: parse_result(&result)?,
                message,
                progress,
            })
        })
        .collect()
    }
}
