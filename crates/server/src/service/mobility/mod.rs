//! Partition mobility between ivm hosts: the trust between them (`mkauthkeys`), the source's
//! side (`migrlpar -o v|m|s|r`) and the target's (what the source asks over SSH through the
//! target's restricted shell: `migrlpar --incoming OP`).
//!
//! The one commit point: the target records that it owns the partition, then resumes it; the
//! source keeps its paused copy able to resume until the target says so. A source that cannot
//! learn which happened leaves its copy paused (`Migration Recovery Required`) and `-o r` asks
//! again, so the partition never runs on two hosts.

mod disks;
mod source;
mod target;
mod trust;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ivm_model::{Migration, MigrationState, MigrationView, MobilityView, PartitionState};

use super::{Service, ServiceError};

pub use target::IncomingOp;

/// How many migrations of each kind this host runs at once.
pub const MIGRATIONS_SUPPORTED: u32 = 4;

/// What the mobility component keeps beside the store.
#[derive(Default)]
pub struct Mobility {
    /// Outgoing migrations asked to stop (`migrlpar -o s`), by partition.
    stops: Mutex<HashSet<u32>>,
    /// One lock per incoming migration: commit and abort never interleave.
    incoming: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Mobility {
    fn incoming_lock(&self, id: &str) -> Arc<Mutex<()>> {
        self.incoming
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_string())
            .or_default()
            .clone()
    }

    fn take_stop(&self, lpar: u32) -> bool {
        self.stops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&lpar)
    }
}

impl Service {
    /// `lslparmigr -r lpar`: every client partition and where its migration stands.
    pub fn migration_views(&self) -> Result<Vec<MigrationView>, ServiceError> {
        let (parts, moves) = self
            .store
            .read(|tx| Ok::<_, ServiceError>((tx.partitions()?, tx.migrations()?)))?;
        Ok(parts
            .into_iter()
            .filter(|p| !p.is_management())
            .map(|p| {
                let m = moves
                    .iter()
                    .map(|r| &r.migration)
                    .find(|m| m.lpar_id == p.lpar_id && m.state != MigrationState::NotMigrating)
                    .cloned();
                MigrationView {
                    name: p.name,
                    lpar_id: p.lpar_id,
                    migration_state: m.as_ref().map_or(MigrationState::NotMigrating, |m| m.state),
                    migration: m,
                }
            })
            .collect())
    }

    /// `lslparmigr -r sys`.
    pub fn mobility_view(&self) -> Result<MobilityView, ServiceError> {
        let moves = self.store.read(|tx| tx.migrations())?;
        let running = |kind| {
            moves
                .iter()
                .filter(|r| {
                    r.migration.kind == kind && r.migration.state != MigrationState::NotMigrating
                })
                .count() as u32
        };
        Ok(MobilityView {
            inactive_capable: true,
            active_capable: self.runtime.is_some(),
            migrations_supported: MIGRATIONS_SUPPORTED,
            inactive_in_progress: running(ivm_model::MigrationKind::Inactive),
            active_in_progress: running(ivm_model::MigrationKind::Active),
        })
    }

    /// Records a migration's new figures or state (advice for lslparmigr: a failed write
    /// never fails the migration).
    fn note_migration(&self, m: &Migration) {
        let _ = self.store.write(|tx| match tx.migration(&m.id)? {
            Some(mut r) => {
                r.migration = m.clone();
                tx.put_migration(&r)
            }
            None => Ok(()),
        });
    }

    /// After a restart: an outgoing migration the daemon that drove it left unfinished needs
    /// `migrlpar -o r` (the source's QEMU, if still sending, stops sending: the stream died
    /// with that daemon). The target's reservations wait for the source.
    pub(super) fn resume_migrations(&self) {
        let Ok(moves) = self.store.read(|tx| tx.migrations()) else {
            return;
        };
        for r in moves {
            let mut m = r.migration;
            if !m.outgoing || m.state == MigrationState::NotMigrating {
                continue;
            }
            if let Some(live) = self.runtime.as_ref().and_then(|rt| rt.get(m.lpar_id)) {
                if ivm_qemu::migration::progress(&live.qmp).is_ok_and(|p| !p.ended()) {
                    let _ = ivm_qemu::migration::cancel(&live.qmp);
                }
            }
            tracing::warn!(lpar = m.lpar_id, migration = %m.id, "a migration was cut short; migrlpar -o r decides where the partition runs");
            m.state = MigrationState::RecoveryNeeded;
            self.note_migration(&m);
        }
    }

    /// Stops a partition's QEMU at once (QMP `quit`, SIGKILL after 10 s) and forgets it here:
    /// its CPUs, and bridges nothing uses now. The caller holds the partition's lock, so the
    /// exit handler finds it reaped already.
    fn end_qemu(&self, rt: &crate::runtime::Runtime, live: &crate::runtime::Live) {
        let _ = ivm_qemu::vm::quit(&live.qmp);
        let qmp = live.paths.qmp();
        let wait = std::time::Duration::from_secs(10);
        if !ivm_qemu::process::wait_gone(live.pid, &qmp, wait) {
            ivm_qemu::process::kill(live.pid, &qmp, wait);
        }
        rt.reap(live.id, live.pid);
        self.cpus.leave(rt, live.id);
        self.sweep_bridges();
    }

    /// The state a partition in `state` goes back to when its migration ends without moving it.
    fn settled(state: PartitionState) -> PartitionState {
        match state {
            PartitionState::MigratingRunning => PartitionState::Running,
            PartitionState::MigratingNotActivated => PartitionState::NotActivated,
            s => s,
        }
    }
}

/// A new migration identifier: unique across hosts and restarts.
fn new_migration_id() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

/// Whether `id` can be a migration identifier ivm made (so it can go into a remote command).
pub fn valid_migration_id(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
