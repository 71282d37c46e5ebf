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
    let part = |op| DlparRequest {
        op,
        procs: req.procs,
        proc_units: req.proc_units,
        mem: req.mem,
    };
    Ok((
        dlpar_change(source, &part(DlparOp::Remove))?,
        dlpar_change(target, &part(DlparOp::Add))?,
    ))
}
