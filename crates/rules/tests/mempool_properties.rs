//! Property tests of the shared memory pool: random sequences of pool changes and of
//! dedicated- and shared-memory partitions never commit more physical memory than the system
//! has, keep the pool's logical memory within ivm's limit, and refuse only what does not fit.
//! The checks are written here from the rules' text (ivm-reference, Memory), not from the
//! crate's code.

use ivm_model::{
    ManagedSystem, MemMode, MemPoolRequest, Partition, PartitionChange, PartitionSpec, ProcMode,
};
use ivm_rules::{
    apply_change, check_delete, check_mempool_removal, default_management_partition, new_partition,
    resolve_pool, RuleError,
};
use proptest::prelude::*;

const REGION: u64 = 64;

fn system() -> ManagedSystem {
    ManagedSystem {
        name: "host".into(),
        type_model: "KVM-X86".into(),
        serial_num: "1".into(),
        installed_procs: 64,
        installed_mem: 8192,
        mem_region_size: REGION,
        firmware_mem: 128,
        max_lpars: 40,
        physical_volumes: vec![],
        physical_nics: vec![],
        mem_pool: None,
    }
}

/// Physical memory committed: dedicated partitions' desired memory plus the pool.
fn physical(sys: &ManagedSystem, parts: &[Partition]) -> u64 {
    let ded: u64 = parts
        .iter()
        .filter(|p| p.mem.mem_mode == MemMode::Dedicated)
        .map(|p| p.mem.desired_mem)
        .sum();
    ded + sys.mem_pool.as_ref().map_or(0, |p| p.pool_mem)
}

fn logical(parts: &[Partition]) -> u64 {
    parts
        .iter()
        .filter(|p| p.mem.mem_mode == MemMode::Shared)
        .map(|p| p.mem.desired_mem)
        .sum()
}

#[derive(Clone, Debug)]
enum Op {
    Pool {
        mem: u64,
    },
    RemovePool,
    Create {
        shared: bool,
        mem: u64,
        extra: u64,
    },
    Change {
        pick: usize,
        mem: Option<u64>,
        shared: Option<bool>,
    },
    Delete {
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (1u64..100).prop_map(|m| Op::Pool { mem: m * REGION }),
        1 => Just(Op::RemovePool),
        4 => (any::<bool>(), 1u64..60, 0u64..20)
            .prop_map(|(shared, m, e)| Op::Create { shared, mem: m * REGION, extra: e * REGION }),
        3 => (any::<usize>(), proptest::option::of(1u64..80), proptest::option::of(any::<bool>()))
            .prop_map(|(pick, m, shared)| Op::Change { pick, mem: m.map(|m| m * REGION), shared }),
        1 => any::<usize>().prop_map(|pick| Op::Delete { pick }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_pool_and_dedicated_memory_never_overcommit(ops in proptest::collection::vec(op(), 1..50)) {
        let mut sys = system();
        let cap = sys.installed_mem - sys.firmware_mem;
        let mut parts = vec![default_management_partition(&sys)];
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::Pool { mem } => {
                    let req = MemPoolRequest { pool_mem: Some(mem), max_pool_mem: Some(cap - cap % REGION), ..Default::default() };
                    match resolve_pool(&sys, &parts, &req, Some("rootvg")) {
                        Ok(pool) => sys.mem_pool = Some(pool),
                        Err(RuleError::Insufficient { .. }) => {
                            let before = physical(&sys, &parts);
                            let after = before - sys.mem_pool.as_ref().map_or(0, |p| p.pool_mem) + mem;
                            prop_assert!(after > cap && after > before, "a pool of {} MB refused though it fits", mem);
                        }
                        Err(_) => {}
                    }
                }
                Op::RemovePool => {
                    if check_mempool_removal(&sys, &parts).is_ok() {
                        prop_assert!(parts.iter().all(|p| p.mem.mem_mode == MemMode::Dedicated));
                        sys.mem_pool = None;
                    }
                }
                Op::Create { shared, mem, extra } => {
                    let spec = PartitionSpec {
                        name: format!("p{n}"),
                        proc_mode: Some(ProcMode::Shared),
                        desired_procs: Some(1),
                        mem_mode: Some(if shared { MemMode::Shared } else { MemMode::Dedicated }),
                        desired_mem: Some(mem),
                        max_mem: Some(mem + extra),
                        ..Default::default()
                    };
                    match new_partition(&sys, (&parts, &[]), &spec) {
                        Ok(p) => parts.push(p),
                        Err(RuleError::Insufficient { resource, .. }) => {
                            if resource == "memory" {
                                prop_assert!(!shared && physical(&sys, &parts) + mem > cap);
                            } else {
                                let pool = sys.mem_pool.as_ref().unwrap().pool_mem;
                                prop_assert!(shared && logical(&parts) + mem > 4 * pool);
                            }
                        }
                        Err(e) => {
                            if shared && sys.mem_pool.is_none() {
                                prop_assert!(e.to_string().contains("no shared memory pool"), "{}", e);
                            }
                        }
                    }
                }
                Op::Change { pick, mem, shared } => {
                    let cur = parts[pick % parts.len()].clone();
                    let change = PartitionChange {
                        desired_mem: mem,
                        max_mem: mem,
                        min_mem: mem.map(|_| REGION),
                        mem_mode: shared.map(|s| if s { MemMode::Shared } else { MemMode::Dedicated }),
                        ..Default::default()
                    };
                    if let Ok(next) = apply_change(&sys, &parts, &cur, &change) {
                        let i = parts.iter().position(|p| p.lpar_id == cur.lpar_id).unwrap();
                        parts[i] = next;
                    }
                }
                Op::Delete { pick } => {
                    let i = pick % parts.len();
                    if check_delete(&parts[i]).is_ok() {
                        parts.remove(i);
                    }
                }
            }
            // The invariants, after every step.
            prop_assert!(physical(&sys, &parts) <= cap, "physical memory overcommitted");
            match &sys.mem_pool {
                Some(pool) => {
                    prop_assert!(logical(&parts) <= 4 * pool.pool_mem, "logical memory beyond 4x the pool");
                    for p in parts.iter().filter(|p| p.mem.mem_mode == MemMode::Shared) {
                        prop_assert!(p.mem.min_mem <= pool.pool_mem, "{} needs more than the pool", p.name);
                    }
                }
                None => prop_assert!(parts.iter().all(|p| p.mem.mem_mode == MemMode::Dedicated)),
            }
        }
    }
}
