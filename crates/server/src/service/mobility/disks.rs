//! Local virtual disks copied while the partition runs: on the target each disk is made (same
//! name and size, in its default pool) and served over NBD by the arriving QEMU; on the source
//! QEMU mirrors each into it through an SSH session of its own, until every mirror is in step.
//! After the memory stream ends (the guest paused) each mirror is ended with the target in step.

use std::os::unix::net::UnixStream;
use std::process::Child;
use std::time::{Duration, Instant};

use ivm_host::ssh::{Identity, Peer};
use ivm_model::{Migration, MigrationState, OfferedDisk};
use ivm_qemu::migration;
use ivm_rules::RuleError;

use crate::runtime::{HostError, Live};
use crate::service::{Service, ServiceError};

/// How often a mirror's progress is read.
const POLL: Duration = Duration::from_millis(50);

/// The SSH sessions that carry the mirrors; ended (killed) when dropped.
pub(super) struct Mirrors(Vec<Child>);

impl Drop for Mirrors {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Service {
    /// Source side: starts every disk's mirror and waits until all are in step (the guest
    /// writing meanwhile). On failure every mirror started is abandoned.
    pub(super) fn copy_disks(
        &self,
        live: &Live,
        ident: &Identity,
        peer: &Peer,
        m: &mut Migration,
        disks: &[OfferedDisk],
    ) -> Result<Mirrors, ServiceError> {
        let mut mirrors = Mirrors(Vec::new());
        let abandon = |started: &[OfferedDisk]| {
            for d in started {
                let _ = migration::end_mirror(&live.qmp, &d.vtd);
            }
        };
        for (i, d) in disks.iter().enumerate() {
            let (qemu_end, ssh_end) = UnixStream::pair().map_err(|e| HostError::Io {
                action: "make a socket pair for",
                path: format!("the copy of {}", d.name).into(),
                source: e,
            })?;
            let child = ident
                .spawn_stream(
                    peer,
                    &format!("migrlpar --incoming nbd --mid {}", m.id),
                    ssh_end,
                )
                .map_err(|e| {
                    abandon(&disks[..i]);
                    HostError::from(e)
                })?;
            mirrors.0.push(child);
            if let Err(e) = migration::start_mirror(&live.qmp, &d.vtd, &qemu_end) {
                abandon(&disks[..i]);
                let session = mirrors.0.last_mut().map(|c| {
                    let _ = c.kill();
                    ivm_host::ssh::stream_error(c)
                });
                return Err(HostError::Failed(format!(
                    "cannot copy virtual disk {}: {e}{}",
                    d.name,
                    session
                        .filter(|s| !s.is_empty())
                        .map(|s| format!(" (the target said: {s})"))
                        .unwrap_or_default()
                ))
                .into());
            }
        }
        let mut recorded = Instant::now();
        loop {
            let (mut done, mut total, mut ready) = (0u64, 0u64, true);
            for d in disks {
                match migration::mirror(&live.qmp, &d.vtd) {
                    Ok(Some(p)) => {
                        done += p.offset;
                        total += p.len;
                        ready &= p.ready;
                    }
                    Ok(None) => {
                        abandon(disks);
                        return Err(HostError::Failed(format!(
                            "the copy of virtual disk {} ended before it was in step with the target",
                            d.name
                        ))
                        .into());
                    }
                    Err(e) => {
                        abandon(disks);
                        return Err(HostError::from(e).into());
                    }
                }
            }
            if ready {
                return Ok(mirrors);
            }
            if self.mobility.take_stop(m.lpar_id) {
                abandon(disks);
                return Err(RuleError::NotMigrating {
                    name: format!(
                        "{}: the migration was stopped; it keeps running here",
                        m.lpar_id
                    ),
                }
                .into());
            }
            if recorded.elapsed() >= Duration::from_millis(500) {
                m.state = MigrationState::InProgress;
                m.bytes_transmitted = done;
                m.bytes_remaining = total.saturating_sub(done);
                self.note_migration(m);
                recorded = Instant::now();
            }
            std::thread::sleep(POLL);
        }
    }

    /// Source side, the guest paused: ends every mirror with the target in step.
    pub(super) fn finish_disks(
        &self,
        live: &Live,
        disks: &[OfferedDisk],
        mirrors: Mirrors,
    ) -> Result<(), ServiceError> {
        let mut first_error = None;
        for d in disks {
            if let Err(e) = migration::end_mirror(&live.qmp, &d.vtd) {
                first_error.get_or_insert(e);
            }
        }
        drop(mirrors);
        match first_error {
            Some(e) => Err(HostError::from(e).into()),
            None => Ok(()),
        }
    }
}
