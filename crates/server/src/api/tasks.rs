//! The task log.

use axum::extract::State;
use axum::Json;
use ivm_model::Task;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ErrorBody;
use super::extract::ApiQuery;
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// Paging of the task log.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TaskQuery {
    /// Most entries to return (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Only entries with an ID below this one (for the next page).
    pub before: Option<i64>,
}

/// The task log, newest first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskQuery),
    responses((status = 200, body = [Task]), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Json<Vec<Task>>, ApiError> {
    blocking(&state, move |svc| {
        svc.tasks(&actor, q.limit.unwrap_or(100), q.before)
    })
    .await
    .map(Json)
}
