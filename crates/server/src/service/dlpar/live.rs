//! A running partition's resources changed in place: the steps `ivm_rules::live_plan` orders,
//! each with its undo, carried out through [`LiveHost`] (QMP, the partition's cgroup, the guest
//! agent) and the CPU ledger.

use std::sync::Mutex;

use ivm_host::cgroup::CpuControl;
use ivm_model::{Accel, Partition};
use ivm_qemu::{vm, QmpError};
use ivm_rules::{LiveShape, LiveStep};

use crate::runtime::{HostError, Live};
use crate::service::cpus::{cpu_control, CpuHost, CpuLedger};
use crate::service::steps::{step, Step};
use crate::service::{Service, ServiceError};

/// What a DLPAR changes of one running partition on the host.
pub(crate) trait LiveHost {
    /// The partition's cgroup memory limit, bytes.
    fn set_memory_limit(&self, bytes: u64) -> Result<(), HostError>;
    /// The memory plugged through virtio-mem, MB (QMP's error kept: a time-out on the way
    /// down means the guest keeps the memory).
    fn set_plugged_mem(&self, mb: u64) -> Result<(), QmpError>;
    /// The dedicated-memory balloon's target, MB, once the guest has reached it.
    fn set_balloon_and_wait(&self, mb: u64) -> Result<(), HostError>;
    /// The shared-memory balloon's target (the logical memory in use), MB.
    fn set_balloon(&self, mb: u64) -> Result<(), HostError>;
    /// The guest's vCPUs.
    fn set_vcpus(&self, count: u32) -> Result<(), HostError>;
    /// The CPU time controls of the partition's cgroup.
    fn set_cpu_control(&self, control: &CpuControl) -> Result<(), HostError>;
    /// Has the guest agent online plugged memory until `plugged_mb` is online.
    fn online_memory(&self, plugged_mb: u64) -> Result<(), ServiceError>;
    /// Has the guest agent online vCPUs until `count` are online.
    fn online_vcpus(&self, count: u32) -> Result<(), ServiceError>;
}

/// A partition's QEMU, cgroup and guest agent.
pub(crate) struct LinuxLive<'a> {
    /// For the guest agent's calls.
    pub service: &'a Service,
    /// The running partition.
    pub live: &'a Live,
    /// The accelerator its QEMU runs with (the vCPU model depends on it).
    pub accel: Accel,
}

impl LiveHost for LinuxLive<'_> {
    fn set_memory_limit(&self, bytes: u64) -> Result<(), HostError> {
        Ok(self.live.group.set_memory_limit(bytes)?)
    }
    fn set_plugged_mem(&self, mb: u64) -> Result<(), QmpError> {
        vm::set_plugged_mem(&self.live.qmp, mb)
    }
    fn set_balloon_and_wait(&self, mb: u64) -> Result<(), HostError> {
        Ok(vm::set_balloon_and_wait(
            &self.live.qmp,
            mb,
            self.live.boot_mem_mb,
        )?)
    }
    fn set_balloon(&self, mb: u64) -> Result<(), HostError> {
        Ok(vm::set_balloon(&self.live.qmp, mb)?)
    }
    fn set_vcpus(&self, count: u32) -> Result<(), HostError> {
        Ok(vm::set_vcpus(&self.live.qmp, self.accel, count)?)
    }
    fn set_cpu_control(&self, control: &CpuControl) -> Result<(), HostError> {
        Ok(self.live.group.set_cpu(control)?)
    }
    fn online_memory(&self, plugged_mb: u64) -> Result<(), ServiceError> {
        self.service.online_memory(self.live, plugged_mb)
    }
    fn online_vcpus(&self, count: u32) -> Result<(), ServiceError> {
        self.service.online_vcpus(self.live, count)
    }
}

/// How the partition runs, as far as a change to it depends on it.
pub(crate) struct Running {
    /// Its ID.
    pub id: u32,
    /// The memory it booted with, MB (see `ivm_rules::memory_layout`).
    pub boot_mem_mb: u64,
    /// Its QEMU has the dedicated-memory balloon.
    pub balloon: bool,
    /// It holds dedicated CPUs.
    pub dedicated: bool,
    /// The accelerator (QEMU's overhead in the memory limit depends on it).
    pub accel: Accel,
    /// Its guest agent answers, so what is plugged is onlined.
    pub agent: bool,
}

/// Takes the running partition from `old` to `new`, one step at a time; a failed step undoes
/// the steps before it, so the host is left as `old` had it.
pub(crate) fn apply(
    host: &dyn LiveHost,
    cpus: &CpuLedger,
    cpu_host: &dyn CpuHost,
    run: &Running,
    old: &Partition,
    new: &Partition,
) -> Result<(), ServiceError> {
    let id = run.id;
    let limit = |p: &Partition| ivm_rules::memory_limit_mb(p.mem.desired_mem, run.accel) << 20;
    let layout = |p: &Partition| ivm_rules::memory_layout(run.boot_mem_mb, p.mem.desired_mem);
    let mem_limit = |p: &Partition| Ok(host.set_memory_limit(limit(p))?);
    let plugged_mem = |p: &Partition| -> Result<(), ServiceError> {
        let target = layout(p).plugged_mb;
        host.set_plugged_mem(target).map_err(|e| match e {
            // Memory the guest's kernel cannot empty (it holds pages there) is not given
            // back: said as what it is, with what to do, rather than as a time-out.
            QmpError::Timeout(_) if target < layout(old).plugged_mb.max(layout(new).plugged_mb) => {
                ServiceError::from(ivm_rules::RuleError::GuestKeepsMemory {
                    name: old.name.clone(),
                    mb: layout(old).plugged_mb.saturating_sub(target),
                })
            }
            other => ServiceError::from(HostError::from(other)),
        })?;
        // Also after an undone removal: the guest may have given back part before it
        // stopped, and what QEMU plugs again arrives offline in a stock guest.
        if run.agent && target > 0 {
            host.online_memory(target)?;
        }
        Ok(())
    };
    let dedicated_balloon =
        |p: &Partition| Ok(host.set_balloon_and_wait(layout(p).balloon_target_mb)?);
    let vcpus = |p: &Partition| -> Result<(), ServiceError> {
        host.set_vcpus(p.procs.desired_procs)?;
        // Plugged anew, also when an undone removal puts them back: a stock guest leaves
        // what QEMU plugs offline.
        let fewest = old.procs.desired_procs.min(new.procs.desired_procs);
        if run.agent && p.procs.desired_procs > fewest {
            host.online_vcpus(p.procs.desired_procs)?;
        }
        Ok(())
    };
    let control = |p: &Partition| Ok(host.set_cpu_control(&cpu_control(p))?);
    let balloon = |p: &Partition| Ok(host.set_balloon(p.mem.desired_mem)?);
    let (p0, p1) = (old.procs.desired_procs, new.procs.desired_procs);
    // CPUs a dedicated partition takes or gives back; filled in by the step that does it.
    let moved: Mutex<Vec<u32>> = Mutex::default();
    let grow = || -> Result<(), ServiceError> {
        let extra = cpus.grow(cpu_host, id, p1 - p0)?;
        *moved.lock().unwrap_or_else(|e| e.into_inner()) = extra;
        Ok(())
    };
    let ungrow = || -> Result<(), ServiceError> {
        let extra = std::mem::take(&mut *moved.lock().unwrap_or_else(|e| e.into_inner()));
        cpus.shrink(cpu_host, id, &extra)
    };
    let shrink = || -> Result<(), ServiceError> {
        let give: Vec<u32> = cpus.held(id).into_iter().skip(p1 as usize).collect();
        cpus.shrink(cpu_host, id, &give)?;
        *moved.lock().unwrap_or_else(|e| e.into_inner()) = give;
        Ok(())
    };
    let unshrink = || -> Result<(), ServiceError> {
        let n = std::mem::take(&mut *moved.lock().unwrap_or_else(|e| e.into_inner())).len();
        cpus.grow(cpu_host, id, n as u32).map(|_| ())
    };
    let shape = LiveShape {
        balloon: run.balloon,
        dedicated: run.dedicated,
        control_changed: cpu_control(old) != cpu_control(new),
    };
    // The order is the rules'; here each step gets its host calls.
    let steps: Vec<Step> = ivm_rules::live_plan(old, new, shape)
        .into_iter()
        .map(|s| match s {
            LiveStep::MemLimit => step("mem_limit", || mem_limit(new), || mem_limit(old)),
            LiveStep::DedicatedBalloon => step(
                "balloon",
                || dedicated_balloon(new),
                || dedicated_balloon(old),
            ),
            LiveStep::PluggedMem => step("plugged_mem", || plugged_mem(new), || plugged_mem(old)),
            LiveStep::SharedBalloon => step("balloon", || balloon(new), || balloon(old)),
            LiveStep::Cpus if p1 > p0 => step("cpus", grow, ungrow),
            LiveStep::Cpus => step("cpus", shrink, unshrink),
            LiveStep::Vcpus => step("vcpus", || vcpus(new), || vcpus(old)),
            LiveStep::CpuControl => step("cpu_control", || control(new), || control(old)),
        })
        .collect();
    crate::service::steps::run("dlpar", &format!("lpar {id}"), &steps)
}

#[cfg(test)]
mod tests;
