//! DLPAR on a host in memory: every host call of a change failed in turn, and the partition's
//! QEMU, cgroup and CPUs must be as they were.

use std::cell::RefCell;
use std::collections::BTreeMap;

use ivm_model::{PartitionSpec, ProcMode, ProcUnits};

use super::*;
use crate::service::cpus::GroupSpec;
use crate::service::fake::Journal;

/// What the fake partition's host side holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct LiveState {
    mem_limit: u64,
    plugged_mb: u64,
    balloon_mb: u64,
    vcpus: u32,
    control: Option<CpuControl>,
    online_mem_mb: u64,
    online_vcpus: u32,
    /// Each partition's cpuset, as the CPU ledger set it.
    cpusets: BTreeMap<u32, Vec<u32>>,
}

/// A partition's QEMU, cgroup and guest agent, and the CPUs' cgroups, in memory. Memory the
/// guest holds in its plugged blocks (`guest_keeps_mb`) cannot be unplugged: QEMU times out.
#[derive(Default)]
struct FakeLive {
    state: RefCell<LiveState>,
    journal: RefCell<Journal>,
    guest_keeps_mb: u64,
}

impl FakeLive {
    fn call(&self, what: &str) -> Result<(), HostError> {
        self.journal.borrow_mut().host_call(what)
    }
}

impl LiveHost for FakeLive {
    fn set_memory_limit(&self, bytes: u64) -> Result<(), HostError> {
        self.call("memory limit")?;
        self.state.borrow_mut().mem_limit = bytes;
        Ok(())
    }
    fn set_plugged_mem(&self, mb: u64) -> Result<(), QmpError> {
        self.call("plug")
            .map_err(|e| QmpError::Protocol(e.to_string()))?;
        if mb < self.guest_keeps_mb {
            return Err(QmpError::Timeout("qom-set".into()));
        }
        let mut s = self.state.borrow_mut();
        s.plugged_mb = mb;
        // Unplugged blocks leave the guest; plugged ones arrive offline.
        s.online_mem_mb = s.online_mem_mb.min(mb);
        Ok(())
    }
    fn set_balloon_and_wait(&self, mb: u64) -> Result<(), HostError> {
        self.call("balloon")?;
        self.state.borrow_mut().balloon_mb = mb;
        Ok(())
    }
    fn set_balloon(&self, mb: u64) -> Result<(), HostError> {
        self.set_balloon_and_wait(mb)
    }
    fn set_vcpus(&self, count: u32) -> Result<(), HostError> {
        self.call("vcpus")?;
        let mut s = self.state.borrow_mut();
        s.vcpus = count;
        s.online_vcpus = s.online_vcpus.min(count);
        Ok(())
    }
    fn set_cpu_control(&self, control: &CpuControl) -> Result<(), HostError> {
        self.call("cpu control")?;
        self.state.borrow_mut().control = Some(*control);
        Ok(())
    }
    fn online_memory(&self, plugged_mb: u64) -> Result<(), ServiceError> {
        self.call("online memory")?;
        self.state.borrow_mut().online_mem_mb = plugged_mb;
        Ok(())
    }
    fn online_vcpus(&self, count: u32) -> Result<(), ServiceError> {
        self.call("online vcpus")?;
        self.state.borrow_mut().online_vcpus = count;
        Ok(())
    }
}

impl CpuHost for FakeLive {
    fn host_cpus(&self) -> &[u32] {
        &[0, 1, 2, 3, 4, 5, 6, 7]
    }
    fn create_group(
        &self,
        id: u32,
        cpus: &[u32],
        _cpu: &CpuControl,
        _mem_limit: u64,
    ) -> Result<(), HostError> {
        self.state.borrow_mut().cpusets.insert(id, cpus.to_vec());
        Ok(())
    }
    fn set_cpus(&self, id: u32, cpus: &[u32]) -> Result<(), HostError> {
        self.call(&format!("cpuset {id}"))?;
        self.state.borrow_mut().cpusets.insert(id, cpus.to_vec());
        Ok(())
    }
}

/// A dedicated-processor partition (ID 2) with `procs` processors and `mem` MB, min_mem 512.
fn lpar(procs: u32, mem: u64) -> Partition {
    let spec = PartitionSpec {
        name: "p2".into(),
        proc_mode: Some(ProcMode::Dedicated),
        min_procs: Some(1),
        desired_procs: Some(procs),
        max_procs: Some(4),
        min_mem: Some(512),
        desired_mem: Some(mem),
        max_mem: Some(4096),
        ..Default::default()
    };
    crate::service::tests::partition(2, &spec)
}

/// Partition 2 as it runs with `p`'s configuration after booting with 1024 MB, beside a
/// shared-processor partition 3 that follows the pool.
fn running_as(p: &Partition) -> (FakeLive, CpuLedger) {
    let host = FakeLive::default();
    let ledger = CpuLedger::default();
    let spec = |dedicated, procs| GroupSpec {
        dedicated,
        procs,
        cpu: cpu_control(p),
        mem_limit: 0,
    };
    ledger
        .join(&host, 2, &spec(true, p.procs.desired_procs))
        .unwrap();
    ledger.join(&host, 3, &spec(false, 1)).unwrap();
    let layout = ivm_rules::memory_layout(BOOT_MB, p.mem.desired_mem);
    {
        let mut s = host.state.borrow_mut();
        s.mem_limit = ivm_rules::memory_limit_mb(p.mem.desired_mem, Accel::Tcg) << 20;
        s.plugged_mb = layout.plugged_mb;
        s.balloon_mb = layout.balloon_target_mb;
        s.vcpus = p.procs.desired_procs;
        s.online_vcpus = p.procs.desired_procs;
        s.online_mem_mb = layout.plugged_mb;
        s.control = Some(cpu_control(p));
    }
    (host, ledger)
}

const BOOT_MB: u64 = 1024;

fn run() -> Running {
    Running {
        id: 2,
        boot_mem_mb: BOOT_MB,
        balloon: true,
        dedicated: true,
        accel: Accel::Tcg,
        agent: true,
    }
}

/// Fails each host call of the change from `old` to `new` in turn: the host must then be as
/// `old` left it; with no call failed, as `new` has it. Returns how many calls were failed.
fn every_failure_is_undone(old: &Partition, new: &Partition) -> usize {
    let (done, _) = running_as(new);
    let want = done.state.borrow().clone();
    let mut failed = 0;
    for at in 0.. {
        let (host, ledger) = running_as(old);
        let before = host.state.borrow().clone();
        let held = ledger.held(2);
        host.journal.borrow_mut().fail_after(at);
        match apply(&host, &ledger, &host, &run(), old, new) {
            Err(_) => {
                assert_eq!(*host.state.borrow(), before, "call {at} failed");
                assert_eq!(ledger.held(2), held, "call {at} failed");
                failed += 1;
            }
            Ok(()) => {
                // Which CPUs it holds may differ from a fresh start's pick; how many may not,
                // and the pool is the rest.
                let mut got = host.state.borrow().clone();
                let cpus = std::mem::take(&mut got.cpusets);
                assert_eq!(
                    LiveState {
                        cpusets: BTreeMap::new(),
                        ..want
                    },
                    got
                );
                assert_eq!(cpus[&2].len(), new.procs.desired_procs as usize);
                assert_eq!(cpus[&2], ledger.held(2));
                assert_eq!(cpus[&2].len() + cpus[&3].len(), 8);
                assert!(cpus[&3].iter().all(|c| !cpus[&2].contains(c)));
                return failed;
            }
        }
    }
    unreachable!()
}

#[test]
fn growth_failed_at_any_call_leaves_the_partition_as_it_was() {
    // Memory limit, balloon, plug, online; the pool's cpuset for partition 3, partition 2's,
    // vCPUs, their onlining.
    let failed = every_failure_is_undone(&lpar(1, 1024), &lpar(3, 2048));
    assert!(failed >= 8, "{failed} calls");
}

#[test]
fn shrinking_failed_at_any_call_leaves_the_partition_as_it_was() {
    let failed = every_failure_is_undone(&lpar(3, 2048), &lpar(1, 768));
    assert!(failed >= 6, "{failed} calls");
}

#[test]
fn memory_the_guest_keeps_is_refused_by_name_and_nothing_changes() {
    let (old, new) = (lpar(2, 2048), lpar(1, 1024));
    let (mut host, ledger) = running_as(&old);
    host.guest_keeps_mb = 512;
    let before = host.state.borrow().clone();
    let e = apply(&host, &ledger, &host, &run(), &old, &new).unwrap_err();
    assert!(
        matches!(
            e,
            ServiceError::Rule(ivm_rules::RuleError::GuestKeepsMemory { mb: 1024, .. })
        ),
        "{e:?}"
    );
    assert_eq!(*host.state.borrow(), before);
}

#[test]
fn units_alone_change_only_the_cpu_controls() {
    let old = lpar(1, 1024);
    let mut new = old.clone();
    new.procs.proc_mode = ProcMode::Shared;
    new.procs.desired_proc_units = Some(ProcUnits(50));
    let (host, ledger) = running_as(&old);
    let run = Running {
        dedicated: false,
        ..run()
    };
    apply(&host, &ledger, &host, &run, &old, &new).unwrap();
    assert_eq!(host.journal.borrow().calls(), vec!["cpu control"]);
}
