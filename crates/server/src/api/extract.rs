//! Extractors: who is calling, and JSON bodies whose errors speak our format.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;

use super::{blocking, ApiError, AppState};
use crate::service::{Actor, ServiceError};

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = "ivm_session";

/// The Unix user of a Unix-socket peer (SO_PEERCRED when it connected: uid and name). Which
/// ivm user and role that is gets decided anew at every request, so a role changed or a user
/// removed takes effect on open connections too.
#[derive(Clone, Debug)]
pub struct PeerIdentity(pub Result<(u32, Option<String>), crate::service::AuthError>);

/// The token a request carries: `Authorization: Bearer` for scripts, the cookie for browsers.
pub(crate) fn request_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(SESSION_COOKIE)?
                .strip_prefix('=')
                .map(str::to_string)
        })
}

/// Who is calling: the caller the access check found (see `access`), or else from the Unix
/// peer or the request's token, looked up now.
pub(crate) async fn request_actor(parts: &mut Parts, state: &AppState) -> Result<Actor, ApiError> {
    if let Some(actor) = parts.extensions.get::<Actor>() {
        return Ok(actor.clone());
    }
    if let Some(PeerIdentity(id)) = parts.extensions.get::<PeerIdentity>() {
        let (uid, name) = id.clone().map_err(ServiceError::Unauthorized)?;
        return blocking(state, move |svc| {
            svc.actor_for_unix_user(uid, name.as_deref())
        })
        .await;
    }
    let token = request_token(parts)
        .ok_or_else(|| ServiceError::Unauthorized(crate::service::AuthError::NoCredentials))?;
    blocking(state, move |svc| svc.authenticate(&token)).await
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Actor, ApiError> {
        request_actor(parts, state).await
    }
}

/// A JSON body; a malformed one gets a 400 that says what was wrong (e.g. an unknown attribute).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(ApiError::rejected(
                rejection.status(),
                rejection.body_text(),
            )),
        }
    }
}

/// A path parameter; a malformed one (`/partitions/abc`) gets the JSON error body.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(rejection) => Err(ApiError::rejected(
                rejection.status(),
                rejection.body_text(),
            )),
        }
    }
}

/// A query string; a malformed one gets the JSON error body.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rejection) => Err(ApiError::rejected(
                rejection.status(),
                rejection.body_text(),
            )),
        }
    }
}

/// The client's IP address (HTTPS); none over the Unix socket.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// A WebSocket upgrade; a plain request to a WebSocket address gets the JSON error body.
pub struct ApiWebSocket(pub axum::extract::ws::WebSocketUpgrade);

impl<S: Send + Sync> FromRequestParts<S> for ApiWebSocket {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::ws::WebSocketUpgrade::from_request_parts(parts, state).await {
            Ok(ws) => Ok(ApiWebSocket(ws)),
            Err(rejection) => Err(ApiError::rejected(
                rejection.status(),
                format!(
                    "this address is a WebSocket: open it with a WebSocket client (GET with \
                     Connection: upgrade and Upgrade: websocket); {}",
                    rejection.body_text()
                ),
            )),
        }
    }
}
