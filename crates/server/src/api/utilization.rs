//! Utilization data and metrics.

use axum::extract::State;
use axum::Json;
use ivm_model::{RateChange, UtilConfig, UtilPoint, UtilSample};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiQuery};
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// Which samples.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UtilQuery {
    /// From (ms since the Unix epoch; default: the beginning).
    from_ms: Option<i64>,
    /// To (default: now).
    to_ms: Option<i64>,
    /// At most this many samples per partition, newest first.
    n: Option<u32>,
}

/// A time range.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// From (ms since the Unix epoch; default: the beginning).
    from_ms: Option<i64>,
    /// To (default: now).
    to_ms: Option<i64>,
}

/// Utilization samples of running partitions (`lslparutil`), newest first.
#[utoipa::path(get, path = "/api/v1/utilization", tag = "utilization", params(UtilQuery),
    responses((status = 200, body = [UtilSample]), (status = 400, body = ErrorBody)))]
pub async fn samples(
    State(state): State<AppState>,
    _actor: Actor,
    ApiQuery(q): ApiQuery<UtilQuery>,
) -> Result<Json<Vec<UtilSample>>, ApiError> {
    let to = q.to_ms.unwrap_or(i64::MAX);
    blocking(&state, move |svc| {
        svc.utilization(q.from_ms.unwrap_or(0), to, q.n)
    })
    .await
    .map(Json)
}

/// Partitions' state changes (`lslparutil`'s `state_change` events), newest first.
#[utoipa::path(get, path = "/api/v1/utilization/events", tag = "utilization", params(RangeQuery),
    responses((status = 200, body = [UtilSample]), (status = 400, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    _actor: Actor,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<Vec<UtilSample>>, ApiError> {
    let to = q.to_ms.unwrap_or(i64::MAX);
    blocking(&state, move |svc| {
        svc.util_events(q.from_ms.unwrap_or(0), to)
    })
    .await
    .map(Json)
}

/// Which chart.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SeriesQuery {
    /// One partition (default: the whole system, every partition summed).
    lpar_id: Option<u32>,
    /// From (ms since the Unix epoch; default: the beginning).
    from_ms: Option<i64>,
}

/// Entitled and used processing units and memory between consecutive samples, oldest first:
/// what the console's utilization charts draw.
#[utoipa::path(get, path = "/api/v1/utilization/series", tag = "utilization", params(SeriesQuery),
    responses((status = 200, body = [UtilPoint]), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn series(
    State(state): State<AppState>,
    _actor: Actor,
    ApiQuery(q): ApiQuery<SeriesQuery>,
) -> Result<Json<Vec<UtilPoint>>, ApiError> {
    blocking(&state, move |svc| {
        svc.util_series(q.lpar_id, q.from_ms.unwrap_or(0))
    })
    .await
    .map(Json)
}

/// How often samples are taken and how long they are kept (`lslparutil -r config`).
#[utoipa::path(get, path = "/api/v1/utilization/config", tag = "utilization",
    responses((status = 200, body = UtilConfig)))]
pub async fn config(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<Json<UtilConfig>, ApiError> {
    blocking(&state, |svc| svc.util_config()).await.map(Json)
}

/// Sets the sample rate (`chlparutil -r config -s RATE`).
#[utoipa::path(put, path = "/api/v1/utilization/config", tag = "utilization", request_body = RateChange,
    responses((status = 200, body = UtilConfig), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_config(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<RateChange>,
) -> Result<Json<UtilConfig>, ApiError> {
    blocking(&state, move |svc| {
        svc.set_sample_rate(&actor, req.sample_rate)
    })
    .await
    .map(Json)
}

/// Prometheus metrics (a session or token is required): partitions, system totals, and the
/// API's request counts and latencies.
#[utoipa::path(get, path = "/metrics", tag = "utilization",
    responses((status = 200, content_type = "text/plain", body = String), (status = 401, body = ErrorBody)))]
pub async fn metrics(
    State(state): State<AppState>,
    _actor: Actor,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let mut text = blocking(&state, |svc| svc.metrics()).await?;
    text.push_str(&state.requests.render());
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}
