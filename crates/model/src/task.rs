//! The task (audit) log: who changed what, when, and how it ended.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a task ended, or that it still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskResult {
    /// Still running.
    Running,
    /// Completed.
    Succeeded,
    /// Refused or failed; the message says why.
    Failed,
}

/// One entry of the task log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// Increasing task number.
    pub id: i64,
    /// The ivm user who asked.
    pub user: String,
    /// What was asked, e.g. `create partition`.
    pub operation: String,
    /// What it was asked of, e.g. `lpar 3 (web01)`.
    pub target: String,
    /// Start, milliseconds since the Unix epoch.
    pub started_ms: i64,
    /// End, milliseconds since the Unix epoch; none while running.
    pub finished_ms: Option<i64>,
    /// Outcome.
    pub result: TaskResult,
    /// Error text for failures, empty otherwise.
    pub message: String,
    /// How far a long task (a copy, an upload) has come, percent; none for quick ones.
    pub progress: Option<u8>,
}
