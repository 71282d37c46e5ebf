//! Partitions: list, get, create, change, delete.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ivm_model::{CloudInit, CreatePreview, Partition, PartitionChange, PartitionSpec};

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// Every partition, by ID.
#[utoipa::path(get, path = "/api/v1/partitions", tag = "partitions",
    responses((status = 200, body = [Partition]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, _actor: Actor) -> Result<Response, ApiError> {
    let body = blocking(&state, |svc| svc.partitions_json()).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// One partition.
#[utoipa::path(get, path = "/api/v1/partitions/{id}", tag = "partitions",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 200, body = Partition), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    _actor: Actor,
    ApiPath(id): ApiPath<u32>,
) -> Result<Json<Partition>, ApiError> {
    blocking(&state, move |svc| svc.partition(id).map(Json)).await
}

/// Whether a create request only asks what it would give.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct CreateQuery {
    /// Run the rules and commit nothing: answer 200 with the partition as it would be made
    /// and the system's capacity after it, or the same refusal the create would get.
    #[serde(default)]
    pub dry_run: bool,
}

/// Creates a partition and commits its resources, or refuses with the rule it breaks.
#[utoipa::path(post, path = "/api/v1/partitions", tag = "partitions", request_body = PartitionSpec,
    params(CreateQuery),
    responses((status = 201, body = Partition, description = "Created"),
              (status = 200, body = CreatePreview, description = "dry_run=true: what it would create; nothing committed"),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(query): ApiQuery<CreateQuery>,
    ApiJson(spec): ApiJson<PartitionSpec>,
) -> Result<Response, ApiError> {
    if query.dry_run {
        return blocking(&state, move |svc| svc.preview_partition(&actor, &spec))
            .await
            .map(|p| Json(p).into_response());
    }
    blocking(&state, move |svc| svc.create_partition(&actor, &spec))
        .await
        .map(|p| (StatusCode::CREATED, Json(p)).into_response())
}

/// Changes a partition and its profile; while it runs, only within its min..max.
#[utoipa::path(patch, path = "/api/v1/partitions/{id}", tag = "partitions", request_body = PartitionChange,
    params(("id" = u32, Path, description = "Partition ID"), ForceQuery),
    responses((status = 200, body = Partition), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    ApiQuery(q): ApiQuery<ForceQuery>,
    ApiJson(change): ApiJson<PartitionChange>,
) -> Result<Json<Partition>, ApiError> {
    blocking(&state, move |svc| {
        svc.change_partition(&actor, id, &change, q.force)
    })
    .await
    .map(Json)
}

/// `?force=true`: a running partition takes added processors or memory even without an
/// active RMC connection (its guest agent).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ForceQuery {
    /// Add without an active RMC connection.
    #[serde(default)]
    pub force: bool,
}

/// What goes with a deleted partition (`rmsyscfg --vioscfg [--vdisk]`).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct DeleteQuery {
    /// Remove its virtual SCSI mappings with it.
    #[serde(default)]
    pub vioscfg: bool,
    /// With `vioscfg`: remove the virtual disks those mappings held too.
    #[serde(default)]
    pub vdisk: bool,
}

/// Deletes a partition that is not running (with its mappings and disks when asked).
#[utoipa::path(delete, path = "/api/v1/partitions/{id}", tag = "partitions",
    params(("id" = u32, Path, description = "Partition ID"), DeleteQuery),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| {
        if q.vioscfg {
            svc.remove_storage_of(&actor, id, q.vdisk)?;
        }
        svc.delete_partition(&actor, id)
    })
    .await
    .map(|()| StatusCode::NO_CONTENT)
}

/// The partition's cloud-init seed (404 when it has none). Its user-data may hold secrets:
/// only roles that may change partitions read it.
#[utoipa::path(get, path = "/api/v1/partitions/{id}/cloud-init", tag = "partitions",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 200, body = CloudInit), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get_cloud_init(
    State(state): State<AppState>,
    _actor: Actor,
    ApiPath(id): ApiPath<u32>,
) -> Result<Json<CloudInit>, ApiError> {
    blocking(&state, move |svc| {
        svc.cloud_init(id)?.map(Json).ok_or_else(|| {
            crate::service::ServiceError::from(ivm_rules::RuleError::NoSuch {
                what: "cloud-init seed of partition",
                name: id.to_string(),
            })
        })
    })
    .await
}

/// Sets the partition's cloud-init seed, given to it as a `cidata` optical device from its
/// next activation.
#[utoipa::path(put, path = "/api/v1/partitions/{id}/cloud-init", tag = "partitions",
    params(("id" = u32, Path, description = "Partition ID")), request_body = CloudInit,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn set_cloud_init(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    ApiJson(seed): ApiJson<CloudInit>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| {
        svc.set_cloud_init(&actor, id, Some(&seed))
    })
    .await
    .map(|()| StatusCode::NO_CONTENT)
}

/// Removes the partition's cloud-init seed.
#[utoipa::path(delete, path = "/api/v1/partitions/{id}/cloud-init", tag = "partitions",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_cloud_init(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.set_cloud_init(&actor, id, None))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}
