//! The source's side: `migrlpar -o v|m|s|r`. The target is asked over SSH (through its
//! restricted shell, as the trusted user); the memory stream runs inside an SSH session of its
//! own, handed to QEMU as a descriptor, so no port is opened on either host.

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use ivm_host::ssh::{Identity, Peer};
use ivm_model::{
    IncomingStatus, MachineShape, Migration, MigrationAccept, MigrationFigures, MigrationKind,
    MigrationOffer, MigrationRequest, MigrationState, OfferedDisk, Partition, PartitionState,
};
use ivm_qemu::{migration, vm};
use ivm_rules::RuleError;
use ivm_store::MobilityRecord;

use super::target::IncomingOp;
use super::trust::REMOTE_TIMEOUT;
use crate::runtime::{HostError, Live, Runtime};
use crate::service::{now_ms, Actor, Service, ServiceError};

/// How often the source reads QEMU's progress (and records it for lslparmigr).
const POLL: Duration = Duration::from_millis(50);
/// How often the figures are written to the store.
const RECORD_EVERY: Duration = Duration::from_millis(500);

/// A remote step's failure: the other ivm's own message when it answered, else no trust.
fn remote_error(peer: &Peer, ip: &str, e: ivm_host::ssh::SshError) -> ServiceError {
    match e {
        ivm_host::ssh::SshError::Remote(message) => RuleError::RemoteRefusal {
            ip: ip.to_string(),
            message,
        }
        .into(),
        e => Service::no_trust(peer, ip, e),
    }
}

impl Service {
    /// Runs `migrlpar --incoming OP` on the target with `body` as JSON on its input; decodes
    /// what it prints.
    fn remote<T: serde::de::DeserializeOwned>(
        id: &Identity,
        peer: &Peer,
        ip: &str,
        op: IncomingOp,
        mid: Option<&str>,
        body: Option<&MigrationOffer>,
    ) -> Result<T, ServiceError> {
        let cmd = match mid {
            Some(m) => format!("migrlpar --incoming {} --mid {m}", op.as_str()),
            None => format!("migrlpar --incoming {}", op.as_str()),
        };
        let input = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| HostError::Failed(e.to_string()))?,
            None => Vec::new(),
        };
        let out = id
            .run(peer, &cmd, &input, REMOTE_TIMEOUT)
            .map_err(|e| remote_error(peer, ip, e))?;
        let text = if out.iter().all(u8::is_ascii_whitespace) {
            b"null".to_vec()
        } else {
            out
        };
        serde_json::from_slice(&text).map_err(|e| {
            HostError::Failed(format!(
                "the target's ivm answered {op:?} with something this ivm cannot read ({e}); are both hosts at the same ivm version?"
            ))
            .into()
        })
    }

    /// What the running QEMU has now, for the target to make the same.
    fn shape_of(
        &self,
        rt: &Runtime,
        live: &Live,
        p: &Partition,
    ) -> Result<MachineShape, ServiceError> {
        let host = |e| ServiceError::from(HostError::from(e));
        let limits = match self.store.read(|tx| tx.run(p.lpar_id))? {
            Some(r) if r.pending.is_some() => {
                return Err(RuleError::InterruptedChange {
                    name: p.name.clone(),
                }
                .into())
            }
            Some(r) => r.limits,
            None => ivm_rules::launch_limits(p, rt.env.accel),
        };
        Ok(MachineShape {
            vcpus: vm::vcpus(&live.qmp).map_err(host)?,
            boot_mem_mb: live.boot_mem_mb,
            plugged_mem_mb: vm::plugged_mem_mb(&live.qmp).map_err(host)?,
            balloon: live.balloon,
            limits,
            accel: rt.env.accel,
        })
    }

    /// A boot file as the target finds it: its name in the boot directory.
    fn boot_name(&self, path: &str) -> String {
        let dir = self
            .boot_dir
            .canonicalize()
            .unwrap_or(self.boot_dir.clone());
        std::path::Path::new(path)
            .strip_prefix(&dir)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| path.to_string())
    }

    /// `migrlpar -o v|m`: validates the move with the target, and (unless validating only)
    /// moves the partition. Returns where it went.
    pub fn migrate(
        &self,
        actor: &Actor,
        req: &MigrationRequest,
    ) -> Result<MigrationAccept, ServiceError> {
        let peer = Self::peer(&req.ip, &req.user)?;
        let id = req.lpar_id;
        let op = if req.validate_only {
            "validate partition migration"
        } else {
            "migrate partition"
        };
        self.logged(actor, op, &format!("lpar {id}"), || {
            let ident = self.ssh_identity()?;
            let rt = self.runtime()?.clone();
            // One change to a partition at a time, a migration included.
            let lock = rt.partition_lock(id);
            let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
            let p = self.partition(id)?;
            let (kind, moved_disks) = self.store.read(|tx| {
                let optical: Vec<String> = tx
                    .optical_devices()?
                    .into_iter()
                    .filter(|o| o.lpar_id == id)
                    .map(|o| o.vtd)
                    .collect();
                ivm_rules::migration_kind(
                    &p,
                    &tx.mappings()?,
                    &optical,
                    (&tx.pools()?, &tx.disks()?),
                )
                .map_err(ServiceError::from)
            })?;
            let live = match kind {
                MigrationKind::Active => Some(rt.get(id).ok_or_else(|| {
                    HostError::Failed(format!(
                        "partition {id} is Running but its QEMU is not attached"
                    ))
                })?),
                MigrationKind::Inactive => None,
            };
            let shape = live
                .as_ref()
                .map(|l| self.shape_of(&rt, l, &p))
                .transpose()?;
            let mut offered = p.clone();
            offered.run = None;
            offered.boot.boot_kernel = self.boot_name(&p.boot.boot_kernel);
            offered.boot.boot_initrd = self.boot_name(&p.boot.boot_initrd);
            let mid = super::new_migration_id();
            let offer = MigrationOffer {
                migration_id: mid.clone(),
                source_system: self.system.name.clone(),
                partition: offered,
                shape,
                dest_lpar_id: req.dest_lpar_id,
                target_system: req.target_system.clone(),
                disks: moved_disks.clone(),
            };
            let done_target = |a: &MigrationAccept| {
                format!(
                    "lpar {id} ({}) to {} as lpar {}",
                    p.name, a.system, a.lpar_id
                )
            };
            if req.validate_only {
                let a: MigrationAccept = Self::remote(
                    &ident,
                    &peer,
                    &req.ip,
                    IncomingOp::Validate,
                    None,
                    Some(&offer),
                )?;
                let t = done_target(&a);
                return Ok((a, t));
            }
            // Reserved here first: nothing else changes the partition while it moves.
            let moving = match kind {
                MigrationKind::Active => PartitionState::MigratingRunning,
                MigrationKind::Inactive => PartitionState::MigratingNotActivated,
            };
            let mut m = Migration {
                id: mid.clone(),
                kind,
                outgoing: true,
                lpar_id: id,
                peer_ip: req.ip.clone(),
                peer_user: req.user.clone(),
                source_system: self.system.name.clone(),
                dest_system: req.target_system.clone().unwrap_or_default(),
                dest_lpar_id: 0,
                state: MigrationState::Starting,
                bytes_transmitted: 0,
                bytes_remaining: 0,
                passes: 0,
                expected_downtime_ms: 0,
                started_ms: now_ms(),
                disks: moved_disks.iter().map(|d| d.name.clone()).collect(),
                shared_disks: Vec::new(),
            };
            self.store.write(|tx| {
                let cur = tx
                    .partition(id)?
                    .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
                if cur.state != p.state {
                    return Err(RuleError::NotSettled {
                        name: cur.name,
                        state: cur.state.to_string(),
                    }
                    .into());
                }
                tx.delete_migrations_of(id)?;
                tx.put_migration(&MobilityRecord {
                    migration: m.clone(),
                    prior_state: cur.state,
                })?;
                tx.set_partition_state(id, moving, "", now_ms())?;
                Ok::<_, ServiceError>(())
            })?;
            // A stop asked of an earlier move that ended before it was seen is not this one's.
            self.mobility.take_stop(id);
            let settle = |state: PartitionState| {
                let _ = self.store.write(|tx| {
                    tx.delete_migration(&mid)?;
                    tx.set_partition_state(id, state, "", now_ms())
                });
            };
            let accept: MigrationAccept = match Self::remote(
                &ident,
                &peer,
                &req.ip,
                IncomingOp::Prepare,
                None,
                Some(&offer),
            ) {
                Ok(a) => a,
                Err(e) => {
                    settle(p.state);
                    return Err(e);
                }
            };
            m.dest_system = accept.system.clone();
            m.dest_lpar_id = accept.lpar_id;
            m.state = MigrationState::InProgress;
            self.note_migration(&m);
            let t = done_target(&accept);
            match live {
                None => {
                    let committed: Result<serde_json::Value, _> =
                        Self::remote(&ident, &peer, &req.ip, IncomingOp::Commit, Some(&mid), None);
                    match committed {
                        Ok(_) => self.retire(&rt, None, id)?,
                        Err(e) => {
                            let _: Result<serde_json::Value, _> = Self::remote(
                                &ident,
                                &peer,
                                &req.ip,
                                IncomingOp::Abort,
                                Some(&mid),
                                None,
                            );
                            settle(p.state);
                            return Err(e);
                        }
                    }
                }
                Some(live) => {
                    let f = self.send_active(
                        &rt,
                        &live,
                        (&ident, &peer, &req.ip),
                        &mut m,
                        &offer.disks,
                    )?;
                    let t = format!(
                        "{t}: {} ms, pause {} ms, {} bytes in {} passes",
                        f.total_ms, f.switch_ms, f.bytes, f.passes
                    );
                    let mut accept = accept;
                    accept.figures = Some(f);
                    return Ok((accept, t));
                }
            }
            Ok((accept, t))
        })
    }

    /// Sends the running guest, then the one commit point: the target records that it owns the
    /// partition and resumes it; only then does the source's copy go. The caller holds the
    /// partition's lock.
    fn send_active(
        &self,
        rt: &std::sync::Arc<Runtime>,
        live: &std::sync::Arc<Live>,
        (ident, peer, ip): (&Identity, &Peer, &str),
        m: &mut Migration,
        disks: &[OfferedDisk],
    ) -> Result<MigrationFigures, ServiceError> {
        // Disks on shared storage are not copied: the target opens the same images.
        let copied: Vec<OfferedDisk> = disks
            .iter()
            .filter(|d| d.shared.is_none())
            .cloned()
            .collect();
        let disks = copied.as_slice();
        let id = m.lpar_id;
        let mid = m.id.clone();
        let back_to_running = |why: ServiceError| {
            let _ = self.store.write(|tx| {
                tx.delete_migration(&mid)?;
                tx.set_partition_state(id, PartitionState::Running, "", now_ms())
            });
            why
        };
        let abort_remote = || {
            let r: Result<serde_json::Value, _> =
                Self::remote(ident, peer, ip, IncomingOp::Abort, Some(&mid), None);
            if let Err(e) = &r {
                tracing::warn!(lpar = id, error = %e, "the target did not give its reservation back; migrlpar -o r on it does");
            }
            r.is_ok()
        };
        // The disks first: the memory moves once every disk's copy is in step.
        let mirrors = match self.copy_disks(live, ident, peer, m, disks) {
            Ok(mirrors) => mirrors,
            Err(e) => {
                abort_remote();
                return Err(back_to_running(e));
            }
        };
        let (qemu_end, ssh_end) = UnixStream::pair().map_err(|e| HostError::Io {
            action: "make a socket pair for",
            path: "the migration stream".into(),
            source: e,
        })?;
        let mut child = match ident.spawn_stream(
            peer,
            &format!("migrlpar --incoming stream --mid {mid}"),
            ssh_end,
        ) {
            Ok(c) => c,
            Err(e) => {
                abort_remote();
                return Err(back_to_running(HostError::from(e).into()));
            }
        };
        let end_stream = |child: &mut std::process::Child| {
            let _ = child.kill();
            let _ = child.wait();
        };
        if let Err(e) = crate::failpoint::hit("migrate.send") {
            end_stream(&mut child);
            abort_remote();
            return Err(back_to_running(HostError::from(e).into()));
        }
        if let Err(e) = migration::start_outgoing(&live.qmp, &qemu_end) {
            end_stream(&mut child);
            abort_remote();
            return Err(back_to_running(HostError::from(e).into()));
        }
        drop(qemu_end);
        let mut recorded = Instant::now();
        let mut stopping = false;
        let progress = loop {
            let p = match migration::progress(&live.qmp) {
                Ok(p) => p,
                Err(e) => break Err(e),
            };
            m.bytes_transmitted = p.transferred;
            m.bytes_remaining = p.remaining;
            m.passes = p.passes;
            m.expected_downtime_ms = p.expected_downtime_ms;
            if p.ended() {
                break Ok(p);
            }
            if !stopping && self.mobility.take_stop(id) {
                stopping = true;
                m.state = MigrationState::Stopping;
                let _ = migration::cancel(&live.qmp);
                self.note_migration(m);
            }
            if recorded.elapsed() >= RECORD_EVERY {
                self.note_migration(m);
                recorded = Instant::now();
            }
            std::thread::sleep(POLL);
        };
        let progress = match progress {
            Ok(p) if p.status == "completed" => p,
            other => {
                let why = match other {
                    Ok(p) => format!(
                        "the migration {}: {}",
                        p.status,
                        p.error
                            .unwrap_or_else(|| ivm_host::ssh::stream_error(&mut child))
                    ),
                    Err(e) => format!("QEMU stopped answering during the migration: {e}"),
                };
                end_stream(&mut child);
                for d in disks {
                    let _ = migration::end_mirror(&live.qmp, &d.vtd);
                }
                drop(mirrors);
                abort_remote();
                // The guest kept running here all along; a QEMU that ended meanwhile is
                // recorded by the exit handler once the lock is released.
                let _ = back_to_running(HostError::Failed(String::new()).into());
                return Err(if stopping {
                    RuleError::NotMigrating {
                        name: format!("{id}: the migration was stopped; it keeps running here"),
                    }
                    .into()
                } else {
                    HostError::Failed(format!("{why}; the partition keeps running here")).into()
                });
            }
        };
        tracing::info!(
            lpar = id,
            total_ms = progress.total_ms,
            downtime_ms = progress.downtime_ms,
            bytes = progress.transferred,
            passes = progress.passes,
            "memory sent; asking the target to take over"
        );
        let sent_at = Instant::now();
        m.bytes_remaining = 0;
        self.note_migration(m);
        // The guest is paused: its disks' last writes reach the target before it takes over.
        if let Err(e) = self.finish_disks(live, disks, mirrors) {
            end_stream(&mut child);
            abort_remote();
            self.resume_here(live, m)?;
            return Err(HostError::Failed(format!(
                "the disks' copy did not end in step ({e}); the partition runs here again"
            ))
            .into());
        }
        // The commit point.
        let committed: Result<serde_json::Value, ServiceError> =
            crate::failpoint::hit("migrate.commit")
                .map_err(|e| HostError::from(e).into())
                .and_then(|()| Self::remote(ident, peer, ip, IncomingOp::Commit, Some(&mid), None));
        end_stream(&mut child);
        let figures = MigrationFigures {
            total_ms: progress.total_ms,
            downtime_ms: progress.downtime_ms,
            bytes: progress.transferred,
            passes: progress.passes,
            switch_ms: progress.downtime_ms + sent_at.elapsed().as_millis() as u64,
        };
        match committed {
            Ok(_) => {
                crate::failpoint::hit("migrate.retire").map_err(HostError::from)?;
                self.retire(rt, Some(live), id)?;
            }
            Err(e) => self.after_failed_commit(rt, live, ident, peer, ip, m, e)?,
        }
        Ok(figures)
    }

    /// The commit's answer did not come: ask what the target has. It owns the partition (the
    /// answer was lost): the source's copy goes. It does not (and gives its reservation back):
    /// the source resumes. No answer: the source stays paused for `migrlpar -o r`.
    #[allow(clippy::too_many_arguments)]
    fn after_failed_commit(
        &self,
        rt: &std::sync::Arc<Runtime>,
        live: &std::sync::Arc<Live>,
        ident: &Identity,
        peer: &Peer,
        ip: &str,
        m: &mut Migration,
        e: ServiceError,
    ) -> Result<(), ServiceError> {
        let status: Result<IncomingStatus, _> =
            Self::remote(ident, peer, ip, IncomingOp::Status, Some(&m.id), None);
        match status.as_ref().map(|s| s.status.as_str()) {
            Ok("owned") => self.retire(rt, Some(live), m.lpar_id),
            Ok(_) => {
                let aborted: Result<serde_json::Value, _> =
                    Self::remote(ident, peer, ip, IncomingOp::Abort, Some(&m.id), None);
                if aborted.is_ok() {
                    self.resume_here(live, m)?;
                    Err(HostError::Failed(format!(
                        "the target did not take the partition over ({e}); it runs here again"
                    ))
                    .into())
                } else {
                    self.needs_recovery(m);
                    Err(e)
                }
            }
            Err(_) => {
                self.needs_recovery(m);
                Err(HostError::Failed(format!(
                    "the target did not confirm that it took the partition over ({e}); the partition stays paused here until migrlpar -o r decides where it runs"
                ))
                .into())
            }
        }
    }

    fn needs_recovery(&self, m: &mut Migration) {
        m.state = MigrationState::RecoveryNeeded;
        self.note_migration(m);
    }

    /// The source's paused copy runs again and the migration is forgotten.
    fn resume_here(&self, live: &Live, m: &Migration) -> Result<(), ServiceError> {
        vm::cont(&live.qmp).map_err(HostError::from)?;
        self.store.write(|tx| {
            tx.delete_migration(&m.id)?;
            tx.set_partition_state(m.lpar_id, PartitionState::Running, "", now_ms())
        })?;
        Ok(())
    }

    /// The partition now lives on the target: the source's QEMU (if any) stops and the
    /// partition is removed here. The caller holds the partition's lock.
    fn retire(
        &self,
        rt: &std::sync::Arc<Runtime>,
        live: Option<&std::sync::Arc<Live>>,
        id: u32,
    ) -> Result<(), ServiceError> {
        if let Some(live) = live {
            self.end_qemu(rt, live);
        }
        let record = self
            .store
            .read(|tx| tx.migration_of(id))?
            .filter(|r| r.migration.outgoing);
        let dest = record
            .as_ref()
            .map(|r| r.migration.dest_system.clone())
            .unwrap_or_default();
        let moved: Vec<String> = record.map(|r| r.migration.disks).unwrap_or_default();
        // Its mappings go with it (a cascading delete), then the disks that moved. Its MAC
        // base is still on the network, from the target: no new partition here gets it.
        self.store.write(|tx| {
            if let Some(p) = tx.partition(id)? {
                tx.put_departed_mac(&p.eth.virtual_eth_mac_base_value, &p.name, &dest)?;
            }
            tx.delete_migrations_of(id)?;
            tx.delete_run(id)?;
            tx.delete_partition(id)?;
            Ok::<_, ServiceError>(())
        })?;
        for name in moved {
            // A disk on shared storage is the target's now: only its record goes.
            if self.is_shared_disk(&name) {
                self.forget_disks(std::slice::from_ref(&name));
                continue;
            }
            if let Err(e) = self.remove_disk(&Actor::system(), &name, false) {
                tracing::warn!(disk = %name, error = %e, "a virtual disk that moved stays here; remove it with rmbdsp");
            }
        }
        Ok(())
    }

    /// `migrlpar -o s`: stops partition `id`'s outgoing migration (it keeps running here).
    pub fn stop_migration(&self, actor: &Actor, id: u32) -> Result<(), ServiceError> {
        self.logged(
            actor,
            "stop partition migration",
            &format!("lpar {id}"),
            || {
                let p = self.partition(id)?;
                match self.store.read(|tx| tx.migration_of(id))? {
                    Some(r)
                        if r.migration.outgoing
                            && r.migration.state == MigrationState::InProgress =>
                    {
                        self.mobility
                            .stops
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(id);
                        Ok(((), format!("lpar {id} ({})", p.name)))
                    }
                    _ => Err(RuleError::NotMigrating { name: p.name }.into()),
                }
            },
        )
    }

    /// `migrlpar -o r`: decides where a partition whose migration was cut short runs. On the
    /// source: the target is asked; if it took the partition over the source's copy goes,
    /// else the target gives its reservation back and the source's copy runs on. On the
    /// target: a reservation it never took over is given back (the source still has the
    /// partition).
    pub fn recover_migration(&self, actor: &Actor, id: u32) -> Result<(), ServiceError> {
        let rt = self.runtime()?.clone();
        let p = self.partition(id)?;
        let r = self
            .store
            .read(|tx| tx.migration_of(id))?
            .filter(|r| r.migration.state != MigrationState::NotMigrating)
            .ok_or_else(|| RuleError::NotMigrating {
                name: p.name.clone(),
            })?;
        if !r.migration.outgoing {
            return self.incoming_abort(actor, &r.migration.id);
        }
        self.logged(
            actor,
            "recover partition migration",
            &format!("lpar {id}"),
            || {
                let lock = rt.partition_lock(id);
                let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
                let m = r.migration.clone();
                let peer = Self::peer(&m.peer_ip, &m.peer_user)?;
                let ident = self.ssh_identity()?;
                let status: IncomingStatus = Self::remote(
                    &ident,
                    &peer,
                    &m.peer_ip,
                    IncomingOp::Status,
                    Some(&m.id),
                    None,
                )?;
                let live = rt.get(id);
                if status.status == "owned" {
                    self.retire(&rt, live.as_ref(), id)?;
                    return Ok((
                        (),
                        format!("lpar {id} ({}): runs on {}", p.name, m.dest_system),
                    ));
                }
                if status.status == "reserved" {
                    let _: serde_json::Value = Self::remote(
                        &ident,
                        &peer,
                        &m.peer_ip,
                        IncomingOp::Abort,
                        Some(&m.id),
                        None,
                    )?;
                }
                // Paused after sending everything, or still running (the stream broke).
                if let (Some(l), MigrationKind::Active) = (&live, m.kind) {
                    if vm::status(&l.qmp).map_err(HostError::from)? != vm::RunStatus::Running {
                        vm::cont(&l.qmp).map_err(HostError::from)?;
                    }
                }
                let state = match (live, m.kind) {
                    (Some(_), _) => PartitionState::Running,
                    (None, MigrationKind::Inactive) => r.prior_state,
                    (None, MigrationKind::Active) => PartitionState::NotActivated,
                };
                self.store.write(|tx| {
                    tx.delete_migration(&m.id)?;
                    tx.set_partition_state(id, Self::settled(state), "", now_ms())
                })?;
                Ok(((), format!("lpar {id} ({}): runs here", p.name)))
            },
        )
    }
}
