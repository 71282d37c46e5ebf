//! The virtual media library: its repository, optical media (copied, made blank or uploaded)
//! and virtual optical devices with the media loaded in them.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use ivm_model::{
    LoadRequest, MediaChange, MediaSpec, OpticalDevice, OpticalMedia, OpticalRequest, Repository,
    RepositorySpec,
};
use serde::Deserialize;

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// Makes the virtual media library (`mkrep`).
#[utoipa::path(post, path = "/api/v1/storage/repository", tag = "media", request_body = RepositorySpec,
    responses((status = 201, body = Repository), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_repository(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(spec): ApiJson<RepositorySpec>,
) -> Result<(StatusCode, Json<Repository>), ApiError> {
    blocking(&state, move |svc| svc.create_repository(&actor, &spec))
        .await
        .map(|r| (StatusCode::CREATED, Json(r)))
}

/// Grows the library (`chrep -size`); `pool` is ignored.
#[utoipa::path(patch, path = "/api/v1/storage/repository", tag = "media", request_body = RepositorySpec,
    responses((status = 200, body = Repository), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn change_repository(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(spec): ApiJson<RepositorySpec>,
) -> Result<Json<Repository>, ApiError> {
    blocking(&state, move |svc| {
        svc.change_repository(&actor, spec.size_mb)
    })
    .await
    .map(Json)
}

/// Query of removals that may be forced.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ForceQuery {
    /// `rmrep -f`: remove the media with it; `rmvopt -f`: unload it first.
    #[serde(default)]
    pub force: bool,
}

/// Removes the library (`rmrep [-f]`).
#[utoipa::path(delete, path = "/api/v1/storage/repository", tag = "media", params(ForceQuery),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn remove_repository(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(q): ApiQuery<ForceQuery>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.remove_repository(&actor, q.force))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Adds media by copying a file in a directory ivm manages, or blank media (`mkvopt`).
#[utoipa::path(post, path = "/api/v1/storage/media", tag = "media", request_body = MediaSpec,
    responses((status = 201, body = OpticalMedia), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_media(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(spec): ApiJson<MediaSpec>,
) -> Result<(StatusCode, Json<OpticalMedia>), ApiError> {
    blocking(&state, move |svc| svc.create_media(&actor, &spec))
        .await
        .map(|m| (StatusCode::CREATED, Json(m)))
}

/// Query of an upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// Read-only media (default read-write).
    #[serde(default)]
    pub read_only: bool,
}

/// Uploads media: the request body is the ISO image, written to the library as it arrives
/// (Content-Length required; room in the library is committed before the first byte).
#[utoipa::path(put, path = "/api/v1/storage/media/{name}", tag = "media",
    params(("name" = String, Path, description = "Media name"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = OpticalMedia), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 411, body = ErrorBody)))]
pub async fn upload_media(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<OpticalMedia>), ApiError> {
    super::upload::stream(
        &state,
        &headers,
        body,
        "the library commits the room before it starts",
        move |svc, len, chunks| svc.upload_media(&actor, &name, q.read_only, len, chunks),
    )
    .await
    .map(|m| (StatusCode::CREATED, Json(m)))
}

/// Changes media access or name (`chvopt`).
#[utoipa::path(patch, path = "/api/v1/storage/media/{name}", tag = "media", request_body = MediaChange,
    params(("name" = String, Path, description = "Media name")),
    responses((status = 200, body = OpticalMedia), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn change_media(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
    ApiJson(change): ApiJson<MediaChange>,
) -> Result<Json<OpticalMedia>, ApiError> {
    blocking(&state, move |svc| svc.change_media(&actor, &name, &change))
        .await
        .map(Json)
}

/// Removes media (`rmvopt [-f]`).
#[utoipa::path(delete, path = "/api/v1/storage/media/{name}", tag = "media",
    params(("name" = String, Path, description = "Media name"), ForceQuery),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn remove_media(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<ForceQuery>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.remove_media(&actor, &name, q.force))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Adds an empty virtual optical device to a partition's adapter (`mkvdev -fbo`); remove it
/// with DELETE /storage/mappings/{vtd}.
#[utoipa::path(post, path = "/api/v1/storage/optical", tag = "media", request_body = OpticalRequest,
    responses((status = 201, body = OpticalDevice), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn create_optical(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<OpticalRequest>,
) -> Result<(StatusCode, Json<OpticalDevice>), ApiError> {
    blocking(&state, move |svc| svc.create_optical(&actor, &req))
        .await
        .map(|o| (StatusCode::CREATED, Json(o)))
}

/// Loads media into a virtual optical device (`loadopt`), live on a running partition.
#[utoipa::path(post, path = "/api/v1/storage/optical/{vtd}/load", tag = "media", request_body = LoadRequest,
    params(("vtd" = String, Path, description = "Virtual optical device, vtoptN")),
    responses((status = 200, body = OpticalDevice), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn load(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(vtd): ApiPath<String>,
    ApiJson(req): ApiJson<LoadRequest>,
) -> Result<Json<OpticalDevice>, ApiError> {
    blocking(&state, move |svc| svc.load_media(&actor, &vtd, &req))
        .await
        .map(Json)
}

/// Unloads a virtual optical device (`unloadopt`).
#[utoipa::path(post, path = "/api/v1/storage/optical/{vtd}/unload", tag = "media",
    params(("vtd" = String, Path, description = "Virtual optical device, vtoptN")),
    responses((status = 200, body = OpticalDevice), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn unload(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(vtd): ApiPath<String>,
) -> Result<Json<OpticalDevice>, ApiError> {
    blocking(&state, move |svc| svc.unload_media(&actor, &vtd))
        .await
        .map(Json)
}
