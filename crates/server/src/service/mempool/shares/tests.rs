//! The pool's shares on a host in memory: who gets what, and that a start that fails on the
//! way into the pool leaves the host as it was.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use ivm_model::{MemMode, MemPool, Partition, PartitionSpec};

use super::*;
use crate::service::fake::Journal;

/// What the fake host holds: the pool's limit, each partition's share and the partitions'
/// groups made in the pool's (bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct PoolState {
    pool_limit: Option<u64>,
    shares: BTreeMap<u32, (u64, u64)>,
    groups: BTreeSet<u32>,
}

/// A host whose memory cgroups are a [`PoolState`], with cgroup v1's reserved shares.
#[derive(Default)]
struct FakePool {
    running: BTreeSet<u32>,
    state: RefCell<PoolState>,
    journal: RefCell<Journal>,
}

impl FakePool {
    fn call(&self, what: &str) -> Result<(), HostError> {
        self.journal.borrow_mut().host_call(what)
    }
}

impl PoolHost for FakePool {
    fn is_running(&self, id: u32) -> bool {
        self.running.contains(&id)
    }
    fn qemu_overhead_mb(&self) -> u64 {
        OVERHEAD
    }
    fn lends_idle_shares(&self) -> Result<bool, HostError> {
        Ok(false)
    }
    fn set_pool_limit(&self, bytes: u64) -> Result<(), HostError> {
        self.call("pool limit")?;
        self.state.borrow_mut().pool_limit = Some(bytes);
        Ok(())
    }
    fn place_in_pool(&self, id: u32) -> Result<(), HostError> {
        self.call(&format!("place {id}"))?;
        self.state.borrow_mut().groups.insert(id);
        Ok(())
    }
    fn set_share(&self, id: u32, limit: u64, low: u64) -> Result<(), HostError> {
        self.call(&format!("share {id}"))?;
        self.state.borrow_mut().shares.insert(id, (limit, low));
        Ok(())
    }
    fn remove_leftovers(&self, id: u32) {
        let mut s = self.state.borrow_mut();
        s.groups.remove(&id);
        s.shares.remove(&id);
    }
}

const OVERHEAD: u64 = 256;
const MB: u64 = 1 << 20;

fn pool() -> MemPool {
    MemPool {
        pool_mem: 1024,
        max_pool_mem: 4096,
        paging_storage_pool: "rootvg".into(),
    }
}

/// A shared-memory partition with ID `id`, memory weight `weight` and max_mem 2048 MB.
fn shared(id: u32, weight: u8) -> Partition {
    let spec = PartitionSpec {
        name: format!("p{id}"),
        desired_procs: Some(1),
        desired_mem: Some(512),
        ..Default::default()
    };
    let mut p = crate::service::tests::partition(id, &spec);
    p.mem.mem_mode = MemMode::Shared;
    p.mem.mem_weight = weight;
    p.mem.max_mem = 2048;
    p
}

/// Partitions 2 and 3 running, 4 stopped, 5 about to start; the host shares the pool among
/// the running two.
fn host_and_partitions() -> (FakePool, Vec<Partition>) {
    let host = FakePool {
        running: [2, 3].into(),
        ..Default::default()
    };
    let parts = vec![
        shared(2, 192),
        shared(3, 64),
        shared(4, 128),
        shared(5, 128),
    ];
    rebalance(&host, &pool(), &parts, None).expect("shared");
    (host, parts)
}

#[test]
fn the_running_share_the_pool_by_weight_and_the_stopped_get_nothing() {
    let (host, _) = host_and_partitions();
    let s = host.state.borrow();
    assert_eq!(s.pool_limit, Some((1024 + 2 * OVERHEAD) * MB));
    // Shares 768 and 256 of the pool; each may use the pool less the other's share.
    assert_eq!(
        s.shares,
        BTreeMap::from([
            (2, ((768 + OVERHEAD) * MB, (768 + OVERHEAD) * MB)),
            (3, ((256 + OVERHEAD) * MB, (256 + OVERHEAD) * MB)),
        ])
    );
}

#[test]
fn a_joining_partition_makes_room_and_gets_its_share_to_set_later() {
    let (host, parts) = host_and_partitions();
    let share = join(&host, &pool(), &parts, &parts[3]).expect("joined");
    // Weights 192, 64 and 128 of 384: shares of 512, 170 and 341 MB of the pool; each may
    // use the pool less the others' shares (the 1 MB that rounding leaves over included).
    assert_eq!(share, (342 + OVERHEAD, 341 + OVERHEAD));
    let s = host.state.borrow();
    assert_eq!(s.pool_limit, Some((1024 + 3 * OVERHEAD) * MB));
    assert_eq!(s.shares[&2], ((513 + OVERHEAD) * MB, (512 + OVERHEAD) * MB));
    assert_eq!(s.shares[&3], ((171 + OVERHEAD) * MB, (170 + OVERHEAD) * MB));
    assert!(
        !s.shares.contains_key(&5),
        "its own share waits for its group"
    );
    assert_eq!(s.groups, BTreeSet::from([5]));
}

#[test]
fn a_join_that_fails_at_any_host_call_is_undone_to_the_shares_before() {
    let mut undone = 0;
    for at in 0.. {
        let (host, parts) = host_and_partitions();
        let before = host.state.borrow().clone();
        let calls_before = host.journal.borrow().calls().len();
        host.journal.borrow_mut().fail_after(at);
        let out = join(&host, &pool(), &parts, &parts[3]);
        let calls = host.journal.borrow().calls().len() - calls_before;
        if at >= calls {
            // Every call of a join has been failed once.
            assert!(out.is_ok());
            break;
        }
        match out {
            Err(_) => {
                // What the activation's ledger does with the step's undo.
                leave(&host, &pool(), &parts, 5);
                assert_eq!(*host.state.borrow(), before, "failed at call {at}");
                undone += 1;
            }
            // A refused share of another partition is logged, not a failure.
            Ok(_) => {
                assert!(host.journal.borrow().calls()[calls_before + at].starts_with("share "))
            }
        }
    }
    // The pool's limit and the placing of the group.
    assert_eq!(undone, 2);
}

#[test]
fn a_share_the_host_refuses_leaves_the_others_set() {
    let (host, parts) = host_and_partitions();
    host.state.borrow_mut().shares.clear();
    // The pool's limit, then partition 2's share fails.
    host.journal.borrow_mut().fail_after(1);
    assert_eq!(rebalance(&host, &pool(), &parts, None).unwrap(), None);
    let s = host.state.borrow();
    assert!(s.pool_limit.is_some());
    assert_eq!(s.shares.keys().copied().collect::<Vec<_>>(), vec![3]);
}
