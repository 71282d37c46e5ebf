//! Logging in and out, and API tokens for scripts.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{AppendHeaders, IntoResponse};
use axum::Json;
use ivm_model::User;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::extract::{ApiJson, ClientAddr, SESSION_COOKIE};
use super::{blocking, ApiError, AppState};
use crate::service::{Actor, SESSION_IDLE_TIMEOUT_MS};

/// Credentials.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// ivm user name.
    pub user: String,
    /// The user's password (never logged).
    pub password: String,
}

/// A token and whose it is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// Use as `Authorization: Bearer <token>`; the browser gets it as a cookie too.
    pub token: String,
    /// The signed-in user.
    pub user: User,
}

/// Signs in: sets the session cookie and returns the same token for scripts.
#[utoipa::path(post, path = "/api/v1/login", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody, description = "too many failed logins or too many at once; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    // Password hashing takes a slot (a few at once, each Argon2 run holds its memory); a flood
    // beyond the queue is told to come back instead of waiting in memory.
    let _slot = state.login_slots.enter().await?;
    let (token, user) =
        blocking(&state, move |svc| svc.login(&req.user, &req.password, addr)).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        SESSION_IDLE_TIMEOUT_MS / 1000 * 48
    );
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(TokenResponse { token, user }),
    ))
}

/// Signs out: ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/logout", tag = "session", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<impl IntoResponse, ApiError> {
    blocking(&state, move |svc| svc.logout(&actor)).await?;
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, AppendHeaders([(SET_COOKIE, clear)])))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn whoami(actor: Actor) -> Json<User> {
    Json(User {
        name: actor.user,
        role: actor.role,
    })
}

/// Issues a long-lived API token for the signed-in user.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "session",
    responses((status = 201, body = TokenResponse), (status = 401, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<impl IntoResponse, ApiError> {
    let user = User {
        name: actor.user.clone(),
        role: actor.role,
    };
    let token = blocking(&state, move |svc| svc.create_api_token(&actor)).await?;
    Ok((StatusCode::CREATED, Json(TokenResponse { token, user })))
}

/// Logins hashing at once, and how many may wait for a turn.
pub struct LoginSlots {
    hashing: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
}

impl Default for LoginSlots {
    fn default() -> LoginSlots {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        LoginSlots {
            hashing: tokio::sync::Semaphore::new(cores),
            waiting: Default::default(),
            max_waiting: 4 * cores,
        }
    }
}

impl LoginSlots {
    /// A turn to hash a password, or 429 when the queue is full.
    pub async fn enter(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        use std::sync::atomic::Ordering;
        if let Ok(p) = self.hashing.try_acquire() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::too_many(
                "too many logins at once; try again in a second",
                1,
            ));
        }
        let p = self.hashing.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        p.map_err(ApiError::internal)
    }
}
