//! An activation's host side: the partition's taps, its share of the shared memory pool, its
//! CPUs and cgroup, then its QEMU, each given back when a later one fails. [`StartHost`] is
//! the host; the unit tests fail each of its calls in turn.

use ivm_model::{MemMode, Partition, ProcMode};
use ivm_qemu::{LaunchNic, LaunchSpec};

use crate::runtime::{HostError, Runtime, StartPlan};
use crate::service::cpus::{cpu_control, CpuHost, CpuLedger, GroupSpec};
use crate::service::mempool::shares;
use crate::service::steps::Ledger;
use crate::service::{now_ms, InheritedFile, Service, ServiceError};
use crate::timing::Laps;

/// What an activation takes on the host besides the CPU ledger's cgroup.
pub(crate) trait StartHost {
    /// The partition's taps, each on its virtual Ethernet ID's bridge, as QEMU's NICs and the
    /// tap files numbered from `first_fd`. A failure leaves no tap.
    fn plug_nics(
        &self,
        p: &Partition,
        first_fd: i32,
    ) -> Result<(Vec<LaunchNic>, Vec<InheritedFile>), ServiceError>;
    /// Removes the bridges no tap uses any more (the taps go with their files).
    fn sweep_bridges(&self);
    /// Puts the partition's memory group in the shared memory pool and makes room for its
    /// share: (limit, protected) MB.
    fn join_pool(&self, p: &Partition) -> Result<(u64, u64), ServiceError>;
    /// Takes the partition's group out of the pool and shares the pool anew.
    fn leave_pool(&self, id: u32);
    /// The pool share's limits on the partition's own group, bytes.
    fn set_pool_share(&self, id: u32, limit: u64, low: u64) -> Result<(), HostError>;
    /// Removes the partition's cgroup.
    fn remove_group(&self, id: u32);
    /// Starts QEMU as `plan` says; a failed start leaves no process and no cgroup.
    fn spawn(&self, plan: StartPlan, laps: &mut Laps) -> Result<(), HostError>;
}

/// The host's bridges and taps, memory cgroups and QEMU, through the service's network
/// component and the runtime.
pub(crate) struct LinuxStart<'a> {
    /// For the network component and the memory pool's record.
    pub service: &'a Service,
    /// The running partitions.
    pub rt: &'a Runtime,
}

impl StartHost for LinuxStart<'_> {
    fn plug_nics(
        &self,
        p: &Partition,
        first_fd: i32,
    ) -> Result<(Vec<LaunchNic>, Vec<InheritedFile>), ServiceError> {
        self.service.nics_for_launch(self.rt, p, first_fd)
    }
    fn sweep_bridges(&self) {
        self.service.sweep_bridges()
    }
    fn join_pool(&self, p: &Partition) -> Result<(u64, u64), ServiceError> {
        let (pool, parts) = self.service.pool_and_partitions()?;
        let pool = pool.ok_or_else(ivm_rules::no_mem_pool)?;
        Ok(shares::join(self.rt, &pool, &parts, p)?)
    }
    fn leave_pool(&self, id: u32) {
        self.service.leave_pool(self.rt, id)
    }
    fn set_pool_share(&self, id: u32, limit: u64, low: u64) -> Result<(), HostError> {
        self.rt.set_pool_share(id, limit, low)
    }
    fn remove_group(&self, id: u32) {
        if let Err(e) = self.rt.group(id).and_then(|g| Ok(g.remove()?)) {
            tracing::warn!(lpar = id, error = %e, "cannot remove cgroup");
        }
    }
    fn spawn(&self, plan: StartPlan, laps: &mut Laps) -> Result<(), HostError> {
        self.rt.start(plan, laps).map(|_| ())
    }
}

/// A start as laid out before the host is touched.
pub(crate) struct Launch {
    /// QEMU's parameters, but for the NICs (the network step makes them).
    pub spec: LaunchSpec,
    /// Files QEMU inherits so far (disks, firmware variables, seed medium).
    pub files: Vec<InheritedFile>,
    /// The descriptor number the first tap gets.
    pub first_nic_fd: i32,
    /// The memory the guest holds from its start, MB (the cgroup's limit follows it).
    pub resident_mb: u64,
    /// Resume the guest once QEMU is up (false: it stays in firmware or waits for a stream).
    pub resume: bool,
}

/// Takes what `p`'s start needs on the host, in order, and starts its QEMU; a failure gives
/// back every step before it, so the host is left as it was.
pub(crate) fn take(
    host: &dyn StartHost,
    cpus: &CpuLedger,
    cpu_host: &dyn CpuHost,
    p: &Partition,
    launch: Launch,
    laps: &mut Laps,
) -> Result<(), ServiceError> {
    let id = p.lpar_id;
    let Launch {
        mut spec,
        mut files,
        first_nic_fd,
        resident_mb,
        resume,
    } = launch;
    let mut taken = Ledger::new("activate", format!("lpar {id}"));
    let (nics, taps) = taken.step(
        "network",
        || host.plug_nics(p, first_nic_fd),
        || host.sweep_bridges(),
    )?;
    spec.nics = nics;
    files.extend(taps);
    laps.lap("storage and network");
    // Shared memory: the partition's memory group goes in the pool's, with its share of the
    // pool (the others' limits make room).
    let share = match p.mem.mem_mode {
        MemMode::Shared => {
            Some(taken.step("pool-share", || host.join_pool(p), || host.leave_pool(id))?)
        }
        MemMode::Dedicated => None,
    };
    let mem_limit = match share {
        Some((limit, _)) => limit << 20,
        None => ivm_rules::memory_limit_mb(resident_mb, spec.accel) << 20,
    };
    let dedicated = p.procs.proc_mode == ProcMode::Dedicated;
    let cpu_set = taken.step(
        "cgroup",
        || {
            cpus.join(
                cpu_host,
                id,
                &GroupSpec {
                    dedicated,
                    procs: p.procs.desired_procs,
                    cpu: cpu_control(p),
                    mem_limit,
                },
            )
        },
        || {
            host.remove_group(id);
            cpus.leave(cpu_host, id)
        },
    )?;
    if let Some((limit, low)) = share {
        taken.step(
            "pool-limits",
            || Ok(host.set_pool_share(id, limit << 20, low << 20)?),
            || {},
        )?;
    }
    laps.lap("cgroup");
    let incoming = spec.incoming;
    let desired_mem = p.mem.desired_mem;
    let plan = StartPlan {
        id,
        spec,
        cpus: cpu_set,
        dedicated,
        resume,
        now_ms: now_ms(),
        files,
        // An arriving guest brings its balloon's target with it.
        balloon_mb: share.filter(|_| !incoming).map(|_| desired_mem),
    };
    taken.step("spawn", || Ok(host.spawn(plan, laps)?), || {})?;
    taken.commit();
    Ok(())
}

#[cfg(test)]
mod tests;
