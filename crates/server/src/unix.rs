//! The local Unix socket the IVM commands use. Each connection's peer credentials
//! (SO_PEERCRED) decide which ivm user it acts as; no password is needed on the host.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::UnixListener;
use tower::Layer;

use crate::api::PeerIdentity;
use crate::service::AuthError;

/// Binds the socket, replacing a stale one (the data-directory lock proves no daemon owns it).
pub(crate) fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e).with_context(|| format!("cannot remove stale socket {}", path.display()))
        }
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    // Anyone may connect; what a peer may do is decided by its Unix identity.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(listener)
}

/// Serves the router on the socket until the task is dropped.
pub(crate) async fn serve(listener: UnixListener, router: Router) -> anyhow::Result<()> {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors or a peer gone before accept: keep serving the others.
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept on the Unix socket");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let router = router.clone();
        tokio::spawn(async move {
            let identity = match stream.peer_cred() {
                Ok(cred) => {
                    let uid = cred.uid();
                    tokio::task::spawn_blocking(move || {
                        (
                            uid,
                            ivm_host::users::unix_user_name(
                                Path::new(crate::config::HOST_ROOT),
                                uid,
                            ),
                        )
                    })
                    .await
                    .map_err(|e| AuthError::NoPeerCredentials {
                        cause: e.to_string(),
                    })
                }
                Err(e) => Err(AuthError::NoPeerCredentials {
                    cause: e.to_string(),
                }),
            };
            let service = TowerToHyperService::new(Extension(PeerIdentity(identity)).layer(router));
            let mut builder = Builder::new(TokioExecutor::new());
            // A client that sends its headers slowly (or not at all) is cut off.
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(crate::daemon::HEADER_TIMEOUT);
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "unix connection ended with an error");
            }
        });
    }
}
