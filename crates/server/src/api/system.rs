//! The managed system and its resource totals.

use axum::extract::State;
use axum::Json;
use ivm_model::{ResourceSummary, SystemView};

use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// The managed system.
#[utoipa::path(get, path = "/api/v1/system", tag = "system",
    responses((status = 200, body = SystemView), (status = 401, body = super::error::ErrorBody)))]
pub async fn get_system(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<Json<SystemView>, ApiError> {
    blocking(&state, |svc| svc.system_view().map(Json)).await
}

/// Installed, committed and available processors and memory.
#[utoipa::path(get, path = "/api/v1/system/resources", tag = "system",
    responses((status = 200, body = ResourceSummary), (status = 401, body = super::error::ErrorBody)))]
pub async fn resources(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<Json<ResourceSummary>, ApiError> {
    blocking(&state, |svc| svc.summary().map(Json)).await
}
