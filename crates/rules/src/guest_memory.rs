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

/// What the guest shows of memory plugged through virtio-mem, from its agent's list of
/// memory blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlugSeen {
    /// The guest has added blocks in the device's region that hold all that is plugged
    /// (its driver adds a block a moment after QEMU counts the memory as plugged).
    pub covered: bool,
    /// Blocks the guest has and leaves offline (a stock distribution onlines none).
    pub offline: Vec<u64>,
}

/// Whether the guest has added the blocks for `plugged` bytes of the virtio-mem region that
/// starts at `region_start`, given its memory blocks (index, online) of `block_size` bytes.
pub fn plug_seen(
    blocks: &[(u64, bool)],
    block_size: u64,
    region_start: u64,
    plugged: u64,
) -> PlugSeen {
    let bs = block_size.max(1);
    let first = region_start / bs;
    let in_region = blocks.iter().filter(|b| b.0 >= first).count() as u64;
    PlugSeen {
        covered: in_region.saturating_mul(bs) >= plugged,
        offline: blocks.iter().filter(|b| !b.1).map(|b| b.0).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plug_is_seen_once_the_guest_has_added_blocks_for_it() {
        const MB: u64 = 1 << 20;
        let boot: Vec<(u64, bool)> = (0..4).map(|i| (i, true)).collect();
        // 128 MB plugged at 4 GiB (block 32), not yet added by the guest.
        let s = plug_seen(&boot, 128 * MB, 4096 * MB, 128 * MB);
        assert_eq!(
            s,
            PlugSeen {
                covered: false,
                offline: vec![]
            }
        );
        let mut added = boot.clone();
        added.push((32, false));
        let s = plug_seen(&added, 128 * MB, 4096 * MB, 128 * MB);
        assert_eq!(
            s,
            PlugSeen {
                covered: true,
                offline: vec![32]
            }
        );
        // 192 MB needs two blocks; a block that stayed after an unplug counts.
        assert!(!plug_seen(&added, 128 * MB, 4096 * MB, 192 * MB).covered);
        added.push((33, true));
        assert!(plug_seen(&added, 128 * MB, 4096 * MB, 192 * MB).covered);
        assert!(plug_seen(&boot, 128 * MB, 4096 * MB, 0).covered);
    }

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
