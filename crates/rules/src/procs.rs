//! Processor rules: dedicated processors, or virtual processors with processing units.

use ivm_model::{ManagedSystem, ProcConfig, ProcMode, ProcUnits, SharingMode};

use crate::RuleError;

/// Most virtual processors one partition may have.
pub const MAX_VIRTUAL_PROCS: u32 = 64;
/// Fewest processing units one shared partition may have, and one virtual processor may carry.
pub const MIN_UNITS: ProcUnits = ProcUnits(10);
/// Default uncapped weight.
pub const DEFAULT_UNCAP_WEIGHT: u8 = 128;

/// Processor attributes a caller asked for; unset values keep the current ones or take defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcRequest {
    /// proc_mode
    pub mode: Option<ProcMode>,
    /// min_procs
    pub min_procs: Option<u32>,
    /// desired_procs
    pub desired_procs: Option<u32>,
    /// max_procs
    pub max_procs: Option<u32>,
    /// min_proc_units
    pub min_units: Option<ProcUnits>,
    /// desired_proc_units
    pub desired_units: Option<ProcUnits>,
    /// max_proc_units
    pub max_units: Option<ProcUnits>,
    /// sharing_mode
    pub sharing_mode: Option<SharingMode>,
    /// uncap_weight
    pub uncap_weight: Option<u8>,
}

/// Resolves and checks a processor assignment against `base` (the current one, if any).
///
/// On creation (no base) units left unset are computed from the virtual processors: 0.10 per
/// virtual processor for min and desired, 1.00 for max; an explicit desired value instead
/// becomes the default for min and max, as min and max always default to desired.
pub fn resolve_procs(
    sys: &ManagedSystem,
    base: Option<&ProcConfig>,
    req: &ProcRequest,
) -> Result<ProcConfig, RuleError> {
    let mode = req
        .mode
        .or(base.map(|b| b.proc_mode))
        .unwrap_or(ProcMode::Shared);
    // A mode switch starts from scratch: values of the other mode mean nothing here.
    let base = base.filter(|b| b.proc_mode == mode);
    let desired = req
        .desired_procs
        .or(base.map(|b| b.desired_procs))
        .ok_or(RuleError::Missing("desired_procs"))?;
    let min = req
        .min_procs
        .or(base.map(|b| b.min_procs))
        .unwrap_or(desired);
    let max = req
        .max_procs
        .or(base.map(|b| b.max_procs))
        .unwrap_or(desired);
    // The maximum may exceed this host's processors (a profile from a larger machine, room for
    // DLPAR), up to 64; the minimum and the desired value must fit the host.
    let limit = sys.installed_procs.min(MAX_VIRTUAL_PROCS);
    for (attr, v, limit) in [
        ("min_procs", min, limit),
        ("desired_procs", desired, limit),
        ("max_procs", max, MAX_VIRTUAL_PROCS),
    ] {
        if v == 0 || v > limit {
            return Err(RuleError::OutOfRange {
                attr,
                value: v.to_string(),
                allowed: format!("1 to {limit}"),
            });
        }
    }
    check_order(
        ("min_procs", min),
        ("desired_procs", desired),
        ("max_procs", max),
    )?;

    match mode {
        ProcMode::Dedicated => {
            let mismatch = |attr| RuleError::ModeMismatch { attr, mode };
            if req.min_units.is_some() {
                return Err(mismatch("min_proc_units"));
            }
            if req.desired_units.is_some() {
                return Err(mismatch("desired_proc_units"));
            }
            if req.max_units.is_some() {
                return Err(mismatch("max_proc_units"));
            }
            if req.uncap_weight.is_some() {
                return Err(mismatch("uncap_weight"));
            }
            let sharing_mode = req
                .sharing_mode
                .or(base.map(|b| b.sharing_mode))
                .unwrap_or(SharingMode::KeepIdleProcs);
            check_sharing(sharing_mode, mode)?;
            Ok(ProcConfig {
                proc_mode: mode,
                min_procs: min,
                desired_procs: desired,
                max_procs: max,
                min_proc_units: None,
                desired_proc_units: None,
                max_proc_units: None,
                sharing_mode,
                uncap_weight: 0,
            })
        }
        ProcMode::Shared => {
            let explicit_desired = req
                .desired_units
                .or(base.and_then(|b| b.desired_proc_units));
            let desired_units = explicit_desired.unwrap_or(ProcUnits(10 * desired));
            let min_units = req
                .min_units
                .or(base.and_then(|b| b.min_proc_units))
                .unwrap_or(if req.desired_units.is_some() {
                    desired_units
                } else {
                    ProcUnits(10 * min)
                });
            let top = ProcUnits::from_procs(sys.installed_procs);
            // IVM's 1.00 per virtual processor, as far as the host's processors go.
            let max_units = req
                .max_units
                .or(base.and_then(|b| b.max_proc_units))
                .unwrap_or(if req.desired_units.is_some() {
                    desired_units
                } else {
                    ProcUnits::from_procs(max).min(top)
                });
            for (attr, u) in [
                ("min_proc_units", min_units),
                ("desired_proc_units", desired_units),
                ("max_proc_units", max_units),
            ] {
                if u < MIN_UNITS || u > top {
                    return Err(RuleError::OutOfRange {
                        attr,
                        value: u.to_string(),
                        allowed: format!("{MIN_UNITS} to {top}"),
                    });
                }
            }
            check_order(
                ("min_proc_units", min_units),
                ("desired_proc_units", desired_units),
                ("max_proc_units", max_units),
            )?;
            check_units_per_proc(
                "desired_procs",
                desired,
                "desired_proc_units",
                desired_units,
            )?;
            check_units_per_proc("min_procs", min, "min_proc_units", min_units)?;
            check_units_per_proc("max_procs", max, "max_proc_units", max_units)?;
            let sharing_mode = req
                .sharing_mode
                .or(base.map(|b| b.sharing_mode))
                .unwrap_or(SharingMode::Uncapped);
            check_sharing(sharing_mode, mode)?;
            let uncap_weight = req
                .uncap_weight
                .or(base.map(|b| b.uncap_weight))
                .unwrap_or(DEFAULT_UNCAP_WEIGHT);
            Ok(ProcConfig {
                proc_mode: mode,
                min_procs: min,
                desired_procs: desired,
                max_procs: max,
                min_proc_units: Some(min_units),
                desired_proc_units: Some(desired_units),
                max_proc_units: Some(max_units),
                sharing_mode,
                uncap_weight,
            })
        }
    }
}

/// Whether a sharing mode belongs to a processor mode: keep/share idle processors for
/// dedicated, cap/uncap for shared.
pub fn sharing_fits(sharing: SharingMode, mode: ProcMode) -> bool {
    match mode {
        ProcMode::Dedicated => matches!(
            sharing,
            SharingMode::KeepIdleProcs | SharingMode::ShareIdleProcs
        ),
        ProcMode::Shared => matches!(sharing, SharingMode::Capped | SharingMode::Uncapped),
    }
}

/// Processing units an assignment commits: dedicated processors count as whole units.
pub fn committed_units(p: &ProcConfig) -> ProcUnits {
    match p.proc_mode {
        ProcMode::Dedicated => ProcUnits::from_procs(p.desired_procs),
        ProcMode::Shared => p.desired_proc_units.unwrap_or(ProcUnits::ZERO),
    }
}

fn check_sharing(sharing: SharingMode, mode: ProcMode) -> Result<(), RuleError> {
    if sharing_fits(sharing, mode) {
        Ok(())
    } else {
        Err(RuleError::OutOfRange {
            attr: "sharing_mode",
            value: sharing.to_string(),
            allowed: match mode {
                ProcMode::Dedicated => {
                    "keep_idle_procs or share_idle_procs with proc_mode=ded".into()
                }
                ProcMode::Shared => "cap or uncap with proc_mode=shared".into(),
            },
        })
    }
}

/// Each virtual processor carries 0.10 to 1.00 units: ceil(units) <= procs <= 10 * units.
fn check_units_per_proc(
    procs_attr: &'static str,
    procs: u32,
    units_attr: &'static str,
    units: ProcUnits,
) -> Result<(), RuleError> {
    let low = ProcUnits(procs * MIN_UNITS.0);
    let high = ProcUnits::from_procs(procs);
    if units < low || units > high {
        return Err(RuleError::UnitsPerProc {
            procs_attr,
            procs,
            units_attr,
            units,
            low,
            high,
        });
    }
    Ok(())
}

pub(crate) fn check_order<T: PartialOrd + ToString>(
    (min_attr, min): (&'static str, T),
    (desired_attr, desired): (&'static str, T),
    (max_attr, max): (&'static str, T),
) -> Result<(), RuleError> {
    if min <= desired && desired <= max {
        return Ok(());
    }
    Err(RuleError::Order {
        min_attr,
        min: min.to_string(),
        desired_attr,
        desired: desired.to_string(),
        max_attr,
        max: max.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::tests::system;

    fn req(mode: ProcMode, desired: u32) -> ProcRequest {
        ProcRequest {
            mode: Some(mode),
            desired_procs: Some(desired),
            ..Default::default()
        }
    }

    #[test]
    fn shared_units_are_computed_from_virtual_processors() {
        let sys = system(8, 8192);
        let p = resolve_procs(
            &sys,
            None,
            &ProcRequest {
                max_procs: Some(4),
                ..req(ProcMode::Shared, 2)
            },
        )
        .unwrap();
        assert_eq!(p.min_procs, 2);
        assert_eq!(p.min_proc_units, Some(ProcUnits(20)));
        assert_eq!(p.desired_proc_units, Some(ProcUnits(20)));
        assert_eq!(p.max_proc_units, Some(ProcUnits(400)));
        assert_eq!(p.sharing_mode, SharingMode::Uncapped);
        assert_eq!(p.uncap_weight, 128);
    }

    #[test]
    fn explicit_desired_units_become_min_and_max() {
        let sys = system(8, 8192);
        let r = ProcRequest {
            desired_units: Some(ProcUnits(50)),
            ..req(ProcMode::Shared, 1)
        };
        let p = resolve_procs(&sys, None, &r).unwrap();
        assert_eq!(
            (p.min_proc_units, p.desired_proc_units, p.max_proc_units),
            (
                Some(ProcUnits(50)),
                Some(ProcUnits(50)),
                Some(ProcUnits(50))
            )
        );
    }

    #[test]
    fn units_per_virtual_processor_are_bounded() {
        let sys = system(8, 8192);
        // 3 VPs need at least 0.30 units.
        let r = ProcRequest {
            desired_units: Some(ProcUnits(20)),
            ..req(ProcMode::Shared, 3)
        };
        let e = resolve_procs(&sys, None, &r).unwrap_err();
        assert!(matches!(e, RuleError::UnitsPerProc { procs: 3, .. }), "{e}");
        // 1 VP carries at most 1.00 units.
        let r = ProcRequest {
            desired_units: Some(ProcUnits(150)),
            ..req(ProcMode::Shared, 1)
        };
        assert!(resolve_procs(&sys, None, &r).is_err());
        // Below 0.10 units is refused outright.
        let r = ProcRequest {
            desired_units: Some(ProcUnits(5)),
            ..req(ProcMode::Shared, 1)
        };
        assert!(matches!(
            resolve_procs(&sys, None, &r),
            Err(RuleError::OutOfRange { .. })
        ));
    }

    #[test]
    fn dedicated_refuses_shared_attributes() {
        let sys = system(8, 8192);
        let r = ProcRequest {
            desired_units: Some(ProcUnits(50)),
            ..req(ProcMode::Dedicated, 1)
        };
        assert_eq!(
            resolve_procs(&sys, None, &r).unwrap_err().to_string(),
            "desired_proc_units does not apply to proc_mode=ded"
        );
        let r = ProcRequest {
            sharing_mode: Some(SharingMode::Capped),
            ..req(ProcMode::Dedicated, 1)
        };
        assert!(resolve_procs(&sys, None, &r).is_err());
        let p = resolve_procs(&sys, None, &req(ProcMode::Dedicated, 2)).unwrap();
        assert_eq!(committed_units(&p), ProcUnits(200));
        assert_eq!(p.sharing_mode, SharingMode::KeepIdleProcs);
    }

    #[test]
    fn order_and_limits() {
        let sys = system(4, 8192);
        let r = ProcRequest {
            min_procs: Some(3),
            ..req(ProcMode::Dedicated, 2)
        };
        assert!(matches!(
            resolve_procs(&sys, None, &r),
            Err(RuleError::Order { .. })
        ));
        assert!(resolve_procs(&sys, None, &req(ProcMode::Dedicated, 5)).is_err());
        assert!(resolve_procs(&sys, None, &req(ProcMode::Shared, 0)).is_err());
        assert_eq!(
            resolve_procs(&sys, None, &ProcRequest::default()).unwrap_err(),
            RuleError::Missing("desired_procs")
        );
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name() {
        let sys = system(8, 8192);
        let base = resolve_procs(
            &sys,
            None,
            &ProcRequest {
                max_procs: Some(4),
                ..req(ProcMode::Shared, 2)
            },
        )
        .unwrap();
        let r = ProcRequest {
            desired_units: Some(ProcUnits(100)),
            ..Default::default()
        };
        let p = resolve_procs(&sys, Some(&base), &r).unwrap();
        assert_eq!(p.desired_proc_units, Some(ProcUnits(100)));
        assert_eq!(p.max_proc_units, Some(ProcUnits(400)));
        assert_eq!(p.desired_procs, 2);
        // Switching to dedicated drops the units.
        let r = ProcRequest {
            mode: Some(ProcMode::Dedicated),
            ..Default::default()
        };
        let d = resolve_procs(&sys, Some(&base), &r).unwrap_err();
        assert_eq!(d, RuleError::Missing("desired_procs"));
    }
}
