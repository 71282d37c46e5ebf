//! Configuration backup and restore.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ivm_model::{BackupFile, RestoreRequest};

use super::error::ErrorBody;
use super::extract::ApiJson;
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// A backup of the partition configuration (`bkprofdata -o backup`): the file's text.
#[utoipa::path(get, path = "/api/v1/backup", tag = "backup",
    responses((status = 200, body = BackupFile), (status = 401, body = ErrorBody)))]
pub async fn get_backup(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<BackupFile>, ApiError> {
    blocking(&state, move |svc| svc.backup(&actor))
        .await
        .map(|data| Json(BackupFile { data }))
}

/// The same backup as a file to save (`profile.bak`), for the browser's download link.
#[utoipa::path(get, path = "/api/v1/backup/file", tag = "backup",
    responses((status = 200, content_type = "text/plain", body = String), (status = 401, body = ErrorBody)))]
pub async fn get_backup_file(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let data = blocking(&state, move |svc| svc.backup(&actor)).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"profile.bak\"",
            ),
        ],
        data,
    ))
}

/// Restores a backup (`rstprofdata`) onto a system without client partitions, in one step;
/// returns the restored partitions' IDs.
#[utoipa::path(post, path = "/api/v1/backup/restore", tag = "backup", request_body = RestoreRequest,
    responses((status = 200, body = [u32]), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn restore(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<RestoreRequest>,
) -> Result<Json<Vec<u32>>, ApiError> {
    blocking(&state, move |svc| svc.restore(&actor, &req))
        .await
        .map(Json)
}

/// Removes every client partition (`lpcfgop -o clear`); virtual disks and media stay.
#[utoipa::path(post, path = "/api/v1/backup/clear", tag = "backup",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn clear(State(state): State<AppState>, actor: Actor) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.clear_partitions(&actor))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}
