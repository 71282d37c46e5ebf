//! DLPAR requests (`chhwres -o a|r|s|m`) turned into partition changes.

use ivm_model::{
    DlparOp, DlparRequest, MoveRequest, Partition, PartitionChange, ProcMode, ProcUnits,
};

use crate::RuleError;

fn apply<T: Copy + PartialOrd + std::fmt::Display>(
    op: DlparOp,
    attr: &'static str,
    current: T,
    amount: T,
    add: impl Fn(T, T) -> Option<T>,
    sub: impl Fn(T, T) -> Option<T>,
) -> Result<T, RuleError> {
    let out = match op {
        DlparOp::Add => add(current, amount),
        DlparOp::Remove => sub(current, amount),
        DlparOp::Set => Some(amount),
    };
    out.ok_or_else(|| RuleError::OutOfRange {
        attr,
        value: format!("{op} {amount}"),
        allowed: format!("at most the current {current}"),
    })
}

/// The change an add/remove/set request makes to a partition's desired values.
pub fn dlpar_change(p: &Partition, req: &DlparRequest) -> Result<PartitionChange, RuleError> {
    if req.procs.is_none() && req.proc_units.is_none() && req.mem.is_none() {
        return Err(RuleError::EmptyChange);
    }
    let mut change = PartitionChange::default();
    if let Some(n) = req.procs {
        change.desired_procs = Some(apply(
            req.op,
            "procs",
            p.procs.desired_procs,
            n,
            u32::checked_add,
            u32::checked_sub,
        )?);
    }
    if let Some(u) = req.proc_units {
        let current = p
            .procs
            .desired_proc_units
            .filter(|_| p.procs.proc_mode == ProcMode::Shared)
            .ok_or(RuleError::ModeMismatch {
                attr: "proc_units",
                mode: p.procs.proc_mode,
            })?;
        let add = |a: ProcUnits, b: ProcUnits| a.0.checked_add(b.0).map(ProcUnits);
        let sub = |a: ProcUnits, b: ProcUnits| a.0.checked_sub(b.0).map(ProcUnits);
        change.desired_proc_units = Some(apply(req.op, "proc_units", current, u, add, sub)?);
    }
    if let Some(m) = req.mem {
        change.desired_mem = Some(apply(
            req.op,
            "mem",
            p.mem.desired_mem,
            m,
            u64::checked_add,
            u64::checked_sub,
        )?);
    }
    Ok(change)
}

/// The two changes of a move: what the source gives, the target gets.
pub fn move_changes(
    source: &Partition,
    target: &Partition,
    req: &MoveRequest,
) -> Result<(PartitionChange, PartitionChange), RuleError> {
    if req.source == req.target {
        return Err(RuleError::OutOfRange {
            attr: "target",
            value: req.target.to_string(),
            allowed: "a partition other than the source".into(),
        });
    }
    // Physical memory cannot move to or from logical memory: a shared-memory partition's
    // memory comes from the pool (resize the pool, or change its logical memory with -o a|r).
    if req.mem.is_some() {
        if let Some(p) = [source, target]
            .into_iter()
            .find(|p| p.mem.mem_mode == ivm_model::MemMode::Shared)
        {
            return Err(RuleError::Unsupported {
                attr: "mem",
                value: format!("moved with partition {}", p.name),
                reason: "a shared-memory partition's memory comes from the shared memory pool; \
                         resize the pool (chhwres -r mempool -o s) or change its logical memory \
                         with chhwres -r mem -o a|r",
            });
        }
    }
    let part = |op| DlparRequest {
        op,
        procs: req.procs,
        proc_units: req.proc_units,
        mem: req.mem,
        force: req.force,
    };
    Ok((
        dlpar_change(source, &part(DlparOp::Remove))?,
        dlpar_change(target, &part(DlparOp::Add))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::tests::system;
    use crate::{default_management_partition, new_partition};
    use ivm_model::{PartitionSpec, ProcMode};

    fn lpar() -> Partition {
        let sys = system(4, 8192);
        let spec = PartitionSpec {
            name: "a".into(),
            desired_procs: Some(2),
            max_procs: Some(4),
            desired_mem: Some(512),
            max_mem: Some(1024),
            ..Default::default()
        };
        new_partition(&sys, (&[default_management_partition(&sys)], &[]), &spec).unwrap()
    }

    fn req(op: DlparOp, procs: Option<u32>, units: Option<u32>, mem: Option<u64>) -> DlparRequest {
        DlparRequest {
            op,
            procs,
            proc_units: units.map(ProcUnits),
            mem,
            force: false,
        }
    }

    #[test]
    fn add_remove_and_set() {
        let p = lpar();
        let c = dlpar_change(&p, &req(DlparOp::Add, Some(1), Some(10), Some(128))).unwrap();
        assert_eq!(
            (c.desired_procs, c.desired_proc_units, c.desired_mem),
            (Some(3), Some(ProcUnits(30)), Some(640))
        );
        let c = dlpar_change(&p, &req(DlparOp::Remove, None, None, Some(256))).unwrap();
        assert_eq!(c.desired_mem, Some(256));
        assert_eq!(c.desired_procs, None, "only what was asked changes");
        let c = dlpar_change(&p, &req(DlparOp::Set, Some(4), None, None)).unwrap();
        assert_eq!(c.desired_procs, Some(4));
        // Removing more than there is, or nothing at all, is refused.
        assert!(matches!(
            dlpar_change(&p, &req(DlparOp::Remove, None, None, Some(1024))),
            Err(RuleError::OutOfRange { attr: "mem", .. })
        ));
        assert_eq!(
            dlpar_change(&p, &req(DlparOp::Add, None, None, None)).unwrap_err(),
            RuleError::EmptyChange
        );
    }

    #[test]
    fn units_only_for_shared_partitions() {
        let mut p = lpar();
        p.procs.proc_mode = ProcMode::Dedicated;
        p.procs.desired_proc_units = None;
        assert!(matches!(
            dlpar_change(&p, &req(DlparOp::Add, None, Some(10), None)),
            Err(RuleError::ModeMismatch {
                attr: "proc_units",
                ..
            })
        ));
    }

    #[test]
    fn a_move_takes_from_one_and_gives_to_the_other() {
        let sys = system(4, 8192);
        let (mgmt, p) = (default_management_partition(&sys), lpar());
        let m = MoveRequest {
            source: 2,
            target: 1,
            procs: None,
            proc_units: None,
            mem: Some(128),
            force: false,
        };
        let (give, take) = move_changes(&p, &mgmt, &m).unwrap();
        assert_eq!(
            (give.desired_mem, take.desired_mem),
            (Some(384), Some(mgmt.mem.desired_mem + 128))
        );
        let same = MoveRequest { target: 2, ..m };
        assert!(matches!(
            move_changes(&p, &p, &same),
            Err(RuleError::OutOfRange { attr: "target", .. })
        ));
    }
}
