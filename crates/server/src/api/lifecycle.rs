//! Running partitions: activate, shut down, DLPAR, move resources.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ivm_model::{
    ActivateRequest, DlparRequest, EthDlparRequest, MoveRequest, Partition, ShutdownRequest,
};

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath};
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// Activates a partition: starts it with its committed resources.
#[utoipa::path(post, path = "/api/v1/partitions/{id}/activate", tag = "partitions", request_body = ActivateRequest,
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 200, body = Partition), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 500, body = ErrorBody)))]
pub async fn activate(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    ApiJson(req): ApiJson<ActivateRequest>,
) -> Result<Json<Partition>, ApiError> {
    blocking(&state, move |svc| svc.activate(&actor, id, req.boot_mode))
        .await
        .map(Json)
}

/// Shuts a partition down: through its OS, delayed, or immediately; optionally restarts it.
#[utoipa::path(post, path = "/api/v1/partitions/{id}/shutdown", tag = "partitions", request_body = ShutdownRequest,
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn shutdown(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    ApiJson(req): ApiJson<ShutdownRequest>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.shutdown(&actor, id, &req))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Adds, removes or sets processors, processing units or memory (on a running partition, live).
#[utoipa::path(post, path = "/api/v1/partitions/{id}/dlpar", tag = "partitions", request_body = DlparRequest,
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 200, body = Partition), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn dlpar(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    ApiJson(req): ApiJson<DlparRequest>,
) -> Result<Json<Partition>, ApiError> {
    blocking(&state, move |svc| svc.dlpar(&actor, id, &req))
        .await
        .map(Json)
}

/// Moves processors, processing units or memory from one partition to another.
#[utoipa::path(post, path = "/api/v1/partitions/move", tag = "partitions", request_body = MoveRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn move_resources(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<MoveRequest>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.move_resources(&actor, &req))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Adds or removes a virtual Ethernet adapter (hot-plugged on a running partition).
#[utoipa::path(post, path = "/api/v1/partitions/{id}/ethernet", tag = "partitions", request_body = EthDlparRequest,
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 200, body = Partition), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn ethernet(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    ApiJson(req): ApiJson<ivm_model::EthDlparRequest>,
) -> Result<Json<Partition>, ApiError> {
    blocking(&state, move |svc| svc.change_eth(&actor, id, &req))
        .await
        .map(Json)
}
