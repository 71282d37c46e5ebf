//! The order in which a running partition's resources change (DLPAR). Each step has an undo,
//! and a failed step undoes the ones before it in reverse, so the order decides what holds
//! at every moment: the cgroup's memory limit is raised before the guest gets memory and
//! lowered only after the guest gave it back, and dedicated CPUs are held before a vCPU
//! runs on them and freed only after it is gone.

use ivm_model::{MemMode, Partition};

/// One host change of a DLPAR operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveStep {
    /// The partition's cgroup memory limit (dedicated memory).
    MemLimit,
    /// The balloon that takes dedicated memory below the boot memory.
    DedicatedBalloon,
    /// Virtio-mem blocks above the boot memory.
    PluggedMem,
    /// The balloon that sets a shared-memory partition's logical memory in use.
    SharedBalloon,
    /// Dedicated CPUs taken from the free ones or given back.
    Cpus,
    /// The guest's vCPUs.
    Vcpus,
    /// The CPU time controls (CFS quota and weight).
    CpuControl,
}

/// What a running partition's QEMU and cgroup were set up with, which the plan depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveShape {
    /// Its QEMU has the balloon for dedicated memory below the boot memory.
    pub balloon: bool,
    /// It holds dedicated CPUs.
    pub dedicated: bool,
    /// The CPU time controls differ between the two configurations.
    pub control_changed: bool,
}

/// The steps that take a running partition from `old` to `new`, in order.
pub fn live_plan(old: &Partition, new: &Partition, shape: LiveShape) -> Vec<LiveStep> {
    let mem_steps = if new.mem.mem_mode == MemMode::Shared {
        // The cgroup limits follow the pool's shares, not the logical memory.
        vec![LiveStep::SharedBalloon]
    } else {
        // Growing: the limit, the balloon emptied down to the boot memory, then blocks
        // plugged above it; shrinking runs the same steps backwards.
        let mut s = vec![LiveStep::MemLimit];
        if shape.balloon {
            s.push(LiveStep::DedicatedBalloon);
        }
        s.push(LiveStep::PluggedMem);
        s
    };
    let mut steps = Vec::new();
    let (m0, m1) = (old.mem.desired_mem, new.mem.desired_mem);
    if m1 > m0 {
        steps.extend(mem_steps);
    } else if m1 < m0 {
        steps.extend(mem_steps.into_iter().rev());
    }
    let (p0, p1) = (old.procs.desired_procs, new.procs.desired_procs);
    if p1 > p0 {
        if shape.dedicated {
            steps.push(LiveStep::Cpus);
        }
        steps.push(LiveStep::Vcpus);
    } else if p1 < p0 {
        steps.push(LiveStep::Vcpus);
        if shape.dedicated {
            steps.push(LiveStep::Cpus);
        }
    }
    if shape.control_changed {
        steps.push(LiveStep::CpuControl);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::LiveStep::*;
    use super::*;
    use crate::capacity::tests::system;
    use crate::{default_management_partition, new_partition};
    use ivm_model::PartitionSpec;

    fn lpar(procs: u32, mem: u64) -> Partition {
        let sys = system(8, 16384);
        let spec = PartitionSpec {
            name: "a".into(),
            desired_procs: Some(procs),
            max_procs: Some(8),
            desired_mem: Some(mem),
            max_mem: Some(4096),
            ..Default::default()
        };
        new_partition(&sys, (&[default_management_partition(&sys)], &[]), &spec).unwrap()
    }

    const PLAIN: LiveShape = LiveShape {
        balloon: false,
        dedicated: false,
        control_changed: false,
    };

    #[test]
    fn memory_grows_limit_first_and_shrinks_limit_last() {
        let shape = LiveShape {
            balloon: true,
            ..PLAIN
        };
        let up = live_plan(&lpar(1, 1024), &lpar(1, 2048), shape);
        assert_eq!(up, vec![MemLimit, DedicatedBalloon, PluggedMem]);
        let down = live_plan(&lpar(1, 2048), &lpar(1, 1024), shape);
        assert_eq!(down, vec![PluggedMem, DedicatedBalloon, MemLimit]);
        assert_eq!(
            live_plan(&lpar(1, 1024), &lpar(1, 2048), PLAIN),
            vec![MemLimit, PluggedMem],
            "no balloon without memory below the boot memory"
        );
    }

    #[test]
    fn shared_memory_moves_only_its_balloon() {
        let (mut a, mut b) = (lpar(1, 1024), lpar(1, 512));
        a.mem.mem_mode = MemMode::Shared;
        b.mem.mem_mode = MemMode::Shared;
        assert_eq!(live_plan(&a, &b, PLAIN), vec![SharedBalloon]);
    }

    #[test]
    fn dedicated_cpus_are_held_before_a_vcpu_and_freed_after() {
        let shape = LiveShape {
            dedicated: true,
            ..PLAIN
        };
        assert_eq!(
            live_plan(&lpar(1, 512), &lpar(3, 512), shape),
            vec![Cpus, Vcpus]
        );
        assert_eq!(
            live_plan(&lpar(3, 512), &lpar(1, 512), shape),
            vec![Vcpus, Cpus]
        );
        assert_eq!(live_plan(&lpar(1, 512), &lpar(3, 512), PLAIN), vec![Vcpus]);
    }

    #[test]
    fn memory_then_processors_then_controls_and_nothing_for_no_change() {
        let shape = LiveShape {
            control_changed: true,
            ..PLAIN
        };
        assert_eq!(
            live_plan(&lpar(1, 512), &lpar(2, 1024), shape),
            vec![MemLimit, PluggedMem, Vcpus, CpuControl]
        );
        assert_eq!(live_plan(&lpar(2, 512), &lpar(2, 512), PLAIN), vec![]);
    }
}
