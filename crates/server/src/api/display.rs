//! The graphical console of a running partition with a display adapter: QEMU's VNC server
//! (on a Unix socket in the partition's directory) relayed over an authenticated WebSocket
//! for noVNC, and the screen as a PNG.

use axum::extract::ws::{Message, WebSocket};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::console::{revoked, same_origin};
use super::error::ErrorBody;
use super::extract::{ApiPath, ApiWebSocket};
use super::{blocking, ApiError, AppState};
use crate::service::Actor;

/// The display as a WebSocket carrying VNC (RFB) in binary frames both ways, for noVNC.
/// Several viewers may watch at once. A refused session is accepted and closed at once with
/// the reason, since browsers cannot read a refused upgrade: 4404 no such partition or not
/// running, 4403 not allowed, 4409 no display adapter.
#[utoipa::path(get, path = "/api/v1/partitions/{id}/display", tag = "console", operation_id = "display_websocket",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 101, description = "WebSocket carrying RFB follows"), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn websocket(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
    headers: axum::http::HeaderMap,
    ApiWebSocket(ws): ApiWebSocket,
) -> Result<Response, ApiError> {
    // As for the serial console: the session cookie rides along with any site's WebSocket.
    if !same_origin(&headers) {
        return Err(ApiError::rejected(
            StatusCode::FORBIDDEN,
            "the display WebSocket is opened only from ivm's own pages (the Origin does not match the Host)",
        ));
    }
    let a = actor.clone();
    let opened = match blocking(&state, move |svc| svc.open_display(&a, id)).await {
        Ok(socket) => UnixStream::connect(&socket)
            .await
            .map_err(ApiError::internal),
        Err(e) => Err(e),
    };
    match opened {
        Ok(vnc) => Ok(ws.on_upgrade(move |socket| async move {
            tokio::select! {
                () = pump(socket, vnc) => {}
                () = revoked(&state, actor) => {}
            }
        })),
        Err(e) => {
            let code = match (e.status(), e.kind()) {
                (StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED, _) => 4403,
                (StatusCode::NOT_FOUND, _) | (_, Some("not_running")) => 4404,
                (StatusCode::CONFLICT, _) => 4409,
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

/// Relays until either side closes (QEMU's socket closes when the partition stops).
async fn pump(mut ws: WebSocket, vnc: UnixStream) {
    let (mut from_vnc, mut to_vnc) = vnc.into_split();
    // A whole screen update is large: bigger reads mean fewer frames.
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            n = from_vnc.read(&mut buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => if ws.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() { break },
            },
            msg = ws.recv() => match msg {
                Some(Ok(Message::Binary(b))) => if to_vnc.write_all(&b).await.is_err() { break },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = ws.send(Message::Close(None)).await;
}

/// What the partition's display shows now, as a PNG (QEMU's own framebuffer).
#[utoipa::path(get, path = "/api/v1/partitions/{id}/screen", tag = "console",
    params(("id" = u32, Path, description = "Partition ID")),
    responses((status = 200, description = "the screen", content_type = "image/png", body = Vec<u8>),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn screen(
    State(state): State<AppState>,
    actor: Actor,
    ApiPath(id): ApiPath<u32>,
) -> Result<Response, ApiError> {
    let png = blocking(&state, move |svc| svc.screenshot(&actor, id)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    )
        .into_response())
}
