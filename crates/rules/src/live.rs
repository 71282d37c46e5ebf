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
        _ => Ok(()),
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
        new_partition(&sys, &[default_management_partition(&sys)], &spec).unwrap()
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
