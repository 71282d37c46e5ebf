//! Activation on a host in memory: every host call of a start failed in turn, and the bridges,
//! the memory pool, the cgroups and the CPUs must be as they were.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ivm_host::cgroup::CpuControl;
use ivm_model::{Accel, DisplayAdapter, PartitionSpec};
use ivm_qemu::launch::Paths;

use super::*;
use crate::service::fake::Journal;

/// What the fake host holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct HostState {
    /// Virtual Ethernet IDs with a bridge.
    bridges: BTreeSet<u16>,
    /// Partitions whose memory group is in the shared memory pool.
    pool: BTreeSet<u32>,
    /// Each partition's cgroup.
    groups: BTreeMap<u32, Group>,
    /// Partitions whose QEMU runs.
    running: BTreeSet<u32>,
}

/// A partition's cgroup in the fake.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    cpus: Vec<u32>,
    mem_limit: u64,
    /// The pool share's (limit, low), bytes.
    share: Option<(u64, u64)>,
}

/// What QEMU's start was given.
#[derive(Debug, PartialEq, Eq)]
struct Spawned {
    cpus: Vec<u32>,
    files: usize,
    nics: usize,
    balloon_mb: Option<u64>,
}

/// Bridges, the memory pool, cgroups and QEMU in memory. `in_use` are the IDs other running
/// partitions keep bridges for.
#[derive(Default)]
struct FakeHost {
    state: RefCell<HostState>,
    journal: RefCell<Journal>,
    in_use: BTreeSet<u16>,
    /// What the last successful start was given.
    spawned: RefCell<Option<Spawned>>,
}

impl FakeHost {
    fn call(&self, what: &str) -> Result<(), HostError> {
        self.journal.borrow_mut().host_call(what)
    }
}

impl StartHost for FakeHost {
    fn plug_nics(
        &self,
        p: &Partition,
        first_fd: i32,
    ) -> Result<(Vec<LaunchNic>, Vec<InheritedFile>), ServiceError> {
        self.call("taps")?;
        let mut out = (Vec::new(), Vec::new());
        for (i, a) in p.eth.virtual_eth_adapters.iter().enumerate() {
            self.state.borrow_mut().bridges.insert(a.port_vlan_id);
            let fd = first_fd + i as i32;
            out.0.push(LaunchNic {
                slot: a.slot_num,
                fd,
                mac: format!("02:00:00:00:00:{:02x}", a.slot_num),
                vhostfd: None,
            });
            out.1.push((std::fs::File::open("/dev/null").unwrap(), fd));
        }
        Ok(out)
    }
    fn sweep_bridges(&self) {
        let in_use = &self.in_use;
        self.state
            .borrow_mut()
            .bridges
            .retain(|b| in_use.contains(b));
    }
    fn join_pool(&self, p: &Partition) -> Result<(u64, u64), ServiceError> {
        self.call("join pool")?;
        self.state.borrow_mut().pool.insert(p.lpar_id);
        Ok((p.mem.desired_mem + 64, p.mem.desired_mem))
    }
    fn leave_pool(&self, id: u32) {
        self.state.borrow_mut().pool.remove(&id);
    }
    fn set_pool_share(&self, id: u32, limit: u64, low: u64) -> Result<(), HostError> {
        self.call("pool share")?;
        let mut s = self.state.borrow_mut();
        let g = s.groups.get_mut(&id).ok_or_else(|| {
            HostError::Failed(format!("lpar {id} has no cgroup for its pool share"))
        })?;
        g.share = Some((limit, low));
        Ok(())
    }
    fn remove_group(&self, id: u32) {
        self.state.borrow_mut().groups.remove(&id);
    }
    fn spawn(&self, plan: StartPlan, _laps: &mut Laps) -> Result<(), HostError> {
        self.call("spawn")?;
        self.state.borrow_mut().running.insert(plan.id);
        *self.spawned.borrow_mut() = Some(Spawned {
            cpus: plan.cpus,
            files: plan.files.len(),
            nics: plan.spec.nics.len(),
            balloon_mb: plan.balloon_mb,
        });
        Ok(())
    }
}

impl CpuHost for FakeHost {
    fn host_cpus(&self) -> &[u32] {
        &[0, 1, 2, 3]
    }
    fn create_group(
        &self,
        id: u32,
        cpus: &[u32],
        _cpu: &CpuControl,
        mem_limit: u64,
    ) -> Result<(), HostError> {
        self.call(&format!("cgroup {id}"))?;
        let mut s = self.state.borrow_mut();
        s.groups.insert(
            id,
            Group {
                cpus: cpus.to_vec(),
                mem_limit,
                share: None,
            },
        );
        Ok(())
    }
    fn set_cpus(&self, id: u32, cpus: &[u32]) -> Result<(), HostError> {
        self.call(&format!("cpuset {id}"))?;
        let mut s = self.state.borrow_mut();
        if let Some(g) = s.groups.get_mut(&id) {
            g.cpus = cpus.to_vec();
        }
        Ok(())
    }
}

/// Partition 2: `procs` dedicated processors or, with `shared`, shared processors and memory
/// from the pool; 1024 MB; adapters on IDs 1 and 5.
fn lpar(procs: u32, shared: bool) -> Partition {
    let spec = PartitionSpec {
        name: "p2".into(),
        proc_mode: Some(if shared {
            ProcMode::Shared
        } else {
            ProcMode::Dedicated
        }),
        min_procs: Some(1),
        desired_procs: Some(procs),
        max_procs: Some(4),
        min_mem: Some(512),
        desired_mem: Some(1024),
        max_mem: Some(4096),
        ..Default::default()
    };
    let mut p = crate::service::tests::partition(2, &spec);
    if shared {
        // The pool's existence is the rules' check, made before a start; here only the start's
        // host side is under test.
        p.mem.mem_mode = MemMode::Shared;
    }
    p.eth.virtual_eth_adapters = [(3, 1), (4, 5)]
        .into_iter()
        .map(|(slot, id)| ivm_model::VirtualEthAdapter {
            slot_num: slot,
            ieee_virtual_eth: false,
            port_vlan_id: id,
            addl_vlan_ids: Vec::new(),
            is_trunk: false,
            is_required: false,
        })
        .collect();
    p
}

/// The host with partition 3 running on shared processors (its bridge on ID 1, its cgroup
/// following the CPU pool), and the CPU ledger that knows it.
fn host_with_partition_3() -> (FakeHost, CpuLedger) {
    let host = FakeHost {
        in_use: BTreeSet::from([1]),
        ..FakeHost::default()
    };
    let ledger = CpuLedger::default();
    let spec = GroupSpec {
        dedicated: false,
        procs: 1,
        cpu: cpu_control(&lpar(1, false)),
        mem_limit: 512 << 20,
    };
    ledger.join(&host, 3, &spec).unwrap();
    {
        let mut s = host.state.borrow_mut();
        s.bridges.insert(1);
        s.running.insert(3);
    }
    (host, ledger)
}

/// How `p` starts: booting, with 1024 MB resident, two disk files before its taps.
fn launch(p: &Partition) -> Launch {
    Launch {
        spec: LaunchSpec {
            name: "lpar2".into(),
            paths: Paths::new(Path::new("/nonexistent/lpars/2")),
            accel: Accel::Tcg,
            vcpus: p.procs.desired_procs,
            max_vcpus: p.procs.max_procs,
            base_mem_mb: p.mem.desired_mem,
            plugged_mem_mb: 0,
            max_mem_mb: p.mem.max_mem,
            kernel: None,
            uefi_vars_fd: None,
            cidata_fd: None,
            display: DisplayAdapter::None,
            run_as: "ivm-qemu-2".into(),
            vhost: None,
            disks: Vec::new(),
            optical: Vec::new(),
            nics: Vec::new(),
            nic_slots: Vec::new(),
            aio: "threads",
            tcg_tb_mb: ivm_rules::TCG_TB_SIZE_MB,
            balloon: false,
            shared_mem: None,
            incoming: false,
        },
        files: (10..12)
            .map(|fd| (std::fs::File::open("/dev/null").unwrap(), fd))
            .collect(),
        first_nic_fd: 12,
        resident_mb: p.mem.desired_mem,
        resume: true,
    }
}

/// Fails each host call of `p`'s start in turn: the host and the CPU ledger must then be as
/// they were. Returns the calls a start makes and how many were failed.
fn every_failure_is_undone(p: &Partition) -> (Vec<String>, usize) {
    let (done, ledger) = host_with_partition_3();
    let setup = done.journal.borrow().calls().len();
    take(&done, &ledger, &done, p, launch(p), &mut Laps::default()).expect("a start");
    let calls = done.journal.borrow().calls().split_off(setup);
    let mut failed = 0;
    for (at, call) in calls.iter().enumerate() {
        let (host, ledger) = host_with_partition_3();
        let before = host.state.borrow().clone();
        host.journal.borrow_mut().fail_after(at);
        let e = take(&host, &ledger, &host, p, launch(p), &mut Laps::default())
            .expect_err("the failed call fails the start");
        assert!(e.to_string().contains("injected"), "call {at}: {e}");
        assert_eq!(*host.state.borrow(), before, "call {at} ({call}) failed");
        assert!(ledger.held(2).is_empty(), "call {at}: {:?}", ledger.held(2));
        // Partition 3 has the whole CPU pool again.
        assert_eq!(host.state.borrow().groups[&3].cpus, [0, 1, 2, 3]);
        failed += 1;
    }
    (calls, failed)
}

#[test]
fn a_dedicated_start_failed_at_any_call_leaves_the_host_as_it_was() {
    let (calls, failed) = every_failure_is_undone(&lpar(2, false));
    // Taps; the pool's CPUs shrink for partition 3, then 2's cgroup; QEMU.
    assert_eq!(calls, ["taps", "cpuset 3", "cgroup 2", "spawn"]);
    assert_eq!(failed, 4);
}

#[test]
fn a_shared_memory_start_failed_at_any_call_leaves_the_host_as_it_was() {
    let (calls, failed) = every_failure_is_undone(&lpar(1, true));
    assert_eq!(
        calls,
        ["taps", "join pool", "cgroup 2", "pool share", "spawn"]
    );
    assert_eq!(failed, 5);
}

#[test]
fn a_start_gives_qemu_its_cpus_files_and_nics_and_the_cgroup_its_limits() {
    let p = lpar(2, false);
    let (host, ledger) = host_with_partition_3();
    take(&host, &ledger, &host, &p, launch(&p), &mut Laps::default()).unwrap();
    let s = host.state.borrow();
    let held = ledger.held(2);
    assert_eq!(held.len(), 2);
    // Two disks and two taps; no balloon target for dedicated memory.
    assert_eq!(
        *host.spawned.borrow(),
        Some(Spawned {
            cpus: held.clone(),
            files: 4,
            nics: 2,
            balloon_mb: None
        })
    );
    let limit = ivm_rules::memory_limit_mb(1024, Accel::Tcg) << 20;
    assert_eq!(
        s.groups[&2],
        Group {
            cpus: held.clone(),
            mem_limit: limit,
            share: None
        }
    );
    assert!(s.groups[&3].cpus.iter().all(|c| !held.contains(c)));
    assert_eq!(s.bridges, BTreeSet::from([1, 5]));
    assert!(s.running.contains(&2));
}

#[test]
fn shared_memory_takes_the_pool_share_as_its_limit_and_an_arriving_guest_keeps_its_balloon() {
    let p = lpar(1, true);
    for incoming in [false, true] {
        let (host, ledger) = host_with_partition_3();
        let mut l = launch(&p);
        l.spec.incoming = incoming;
        l.resume = !incoming;
        take(&host, &ledger, &host, &p, l, &mut Laps::default()).unwrap();
        let s = host.state.borrow();
        // The fake's share: 64 MB over the desired memory, the desired memory protected.
        assert_eq!(s.groups[&2].mem_limit, (1024 + 64) << 20);
        assert_eq!(s.groups[&2].share, Some(((1024 + 64) << 20, 1024 << 20)));
        assert!(s.pool.contains(&2));
        let balloon = host.spawned.borrow().as_ref().unwrap().balloon_mb;
        assert_eq!(balloon, (!incoming).then_some(1024), "incoming {incoming}");
    }
}
