//! User accounts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ivm_model::{NewUser, PasswordChange, RoleChange, User};

use super::error::ErrorBody;
use super::extract::{ApiJson, ApiPath};
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// Every user (View/Modify only).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = [User]), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<User>>, ApiError> {
    blocking(&state, move |svc| svc.users(&actor))
        .await
        .map(Json)
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(u): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    blocking(&state, move |svc| {
        svc.create_user(&actor, &u.name, u.role, &u.password)
    })
    .await
    .map(|u| (StatusCode::CREATED, Json(u)))
}

/// Changes a user's role.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users", request_body = RoleChange,
    params(("name" = String, Path, description = "User name")),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn change_role(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
    ApiJson(c): ApiJson<RoleChange>,
) -> Result<Json<User>, ApiError> {
    blocking(&state, move |svc| svc.change_role(&actor, &name, c.role))
        .await
        .map(Json)
}

/// Deletes a user.
#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path, description = "User name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.delete_user(&actor, &name))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Sets a password: one's own, or anyone's for View/Modify users.
#[utoipa::path(put, path = "/api/v1/users/{name}/password", tag = "users", request_body = PasswordChange,
    params(("name" = String, Path, description = "User name")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_password(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
    ApiJson(p): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| {
        svc.set_password(&actor, &name, &p.password)
    })
    .await
    .map(|()| StatusCode::NO_CONTENT)
}

/// A user's SSH public keys (one's own; anyone's for View/Modify users).
#[utoipa::path(get, path = "/api/v1/users/{name}/keys", tag = "users",
    params(("name" = String, Path, description = "User name")),
    responses((status = 200, body = [String]), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn keys(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    blocking(&state, move |svc| svc.authorized_keys(&actor, &name))
        .await
        .map(Json)
}

/// Replaces a user's SSH public keys (`mkauthkeys`): the SSH login takes them at once.
#[utoipa::path(put, path = "/api/v1/users/{name}/keys", tag = "users", request_body = [String],
    params(("name" = String, Path, description = "User name")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn set_keys(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(name): ApiPath<String>,
    ApiJson(keys): ApiJson<Vec<String>>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| {
        svc.set_authorized_keys(&actor, &name, &keys)
    })
    .await
    .map(|()| StatusCode::NO_CONTENT)
}
