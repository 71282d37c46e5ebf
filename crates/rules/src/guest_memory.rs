//! How a dedicated-memory partition's memory is laid out in QEMU while it runs.
//!
//! A partition boots with its desired memory as ordinary boot memory, so a stock distribution
//! (which onlines no hot-added memory by itself) sees all it was committed. DLPAR then moves
//! the current value within min..max: above the boot memory through virtio-mem blocks, below
//! it through the balloon (which the guest's driver takes without help from user space and
//! which lowers the guest's MemTotal). The two are never used at once: memory is plugged only
//! with the balloon empty, and the balloon fills only with nothing plugged.

/// What QEMU is asked for to give the guest `mem_mb` when it booted with `boot_mb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLayout {
    /// The virtio-mem device's requested size, MB.
    pub plugged_mb: u64,
    /// The balloon target, MB: the memory the balloon leaves the guest. Never below what is
    /// plugged plus the boot memory when something is plugged, so the balloon is then empty
    /// whether or not QEMU counts plugged memory in the guest's RAM size (targets above it are
    /// taken as the whole RAM).
    pub balloon_target_mb: u64,
}

/// The layout for `mem_mb` of memory on a partition that booted with `boot_mb`.
pub fn memory_layout(boot_mb: u64, mem_mb: u64) -> MemoryLayout {
    MemoryLayout {
        plugged_mb: mem_mb.saturating_sub(boot_mb),
        balloon_target_mb: mem_mb,
    }
}

/// What the guest has, from what QEMU reports: the boot memory, what is plugged, and the
/// balloon's actual size (none without a balloon). The balloon counts only with nothing
/// plugged (see `memory_layout`).
pub fn guest_memory_mb(boot_mb: u64, plugged_mb: u64, balloon_actual_mb: Option<u64>) -> u64 {
    match balloon_actual_mb {
        Some(actual) if plugged_mb == 0 => actual.min(boot_mb),
        _ => boot_mb + plugged_mb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn above_the_boot_memory_is_plugged_and_below_it_is_ballooned() {
        assert_eq!(
            memory_layout(512, 768),
            MemoryLayout {
                plugged_mb: 256,
                balloon_target_mb: 768
            }
        );
        assert_eq!(
            memory_layout(512, 512),
            MemoryLayout {
                plugged_mb: 0,
                balloon_target_mb: 512
            }
        );
        assert_eq!(
            memory_layout(512, 256),
            MemoryLayout {
                plugged_mb: 0,
                balloon_target_mb: 256
            }
        );
    }

    #[test]
    fn the_guest_memory_reads_back_the_layout() {
        for mem in [256, 384, 512, 640, 1024] {
            let l = memory_layout(512, mem);
            // QEMU's balloon reports at most the RAM it knows of: the boot memory, with or
            // without what is plugged.
            for ram in [512, 512 + l.plugged_mb] {
                let actual = l.balloon_target_mb.min(ram);
                assert_eq!(guest_memory_mb(512, l.plugged_mb, Some(actual)), mem);
            }
            assert_eq!(guest_memory_mb(512, l.plugged_mb, None), mem.max(512));
        }
    }
}
