//! The network: Ethernet devices (`entN`), the virtual Ethernet IDs in use, and virtual
//! Ethernet bridges (Shared Ethernet Adapters).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ivm_model::{EthDevice, NetworkView, SeaRequest};

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath};
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// Ethernet devices and the virtual Ethernet IDs in use, with what the host has now.
#[utoipa::path(get, path = "/api/v1/network", tag = "network",
    responses((status = 200, body = NetworkView), (status = 401, body = ErrorBody)))]
pub async fn get_all(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<Json<NetworkView>, ApiError> {
    blocking(&state, |svc| svc.network().map(Json)).await
}

/// Makes a virtual Ethernet bridge (`mkvdev -sea`): joins a virtual Ethernet ID to a physical
/// adapter; the adapter's addresses and routes move to the bridge.
#[utoipa::path(post, path = "/api/v1/network/sea", tag = "network", request_body = SeaRequest,
    responses((status = 201, body = EthDevice), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn create_sea(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<SeaRequest>,
) -> Result<(StatusCode, Json<EthDevice>), ApiError> {
    blocking(&state, move |svc| svc.make_sea(&actor, &req))
        .await
        .map(|d| (StatusCode::CREATED, Json(d)))
}

/// Removes a device (`rmdev -dev entN`): a virtual Ethernet bridge, whose addresses and routes
/// go back to the physical adapter.
#[utoipa::path(delete, path = "/api/v1/network/devices/{name}", tag = "network",
    params(("name" = String, Path, description = "Device, entN")),
    responses((status = 200, body = EthDevice), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove_device(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<EthDevice>, ApiError> {
    blocking(&state, move |svc| svc.remove_eth_device(&actor, &name))
        .await
        .map(Json)
}
