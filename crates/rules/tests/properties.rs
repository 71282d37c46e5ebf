//! Property tests: random sequences of create/change/delete never break the rules, and a
//! rejection for lack of capacity happens only when the request really does not fit.

use ivm_model::{
    ManagedSystem, Partition, PartitionChange, PartitionSpec, PartitionState, ProcMode, ProcUnits,
    SharingMode,
};
use ivm_rules::{
    apply_change, check_delete, default_management_partition, new_partition, RuleError,
};
use proptest::prelude::*;

mod oracle;

fn system() -> ManagedSystem {
    ManagedSystem {
        name: "host".into(),
        type_model: "KVM-X86".into(),
        serial_num: "1".into(),
        installed_procs: 4,
        installed_mem: 8192,
        mem_region_size: 64,
        firmware_mem: 128,
        max_lpars: 12,
        physical_volumes: vec![],
        physical_nics: vec![],
        mem_pool: None,
    }
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        ded: bool,
        procs: u32,
        max_procs: u32,
        units: Option<u32>,
        mem: u64,
        max_mem: u64,
        id: Option<u32>,
    },
    Change {
        pick: usize,
        procs: Option<u32>,
        units: Option<u32>,
        mem: Option<u64>,
        max_mem: Option<u64>,
        cap: bool,
    },
    Delete {
        pick: usize,
    },
    Toggle {
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 1u32..5, 0u32..3, proptest::option::of(5u32..450), 1u64..40, 0u64..10, proptest::option::of(0u32..14))
            .prop_map(|(ded, procs, extra, units, mem, extra_mem, id)| Op::Create {
                ded, procs, max_procs: procs + extra, units, mem: mem * 64, max_mem: (mem + extra_mem) * 64, id,
            }),
        3 => (any::<usize>(), proptest::option::of(1u32..6), proptest::option::of(5u32..450),
              proptest::option::of(1u64..50), proptest::option::of(1u64..60), any::<bool>())
            .prop_map(|(pick, procs, units, mem, max_mem, cap)| Op::Change {
                pick, procs, units, mem: mem.map(|m| m * 64), max_mem: max_mem.map(|m| m * 64), cap,
            }),
        1 => any::<usize>().prop_map(|pick| Op::Delete { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Toggle { pick }),
    ]
}

/// A rejection for lack of capacity must be true: the candidate really would not fit.
fn check_insufficient_is_true(
    sys: &ManagedSystem,
    parts: &[Partition],
    replaced: Option<u32>,
    err: &RuleError,
) {
    if let RuleError::Insufficient { resource, .. } = err {
        let (cap_units, cap_mem) = oracle::capacity(sys);
        let rest: Vec<Partition> = parts
            .iter()
            .filter(|p| Some(p.lpar_id) != replaced)
            .cloned()
            .collect();
        let (units, mem) = oracle::committed(&rest);
        match *resource {
            "memory" => assert!(mem <= cap_mem, "memory refusal while the rest fits"),
            "processing units" => assert!(units <= cap_units),
            other => panic!("unexpected resource {other}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn sequences_never_overcommit(ops in proptest::collection::vec(op(), 1..60)) {
        let sys = system();
        let mut parts = vec![default_management_partition(&sys)];
        for op in ops {
            let before = parts.clone();
            match op {
                Op::Create { ded, procs, max_procs, units, mem, max_mem, id } => {
                    let spec = PartitionSpec {
                        name: format!("p{}", parts.len() * 7 + procs as usize),
                        lpar_id: id,
                        proc_mode: Some(if ded { ProcMode::Dedicated } else { ProcMode::Shared }),
                        desired_procs: Some(procs),
                        max_procs: Some(max_procs),
                        desired_proc_units: if ded { None } else { units.map(ProcUnits) },
                        desired_mem: Some(mem),
                        max_mem: Some(max_mem),
                        ..Default::default()
                    };
                    match new_partition(&sys, (&parts, &[]), &spec) {
                        Ok(p) => {
                            // An accepted partition fits in what was available.
                            let (units, mem) = oracle::available(&sys, &parts);
                            prop_assert!(oracle::committed_hundredths(&p) <= units);
                            prop_assert!(p.mem.desired_mem <= mem);
                            parts.push(p);
                        }
                        Err(e) => {
                            // Had it fitted, the only refusals are rule breaks, never capacity.
                            if let RuleError::Insufficient { resource, .. } = &e {
                                let (free_units, free_mem) = oracle::available(&sys, &parts);
                                let needs_units = u64::from(if ded { procs * 100 } else { units.unwrap_or(procs * 10) });
                                match *resource {
                                    "memory" => prop_assert!(mem > free_mem),
                                    _ => prop_assert!(needs_units > free_units),
                                }
                            }
                        }
                    }
                }
                Op::Change { pick, procs, units, mem, max_mem, cap } => {
                    let cur = parts[pick % parts.len()].clone();
                    let change = PartitionChange {
                        desired_procs: procs,
                        desired_proc_units: units.map(ProcUnits),
                        desired_mem: mem,
                        max_mem,
                        sharing_mode: (cur.procs.proc_mode == ProcMode::Shared)
                            .then_some(if cap { SharingMode::Capped } else { SharingMode::Uncapped }),
                        ..Default::default()
                    };
                    match apply_change(&sys, &parts, &cur, &change) {
                        Ok(next) => {
                            prop_assert_eq!(next.lpar_id, cur.lpar_id);
                            if cur.state.is_active() {
                                prop_assert_eq!(next.mem.min_mem, cur.mem.min_mem);
                                prop_assert_eq!(next.mem.max_mem, cur.mem.max_mem);
                                prop_assert!(next.procs.desired_procs >= cur.procs.min_procs);
                                prop_assert!(next.procs.desired_procs <= cur.procs.max_procs);
                            }
                            let i = parts.iter().position(|p| p.lpar_id == cur.lpar_id).unwrap();
                            parts[i] = next;
                        }
                        Err(e) => check_insufficient_is_true(&sys, &parts, Some(cur.lpar_id), &e),
                    }
                }
                Op::Delete { pick } => {
                    let i = pick % parts.len();
                    match check_delete(&parts[i]) {
                        Ok(()) => { parts.remove(i); }
                        Err(_) => prop_assert!(parts[i].is_management() || parts[i].state.is_active()),
                    }
                }
                Op::Toggle { pick } => {
                    let i = pick % parts.len();
                    if !parts[i].is_management() {
                        parts[i].state = if parts[i].state.is_active() {
                            PartitionState::NotActivated
                        } else {
                            PartitionState::Running
                        };
                    }
                }
            }
            let v = oracle::violations(&sys, &parts);
            prop_assert!(v.is_empty(), "after a step from {:?}: {:?}", before.len(), v);
        }
    }
}
