//! Activation, shutdown, and what happens when a partition's QEMU ends or ivm restarts.

use std::time::Duration;

use ivm_model::{
    BootFirmware, BootMode, MemMode, Partition, PartitionState, ProcMode, ShutdownKind,
    ShutdownRequest,
};
use ivm_qemu::vm::{self, RunStatus};
use ivm_qemu::LaunchSpec;
use ivm_rules::RuleError;

use super::cpus::cpu_control;
use super::{lpar_target, now_ms, Actor, Service, ServiceError};
use crate::runtime::{HostError, Runtime, RuntimeEvent};
use crate::timing::Laps;
use ivm_store::RunRecord;

/// Reference codes ivm reports (`lsrefcode`).
pub mod refcode {
    /// QEMU is being started for the partition.
    pub const STARTING: &str = "C2001000";
    /// Stopped in firmware (boot mode sms or of).
    pub const FIRMWARE: &str = "CA00E1F0";
    /// A shutdown was requested.
    pub const SHUTTING_DOWN: &str = "D2001000";
    /// QEMU ended without a shutdown (crash or kill).
    pub const CRASHED: &str = "B2001100";
    /// QEMU could not be started; the task log has the reason.
    pub const START_FAILED: &str = "B2001200";
    /// The partition ended while ivm was not running.
    pub const LOST: &str = "B2001300";
}

mod shutdowns;
mod start;

pub(super) use shutdowns::Shutdowns;

impl Service {
    /// Activates a partition (`chsysstate -o on`): starts its QEMU with the committed resources.
    pub fn activate(
        &self,
        actor: &Actor,
        id: u32,
        boot_mode: Option<BootMode>,
    ) -> Result<Partition, ServiceError> {
        let rt = self.runtime()?.clone();
        let mut laps = Laps::default();
        let out = self.logged(actor, "activate partition", &format!("lpar {id}"), || {
            laps.lap("task log");
            let p = self.store.write(|tx| {
                let p = tx
                    .partition(id)?
                    .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
                if p.is_management() {
                    return Err(RuleError::ManagementPartition("activated: it always runs").into());
                }
                ivm_rules::check_not_migrating(&p)?;
                if p.state.is_active() {
                    return Err(RuleError::AlreadyActive {
                        name: p.name.clone(),
                        state: p.state,
                    }
                    .into());
                }
                tx.set_partition_state(id, PartitionState::Starting, refcode::STARTING, now_ms())?;
                Ok::<_, ServiceError>(p)
            })?;
            // Checked again at each activation (the directory's contents may have changed),
            // after the reservation and outside it: the check reads the host.
            let resolved = (|| {
                let mut p = p.clone();
                p.boot.boot_kernel = self.boot_file("boot_kernel", &p.boot.boot_kernel)?;
                p.boot.boot_initrd = self.boot_file("boot_initrd", &p.boot.boot_initrd)?;
                Ok::<_, ServiceError>(p)
            })();
            let p = match resolved {
                Ok(resolved) => resolved,
                Err(e) => {
                    self.store.write(|tx| {
                        tx.set_partition_state(id, p.state, &p.ref_code, p.ref_time_ms)
                    })?;
                    return Err(e);
                }
            };
            laps.lap("reserve");
            let mode = boot_mode.unwrap_or(p.boot_mode);
            match self.start(&rt, &p, mode, &mut laps, None) {
                Ok(state) => {
                    let code = if state == PartitionState::OpenFirmware {
                        refcode::FIRMWARE
                    } else {
                        ""
                    };
                    let limits = ivm_rules::launch_limits(&p, rt.env.accel);
                    self.store.write(|tx| {
                        tx.put_run(&RunRecord {
                            lpar_id: id,
                            limits,
                            pending: None,
                        })?;
                        // The guest's RESUME event may have recorded Running already.
                        match tx.partition(id)?.map(|p| p.state) {
                            Some(PartitionState::Starting) => {
                                tx.set_partition_state(id, state, code, now_ms())
                            }
                            _ => Ok(()),
                        }
                    })?;
                    laps.lap("commit");
                    Ok((self.partition(id)?, lpar_target(&p)))
                }
                Err(e) => {
                    self.store.write(|tx| {
                        tx.set_partition_state(
                            id,
                            PartitionState::Error,
                            refcode::START_FAILED,
                            now_ms(),
                        )
                    })?;
                    Err(e)
                }
            }
        });
        if out.is_ok() {
            laps.lap("task log");
            self.activation_phases.record(&laps);
            tracing::info!(lpar = id, laps = ?laps.laps(), "activated");
        }
        out
    }

    /// Starts `p`'s QEMU: booting, or (`incoming`) as a migration's target with the devices
    /// the source's QEMU has now, stopped until the guest has arrived.
    pub(super) fn start(
        &self,
        rt: &Runtime,
        p: &Partition,
        mode: BootMode,
        laps: &mut Laps,
        incoming: Option<&ivm_model::MachineShape>,
    ) -> Result<PartitionState, ServiceError> {
        let run_as = rt.qemu_run_as(p.lpar_id)?;
        let mut storage = self.storage_for_launch(p.lpar_id)?;
        let first_nic_fd = storage
            .files
            .iter()
            .map(|(_, fd)| *fd + 1)
            .max()
            .unwrap_or(10);
        // UEFI: the partition's own variables, by descriptor (QEMU runs unprivileged).
        let uefi_vars_fd = match p.boot.boot_firmware {
            BootFirmware::Uefi => {
                let (rw, ro) = ivm_qemu::firmware::open_vars(&self.nvram_path(p.lpar_id))
                    .map_err(HostError::from)?;
                storage.files.push((rw, first_nic_fd));
                storage.files.push((ro, first_nic_fd + 1));
                Some((first_nic_fd, first_nic_fd + 1))
            }
            BootFirmware::Bios => None,
        };
        let first_nic_fd = first_nic_fd + if uefi_vars_fd.is_some() { 2 } else { 0 };
        // cloud-init: the seed medium made anew from the store at every activation.
        let cidata_fd = match self.seed_medium(p)? {
            Some(f) => {
                storage.files.push((f, first_nic_fd));
                Some(first_nic_fd)
            }
            None => None,
        };
        let first_nic_fd = first_nic_fd + i32::from(cidata_fd.is_some());
        // Shared memory: the guest's memory is its paging device.
        let shared_mem = match p.mem.mem_mode {
            MemMode::Shared => Some(self.paging_path(p)?),
            MemMode::Dedicated => None,
        };
        // An arriving guest holds its boot memory and plugged blocks whatever its balloon
        // keeps: they are allocated before the stream starts.
        let resident_mb = match incoming {
            Some(s) => p.mem.desired_mem.max(s.boot_mem_mb + s.plugged_mem_mb),
            None => p.mem.desired_mem,
        };
        let resume = incoming.is_none() && !matches!(mode, BootMode::Sms | BootMode::OpenFirmware);
        let kernel = (!p.boot.boot_kernel.is_empty()).then(|| {
            (
                p.boot.boot_kernel.clone(),
                p.boot.boot_initrd.clone(),
                p.boot.boot_args.clone(),
            )
        });
        let spec = LaunchSpec {
            name: format!("lpar{}", p.lpar_id),
            paths: rt.paths(p.lpar_id),
            accel: rt.env.accel,
            vcpus: incoming.map_or(p.procs.desired_procs, |s| s.vcpus),
            max_vcpus: incoming.map_or(p.procs.max_procs, |s| s.limits.max_procs),
            // All the desired memory at boot (see ivm_rules::memory_layout).
            base_mem_mb: incoming.map_or(p.mem.desired_mem, |s| s.boot_mem_mb),
            plugged_mem_mb: incoming.map_or(0, |s| s.plugged_mem_mb),
            max_mem_mb: incoming.map_or(p.mem.max_mem, |s| s.limits.max_mem),
            kernel,
            uefi_vars_fd,
            cidata_fd,
            display: p.boot.display,
            run_as,
            vhost: storage.vhost,
            disks: storage.disks,
            optical: storage.optical,
            nics: Vec::new(),
            nic_slots: ivm_rules::ported_slots(p),
            aio: rt.env.aio,
            tcg_tb_mb: ivm_rules::TCG_TB_SIZE_MB,
            balloon: match incoming {
                Some(s) => s.balloon,
                None => shared_mem.is_none() && p.mem.min_mem < p.mem.desired_mem,
            },
            shared_mem: shared_mem.map(|p| p.display().to_string()),
            incoming: incoming.is_some(),
        };
        let launch = start::Launch {
            spec,
            files: storage.files,
            first_nic_fd,
            resident_mb,
            resume,
        };
        let host = start::LinuxStart { service: self, rt };
        start::take(&host, &self.cpus, rt, p, launch, laps)?;
        Ok(if resume {
            PartitionState::Running
        } else {
            PartitionState::OpenFirmware
        })
    }

    /// Shuts a partition down (`chsysstate -o osshutdown|shutdown [--immed] [--restart]`).
    pub fn shutdown(
        &self,
        actor: &Actor,
        id: u32,
        req: &ShutdownRequest,
    ) -> Result<(), ServiceError> {
        let rt = self.runtime()?.clone();
        let op = format!(
            "shut down partition ({}{})",
            req.kind,
            if req.restart { ", restart" } else { "" }
        );
        self.logged(actor, &op, &format!("lpar {id}"), || {
            let p = self.partition(id)?;
            if p.is_management() {
                return Err(RuleError::ManagementPartition("shut down").into());
            }
            ivm_rules::check_not_migrating(&p)?;
            let live = rt.get(id).ok_or_else(|| {
                ServiceError::from(RuleError::NotRunning {
                    name: p.name.clone(),
                    state: p.state,
                    why: "; only a running partition can be shut down",
                })
            })?;
            // One host change to a partition at a time: a live change under way finishes (or
            // is undone) before the partition goes down.
            let lock = rt.partition_lock(id);
            let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
            if req.restart {
                self.shutdowns.restart_after(id);
            }
            let result = self.stop_guest(&rt, &live, req.kind, id);
            if result.is_err() {
                // A request that did not go through must not restart the partition later.
                self.shutdowns.no_restart(id);
            }
            result?;
            Ok(((), lpar_target(&p)))
        })
    }

    /// Asks a running partition's QEMU to stop as `kind` says. An immediate stop returns once
    /// the process is gone: QMP `quit`, then SIGKILL when QEMU does not end (or QMP does not
    /// answer), and the partition is recorded stopped before the call returns.
    fn stop_guest(
        &self,
        rt: &std::sync::Arc<Runtime>,
        live: &crate::runtime::Live,
        kind: ShutdownKind,
        id: u32,
    ) -> Result<(), ServiceError> {
        self.store.write(|tx| {
            tx.set_partition_state(
                id,
                PartitionState::ShuttingDown,
                refcode::SHUTTING_DOWN,
                now_ms(),
            )
        })?;
        match kind {
            ShutdownKind::Immediate => {
                if let Err(e) = vm::quit(&live.qmp) {
                    tracing::warn!(lpar = id, error = %e, "QMP quit failed; killing QEMU");
                }
                let qmp = live.paths.qmp();
                let gone = ivm_qemu::process::wait_gone(live.pid, &qmp, Duration::from_secs(10))
                    || ivm_qemu::process::kill(live.pid, &qmp, Duration::from_secs(10));
                if !gone {
                    return Err(ServiceError::Host(HostError::Failed(format!(
                        "QEMU (PID {}) of partition {id} did not end even after SIGKILL; \
                         check the host (a process stuck in the kernel cannot be killed)",
                        live.pid
                    ))));
                }
                // The process is gone: record it here rather than wait for the event loop,
                // so the next command sees the partition stopped.
                self.shutdowns.expect_clean_exit(id);
                self.record_exit(id, live.pid)?;
            }
            kind => {
                // The guest agent first (it shuts down an OS without ACPI button handling),
                // then the power button.
                let asked = self.agent_shutdown(live);
                if let Err(e) = (!asked).then(|| vm::powerdown(&live.qmp)).transpose() {
                    self.store.write(|tx| {
                        tx.set_partition_state(id, PartitionState::Running, "", now_ms())
                    })?;
                    return Err(HostError::from(e).into());
                }
                let (rt, pid, delay) = (rt.clone(), live.pid, self.shutdowns.delay);
                let later = self.follow_up(id, pid, kind, delay, rt);
                std::thread::spawn(later);
            }
        }
        Ok(())
    }

    /// After `delay`, a partition that is still up is stopped (delayed shutdown) or, when only
    /// its OS was asked, marked Running again: the OS declined.
    fn follow_up(
        &self,
        id: u32,
        pid: u32,
        kind: ShutdownKind,
        delay: Duration,
        rt: std::sync::Arc<Runtime>,
    ) -> impl FnOnce() + Send + 'static {
        move || {
            std::thread::sleep(delay);
            let Some(live) = rt.get(id).filter(|l| l.pid == pid) else {
                return;
            };
            match kind {
                ShutdownKind::Delayed => {
                    tracing::info!(
                        lpar = id,
                        "the OS did not shut down in time; stopping the partition"
                    );
                    let _ = vm::quit(&live.qmp);
                    let qmp = live.paths.qmp();
                    if !ivm_qemu::process::wait_gone(live.pid, &qmp, Duration::from_secs(10)) {
                        ivm_qemu::process::kill(live.pid, &qmp, Duration::from_secs(10));
                    }
                }
                _ => {
                    tracing::info!(
                        lpar = id,
                        "the OS did not shut down; the partition keeps running"
                    );
                    // The event loop owns state changes of running partitions.
                    let _ = rt.note_declined_shutdown(id);
                }
            }
        }
    }

    /// Records what the runtime reports: state changes, and the end of a partition's QEMU.
    pub fn handle_event(&self, ev: RuntimeEvent) {
        let result = match ev {
            // The state change is dated when QEMU reported it.
            RuntimeEvent::Qmp { id, event } => {
                self.on_qmp_event(id, &event.name, event.time_ms.unwrap_or_else(now_ms))
            }
            RuntimeEvent::Exited { id, pid } => self.on_exit(id, pid),
            RuntimeEvent::ShutdownDeclined { id } => {
                // The OS said no: a later poweroff by the guest must not restart it.
                self.shutdowns.no_restart(id);
                self.declined(id)
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot record a partition event");
        }
    }

    fn declined(&self, id: u32) -> Result<(), ServiceError> {
        self.store
            .write(|tx| match tx.partition(id)? {
                Some(p) if p.state == PartitionState::ShuttingDown => {
                    tx.set_partition_state(id, PartitionState::Running, "", now_ms())
                }
                _ => Ok(()),
            })
            .map_err(Into::into)
    }

    fn on_qmp_event(&self, id: u32, name: &str, at_ms: i64) -> Result<(), ServiceError> {
        match name {
            "SHUTDOWN" => {
                self.shutdowns.expect_clean_exit(id);
                self.store.write(|tx| match tx.partition(id)? {
                    Some(p) if p.state != PartitionState::ShuttingDown => tx.set_partition_state(
                        id,
                        PartitionState::ShuttingDown,
                        refcode::SHUTTING_DOWN,
                        at_ms,
                    ),
                    _ => Ok(()),
                })?;
            }
            "RESUME" => {
                self.store.write(|tx| match tx.partition(id)? {
                    Some(p)
                        if matches!(
                            p.state,
                            PartitionState::Starting | PartitionState::OpenFirmware
                        ) =>
                    {
                        tx.set_partition_state(id, PartitionState::Running, "", at_ms)
                    }
                    _ => Ok(()),
                })?;
            }
            _ => {}
        }
        Ok(())
    }

    /// QEMU `pid` of partition `id` ended (the event loop saw its QMP close).
    fn on_exit(&self, id: u32, pid: u32) -> Result<(), ServiceError> {
        // Waits for a shutdown or live change under way, which may record the exit itself.
        let lock = self.runtime()?.partition_lock(id);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        self.record_exit(id, pid)
    }

    /// Records that QEMU `pid` of partition `id` ended, once: forgets it, frees its CPUs,
    /// puts back a live change it cut short, and restarts it when asked. The caller holds
    /// the partition's lock.
    fn record_exit(&self, id: u32, pid: u32) -> Result<(), ServiceError> {
        let rt = self.runtime()?;
        if rt.reap(id, pid).is_none() {
            // Another path (an immediate shutdown) recorded this exit already.
            return Ok(());
        }
        let (clean, restart) = self.shutdowns.stopped(id);
        self.cpus.leave(&**rt, id);
        // Its taps went with QEMU; bridges nobody uses now go too. Its share of the shared
        // memory pool goes back to the others.
        self.sweep_bridges();
        if let Err(e) = self.rebalance_pool(rt, None) {
            tracing::warn!(error = %e, "cannot share the memory pool anew");
        }
        let (state, code) = if clean {
            (PartitionState::NotActivated, "")
        } else {
            (PartitionState::Error, refcode::CRASHED)
        };
        self.store.write(|tx| {
            // A live change cut short by the exit goes back to what was committed.
            if let Some(old) = tx.run(id)?.and_then(|r| r.pending) {
                super::dlpar::restore(tx, &old)?;
            }
            tx.delete_run(id)?;
            // A migration still holds it (the target's QEMU ended before the guest arrived):
            // it stays reserved until the migration gives it back or takes it over.
            let held = tx.partition(id)?.is_some_and(|p| p.state.is_migrating())
                && tx
                    .migration_of(id)?
                    .is_some_and(|r| r.migration.state != ivm_model::MigrationState::NotMigrating);
            let state = if held {
                PartitionState::MigratingNotActivated
            } else {
                state
            };
            tx.set_partition_state(id, state, code, now_ms())?;
            Ok::<_, ServiceError>(())
        })?;
        if !clean {
            let system = Actor::system();
            let _ = self.logged::<()>(&system, "partition stopped", &format!("lpar {id}"), || {
                Err(ServiceError::Host(HostError::Failed(
                    "QEMU ended without a shutdown (crash or kill)".into(),
                )))
            });
        }
        if restart && clean {
            self.activate(&Actor::system(), id, None)?;
        }
        Ok(())
    }

    /// After ivm starts: finds partitions that kept running (their QEMU outlived the daemon),
    /// marks those that ended meanwhile, and clears leftovers.
    pub fn resume_runtime(&self) -> Result<(), ServiceError> {
        let rt = self.runtime()?;
        // Bridges a daemon that died left without taps (QEMUs still running keep theirs).
        self.sweep_bridges();
        // Virtual Ethernet bridges the store has, back on the host if it lost them.
        self.restore_seas();
        for p in self.partitions()? {
            if p.is_management() {
                continue;
            }
            let run = self.store.read(|tx| tx.run(p.lpar_id))?;
            if !p.state.is_active() {
                rt.remove_leftovers(p.lpar_id);
                self.forget_run(&p)?;
                continue;
            }
            let dedicated = p.procs.proc_mode == ProcMode::Dedicated;
            let shared = p.mem.mem_mode == MemMode::Shared;
            match rt.adopt(p.lpar_id, dedicated, shared, p.ref_time_ms) {
                Ok((live, status)) => {
                    self.cpus.adopt(
                        p.lpar_id,
                        dedicated,
                        live.cpus.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                    );
                    let state = match status {
                        // A migration holds it: `migrlpar -o r` (or the source) decides.
                        _ if p.state == PartitionState::MigratingRunning => {
                            PartitionState::MigratingRunning
                        }
                        RunStatus::Running if p.state == PartitionState::ShuttingDown => {
                            PartitionState::ShuttingDown
                        }
                        RunStatus::Running => PartitionState::Running,
                        RunStatus::Prelaunch | RunStatus::Paused => PartitionState::OpenFirmware,
                        RunStatus::Shutdown => PartitionState::ShuttingDown,
                        RunStatus::InMigrate | RunStatus::Migrated | RunStatus::Other(_) => {
                            PartitionState::NotAvailable
                        }
                    };
                    tracing::info!(lpar = p.lpar_id, %state, "re-adopted a running partition");
                    let limits = match &run {
                        Some(r) => r.limits.clone(),
                        None => ivm_rules::launch_limits(&p, rt.env.accel),
                    };
                    self.store.write(|tx| {
                        if state != p.state {
                            tx.set_partition_state(p.lpar_id, state, &p.ref_code, p.ref_time_ms)?;
                        }
                        if run.is_none() {
                            tx.put_run(&RunRecord {
                                lpar_id: p.lpar_id,
                                limits: limits.clone(),
                                pending: None,
                            })?;
                        }
                        Ok::<_, ServiceError>(())
                    })?;
                    if let Some(old) = run.and_then(|r| r.pending) {
                        // A partition that cannot be put back is left as it is and said so;
                        // the daemon still starts for all the others.
                        if let Err(e) = self.reconcile(&live, &p, &old, limits) {
                            tracing::error!(lpar = p.lpar_id, error = %e, "cannot undo an interrupted live change; shut the partition down and activate it again");
                        }
                    }
                }
                Err(e) => {
                    if rt.kill_unattached(p.lpar_id) {
                        tracing::error!(lpar = p.lpar_id, error = %e, "cannot attach to the partition's QEMU; stopped it");
                    } else {
                        tracing::warn!(lpar = p.lpar_id, error = %e, "partition ended while ivm was not running");
                    }
                    rt.remove_leftovers(p.lpar_id);
                    self.forget_run(&p)?;
                    let state = if p.state.is_migrating() {
                        PartitionState::MigratingNotActivated
                    } else {
                        PartitionState::NotActivated
                    };
                    self.store.write(|tx| {
                        tx.set_partition_state(p.lpar_id, state, refcode::LOST, now_ms())
                    })?;
                }
            }
        }
        self.cpus.sync(&**rt)?;
        self.resume_migrations();
        Ok(())
    }

    /// On the first start after a host boot: activates the partitions marked auto_start, in
    /// ID order, `delay` apart (a partition that serves others, such as a DNS or NFS server,
    /// is given a lower ID).
    pub fn auto_start(&self, delay: Duration) -> Result<(), ServiceError> {
        let mut due: Vec<Partition> = self
            .partitions()?
            .into_iter()
            .filter(|p| p.auto_start && !p.is_management() && !p.state.is_active())
            .collect();
        due.sort_by_key(|p| p.lpar_id);
        for (i, p) in due.iter().enumerate() {
            if i > 0 {
                // The administrator's configured spacing between two starts, not a wait for
                // an event: there is none that says a guest's services are up.
                std::thread::sleep(delay);
            }
            match self.activate(&Actor::system(), p.lpar_id, None) {
                Ok(_) => tracing::info!(lpar = p.lpar_id, "auto_start: activated"),
                Err(e) => {
                    tracing::error!(lpar = p.lpar_id, error = %e, "auto_start activation failed")
                }
            }
        }
        Ok(())
    }

    /// Drops the run record of a partition that no longer runs, putting back a live change it
    /// left pending.
    fn forget_run(&self, p: &Partition) -> Result<(), ServiceError> {
        self.store.write(|tx| {
            if let Some(old) = tx.run(p.lpar_id)?.and_then(|r| r.pending) {
                super::dlpar::restore(tx, &old)?;
            }
            tx.delete_run(p.lpar_id)?;
            Ok::<_, ServiceError>(())
        })
    }

    /// A live change was under way when ivm died: the host is taken back to the committed
    /// values (`old`) from whatever it reached, and the store with it.
    fn reconcile(
        &self,
        live: &crate::runtime::Live,
        stored: &Partition,
        old: &Partition,
        mut limits: ivm_model::LaunchLimits,
    ) -> Result<(), ServiceError> {
        let rt = self.runtime()?;
        let id = old.lpar_id;
        let accel = rt.env.accel;
        let host = |e: ivm_qemu::QmpError| ServiceError::from(HostError::from(e));
        tracing::warn!(lpar = id, "undoing a live change that ivm did not finish");
        // Every value is set outright, not by difference with what QEMU reports: a request
        // QEMU took (a new requested memory size, a vCPU unplug) may still be under way in the
        // guest, so what it reports now is not where it is going.
        let vcpus_now = vm::vcpus(&live.qmp).map_err(host)?;
        if old.mem.mem_mode == ivm_model::MemMode::Shared {
            vm::set_balloon(&live.qmp, old.mem.desired_mem).map_err(host)?;
        } else {
            let limit = |p: &Partition| ivm_rules::memory_limit_mb(p.mem.desired_mem, accel) << 20;
            live.group
                .set_memory_limit(limit(old).max(limit(stored)))
                .map_err(HostError::from)?;
            let layout = ivm_rules::memory_layout(live.boot_mem_mb, old.mem.desired_mem);
            if live.balloon && layout.plugged_mb == 0 {
                vm::set_plugged_mem(&live.qmp, 0).map_err(host)?;
                vm::set_balloon_and_wait(&live.qmp, layout.balloon_target_mb, live.boot_mem_mb)
                    .map_err(host)?;
            } else {
                if live.balloon {
                    vm::set_balloon_and_wait(&live.qmp, layout.balloon_target_mb, live.boot_mem_mb)
                        .map_err(host)?;
                }
                vm::set_plugged_mem(&live.qmp, layout.plugged_mb).map_err(host)?;
            }
            live.group
                .set_memory_limit(limit(old))
                .map_err(HostError::from)?;
        }
        if live.dedicated {
            // Enough CPUs for the larger of the two counts while the vCPUs change, then the
            // committed number.
            let held = self.cpus.held(id).len() as u32;
            let during = old.procs.desired_procs.max(vcpus_now);
            if held < during {
                self.cpus.grow(&**rt, id, during - held)?;
            }
        }
        vm::set_vcpus(&live.qmp, accel, old.procs.desired_procs).map_err(host)?;
        if live.dedicated {
            let held = self.cpus.held(id);
            let want = old.procs.desired_procs as usize;
            if held.len() > want {
                self.cpus.shrink(&**rt, id, &held[want..])?;
            }
        }
        live.group
            .set_cpu(&cpu_control(old))
            .map_err(HostError::from)?;
        let now_procs = vcpus_now;
        // Putting back removed vCPUs plugged them again: under TCG that used contexts.
        let replugged = old.procs.desired_procs.saturating_sub(now_procs);
        limits.vcpu_plugs_left = limits.vcpu_plugs_left.map(|l| l.saturating_sub(replugged));
        self.store.write(|tx| {
            super::dlpar::restore(tx, old)?;
            tx.put_run(&RunRecord {
                lpar_id: id,
                limits,
                pending: None,
            })?;
            Ok::<_, ServiceError>(())
        })
    }
}
