//! Activation, shutdown, and what happens when a partition's QEMU ends or ivm restarts.

use std::time::Duration;

use ivm_host::cgroup::CpuControl;
use ivm_model::{BootMode, Partition, PartitionState, ProcMode, ShutdownKind, ShutdownRequest};
use ivm_qemu::{vm, LaunchSpec};
use ivm_rules::RuleError;

use super::{now_ms, Actor, Service, ServiceError};
use crate::runtime::{Runtime, RuntimeEvent, StartPlan};

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

fn target(p: &Partition) -> String {
    format!("lpar {} ({})", p.lpar_id, p.name)
}

/// CPU controls as the rules decide them.
pub(super) fn cpu_control(p: &Partition) -> CpuControl {
    let l = ivm_rules::cpu_limits(&p.procs);
    CpuControl {
        period_us: l.period_us,
        quota_us: l.quota_us,
        weight: l.weight,
        shares: l.shares(),
    }
}

impl Service {
    /// Activates a partition (`chsysstate -o on`): starts its QEMU with the committed resources.
    pub fn activate(
        &self,
        actor: &Actor,
        id: u32,
        boot_mode: Option<BootMode>,
    ) -> Result<Partition, ServiceError> {
        let rt = self.runtime()?.clone();
        self.logged(actor, "activate partition", &format!("lpar {id}"), || {
            actor.require_modify()?;
            let _serial = rt.activation.lock().unwrap_or_else(|p| p.into_inner());
            let p = self.store.write(|tx| {
                let p = tx
                    .partition(id)?
                    .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
                if p.is_management() {
                    return Err(RuleError::ManagementPartition("activated: it always runs").into());
                }
                if p.state.is_active() {
                    return Err(ServiceError::Conflict(format!(
                        "partition {} is already {}",
                        p.name, p.state
                    )));
                }
                for (attr, path) in [
                    ("boot_kernel", &p.boot.boot_kernel),
                    ("boot_initrd", &p.boot.boot_initrd),
                ] {
                    if !path.is_empty() && !std::path::Path::new(path).is_file() {
                        return Err(ServiceError::Invalid(format!(
                            "{attr} {path} does not exist on the host"
                        )));
                    }
                }
                tx.set_partition_state(id, PartitionState::Starting, refcode::STARTING, now_ms())?;
                Ok(p)
            })?;
            let mode = boot_mode.unwrap_or(p.boot_mode);
            match self.start(&rt, &p, mode) {
                Ok(state) => {
                    let code = if state == PartitionState::OpenFirmware {
                        refcode::FIRMWARE
                    } else {
                        ""
                    };
                    self.store
                        .write(|tx| tx.set_partition_state(id, state, code, now_ms()))?;
                    Ok((self.partition(id)?, target(&p)))
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
        })
    }

    fn start(
        &self,
        rt: &Runtime,
        p: &Partition,
        mode: BootMode,
    ) -> Result<PartitionState, ServiceError> {
        let host = &rt.env.host_cpus;
        let taken = rt.dedicated_cpus();
        let dedicated = p.procs.proc_mode == ProcMode::Dedicated;
        let cpus = if dedicated {
            ivm_rules::pick_dedicated_cpus(host, &taken, p.procs.desired_procs)?
        } else {
            ivm_rules::shared_pool(host, &taken)
        };
        let resume = !matches!(mode, BootMode::Sms | BootMode::OpenFirmware);
        let kernel = (!p.boot.boot_kernel.is_empty()).then(|| {
            (
                p.boot.boot_kernel.clone(),
                p.boot.boot_initrd.clone(),
                p.boot.boot_args.clone(),
            )
        });
        let plan = StartPlan {
            id: p.lpar_id,
            spec: LaunchSpec {
                name: format!("lpar{}", p.lpar_id),
                paths: rt.paths(p.lpar_id),
                accel: rt.env.accel,
                vcpus: p.procs.desired_procs,
                max_vcpus: p.procs.max_procs,
                base_mem_mb: p.mem.min_mem,
                plugged_mem_mb: p.mem.desired_mem - p.mem.min_mem,
                max_mem_mb: p.mem.max_mem,
                kernel,
            },
            cpus: cpus.clone(),
            dedicated,
            cpu: cpu_control(p),
            mem_limit: ivm_rules::memory_limit_mb(p.mem.desired_mem, rt.env.accel) << 20,
            resume,
            now_ms: now_ms(),
        };
        if dedicated {
            let mut now_taken = taken.clone();
            now_taken.extend(&cpus);
            rt.set_pool(&ivm_rules::shared_pool(host, &now_taken))?;
        }
        if let Err(e) = rt.start(plan) {
            if dedicated {
                let _ = rt.set_pool(&ivm_rules::shared_pool(host, &taken));
            }
            return Err(e.into());
        }
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
            actor.require_modify()?;
            let p = self.partition(id)?;
            if p.is_management() {
                return Err(RuleError::ManagementPartition("shut down").into());
            }
            let live = rt.get(id).ok_or_else(|| {
                ServiceError::NotRunning(format!(
                    "partition {} is {}; only a running partition can be shut down",
                    p.name, p.state
                ))
            })?;
            if req.restart {
                self.restarts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id);
            }
            self.store.write(|tx| {
                tx.set_partition_state(
                    id,
                    PartitionState::ShuttingDown,
                    refcode::SHUTTING_DOWN,
                    now_ms(),
                )
            })?;
            match req.kind {
                ShutdownKind::Immediate => {
                    vm::quit(&live.qmp).map_err(crate::runtime::HostError::from)?;
                    // Return once the partition is down, so the next command sees it stopped.
                    let deadline = std::time::Instant::now() + Duration::from_secs(15);
                    while std::time::Instant::now() < deadline
                        && self.partition(id)?.state.is_active()
                    {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                kind => {
                    vm::powerdown(&live.qmp).map_err(crate::runtime::HostError::from)?;
                    let (rt, pid, delay) = (rt.clone(), live.pid, self.shutdown_delay);
                    let later = self.follow_up(id, pid, kind, delay, rt);
                    std::thread::spawn(later);
                }
            }
            Ok(((), target(&p)))
        })
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
            RuntimeEvent::Qmp { id, event } => self.on_qmp_event(id, &event.name),
            RuntimeEvent::Exited { id } => self.on_exit(id),
            RuntimeEvent::ShutdownDeclined { id } => self
                .store
                .write(|tx| match tx.partition(id)? {
                    Some(p) if p.state == PartitionState::ShuttingDown => {
                        tx.set_partition_state(id, PartitionState::Running, "", now_ms())
                    }
                    _ => Ok(()),
                })
                .map_err(Into::into),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot record a partition event");
        }
    }

    fn on_qmp_event(&self, id: u32, name: &str) -> Result<(), ServiceError> {
        match name {
            "SHUTDOWN" => {
                self.clean_exits
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id);
                self.store.write(|tx| match tx.partition(id)? {
                    Some(p) if p.state != PartitionState::ShuttingDown => tx.set_partition_state(
                        id,
                        PartitionState::ShuttingDown,
                        refcode::SHUTTING_DOWN,
                        now_ms(),
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
                        tx.set_partition_state(id, PartitionState::Running, "", now_ms())
                    }
                    _ => Ok(()),
                })?;
            }
            _ => {}
        }
        Ok(())
    }

    fn on_exit(&self, id: u32) -> Result<(), ServiceError> {
        let rt = self.runtime()?;
        let clean = self
            .clean_exits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        let restart = self
            .restarts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        if let Some(live) = rt.reap(id) {
            if live.dedicated {
                rt.set_pool(&ivm_rules::shared_pool(
                    &rt.env.host_cpus,
                    &rt.dedicated_cpus(),
                ))?;
            }
        }
        let (state, code) = if clean {
            (PartitionState::NotActivated, "")
        } else {
            (PartitionState::Error, refcode::CRASHED)
        };
        self.store
            .write(|tx| tx.set_partition_state(id, state, code, now_ms()))?;
        if !clean {
            let system = Actor::system();
            let _ = self.logged::<()>(&system, "partition stopped", &format!("lpar {id}"), || {
                Err(ServiceError::Host(
                    "QEMU ended without a shutdown (crash or kill)".into(),
                ))
            });
        }
        if restart && clean {
            self.activate(&Actor::system(), id, None)?;
        }
        Ok(())
    }

    /// After ivm starts: finds partitions that kept running (their QEMU outlived the daemon),
    /// marks those that ended meanwhile, clears leftovers, and on the first start after a host
    /// boot activates the partitions marked auto_start.
    pub fn resume_runtime(&self, host_booted: bool) -> Result<(), ServiceError> {
        let rt = self.runtime()?;
        for p in self.partitions()? {
            if p.is_management() {
                continue;
            }
            if !p.state.is_active() {
                rt.remove_leftovers(p.lpar_id);
                continue;
            }
            let dedicated = p.procs.proc_mode == ProcMode::Dedicated;
            match rt.adopt(p.lpar_id, dedicated, p.ref_time_ms) {
                Ok((_, status)) => {
                    let state = match status.as_str() {
                        "running" if p.state == PartitionState::ShuttingDown => {
                            PartitionState::ShuttingDown
                        }
                        "running" => PartitionState::Running,
                        "prelaunch" | "paused" => PartitionState::OpenFirmware,
                        "shutdown" => PartitionState::ShuttingDown,
                        _ => PartitionState::NotAvailable,
                    };
                    tracing::info!(lpar = p.lpar_id, %state, "re-adopted a running partition");
                    if state != p.state {
                        self.store.write(|tx| {
                            tx.set_partition_state(p.lpar_id, state, &p.ref_code, p.ref_time_ms)
                        })?;
                    }
                }
                Err(e) => {
                    tracing::warn!(lpar = p.lpar_id, error = %e, "partition ended while ivm was not running");
                    rt.remove_leftovers(p.lpar_id);
                    self.store.write(|tx| {
                        tx.set_partition_state(
                            p.lpar_id,
                            PartitionState::NotActivated,
                            refcode::LOST,
                            now_ms(),
                        )
                    })?;
                }
            }
        }
        rt.set_pool(&ivm_rules::shared_pool(
            &rt.env.host_cpus,
            &rt.dedicated_cpus(),
        ))?;
        if host_booted {
            for p in self
                .partitions()?
                .into_iter()
                .filter(|p| p.auto_start && !p.is_management() && !p.state.is_active())
            {
                if let Err(e) = self.activate(&Actor::system(), p.lpar_id, None) {
                    tracing::error!(lpar = p.lpar_id, error = %e, "auto_start activation failed");
                }
            }
        }
        Ok(())
    }
}
