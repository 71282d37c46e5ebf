//! The serial console of a running partition: a raw upgraded stream for `mkvt`, a WebSocket
//! for the browser, and `rmvt` to force a session closed. One session at a time.

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::error::ErrorBody;
use super::extract::{ApiPath, ApiWebSocket};
use super::{blocking, ApiError, AppState};
use crate::service::{Actor, ConsoleLease};
use ivm_model::Access;

/// The protocol name of the raw terminal upgrade.
pub const TERMINAL_PROTOCOL: &str = "ivm-console";

async fn open(
    state: &AppState,
    actor: Actor,
    id: u32,
) -> Result<(ConsoleLease, UnixStream), ApiError> {
    let lease = blocking(state, move |svc| svc.open_console(&actor, id)).await?;
    let stream = UnixStream::connect(&lease.socket)
        .await
        .map_err(ApiError::internal)?;
    Ok((lease, stream))
}

/// Upgrades the connection to a raw byte stream to the console (`Upgrade: ivm-console`).
#[utoipa::path(get, path = "/api/v1/partitions/{id}/terminal", tag = "console",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 101, description = "raw console stream follows"), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn terminal(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    mut req: Request,
) -> Result<Response, ApiError> {
    let (lease, mut qemu) = open(&state, actor.clone(), id).await?;
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut client = TokioIo::new(upgraded);
        let mut closed = lease.closed.clone();
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut qemu) => {}
            _ = closed.changed() => {}
            () = revoked(&state, actor) => {}
        }
        let _ = client.shutdown().await;
        drop(lease);
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, TERMINAL_PROTOCOL)
        .body(Body::empty())
        .map_err(ApiError::internal)
}

/// The console as a WebSocket (binary frames both ways), for the browser. A refused session is
/// accepted and closed at once with the reason, since browsers cannot read a refused upgrade:
/// 4409 another session is open, 4404 no such partition or not running, 4403 not allowed.
#[utoipa::path(get, path = "/api/v1/partitions/{id}/console", tag = "console",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 101, description = "WebSocket follows"), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn websocket(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    headers: axum::http::HeaderMap,
    ApiWebSocket(ws): ApiWebSocket,
) -> Result<Response, ApiError> {
    // Browsers send the session cookie with a WebSocket opened by any site's page, and
    // SameSite does not cover every case: only the console's own origin may open one.
    if !same_origin(&headers) {
        return Err(ApiError::rejected(
            StatusCode::FORBIDDEN,
            "the console WebSocket is opened only from ivm's own pages (the Origin does not match the Host)",
        ));
    }
    match open(&state, actor.clone(), id).await {
        Ok((lease, qemu)) => Ok(ws.on_upgrade(move |socket| async move {
            tokio::select! {
                () = pump_websocket(socket, qemu, lease) => {}
                () = revoked(&state, actor) => {}
            }
        })),
        Err(e) => {
            let code = match (e.status(), e.kind()) {
                (_, Some("console_busy")) => 4409,
                (StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED, _) => 4403,
                (StatusCode::NOT_FOUND, _) | (_, Some("not_running")) => 4404,
                _ => 4500,
            };
            let reason = e.message().chars().take(120).collect::<String>();
            Ok(ws.on_upgrade(move |mut socket| async move {
                let frame = axum::extract::ws::CloseFrame {
                    code,
                    reason: reason.into(),
                };
                let _ = socket.send(Message::Close(Some(frame))).await;
            }))
        }
    }
}

/// Whether the request's `Origin` (when it has one: browsers always send it on a WebSocket)
/// names the host it was sent to.
pub(super) fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.strip_prefix("https://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// How often an open console asks whether its user may still use it.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Returns once the actor may no longer use a console (removed, role lowered to View Only,
/// session ended); the relay then closes.
pub(super) async fn revoked(state: &AppState, actor: Actor) {
    let mut tick = tokio::time::interval(RECHECK);
    loop {
        tick.tick().await;
        let a = actor.clone();
        match blocking(state, move |svc| svc.still_may(&a, Access::Console)).await {
            Ok(true) => {}
            Ok(false) => return,
            // A store that cannot answer says nothing either way: ask again at the next tick.
            Err(e) => tracing::warn!(error = %e.message(), "cannot re-check a console's user"),
        }
    }
}

async fn pump_websocket(mut ws: WebSocket, qemu: UnixStream, lease: ConsoleLease) {
    let (mut from_qemu, mut to_qemu) = qemu.into_split();
    let mut closed = lease.closed.clone();
    let mut buf = vec![0u8; 4096];
    loop {
        tokio::select! {
            n = from_qemu.read(&mut buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => if ws.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() { break },
            },
            msg = ws.recv() => match msg {
                Some(Ok(Message::Binary(b))) => if to_qemu.write_all(&b).await.is_err() { break },
                Some(Ok(Message::Text(t))) => if to_qemu.write_all(t.as_bytes()).await.is_err() { break },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = closed.changed() => break,
        }
    }
    let _ = ws.send(Message::Close(None)).await;
    drop(lease);
}

/// Forces the open console session closed (`rmvt`).
#[utoipa::path(delete, path = "/api/v1/partitions/{id}/console", tag = "console",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
) -> Result<StatusCode, ApiError> {
    blocking(&state, move |svc| svc.close_console(&actor, id))
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_consoles_own_origin_opens_a_websocket() {
        let h = |origin: Option<&str>, host: &str| {
            let mut m = axum::http::HeaderMap::new();
            m.insert(header::HOST, host.parse().unwrap());
            if let Some(o) = origin {
                m.insert(header::ORIGIN, o.parse().unwrap());
            }
            same_origin(&m)
        };
        assert!(h(Some("https://ivm.example:8443"), "ivm.example:8443"));
        assert!(h(None, "ivm.example:8443"), "not a browser");
        assert!(!h(Some("https://evil.example"), "ivm.example:8443"));
        assert!(!h(Some("http://ivm.example:8443"), "ivm.example:8443"));
        assert!(!h(Some("null"), "ivm.example:8443"));
    }
}
