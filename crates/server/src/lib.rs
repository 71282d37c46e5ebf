//! The ivm daemon: the service layer and the interfaces that reach it.
//!
//! Requests come in over HTTPS (browser, scripts) or the local Unix socket (the IVM commands);
//! both reach the same axum router, whose handlers only translate to and from the service.
//! The service validates, checks authority, runs the pure rules inside one store transaction
//! and records every change in the task log.

pub mod api;
pub mod auth;
pub mod config;
pub mod daemon;
pub mod failpoint;
pub mod runtime;
pub mod service;
pub mod shell;
pub mod systemd;
pub mod timing;
mod tls;
mod unix;

pub use config::{DaemonConfig, Settings};
pub use daemon::serve;
pub use service::{Actor, Service, ServiceError};

/// The host's name for Unix user `uid` (from `/etc/passwd`).
pub fn host_user_name(uid: u32) -> Option<String> {
    ivm_host::users::unix_user_name(std::path::Path::new(config::HOST_ROOT), uid)
}
