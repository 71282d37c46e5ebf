//! Bounds of dynamic changes to a running partition: what its QEMU was started with.

use ivm_model::{Accel, LaunchLimits, Partition, PartitionState};

use crate::RuleError;

/// What a partition's QEMU is started with: its profile's maxima and boot memory, and under
/// TCG the vCPU plugs it can carry out (`max_procs` translation contexts, `desired_procs`
/// taken at start).
pub fn launch_limits(p: &Partition, accel: Accel) -> LaunchLimits {
    LaunchLimits {
        max_procs: p.procs.max_procs,
        min_mem: p.mem.min_mem,
        max_mem: p.mem.max_mem,
        vcpu_plugs_left: match accel {
            Accel::Kvm => None,
            Accel::Tcg => Some(p.procs.max_procs.saturating_sub(p.procs.desired_procs)),
        },
    }
}

/// Checks that a partition in `current`'s state may change its host resources now: only
/// Running and Open Firmware partitions have a QEMU that can take a change; Starting and
/// Shutting Down ones are refused rather than recorded and never applied.
pub fn check_settled(current: &Partition) -> Result<(), RuleError> {
    match current.state {
        PartitionState::Starting | PartitionState::ShuttingDown => Err(RuleError::NotSettled {
            name: current.name.clone(),
            state: current.state.to_string(),
        }),
        _ => crate::mobility::check_not_migrating(current),
    }
}

/// Checks that what a dynamic change adds to a running partition (booted with `boot_mem_mb`)
/// reaches its OS: added processors and memory above the boot memory arrive offline in a
/// guest that does not online them itself, and only the guest agent (`rmc_active`) can. A
/// forced change goes through anyway (the administrator knows the OS onlines it); removals and
/// memory given back below the boot memory (the balloon) need no agent.
pub fn check_rmc(
    current: &Partition,
    next: &Partition,
    boot_mem_mb: u64,
    rmc_active: bool,
    force: bool,
) -> Result<(), RuleError> {
    if rmc_active || force {
        return Ok(());
    }
    let refuse = |what| {
        Err(RuleError::NoRmc {
            name: current.name.clone(),
            what,
        })
    };
    if next.procs.desired_procs > current.procs.desired_procs {
        return refuse("processors");
    }
    let plugged = |p: &Partition| crate::memory_layout(boot_mem_mb, p.mem.desired_mem).plugged_mb;
    if plugged(next) > plugged(current) {
        return refuse("memory");
    }
    Ok(())
}

/// The translation buffer ivm gives QEMU under TCG (`-accel tcg,tb-size=`), MB. QEMU's default
/// is 1 GB; 64 MB filled up while the test guest ran its agent and was flushed over and over
/// (TCP between two partitions 0.87x libvirt's default, 0.94x at the same 64 MB); 128 MB fits
/// in the TCG overhead `qemu_overhead_mb` adds to the memory cgroup (QEMU itself ~60 MB).
pub const TCG_TB_SIZE_MB: u64 = 128;

/// How QEMU 10 divides the translation buffer of a multi-threaded TCG guest with `max_cpus`
/// vCPUs: regions of at least 2 MB, at least one per vCPU, at most eight (tcg_n_regions).
pub fn tcg_regions(max_cpus: u32) -> u64 {
    let max = u64::from(max_cpus);
    let by_size = TCG_TB_SIZE_MB / 2;
    match max {
        0 | 1 => 1,
        _ if by_size <= max => max,
        _ => by_size.min(max * 8),
    }
}

/// Checks that a vCPU plug under TCG finds a free translation buffer region: QEMU 10 gives each
/// new vCPU thread a region of its own and aborts (tcg_region_initial_alloc) when none is left,
/// which stops the partition. `jit` is QEMU's (generated code bytes, capacity) from `info jit`;
/// regions in use are one per vCPU thread ever started (an unplug keeps its context) plus the
/// ones filled, counted up so the check errs on the side of refusing. The buffer is emptied
/// when it is full, so a refused plug can go through later.
pub fn check_tcg_plug(
    limits: &LaunchLimits,
    current: &Partition,
    next: &Partition,
    jit: Option<(u64, u64)>,
) -> Result<(), RuleError> {
    let (Some((used, capacity)), Some(left)) = (jit, limits.vcpu_plugs_left) else {
        return Ok(());
    };
    let adding = u64::from(
        next.procs
            .desired_procs
            .saturating_sub(current.procs.desired_procs),
    );
    if adding == 0 || capacity == 0 {
        return Ok(());
    }
    let regions = tcg_regions(limits.max_procs);
    let per_region = (capacity / regions).max(1);
    let threads = u64::from(limits.max_procs.saturating_sub(left));
    let in_use = threads + used.div_ceil(per_region);
    if in_use + adding > regions {
        return Err(RuleError::TcgBufferFull {
            name: current.name.clone(),
            used_mb: used >> 20,
            capacity_mb: capacity >> 20,
        });
    }
    Ok(())
}

/// Checks a dynamic change from `current` to `next` against the running QEMU's `limits`, and
/// returns the limits after it (vCPU plugs used up).
pub fn check_live_change(
    limits: &LaunchLimits,
    current: &Partition,
    next: &Partition,
) -> Result<LaunchLimits, RuleError> {
    let want = next.procs.desired_procs;
    if want > limits.max_procs {
        return Err(RuleError::BeyondLaunch {
            attr: "desired_procs",
            value: want.to_string(),
            limit: format!("max_procs={}", limits.max_procs),
        });
    }
    let mem = next.mem.desired_mem;
    if mem > limits.max_mem || mem < limits.min_mem {
        return Err(RuleError::BeyondLaunch {
            attr: "desired_mem",
            value: mem.to_string(),
            limit: format!("{} to {} MB", limits.min_mem, limits.max_mem),
        });
    }
    let mut after = limits.clone();
    let plugs = want.saturating_sub(current.procs.desired_procs);
    if let Some(left) = limits.vcpu_plugs_left {
        if plugs > left {
            return Err(RuleError::NoVcpuPlugsLeft {
                left,
                needed: plugs,
            });
        }
        after.vcpu_plugs_left = Some(left - plugs);
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::tests::system;
    use crate::{default_management_partition, new_partition};
    use ivm_model::PartitionSpec;

    fn lpar(desired: u32, max: u32) -> Partition {
        let sys = system(4, 8192);
        let spec = PartitionSpec {
            name: "a".into(),
            desired_procs: Some(desired),
            max_procs: Some(max),
            desired_mem: Some(512),
            max_mem: Some(1024),
            ..Default::default()
        };
        new_partition(&sys, (&[default_management_partition(&sys)], &[]), &spec).unwrap()
    }

    fn with_procs(p: &Partition, n: u32) -> Partition {
        let mut q = p.clone();
        q.procs.desired_procs = n;
        q
    }

    #[test]
    fn without_rmc_only_what_the_os_takes_by_itself_goes_through() {
        let p = lpar(1, 2);
        let mem = |m: u64| {
            let mut q = p.clone();
            q.mem.desired_mem = m;
            q
        };
        // Booted with 512 MB: more processors or memory above 512 need the agent.
        let e = check_rmc(&p, &with_procs(&p, 2), 512, false, false).unwrap_err();
        assert!(
            matches!(
                e,
                RuleError::NoRmc {
                    what: "processors",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("qemu-guest-agent"), "{e}");
        let e = check_rmc(&p, &mem(768), 512, false, false).unwrap_err();
        assert!(matches!(e, RuleError::NoRmc { what: "memory", .. }), "{e}");
        // Back up to the boot memory (the balloon), removals, the agent or --force: allowed.
        assert!(check_rmc(&mem(256), &mem(512), 512, false, false).is_ok());
        assert!(check_rmc(&mem(768), &mem(640), 512, false, false).is_ok());
        assert!(check_rmc(&with_procs(&p, 2), &p, 512, false, false).is_ok());
        assert!(check_rmc(&p, &mem(768), 512, true, false).is_ok());
        assert!(check_rmc(&p, &with_procs(&p, 2), 512, false, true).is_ok());
    }

    #[test]
    fn a_tcg_plug_needs_a_free_translation_region() {
        assert_eq!(
            (tcg_regions(1), tcg_regions(2), tcg_regions(8)),
            (1, 16, 64)
        );
        let p = lpar(1, 2);
        let limits = launch_limits(&p, Accel::Tcg);
        let next = with_procs(&p, 2);
        // Measured on the test guest with its agent: 58 MB of 64 MB generated, one vCPU thread:
        // 16 regions of ~4 MB, 15 filled or held, so the count leaves none (QEMU aborted such
        // plugs).
        let e = check_tcg_plug(&limits, &p, &next, Some((60_936_979, 67_026_944))).unwrap_err();
        assert!(
            matches!(
                e,
                RuleError::TcgBufferFull {
                    used_mb: 58,
                    capacity_mb: 63,
                    ..
                }
            ),
            "{e}"
        );
        // Just after a flush there is room; KVM (no jit figures) and removals are never held.
        assert!(check_tcg_plug(&limits, &p, &next, Some((14_000_000, 67_026_944))).is_ok());
        assert!(check_tcg_plug(&limits, &p, &next, None).is_ok());
        assert!(check_tcg_plug(&limits, &next, &p, Some((66_000_000, 67_026_944))).is_ok());
        // Each vCPU thread ever started holds a region: with two of 16 held and 14 filled,
        // nothing is left for a third (max_procs 3: 24 regions of ~2.8 MB).
        let three = lpar(2, 3);
        let l3 = launch_limits(&three, Accel::Tcg);
        let full = Some((22 * 2_792_789, 67_026_944));
        assert!(check_tcg_plug(&l3, &three, &with_procs(&three, 3), full).is_err());
        assert!(check_tcg_plug(
            &l3,
            &three,
            &with_procs(&three, 3),
            Some((20 * 2_792_789, 67_026_944))
        )
        .is_ok());
    }

    #[test]
    fn tcg_counts_vcpu_plugs_and_kvm_does_not() {
        let p = lpar(1, 2);
        let tcg = launch_limits(&p, Accel::Tcg);
        assert_eq!(tcg.vcpu_plugs_left, Some(1));
        assert_eq!(launch_limits(&p, Accel::Kvm).vcpu_plugs_left, None);
        // add 1, remove 1, add 1: the third step is refused under TCG, before the guest is touched.
        let two = with_procs(&p, 2);
        let after_add = check_live_change(&tcg, &p, &two).unwrap();
        assert_eq!(after_add.vcpu_plugs_left, Some(0));
        let after_remove = check_live_change(&after_add, &two, &p).unwrap();
        assert_eq!(after_remove.vcpu_plugs_left, Some(0));
        let e = check_live_change(&after_remove, &p, &two).unwrap_err();
        assert_eq!(e, RuleError::NoVcpuPlugsLeft { left: 0, needed: 1 });
        assert!(e.to_string().contains("activate it again"), "{e}");
        // Under KVM the same cycle goes on.
        let kvm = launch_limits(&p, Accel::Kvm);
        let a = check_live_change(&kvm, &p, &two).unwrap();
        let b = check_live_change(&a, &two, &p).unwrap();
        assert!(check_live_change(&b, &p, &two).is_ok());
    }

    #[test]
    fn a_raised_profile_maximum_waits_for_the_next_activation() {
        let p = lpar(1, 2);
        let limits = launch_limits(&p, Accel::Kvm);
        let mut raised = with_procs(&p, 3);
        raised.procs.max_procs = 4;
        let e = check_live_change(&limits, &p, &raised).unwrap_err();
        assert!(
            matches!(e, RuleError::BeyondLaunch { attr: "desired_procs", ref value, ref limit } if value == "3" && limit == "max_procs=2"),
            "{e:?}"
        );
        let mut more_mem = p.clone();
        more_mem.mem.desired_mem = 2048;
        assert!(matches!(
            check_live_change(&limits, &p, &more_mem),
            Err(RuleError::BeyondLaunch {
                attr: "desired_mem",
                ..
            })
        ));
    }

    #[test]
    fn only_settled_partitions_change_live() {
        let mut p = lpar(1, 2);
        for (state, ok) in [
            (PartitionState::Running, true),
            (PartitionState::OpenFirmware, true),
            (PartitionState::NotActivated, true),
            (PartitionState::Starting, false),
            (PartitionState::ShuttingDown, false),
        ] {
            p.state = state;
            assert_eq!(check_settled(&p).is_ok(), ok, "{state}");
        }
    }
}
