//! Who may call each endpoint, declared once here and checked before any handler runs, for
//! every interface: HTTPS (browser, scripts), the Unix socket (the IVM commands, also over SSH).
//! A route missing from [`ACCESS`] is refused (and a test fails), so a new endpoint cannot be
//! left open by forgetting a check.

use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ivm_model::Access;

use super::extract::{request_actor, PeerIdentity};
use super::{blocking, ApiError, AppState};
use crate::service::ServiceError;

/// The header the browser console sends with every request. A cross-site form can send
/// neither it nor a JSON content type, so a change made with the session cookie needs one.
pub const CSRF_HEADER: &str = "x-ivm-request";

use Access::*;

/// Every route: method, pattern (as the router has it), and who may call it.
pub const ACCESS: &[(&str, &str, Access)] = &[
    ("POST", "/api/v1/login", Anyone),
    ("POST", "/api/v1/logout", Viewer),
    ("GET", "/api/v1/session", Viewer),
    ("POST", "/api/v1/tokens", Viewer),
    ("GET", "/api/v1/system", Viewer),
    ("GET", "/api/v1/system/resources", Viewer),
    ("GET", "/api/v1/system/mempool", Viewer),
    ("POST", "/api/v1/system/mempool", Modify),
    ("PATCH", "/api/v1/system/mempool", Modify),
    ("DELETE", "/api/v1/system/mempool", Modify),
    ("POST", "/api/v1/system/mempool/pgdev", Modify),
    ("DELETE", "/api/v1/system/mempool/pgdev/{device}", Modify),
    ("GET", "/api/v1/partitions", Viewer),
    ("POST", "/api/v1/partitions", Modify),
    ("GET", "/api/v1/partitions/{id}", Viewer),
    ("PATCH", "/api/v1/partitions/{id}", Modify),
    ("DELETE", "/api/v1/partitions/{id}", Modify),
    // User-data may hold passwords and keys: read only by roles that may change it.
    ("GET", "/api/v1/partitions/{id}/cloud-init", Modify),
    ("PUT", "/api/v1/partitions/{id}/cloud-init", Modify),
    ("DELETE", "/api/v1/partitions/{id}/cloud-init", Modify),
    ("POST", "/api/v1/partitions/move", Modify),
    ("POST", "/api/v1/partitions/{id}/activate", Modify),
    ("POST", "/api/v1/partitions/{id}/shutdown", Modify),
    ("POST", "/api/v1/partitions/{id}/dlpar", Modify),
    ("POST", "/api/v1/partitions/{id}/ethernet", Modify),
    ("GET", "/api/v1/partitions/{id}/terminal", Console),
    ("GET", "/api/v1/partitions/{id}/console", Console),
    ("DELETE", "/api/v1/partitions/{id}/console", Console),
    ("GET", "/api/v1/partitions/{id}/display", Console),
    ("GET", "/api/v1/partitions/{id}/screen", Console),
    ("GET", "/api/v1/users", Modify),
    ("POST", "/api/v1/users", Padmin),
    ("PATCH", "/api/v1/users/{name}", Padmin),
    ("DELETE", "/api/v1/users/{name}", Padmin),
    ("PUT", "/api/v1/users/{name}/password", SelfOrPadmin),
    ("GET", "/api/v1/users/{name}/keys", SelfOrPadmin),
    ("PUT", "/api/v1/users/{name}/keys", SelfOrPadmin),
    ("GET", "/api/v1/tasks", Viewer),
    ("GET", "/api/v1/migrations", Viewer),
    ("POST", "/api/v1/migrations", Modify),
    ("POST", "/api/v1/migrations/{id}/stop", Modify),
    ("POST", "/api/v1/migrations/{id}/recover", Modify),
    ("GET", "/api/v1/system/mobility", Viewer),
    ("GET", "/api/v1/system/ssh-key", Padmin),
    ("POST", "/api/v1/system/trust", Padmin),
    // What another ivm host asks of this one as a migration's target, as the user it trusts.
    ("POST", "/api/v1/incoming/validate", Modify),
    ("POST", "/api/v1/incoming/prepare", Modify),
    ("GET", "/api/v1/incoming/{mid}", Modify),
    ("GET", "/api/v1/incoming/{mid}/stream", Modify),
    ("GET", "/api/v1/incoming/{mid}/nbd", Modify),
    ("POST", "/api/v1/incoming/{mid}/commit", Modify),
    ("POST", "/api/v1/incoming/{mid}/abort", Modify),
    ("GET", "/api/v1/storage", Viewer),
    ("POST", "/api/v1/storage/cfgdev", Modify),
    ("POST", "/api/v1/storage/pools", Modify),
    ("POST", "/api/v1/storage/vgpools", Modify),
    ("POST", "/api/v1/storage/vgpools/add", Modify),
    ("POST", "/api/v1/storage/vgpools/remove", Modify),
    ("DELETE", "/api/v1/storage/pools/{name}", Modify),
    ("POST", "/api/v1/storage/pools/{name}/default", Modify),
    ("POST", "/api/v1/storage/disks", Modify),
    ("PATCH", "/api/v1/storage/disks/{name}", Modify),
    ("DELETE", "/api/v1/storage/disks/{name}", Modify),
    ("PUT", "/api/v1/storage/disks/{name}/image", Modify),
    ("POST", "/api/v1/storage/mappings", Modify),
    ("DELETE", "/api/v1/storage/mappings/{name}", Modify),
    ("POST", "/api/v1/storage/repository", Modify),
    ("PATCH", "/api/v1/storage/repository", Modify),
    ("DELETE", "/api/v1/storage/repository", Modify),
    ("POST", "/api/v1/storage/media", Modify),
    ("PUT", "/api/v1/storage/media/{name}", Modify),
    ("PATCH", "/api/v1/storage/media/{name}", Modify),
    ("DELETE", "/api/v1/storage/media/{name}", Modify),
    ("POST", "/api/v1/storage/optical", Modify),
    ("POST", "/api/v1/storage/optical/{vtd}/load", Modify),
    ("POST", "/api/v1/storage/optical/{vtd}/unload", Modify),
    ("GET", "/api/v1/backup", Modify),
    ("GET", "/api/v1/backup/file", Modify),
    ("POST", "/api/v1/backup/restore", Modify),
    ("POST", "/api/v1/backup/clear", Modify),
    ("GET", "/api/v1/utilization", Viewer),
    ("GET", "/api/v1/utilization/series", Viewer),
    ("GET", "/api/v1/utilization/events", Viewer),
    ("GET", "/api/v1/utilization/config", Viewer),
    ("PUT", "/api/v1/utilization/config", Modify),
    ("GET", "/api/v1/network", Viewer),
    ("POST", "/api/v1/network/sea", Modify),
    ("DELETE", "/api/v1/network/devices/{name}", Modify),
    ("GET", "/api/v1/events", Viewer),
    ("GET", "/metrics", Viewer),
];

/// What [`ACCESS`] declares for a method and route pattern.
pub fn declared(method: &str, route: &str) -> Option<Access> {
    ACCESS
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, a)| *a)
}

/// Whether a request is a change that could come from another site's page: a browser sends
/// the session cookie with a cross-site form post, but cannot add a custom header or a JSON
/// content type to one. Bearer tokens and the Unix socket carry no ambient credential.
fn needs_csrf_proof(req: &Request) -> bool {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || req.extensions().get::<PeerIdentity>().is_some() {
        return false;
    }
    let h = req.headers();
    let bearer = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    let json = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    !(bearer || json || h.contains_key(CSRF_HEADER))
}

/// Middleware: finds the route's declaration, authenticates the caller once, refuses what its
/// role may not do, and hands the caller to the handler (its `Actor` extractor takes it).
pub async fn check(
    State(state): State<AppState>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    mut req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let Some(access) = declared(req.method().as_str(), &route) else {
        tracing::error!(method = %req.method(), route, "no authority declared for this route");
        return ApiError::from(ServiceError::Forbidden).into_response();
    };
    if access == Access::Anyone {
        return next.run(req).await;
    }
    let csrf_refused = needs_csrf_proof(&req);
    let method = req.method().clone();
    let (mut parts, body) = req.into_parts();
    let actor = match request_actor(&mut parts, &state).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if csrf_refused {
        return ApiError::rejected(
            axum::http::StatusCode::FORBIDDEN,
            "a change needs a JSON body or the X-IVM-Request header (cross-site requests are refused)",
        )
        .into_response();
    }
    let target = params.ok().and_then(|p| {
        p.iter()
            .find(|(k, _)| *k == "name")
            .map(|(_, v)| v.to_string())
    });
    if !state.svc.may(&actor, access, target.as_deref()) {
        // A refused change is in the task log, as IVM logs failed tasks; a refused look is not.
        if method != Method::GET {
            let operation = format!("{method} {route}");
            let target = target.unwrap_or_default();
            let _ = blocking(&state, move |svc| {
                svc.record_refusal(&actor, &operation, &target);
                Ok(())
            })
            .await;
        }
        return ApiError::from(ServiceError::Forbidden).into_response();
    }
    parts.extensions.insert(actor);
    req = Request::from_parts(parts, body);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_operation_is_declared_once() {
        let doc: serde_json::Value = serde_json::from_str(&super::super::openapi_json()).unwrap();
        let mut n = 0;
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                let m = method.to_uppercase();
                assert!(
                    declared(&m, path).is_some(),
                    "{m} {path} declares no authority in api/access.rs"
                );
                n += 1;
            }
        }
        for (i, (m, r, _)) in ACCESS.iter().enumerate() {
            assert!(
                !ACCESS[i + 1..].iter().any(|(m2, r2, _)| m2 == m && r2 == r),
                "{m} {r} declared twice"
            );
        }
        for (m, r, _) in ACCESS {
            let documented = doc["paths"][r]
                .as_object()
                .is_some_and(|ops| ops.contains_key(&m.to_lowercase()));
            assert!(documented, "{m} {r} is declared but not a documented route");
        }
        assert_eq!(n, ACCESS.len());
    }
}
