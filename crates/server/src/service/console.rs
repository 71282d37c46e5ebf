//! Virtual terminals: one session per partition at a time (`mkvt`, `rmvt`).

use std::path::PathBuf;
use std::sync::Arc;

use super::{Actor, Service, ServiceError};
use crate::runtime::Live;

/// The right to use a partition's console until dropped or closed by `rmvt`.
pub struct ConsoleLease {
    /// QEMU's console socket.
    pub socket: PathBuf,
    /// Becomes true when the session must end (rmvt, partition stopped).
    pub closed: tokio::sync::watch::Receiver<bool>,
    session: u64,
    live: Arc<Live>,
}

impl Drop for ConsoleLease {
    fn drop(&mut self) {
        self.live.release_console(self.session);
    }
}

impl Service {
    /// Opens the virtual terminal of a running partition; refused while another is open.
    pub fn open_console(&self, _actor: &Actor, id: u32) -> Result<ConsoleLease, ServiceError> {
        let p = self.partition(id)?;
        let live = self.runtime()?.get(id).ok_or_else(|| {
            ServiceError::from(ivm_rules::RuleError::NotRunning {
                name: p.name.clone(),
                state: p.state,
                why: ": its virtual terminal exists while it runs",
            })
        })?;
        let (session, closed) = live.claim_console().ok_or(ServiceError::ConsoleBusy)?;
        Ok(ConsoleLease {
            socket: live.paths.console(),
            closed,
            session,
            live,
        })
    }

    /// Forces a partition's virtual terminal session closed (`rmvt`).
    pub fn close_console(&self, _actor: &Actor, id: u32) -> Result<(), ServiceError> {
        self.partition(id)?;
        if let Some(live) = self.runtime()?.get(id) {
            live.close_console();
        }
        Ok(())
    }
}

impl Service {
    /// The running partition with a display adapter, for its screen.
    fn displayed(&self, id: u32) -> Result<Arc<Live>, ServiceError> {
        let p = self.partition(id)?;
        ivm_rules::check_display(&p)?;
        self.runtime()?.get(id).ok_or_else(|| {
            ServiceError::from(ivm_rules::RuleError::NotRunning {
                name: p.name.clone(),
                state: p.state,
                why: ": its screen exists while it runs",
            })
        })
    }

    /// The VNC socket of a running partition's display (any number of viewers share it).
    pub fn open_display(&self, _actor: &Actor, id: u32) -> Result<PathBuf, ServiceError> {
        Ok(self.displayed(id)?.paths.vnc())
    }

    /// What a running partition's display shows now, as a PNG.
    pub fn screenshot(&self, _actor: &Actor, id: u32) -> Result<Vec<u8>, ServiceError> {
        let live = self.displayed(id)?;
        ivm_qemu::vm::screendump_png(&live.qmp)
            .map_err(|e| crate::runtime::HostError::from(e).into())
    }
}

impl Service {
    /// Keeps every running partition's console log within `max` bytes (see `host::logs`).
    pub fn bound_console_logs(&self, max: u64) {
        let Some(rt) = self.runtime.as_ref() else {
            return;
        };
        for live in rt.all() {
            let log = live.paths.console_log();
            match ivm_host::logs::bound(&log, max) {
                Ok(true) => tracing::debug!(log = %log.display(), "console log rotated"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(log = %log.display(), error = %e, "cannot bound a console log")
                }
            }
        }
    }
}
