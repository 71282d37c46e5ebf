//! Rules about the managed system itself: region size and firmware reserve.

use ivm_model::ManagedSystem;

use crate::RuleError;

/// IVM's default memory region size (MB) for the installed memory (MB).
pub fn region_size_for(installed_mb: u64) -> u64 {
    match installed_mb {
        m if m < 4 * 1024 => 16,
        m if m < 8 * 1024 => 32,
        m if m < 16 * 1024 => 64,
        m if m < 32 * 1024 => 128,
        _ => 256,
    }
}

/// Rounds megabytes down to a whole number of regions.
pub fn round_down_to_region(mb: u64, region: u64) -> u64 {
    mb - mb % region
}

/// Rounds megabytes up to a whole number of regions.
pub(crate) fn round_up_to_region(mb: u64, region: u64) -> u64 {
    mb.div_ceil(region) * region
}

/// ivm's default hypervisor reserve: 1/64 of installed memory (QEMU's own overhead per guest),
/// at least one region, rounded up to the region size.
pub fn default_firmware_mem(installed_mb: u64, region: u64) -> u64 {
    round_up_to_region((installed_mb / 64).max(region), region)
}

/// Checks figures that come from configuration overrides before ivm trusts them.
pub fn validate_system(sys: &ManagedSystem) -> Result<(), RuleError> {
    let range = |attr: &'static str, value: String, allowed: &str| RuleError::OutOfRange {
        attr,
        value,
        allowed: allowed.to_string(),
    };
    if !sys.mem_region_size.is_power_of_two() || !(1..=4096).contains(&sys.mem_region_size) {
        return Err(range(
            "mem_region_size",
            sys.mem_region_size.to_string(),
            "a power of two from 1 to 4096 MB",
        ));
    }
    if sys.installed_procs == 0 {
        return Err(range("installed_procs", "0".into(), "1 or more"));
    }
    if !sys.installed_mem.is_multiple_of(sys.mem_region_size) {
        return Err(RuleError::NotRegionMultiple {
            attr: "installed_mem",
            value: sys.installed_mem,
            region: sys.mem_region_size,
        });
    }
    if !sys.firmware_mem.is_multiple_of(sys.mem_region_size) {
        return Err(RuleError::NotRegionMultiple {
            attr: "firmware_mem",
            value: sys.firmware_mem,
            region: sys.mem_region_size,
        });
    }
    if sys.firmware_mem + sys.mem_region_size > sys.installed_mem {
        return Err(range(
            "firmware_mem",
            sys.firmware_mem.to_string(),
            "less than installed memory minus one region",
        ));
    }
    if sys.max_lpars < 2 {
        return Err(range("max_lpars", sys.max_lpars.to_string(), "2 or more"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_size_follows_the_reference_table() {
        assert_eq!(region_size_for(2048), 16);
        assert_eq!(region_size_for(4095), 16);
        assert_eq!(region_size_for(4096), 32);
        assert_eq!(region_size_for(8191), 32);
        assert_eq!(region_size_for(8192), 64);
        assert_eq!(region_size_for(16384), 128);
        assert_eq!(region_size_for(24576), 128);
        assert_eq!(region_size_for(32768), 256);
        assert_eq!(region_size_for(1 << 20), 256);
    }

    #[test]
    fn firmware_reserve_is_a_region_multiple() {
        assert_eq!(default_firmware_mem(24576, 128), 384);
        assert_eq!(default_firmware_mem(1024, 16), 16);
        assert_eq!(default_firmware_mem(2000, 16), 32);
    }
}
