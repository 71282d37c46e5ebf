//! The target's side of a migration, asked by the source over SSH: validate, reserve (the
//! partition in `Migrating - Not Activated`, and for an active migration its QEMU waiting for
//! the guest), the stream, then commit (record ownership, then resume) or abort.

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use ivm_model::{
    BootMode, IncomingStatus, Migration, MigrationAccept, MigrationKind, MigrationOffer,
    MigrationState, Partition, PartitionState,
};
use ivm_qemu::migration;
use ivm_rules::RuleError;
use ivm_store::{MobilityRecord, RunRecord};

use crate::runtime::HostError;
use crate::service::{now_ms, Actor, Service, ServiceError};
use crate::timing::Laps;

/// What the source asks of the target (`migrlpar --incoming OP` on the target's shell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncomingOp {
    /// Check the offer; reserve nothing.
    Validate,
    /// Reserve the partition (and start its QEMU for an active migration).
    Prepare,
    /// Carry the migration stream.
    Stream,
    /// Take the partition over (record, then resume).
    Commit,
    /// Give the reservation back.
    Abort,
    /// Say where the migration stands here.
    Status,
}

impl IncomingOp {
    /// The word for it on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            IncomingOp::Validate => "validate",
            IncomingOp::Prepare => "prepare",
            IncomingOp::Stream => "stream",
            IncomingOp::Commit => "commit",
            IncomingOp::Abort => "abort",
            IncomingOp::Status => "status",
        }
    }
}

/// How long the commit waits for the guest's last state to have arrived.
const ARRIVAL: Duration = Duration::from_secs(60);

fn no_migration(id: &str) -> ServiceError {
    RuleError::NoSuch {
        what: "migration",
        name: id.to_string(),
    }
    .into()
}

impl Service {
    /// The offer with its boot files found by name in this host's boot directory (read
    /// outside the store), and those it lacks.
    fn localized(
        &self,
        offer: &MigrationOffer,
    ) -> Result<(MigrationOffer, Vec<String>), ServiceError> {
        if !super::valid_migration_id(&offer.migration_id) {
            return Err(RuleError::BadPeer {
                attr: "migration_id",
                given: offer.migration_id.clone(),
                why: "24 hexadecimal digits",
            }
            .into());
        }
        let mut local = offer.clone();
        let mut missing = Vec::new();
        let boot = &mut local.partition.boot;
        for (attr, value) in [
            ("boot_kernel", &mut boot.boot_kernel),
            ("boot_initrd", &mut boot.boot_initrd),
        ] {
            match self.boot_file(attr, value) {
                Ok(path) => *value = path,
                Err(_) => missing.push(value.clone()),
            }
        }
        Ok((local, missing))
    }

    /// The offer checked against this host: the partition as it would be reserved here.
    fn check_offer(&self, offer: &MigrationOffer) -> Result<Partition, ServiceError> {
        let accel = self.runtime()?.env.accel;
        let (local, missing) = self.localized(offer)?;
        self.store.read(|tx| {
            let sys = self.system_in(tx)?;
            let all = tx.partitions()?;
            ivm_rules::check_incoming(
                &sys,
                &all,
                (&tx.pools()?, &tx.disks()?),
                accel,
                &local,
                &missing,
            )
            .map_err(ServiceError::from)
        })
    }

    /// `validate`: whether this host would take the partition; nothing is reserved.
    pub fn incoming_validate(
        &self,
        actor: &Actor,
        offer: &MigrationOffer,
    ) -> Result<MigrationAccept, ServiceError> {
        self.logged(
            actor,
            "validate incoming migration",
            &offer.partition.name,
            || {
                let p = self.check_offer(offer)?;
                Ok((
                    MigrationAccept {
                        system: self.system.name.clone(),
                        lpar_id: p.lpar_id,
                        figures: None,
                    },
                    super::super::lpar_target(&p),
                ))
            },
        )
    }

    /// `prepare`: reserves the partition here (checked again in the same transaction that
    /// records it, so two offers never both take what is free) and, for an active migration,
    /// starts its QEMU with the source's devices, waiting for the stream.
    pub fn incoming_prepare(
        &self,
        actor: &Actor,
        offer: &MigrationOffer,
    ) -> Result<MigrationAccept, ServiceError> {
        let rt = self.runtime()?.clone();
        self.logged(
            actor,
            "reserve incoming migration",
            &offer.partition.name,
            || {
                let (local, missing) = self.localized(offer)?;
                let kind = match offer.shape {
                    Some(_) => MigrationKind::Active,
                    None => MigrationKind::Inactive,
                };
                let accel = rt.env.accel;
                let p = self.store.write(|tx| {
                    let sys = self.system_in(tx)?;
                    let all = tx.partitions()?;
                    let p = ivm_rules::check_incoming(
                        &sys,
                        &all,
                        (&tx.pools()?, &tx.disks()?),
                        accel,
                        &local,
                        &missing,
                    )?;
                    tx.delete_migrations_of(p.lpar_id)?;
                    tx.put_partition(&p)?;
                    // Its virtual SCSI server adapter, as every client partition has one here.
                    crate::service::storage::add_adapter(tx, p.lpar_id)?;
                    tx.put_migration(&MobilityRecord {
                        migration: Migration {
                            id: offer.migration_id.clone(),
                            kind,
                            outgoing: false,
                            lpar_id: p.lpar_id,
                            peer_ip: String::new(),
                            peer_user: String::new(),
                            source_system: offer.source_system.clone(),
                            dest_system: self.system.name.clone(),
                            dest_lpar_id: p.lpar_id,
                            state: MigrationState::Starting,
                            bytes_transmitted: 0,
                            bytes_remaining: 0,
                            passes: 0,
                            expected_downtime_ms: 0,
                            started_ms: now_ms(),
                            disks: Vec::new(),
                            shared_disks: Vec::new(),
                        },
                        prior_state: PartitionState::NotActivated,
                    })?;
                    Ok::<_, ServiceError>(p)
                })?;
                let id = p.lpar_id;
                let made = std::cell::RefCell::new(Vec::<String>::new());
                let adopted = std::cell::RefCell::new(Vec::<String>::new());
                let undo = |e: ServiceError| {
                    let _ = self.store.write(|tx| {
                        tx.delete_migration(&offer.migration_id)?;
                        tx.delete_run(id)?;
                        tx.delete_partition(id)?;
                        Ok::<_, ServiceError>(())
                    });
                    self.remove_arrived_disks(actor, &made.borrow());
                    self.forget_disks(&adopted.borrow());
                    e
                };
                // Its disks, made here as mkbdsp makes them and mapped at their LUNs.
                let exports = self
                    .make_arriving_disks(id, &offer.disks, (&made, &adopted))
                    .map_err(undo)?;
                if !made.borrow().is_empty() || !adopted.borrow().is_empty() {
                    let mut r = self.incoming_record(&offer.migration_id).map_err(undo)?;
                    r.migration.disks = made.borrow().clone();
                    r.migration.shared_disks = adopted.borrow().clone();
                    self.store
                        .write(|tx| tx.put_migration(&r))
                        .map_err(|e| undo(e.into()))?;
                }
                if let Some(shape) = &offer.shape {
                    let lock = rt.partition_lock(id);
                    let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let mut laps = Laps::default();
                    self.start(&rt, &p, BootMode::Normal, &mut laps, Some(shape))
                        .map_err(undo)?;
                    if !exports.is_empty() {
                        self.serve_arriving_disks(&rt, id, &exports).map_err(|e| {
                            self.drop_arrival(id);
                            undo(e)
                        })?;
                    }
                    self.store
                        .write(|tx| {
                            tx.put_run(&RunRecord {
                                lpar_id: id,
                                limits: shape.limits.clone(),
                                pending: None,
                            })?;
                            tx.set_partition_state(
                                id,
                                PartitionState::MigratingRunning,
                                "",
                                now_ms(),
                            )?;
                            Ok::<_, ServiceError>(())
                        })
                        .map_err(|e| {
                            self.drop_arrival(id);
                            undo(e)
                        })?;
                }
                Ok((
                    MigrationAccept {
                        system: self.system.name.clone(),
                        lpar_id: id,
                        figures: None,
                    },
                    format!("lpar {id} ({})", p.name),
                ))
            },
        )
    }

    /// Makes the offered disks (same names and sizes, the default pool) mapped to partition
    /// `id` in LUN order; `made` collects their names. A disk on shared storage is taken over
    /// as it is (`adopted`). Returns (this host's virtual target device, the source's) for
    /// each disk made: the NBD exports.
    fn make_arriving_disks(
        &self,
        id: u32,
        disks: &[ivm_model::OfferedDisk],
        (made, adopted): (
            &std::cell::RefCell<Vec<String>>,
            &std::cell::RefCell<Vec<String>>,
        ),
    ) -> Result<Vec<(String, String)>, ServiceError> {
        if disks.is_empty() {
            return Ok(Vec::new());
        }
        let vhost = self
            .store
            .read(|tx| tx.adapters())?
            .into_iter()
            .find(|a| a.lpar_id == id)
            .map(|a| a.vhost)
            .ok_or_else(|| HostError::Failed(format!("partition {id} has no vhost adapter")))?;
        let mut exports = Vec::new();
        for d in disks {
            if d.shared.is_some() {
                self.adopt_shared_disk(d, &format!("vhost{vhost}"))?;
                adopted.borrow_mut().push(d.name.clone());
                continue;
            }
            self.make_disk(
                &ivm_model::DiskSpec {
                    name: d.name.clone(),
                    pool: None,
                    size_mb: d.size_mb,
                    vadapter: Some(format!("vhost{vhost}")),
                    vtd: None,
                    image: None,
                },
                None,
                &|_| {},
            )?;
            made.borrow_mut().push(d.name.clone());
            let vtd = self
                .store
                .read(|tx| tx.mappings())?
                .into_iter()
                .find(|m| m.backing == d.name)
                .map(|m| m.vtd)
                .ok_or_else(|| HostError::Failed(format!("{} was made but not mapped", d.name)))?;
            exports.push((vtd, d.vtd.clone()));
        }
        Ok(exports)
    }

    /// Removes the disks made for a migration that did not complete (the partition, and so
    /// their mappings, gone already).
    fn remove_arrived_disks(&self, actor: &Actor, names: &[String]) {
        for name in names {
            if let Err(e) = self.remove_disk(actor, name, false) {
                tracing::warn!(disk = %name, error = %e, "a disk made for a migration stays; remove it with rmbdsp");
            }
        }
    }

    /// The socket the arriving QEMU serves its disks on.
    fn nbd_socket(rt: &crate::runtime::Runtime, id: u32) -> std::path::PathBuf {
        rt.paths(id).dir.join("nbd.sock")
    }

    /// Has the arriving QEMU serve its disks over NBD on a socket ivm made.
    fn serve_arriving_disks(
        &self,
        rt: &crate::runtime::Runtime,
        id: u32,
        exports: &[(String, String)],
    ) -> Result<(), ServiceError> {
        let path = Self::nbd_socket(rt, id);
        let _ = std::fs::remove_file(&path);
        let listener =
            std::os::unix::net::UnixListener::bind(&path).map_err(|e| HostError::Io {
                action: "listen on",
                path: path.clone(),
                source: e,
            })?;
        let live = rt
            .get(id)
            .ok_or_else(|| HostError::Failed(format!("partition {id}'s QEMU has ended")))?;
        migration::serve_disks(&live.qmp, &listener, exports).map_err(HostError::from)?;
        Ok(())
    }

    /// `nbd`: a connection to the arriving QEMU's disk server, for one disk's copy.
    pub fn incoming_nbd(&self, mid: &str) -> Result<UnixStream, ServiceError> {
        let r = self.incoming_record(mid)?;
        if r.migration.state == MigrationState::NotMigrating || r.migration.disks.is_empty() {
            return Err(no_migration(mid));
        }
        let path = Self::nbd_socket(self.runtime()?, r.migration.lpar_id);
        UnixStream::connect(&path).map_err(|e| {
            HostError::Io {
                action: "connect to",
                path,
                source: e,
            }
            .into()
        })
    }

    /// Stops the QEMU waiting for (or loading) a guest that will not arrive, and forgets it.
    fn drop_arrival(&self, id: u32) {
        let Ok(rt) = self.runtime() else { return };
        if let Some(live) = rt.get(id) {
            self.end_qemu(rt, &live);
        }
    }

    /// The target's record of migration `mid`.
    fn incoming_record(&self, mid: &str) -> Result<MobilityRecord, ServiceError> {
        self.store
            .read(|tx| tx.migration(mid))?
            .filter(|r| !r.migration.outgoing)
            .ok_or_else(|| no_migration(mid))
    }

    /// `stream`: hands the waiting QEMU one end of a new socket pair and returns the other,
    /// which the caller joins to the source's stream.
    pub fn incoming_stream(&self, mid: &str) -> Result<UnixStream, ServiceError> {
        let lock = self.mobility.incoming_lock(mid);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let r = self.incoming_record(mid)?;
        if r.migration.state != MigrationState::Starting
            || r.migration.kind != MigrationKind::Active
        {
            return Err(RuleError::NotMigrating {
                name: format!(
                    "{} (migration {mid} is {})",
                    r.migration.lpar_id, r.migration.state
                ),
            }
            .into());
        }
        let rt = self.runtime()?;
        let live = rt
            .get(r.migration.lpar_id)
            .ok_or_else(|| no_migration(mid))?;
        let (qemu_end, ours) = UnixStream::pair().map_err(|e| HostError::Io {
            action: "make a socket pair for",
            path: "the migration stream".into(),
            source: e,
        })?;
        migration::start_incoming(&live.qmp, &qemu_end).map_err(HostError::from)?;
        let mut m = r.migration;
        m.state = MigrationState::InProgress;
        self.note_migration(&m);
        Ok(ours)
    }

    /// `commit`: the target takes the partition over. For an active migration the guest's last
    /// state must have arrived; ownership is recorded (durably) before the guest resumes, and
    /// from then on `abort` is refused.
    pub fn incoming_commit(&self, actor: &Actor, mid: &str) -> Result<(), ServiceError> {
        let lock = self.mobility.incoming_lock(mid);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let r = self.incoming_record(mid)?;
        let id = r.migration.lpar_id;
        self.logged(actor, "complete incoming migration", &format!("lpar {id}"), || {
            if r.migration.state == MigrationState::NotMigrating {
                return Ok(((), format!("lpar {id}")));
            }
            let live = match r.migration.kind {
                MigrationKind::Active => {
                    let rt = self.runtime()?;
                    let live = rt.get(id).ok_or_else(|| {
                        HostError::Failed(format!(
                            "partition {id}'s QEMU on this host has ended; the migration cannot complete"
                        ))
                    })?;
                    let deadline = Instant::now() + ARRIVAL;
                    loop {
                        let p = migration::progress(&live.qmp).map_err(HostError::from)?;
                        match p.status.as_str() {
                            "completed" => break,
                            "failed" | "cancelled" => {
                                return Err(HostError::Failed(format!(
                                    "the guest did not arrive: {}",
                                    p.error.unwrap_or(p.status)
                                ))
                                .into())
                            }
                            _ if Instant::now() > deadline => {
                                return Err(HostError::Failed(format!(
                                    "the guest's last state did not arrive within {} s",
                                    ARRIVAL.as_secs()
                                ))
                                .into())
                            }
                            _ => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                    Some(live)
                }
                MigrationKind::Inactive => None,
            };
            let state = match live {
                Some(_) => PartitionState::Running,
                None => PartitionState::NotActivated,
            };
            self.store.write(|tx| {
                tx.set_partition_state(id, state, "", now_ms())?;
                // A partition that left here once and came back has its MAC base again.
                if let Some(p) = tx.partition(id)? {
                    tx.delete_departed_mac(&p.eth.virtual_eth_mac_base_value)?;
                }
                let mut done = r.clone();
                done.migration.state = MigrationState::NotMigrating;
                tx.put_migration(&done)?;
                Ok::<_, ServiceError>(())
            })?;
            if let Some(live) = live {
                // The guest writes its disks itself from now on.
                migration::stop_serving(&live.qmp).map_err(HostError::from)?;
                ivm_qemu::vm::cont(&live.qmp).map_err(HostError::from)?;
            }
            Ok(((), format!("lpar {id}")))
        })
    }

    /// `abort`: gives the reservation back (the QEMU waiting or loading stops). Refused once the
    /// target owns the partition: then the source's copy is the one to go.
    pub fn incoming_abort(&self, actor: &Actor, mid: &str) -> Result<(), ServiceError> {
        let lock = self.mobility.incoming_lock(mid);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(r) = self
            .store
            .read(|tx| tx.migration(mid))?
            .filter(|r| !r.migration.outgoing)
        else {
            // Nothing reserved (never offered, or aborted already): nothing to give back.
            return Ok(());
        };
        let id = r.migration.lpar_id;
        self.logged(
            actor,
            "abort incoming migration",
            &format!("lpar {id}"),
            || {
                if r.migration.state == MigrationState::NotMigrating {
                    return Err(RuleError::NotMigrating {
                        name: format!("{id}: this host took it over and it runs here"),
                    }
                    .into());
                }
                if let Ok(rt) = self.runtime() {
                    let plock = rt.partition_lock(id);
                    let _p = plock.lock().unwrap_or_else(|e| e.into_inner());
                    self.drop_arrival(id);
                }
                self.store.write(|tx| {
                    tx.delete_migration(mid)?;
                    tx.delete_run(id)?;
                    tx.delete_partition(id)?;
                    Ok::<_, ServiceError>(())
                })?;
                self.remove_arrived_disks(actor, &r.migration.disks);
                self.forget_disks(&r.migration.shared_disks);
                Ok(((), format!("lpar {id}")))
            },
        )
    }

    /// `status`: `owned` once this host took the partition over, `reserved` while it holds a
    /// reservation, `unknown` otherwise.
    pub fn incoming_status(&self, mid: &str) -> Result<IncomingStatus, ServiceError> {
        let r = self
            .store
            .read(|tx| tx.migration(mid))?
            .filter(|r| !r.migration.outgoing);
        Ok(IncomingStatus {
            migration_id: mid.to_string(),
            status: match &r {
                Some(r) if r.migration.state == MigrationState::NotMigrating => "owned",
                Some(_) => "reserved",
                None => "unknown",
            }
            .into(),
            lpar_id: r.map(|r| r.migration.lpar_id),
        })
    }
}
