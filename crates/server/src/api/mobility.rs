//! Partition mobility: migrations from this host (`migrlpar`, `lslparmigr`), the trust with
//! other ivm hosts (`mkauthkeys`), and what another host's ivm asks of this one as a target
//! (through this host's restricted shell, as the user it trusts).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Json;
use hyper_util::rt::TokioIo;
use ivm_model::{
    IncomingStatus, MigrationAccept, MigrationOffer, MigrationRequest, MigrationView, MobilityView,
    TrustRequest,
};
use tokio::io::AsyncWriteExt;

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath};
use super::{blocking, ApiError, AppState};
use crate::service::{valid_migration_id, Actor};

/// The protocol name of the raw migration-stream upgrade.
pub const MIGRATION_PROTOCOL: &str = "ivm-migration";

/// Every client partition and where its migration stands (`lslparmigr -r lpar`).
#[utoipa::path(get, path = "/api/v1/migrations", tag = "mobility",
    responses((status = 200, body = [MigrationView])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<MigrationView>>, ApiError> {
    blocking(&state, |svc| svc.migration_views())
        .await
        .map(Json)
}

/// What this host's mobility can do and is doing (`lslparmigr -r sys`).
#[utoipa::path(get, path = "/api/v1/system/mobility", tag = "mobility",
    responses((status = 200, body = MobilityView)))]
pub async fn capabilities(State(state): State<AppState>) -> Result<Json<MobilityView>, ApiError> {
    blocking(&state, |svc| svc.mobility_view()).await.map(Json)
}

/// Validates (`validate_only`) or carries out the move of a partition to another ivm host
/// (`migrlpar -o v|m`); returns once it is done.
#[utoipa::path(post, path = "/api/v1/migrations", tag = "mobility", request_body = MigrationRequest,
    responses((status = 200, body = MigrationAccept), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn migrate(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<MigrationRequest>,
) -> Result<Json<MigrationAccept>, ApiError> {
    blocking(&state, move |svc| svc.migrate(&actor, &req))
        .await
        .map(Json)
}

/// Stops a partition's outgoing migration (`migrlpar -o s`); it keeps running here.
#[utoipa::path(post, path = "/api/v1/migrations/{id}/stop", tag = "mobility",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn stop(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.stop_migration(&actor, id))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Decides where a partition whose migration was cut short runs (`migrlpar -o r`).
#[utoipa::path(post, path = "/api/v1/migrations/{id}/recover", tag = "mobility",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn recover(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.recover_migration(&actor, id))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// This host's SSH public key (`mkauthkeys -g`).
#[utoipa::path(get, path = "/api/v1/system/ssh-key", tag = "mobility",
    responses((status = 200, body = String)))]
pub async fn host_key(State(state): State<AppState>) -> Result<Json<String>, ApiError> {
    blocking(&state, |svc| svc.host_public_key())
        .await
        .map(Json)
}

/// Gives this host's key to a user of another ivm host, or tests it (`mkauthkeys --ip -u`).
#[utoipa::path(post, path = "/api/v1/system/trust", tag = "mobility", request_body = TrustRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn trust(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<TrustRequest>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.trust(&actor, &req))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// As a target: would this host take the partition offered? Nothing is reserved.
#[utoipa::path(post, path = "/api/v1/incoming/validate", tag = "mobility", request_body = MigrationOffer,
    responses((status = 200, body = MigrationAccept), (status = 409, body = ErrorBody)))]
pub async fn incoming_validate(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(offer): ApiJson<MigrationOffer>,
) -> Result<Json<MigrationAccept>, ApiError> {
    blocking(&state, move |svc| svc.incoming_validate(&actor, &offer))
        .await
        .map(Json)
}

/// As a target: reserves the partition offered (and starts its QEMU waiting for the guest).
#[utoipa::path(post, path = "/api/v1/incoming/prepare", tag = "mobility", request_body = MigrationOffer,
    responses((status = 200, body = MigrationAccept), (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn incoming_prepare(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(offer): ApiJson<MigrationOffer>,
) -> Result<Json<MigrationAccept>, ApiError> {
    blocking(&state, move |svc| svc.incoming_prepare(&actor, &offer))
        .await
        .map(Json)
}

fn checked(mid: String) -> Result<String, ApiError> {
    if valid_migration_id(&mid) {
        Ok(mid)
    } else {
        Err(ApiError::not_found("no such migration"))
    }
}

/// Answers an upgrade with 101 and joins the upgraded connection to `ours`.
fn relay(ours: std::os::unix::net::UnixStream, mut req: Request) -> Result<Response, ApiError> {
    ours.set_nonblocking(true).map_err(ApiError::internal)?;
    let mut qemu = tokio::net::UnixStream::from_std(ours).map_err(ApiError::internal)?;
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut source = TokioIo::new(upgraded);
        if let Err(e) = tokio::io::copy_bidirectional(&mut source, &mut qemu).await {
            tracing::warn!(error = %e, "an incoming migration stream broke");
        }
        let _ = source.shutdown().await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, MIGRATION_PROTOCOL)
        .body(Body::empty())
        .map_err(ApiError::internal)
}

/// As a target: upgrades the connection to the migration stream (`Upgrade: ivm-migration`),
/// joined to the waiting QEMU.
#[utoipa::path(get, path = "/api/v1/incoming/{mid}/stream", tag = "mobility",
    params(("mid" = String, Path, description = "Migration ID")),
    responses((status = 101, description = "the raw migration stream follows"), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn incoming_stream(
    State(state): State<AppState>,
    ApiPath(mid): ApiPath<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let mid = checked(mid)?;
    let ours = blocking(&state, move |svc| svc.incoming_stream(&mid)).await?;
    relay(ours, req)
}

/// As a target: upgrades the connection to the arriving QEMU's disk server (NBD), for one
/// disk's copy.
#[utoipa::path(get, path = "/api/v1/incoming/{mid}/nbd", tag = "mobility",
    params(("mid" = String, Path, description = "Migration ID")),
    responses((status = 101, description = "the raw NBD connection follows"), (status = 404, body = ErrorBody)))]
pub async fn incoming_nbd(
    State(state): State<AppState>,
    ApiPath(mid): ApiPath<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let mid = checked(mid)?;
    let ours = blocking(&state, move |svc| svc.incoming_nbd(&mid)).await?;
    relay(ours, req)
}

/// As a target: takes the partition over (records it, then resumes it).
#[utoipa::path(post, path = "/api/v1/incoming/{mid}/commit", tag = "mobility",
    params(("mid" = String, Path, description = "Migration ID")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn incoming_commit(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(mid): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let mid = checked(mid)?;
    blocking(&state, move |svc| svc.incoming_commit(&actor, &mid))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// As a target: gives the reservation back (refused once this host owns the partition).
#[utoipa::path(post, path = "/api/v1/incoming/{mid}/abort", tag = "mobility",
    params(("mid" = String, Path, description = "Migration ID")),
    responses((status = 204), (status = 409, body = ErrorBody)))]
pub async fn incoming_abort(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(mid): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let mid = checked(mid)?;
    blocking(&state, move |svc| svc.incoming_abort(&actor, &mid))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// As a target: where migration `mid` stands here (`owned`, `reserved` or `unknown`).
#[utoipa::path(get, path = "/api/v1/incoming/{mid}", tag = "mobility",
    params(("mid" = String, Path, description = "Migration ID")),
    responses((status = 200, body = IncomingStatus), (status = 404, body = ErrorBody)))]
pub async fn incoming_status(
    State(state): State<AppState>,
    ApiPath(mid): ApiPath<String>,
) -> Result<Json<IncomingStatus>, ApiError> {
    let mid = checked(mid)?;
    blocking(&state, move |svc| svc.incoming_status(&mid))
        .await
        .map(Json)
}
