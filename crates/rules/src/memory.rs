//! Memory rules: dedicated memory in multiples of the region size.

use ivm_model::{ManagedSystem, MemConfig, MemMode};

use crate::procs::check_order;
use crate::RuleError;

/// Memory attributes a caller asked for; unset values keep the current ones or default to desired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemRequest {
    /// mem_mode
    pub mode: Option<MemMode>,
    /// min_mem
    pub min: Option<u64>,
    /// desired_mem
    pub desired: Option<u64>,
    /// max_mem
    pub max: Option<u64>,
    /// mem_weight (shared memory only)
    pub weight: Option<u8>,
}

/// Resolves and checks a memory assignment against `base` (the current one, if any).
pub fn resolve_memory(
    sys: &ManagedSystem,
    base: Option<&MemConfig>,
    req: &MemRequest,
) -> Result<MemConfig, RuleError> {
    let mode = req
        .mode
        .or(base.map(|b| b.mem_mode))
        .unwrap_or(MemMode::Dedicated);
    if mode == MemMode::Shared && sys.mem_pool.is_none() {
        return Err(crate::error::shared_memory_without_pool());
    }
    if mode == MemMode::Dedicated && req.weight.is_some() {
        return Err(RuleError::Unsupported {
            attr: "mem_weight",
            value: req.weight.unwrap_or_default().to_string(),
            reason: "a memory weight applies to mem_mode=shared only",
        });
    }
    let weight = req
        .weight
        .or(base.filter(|b| b.mem_mode == mode).map(|b| b.mem_weight))
        .unwrap_or(ivm_model::DEFAULT_MEM_WEIGHT);
    let desired = req
        .desired
        .or(base.map(|b| b.desired_mem))
        .ok_or(RuleError::Missing("desired_mem"))?;
    let min = req.min.or(base.map(|b| b.min_mem)).unwrap_or(desired);
    let max = req.max.or(base.map(|b| b.max_mem)).unwrap_or(desired);
    check_mem_values(
        sys,
        &[("desired_mem", desired), ("min_mem", min), ("max_mem", max)],
    )?;
    check_order(("min_mem", min), ("desired_mem", desired), ("max_mem", max))?;
    Ok(MemConfig {
        mem_mode: mode,
        min_mem: min,
        desired_mem: desired,
        max_mem: max,
        mem_weight: weight,
    })
}

/// Checks memory values: each a multiple of the region size, from one region to what the
/// system can commit.
pub(crate) fn check_mem_values(
    sys: &ManagedSystem,
    values: &[(&'static str, u64)],
) -> Result<(), RuleError> {
    let region = sys.mem_region_size;
    let top = crate::totals::configurable(sys).mem;
    for &(attr, v) in values {
        if v % region != 0 {
            return Err(RuleError::NotRegionMultiple {
                attr,
                value: v,
                region,
            });
        }
        if v == 0 || v > top {
            return Err(RuleError::OutOfRange {
                attr,
                value: v.to_string(),
                allowed: format!("{region} to {top} MB"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::tests::system;

    #[test]
    fn defaults_and_region_multiples() {
        let sys = system(4, 4096); // region 32 MB
        let m = resolve_memory(
            &sys,
            None,
            &MemRequest {
                desired: Some(512),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((m.min_mem, m.desired_mem, m.max_mem), (512, 512, 512));
        let e = resolve_memory(
            &sys,
            None,
            &MemRequest {
                desired: Some(500),
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.ends_with("of the memory region size for the managed system."),
            "{e}"
        );
        assert!(e.starts_with("desired_mem=500"), "{e}");
    }

    #[test]
    fn order_range_and_mode() {
        let sys = system(4, 4096);
        let r = MemRequest {
            desired: Some(512),
            max: Some(256),
            ..Default::default()
        };
        assert!(matches!(
            resolve_memory(&sys, None, &r),
            Err(RuleError::Order { .. })
        ));
        let r = MemRequest {
            desired: Some(8192),
            ..Default::default()
        };
        assert!(matches!(
            resolve_memory(&sys, None, &r),
            Err(RuleError::OutOfRange { .. })
        ));
        let r = MemRequest {
            mode: Some(MemMode::Shared),
            desired: Some(512),
            ..Default::default()
        };
        assert!(matches!(
            resolve_memory(&sys, None, &r),
            Err(RuleError::Unsupported { .. })
        ));
        assert_eq!(
            resolve_memory(&sys, None, &MemRequest::default()).unwrap_err(),
            RuleError::Missing("desired_mem")
        );
    }
}
