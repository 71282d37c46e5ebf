//! Request bodies streamed to the service as they arrive (media uploads, disk images): never
//! held in memory, refused before a byte is read when their length is not announced.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use futures_util::StreamExt;

use super::{ApiError, AppState};
use crate::service::{Service, ServiceError};

/// The chunks of a body, as the service's blocking writer takes them.
pub type Chunks<'a> = dyn FnMut() -> Option<Result<Vec<u8>, String>> + 'a;

/// Streams `body` (its Content-Length required: `why` says what it is needed for) into
/// `write`, which runs on a blocking thread with the announced length and the chunks.
pub async fn stream<T: Send + 'static>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    why: &str,
    write: impl FnOnce(&Service, u64, &mut Chunks<'_>) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    // Refused before a byte is read, so a View Only user cannot fill the disk either.
    let len = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::rejected(
                StatusCode::LENGTH_REQUIRED,
                format!("an upload needs Content-Length: {why}"),
            )
        })?;
    if len == 0 {
        return Err(ApiError::from(ServiceError::from(
            ivm_rules::RuleError::Upload(ivm_rules::UploadRefusal::Empty),
        )));
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, String>>(4);
    let svc = state.svc.clone();
    let mut writer =
        tokio::task::spawn_blocking(move || write(&svc, len, &mut || rx.blocking_recv()));
    let mut stream = body.into_data_stream();
    let done = loop {
        tokio::select! {
            // The writer stopped before the body ended (refused, no room, a write failed):
            // answer now rather than wait for a body nobody will read.
            done = &mut writer => break done,
            chunk = stream.next() => {
                let Some(chunk) = chunk else {
                    drop(tx);
                    break writer.await;
                };
                let item = chunk.map(|b| b.to_vec()).map_err(|e| e.to_string());
                if tx.send(item).await.is_err() {
                    break writer.await;
                }
            }
        }
    };
    done.map_err(ApiError::internal)?.map_err(ApiError::from)
}
