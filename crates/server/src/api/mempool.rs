//! The shared memory pool (`chhwres -r mempool`, `lshwres -r mempool`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ivm_model::{MemPool, MemPoolRequest, MemPoolView, PagingPvRequest};

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath};
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// The pool: its size, what is available now, its paging devices.
#[utoipa::path(get, path = "/api/v1/system/mempool", tag = "system",
    responses((status = 200, body = MemPoolView), (status = 404, body = ErrorBody)))]
pub async fn get_pool(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<Json<MemPoolView>, ApiError> {
    blocking(&state, |svc| svc.mem_pool_view()).await.map(Json)
}

/// Creates the pool, committing its memory from the system.
#[utoipa::path(post, path = "/api/v1/system/mempool", tag = "system", request_body = MemPoolRequest,
    responses((status = 201, body = MemPool), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_pool(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<MemPoolRequest>,
) -> Result<(StatusCode, Json<MemPool>), ApiError> {
    blocking(&state, move |svc| svc.create_mem_pool(&actor, &req))
        .await
        .map(|p| (StatusCode::CREATED, Json(p)))
}

/// Resizes the pool (or changes its maximum or paging storage pool).
#[utoipa::path(patch, path = "/api/v1/system/mempool", tag = "system", request_body = MemPoolRequest,
    responses((status = 200, body = MemPool), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_pool(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<MemPoolRequest>,
) -> Result<Json<MemPool>, ApiError> {
    blocking(&state, move |svc| svc.change_mem_pool(&actor, &req))
        .await
        .map(Json)
}

/// Removes the pool when no partition uses shared memory.
#[utoipa::path(delete, path = "/api/v1/system/mempool", tag = "system",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn remove_pool(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.remove_mem_pool(&actor))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Gives a free physical volume to the pool as a paging device.
#[utoipa::path(post, path = "/api/v1/system/mempool/pgdev", tag = "system", request_body = PagingPvRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_pgdev(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<PagingPvRequest>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.add_paging_pv(&actor, &req.device))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Takes an unassigned physical volume back from the pool.
#[utoipa::path(delete, path = "/api/v1/system/mempool/pgdev/{device}", tag = "system",
    params(("device" = String, Path, description = "Physical volume, hdiskN")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn remove_pgdev(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(device): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.remove_paging_pv(&actor, &device))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}
