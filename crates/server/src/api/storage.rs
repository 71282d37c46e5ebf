//! Virtual storage: pools, virtual disks, mappings.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use ivm_model::{
    BackingDevice, DiskChange, DiskSpec, Hdisk, MapRequest, Mapping, PoolSpec, StoragePool,
    StorageView, VgPoolRequest,
};
use serde::Deserialize;

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// Pools, virtual disks, virtual SCSI server adapters and mappings.
#[utoipa::path(get, path = "/api/v1/storage", tag = "storage",
    responses((status = 200, body = StorageView), (status = 401, body = ErrorBody)))]
pub async fn get_all(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<Json<StorageView>, ApiError> {
    blocking(&state, |svc| svc.storage().map(Json)).await
}

/// Creates a file pool on a host directory.
#[utoipa::path(post, path = "/api/v1/storage/pools", tag = "storage", request_body = PoolSpec,
    responses((status = 201, body = StoragePool), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_pool(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(spec): ApiJson<PoolSpec>,
) -> Result<(StatusCode, Json<StoragePool>), ApiError> {
    blocking(&state, move |svc| svc.create_pool(&actor, &spec))
        .await
        .map(|p| (StatusCode::CREATED, Json(p)))
}

/// Removes a pool that holds no virtual disk.
#[utoipa::path(delete, path = "/api/v1/storage/pools/{name}", tag = "storage",
    params(("name" = String, Path, description = "Pool name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn remove_pool(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.remove_pool(&actor, &name))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Makes a pool the default one.
#[utoipa::path(post, path = "/api/v1/storage/pools/{name}/default", tag = "storage",
    params(("name" = String, Path, description = "Pool name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_default_pool(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.set_default_pool(&actor, &name))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Creates a virtual disk (and maps it when an adapter is named).
#[utoipa::path(post, path = "/api/v1/storage/disks", tag = "storage", request_body = DiskSpec,
    responses((status = 201, body = BackingDevice), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_disk(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(spec): ApiJson<DiskSpec>,
) -> Result<(StatusCode, Json<BackingDevice>), ApiError> {
    blocking(&state, move |svc| svc.create_disk(&actor, &spec))
        .await
        .map(|d| (StatusCode::CREATED, Json(d)))
}

/// Query of a disk image upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImageQuery {
    /// Pool (the default pool when unset).
    pub pool: Option<String>,
    /// Disk size in MB (the image's own when unset).
    #[serde(default)]
    pub size_mb: u64,
    /// Map the new disk at once to this adapter (`vhostN`).
    pub vadapter: Option<String>,
}

/// Makes virtual disk NAME from an uploaded raw or qcow2 image (the request body, streamed to
/// the data directory as it arrives, then imported as `mkbdsp -file` does; progress in the
/// task log). Content-Length is required.
#[utoipa::path(put, path = "/api/v1/storage/disks/{name}/image", tag = "storage",
    params(("name" = String, Path, description = "Name of the new virtual disk"), ImageQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = BackingDevice), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 411, body = ErrorBody)))]
pub async fn upload_disk_image(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<ImageQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<BackingDevice>), ApiError> {
    let spec = DiskSpec {
        name,
        pool: q.pool,
        size_mb: q.size_mb,
        vadapter: q.vadapter,
        vtd: None,
        image: None,
    };
    super::upload::stream(
        &state,
        &headers,
        body,
        "the image is staged before it is imported",
        move |svc, len, chunks| svc.upload_disk_image(&actor, &spec, len, chunks),
    )
    .await
    .map(|d| (StatusCode::CREATED, Json(d)))
}

/// Grows or renames a virtual disk (growing a mapped disk of a running partition is live).
#[utoipa::path(patch, path = "/api/v1/storage/disks/{name}", tag = "storage", request_body = DiskChange,
    params(("name" = String, Path, description = "Virtual disk name")),
    responses((status = 200, body = BackingDevice), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_disk(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
    ApiJson(change): ApiJson<DiskChange>,
) -> Result<Json<BackingDevice>, ApiError> {
    blocking(&state, move |svc| svc.change_disk(&actor, &name, &change))
        .await
        .map(Json)
}

/// Options of a virtual disk's removal.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RemoveDiskQuery {
    /// Remove its mapping with it (`rmbdsp -vtd`).
    #[serde(default)]
    pub with_vtd: bool,
}

/// Removes a virtual disk; refused while mapped unless `with_vtd`.
#[utoipa::path(delete, path = "/api/v1/storage/disks/{name}", tag = "storage",
    params(("name" = String, Path, description = "Virtual disk name"), RemoveDiskQuery),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn remove_disk(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<RemoveDiskQuery>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| {
        svc.remove_disk(&actor, &name, q.with_vtd)
    })
    .await
    .map(|()| StatusCode::NO_CONTENT)
}

/// Maps a virtual disk to a partition's adapter (hot-plugged when it runs).
#[utoipa::path(post, path = "/api/v1/storage/mappings", tag = "storage", request_body = MapRequest,
    responses((status = 201, body = Mapping), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn map(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<MapRequest>,
) -> Result<(StatusCode, Json<Mapping>), ApiError> {
    blocking(&state, move |svc| svc.map(&actor, &req))
        .await
        .map(|m| (StatusCode::CREATED, Json(m)))
}

/// Removes a mapping by virtual target device or backing device name (hot-unplugged when the
/// partition runs).
#[utoipa::path(delete, path = "/api/v1/storage/mappings/{name}", tag = "storage",
    params(("name" = String, Path, description = "Virtual target device or backing device")),
    responses((status = 200, body = Mapping), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn unmap(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Mapping>, ApiError> {
    blocking(&state, move |svc| svc.unmap(&actor, &name))
        .await
        .map(Json)
}

/// Scans for physical volumes (`cfgdev`); new ones get the next `hdiskN`.
#[utoipa::path(post, path = "/api/v1/storage/cfgdev", tag = "storage",
    responses((status = 200, body = [Hdisk]), (status = 403, body = ErrorBody)))]
pub async fn cfgdev(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<Hdisk>>, ApiError> {
    blocking(&state, move |svc| svc.cfgdev(&actor))
        .await
        .map(Json)
}

/// Creates a volume group pool on free physical volumes (LVM2).
#[utoipa::path(post, path = "/api/v1/storage/vgpools", tag = "storage", request_body = VgPoolRequest,
    responses((status = 201, body = StoragePool), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_vg_pool(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<VgPoolRequest>,
) -> Result<(StatusCode, Json<StoragePool>), ApiError> {
    blocking(&state, move |svc| svc.create_vg_pool(&actor, &req))
        .await
        .map(|p| (StatusCode::CREATED, Json(p)))
}

/// Adds physical volumes to a volume group pool.
#[utoipa::path(post, path = "/api/v1/storage/vgpools/add", tag = "storage", request_body = VgPoolRequest,
    responses((status = 200, body = StoragePool), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_pvs(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<VgPoolRequest>,
) -> Result<Json<StoragePool>, ApiError> {
    blocking(&state, move |svc| svc.change_vg_pool(&actor, &req, true))
        .await
        .map(Json)
}

/// Takes physical volumes out of a volume group pool.
#[utoipa::path(post, path = "/api/v1/storage/vgpools/remove", tag = "storage", request_body = VgPoolRequest,
    responses((status = 200, body = StoragePool), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove_pvs(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<VgPoolRequest>,
) -> Result<Json<StoragePool>, ApiError> {
    blocking(&state, move |svc| svc.change_vg_pool(&actor, &req, false))
        .await
        .map(Json)
}
