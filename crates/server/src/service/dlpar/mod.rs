//! Dynamic changes to running partitions (DLPAR), on one path: the rules decide in a short
//! store transaction that reserves the change (the partition as it was is kept as pending),
//! the host carries it out outside the store's write lock step by step, and a second short
//! transaction commits it, or every step taken is undone and the store goes back.

use std::sync::{Arc, Mutex};

use ivm_model::{DlparRequest, ManagedSystem, MoveRequest, Partition, RmcState};
use ivm_qemu::vm;
use ivm_store::RunRecord;

use super::{lpar_target, Actor, Service, ServiceError};
use crate::failpoint;
use crate::runtime::{HostError, Live};

mod live;

fn find(all: &[Partition], id: u32) -> Result<&Partition, ServiceError> {
    all.iter()
        .find(|p| p.lpar_id == id)
        .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))
}

impl Service {
    /// `chhwres -o a|r|s`: adds, removes or sets processors, units or memory.
    pub fn dlpar(
        &self,
        actor: &Actor,
        id: u32,
        req: &DlparRequest,
    ) -> Result<Partition, ServiceError> {
        let op = format!("change resources ({})", req.op);
        self.logged(actor, &op, &format!("lpar {id}"), || {
            let next = self.change_live(&[id], req.force, |sys, all| {
                let cur = find(all, id)?;
                let change = ivm_rules::dlpar_change(cur, req)?;
                Ok(vec![ivm_rules::apply_change(sys, all, cur, &change)?])
            })?;
            let next = next.into_iter().next().expect("one partition changed");
            let t = lpar_target(&next);
            Ok((next, t))
        })
    }

    /// `chhwres -o m`: moves processors, units or memory between two partitions.
    pub fn move_resources(&self, actor: &Actor, req: &MoveRequest) -> Result<(), ServiceError> {
        let t = format!("lpar {} to lpar {}", req.source, req.target);
        self.logged(actor, "move resources", &t, || {
            self.change_live(&[req.source, req.target], req.force, |sys, all| {
                let (src, tgt) = (find(all, req.source)?, find(all, req.target)?);
                let (give, take) = ivm_rules::move_changes(src, tgt, req)?;
                let src_next = ivm_rules::apply_change(sys, all, src, &give)?;
                let mut after: Vec<Partition> = all.to_vec();
                if let Some(slot) = after.iter_mut().find(|p| p.lpar_id == src.lpar_id) {
                    *slot = src_next.clone();
                }
                let tgt_next = ivm_rules::apply_change(sys, &after, tgt, &take)?;
                // Release first, so the target never holds what the source still has.
                Ok(vec![src_next, tgt_next])
            })?;
            Ok(((), t.clone()))
        })
    }

    /// Carries out a change computed by `compute` (the new versions of some partitions, from
    /// all of them) on the store and, for running partitions, on the host: reserve, apply with
    /// undo, commit. Partitions are locked in ID order so two changes to one partition take
    /// turns while changes to others go on. What is added to a running partition must reach its
    /// OS through the guest agent unless `force` (ivm_rules::check_rmc).
    pub(super) fn change_live(
        &self,
        ids: &[u32],
        force: bool,
        compute: impl FnOnce(&ManagedSystem, &[Partition]) -> Result<Vec<Partition>, ServiceError>,
    ) -> Result<Vec<Partition>, ServiceError> {
        let locks: Vec<Arc<Mutex<()>>> = match &self.runtime {
            Some(rt) => {
                let mut sorted = ids.to_vec();
                sorted.sort_unstable();
                sorted.dedup();
                sorted.iter().map(|id| rt.partition_lock(*id)).collect()
            }
            None => Vec::new(),
        };
        let _held: Vec<_> = locks
            .iter()
            .map(|l| l.lock().unwrap_or_else(|p| p.into_inner()))
            .collect();
        let rt = self.runtime.clone();
        let live_of = |id: u32| rt.as_ref().and_then(|rt| rt.get(id));
        // Asked of QEMU before the store's transaction (no host call inside it).
        let rmc: std::collections::HashMap<u32, bool> = ids
            .iter()
            .filter_map(|id| live_of(*id).map(|l| (*id, self.rmc_state(&l) == RmcState::Active)))
            .collect();
        // Under TCG, how full QEMU's translation buffer is (a vCPU plug needs a free region).
        let tcg = rt
            .as_ref()
            .is_some_and(|rt| rt.env.accel == ivm_model::Accel::Tcg);
        let jit: std::collections::HashMap<u32, (u64, u64)> = ids
            .iter()
            .filter(|_| tcg)
            .filter_map(|id| {
                live_of(*id).and_then(|l| vm::jit_usage(&l.qmp).ok().flatten().map(|j| (*id, j)))
            })
            .collect();

        // 1. Reserve: the rules decide and the new values are committed with the old ones kept
        //    as pending, so no concurrent request can take what this one is about to use.
        let (nexts, olds, plan) = self.store.write(|tx| {
            let all = tx.partitions()?;
            let nexts = compute(&self.system_in(tx)?, &all)?;
            let (mut olds, mut plan) = (Vec::new(), Vec::new());
            for next in &nexts {
                let cur = find(&all, next.lpar_id)?.clone();
                if cur.state.is_active() && !cur.is_management() {
                    ivm_rules::check_settled(&cur)?;
                }
                if let Some(live) = live_of(cur.lpar_id).filter(|_| !cur.is_management()) {
                    let limits = match tx.run(cur.lpar_id)? {
                        Some(r) if r.pending.is_some() => {
                            return Err(ivm_rules::RuleError::InterruptedChange {
                                name: cur.name.clone(),
                            }
                            .into())
                        }
                        Some(r) => r.limits,
                        // A partition started by an older ivm: its profile is what it was
                        // started with.
                        None => ivm_rules::launch_limits(&cur, self.runtime()?.env.accel),
                    };
                    let after = ivm_rules::check_live_change(&limits, &cur, next)?;
                    let active = rmc.get(&cur.lpar_id).copied().unwrap_or(false);
                    ivm_rules::check_rmc(&cur, next, live.boot_mem_mb, active, force)?;
                    ivm_rules::check_tcg_plug(&limits, &cur, next, jit.get(&cur.lpar_id).copied())?;
                    tx.put_run(&RunRecord {
                        lpar_id: cur.lpar_id,
                        limits: after,
                        pending: Some(cur.clone()),
                    })?;
                    plan.push((live, cur.clone(), next.clone()));
                }
                tx.put_partition(next)?;
                olds.push(cur);
            }
            Ok::<_, ServiceError>((nexts, olds, plan))
        })?;

        // 2. Apply on the host, outside the store's write lock; undo everything on failure.
        let mut done: Vec<usize> = Vec::new();
        let mut failure = None;
        for (i, (live, cur, next)) in plan.iter().enumerate() {
            match self.apply_live(live, cur, next) {
                Ok(()) => done.push(i),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if failure.is_none() {
            if let Err(e) = failpoint::hit("dlpar.commit") {
                failure = Some(HostError::from(e).into());
            }
        }
        if let Some(e) = failure {
            for i in done.into_iter().rev() {
                let (live, cur, next) = &plan[i];
                if let Err(u) = self.apply_live(live, next, cur) {
                    tracing::error!(lpar = cur.lpar_id, error = %u, "cannot undo a live change");
                }
            }
            self.store.write(|tx| {
                for old in &olds {
                    restore(tx, old)?;
                }
                Ok::<_, ServiceError>(())
            })?;
            return Err(e);
        }

        // 3. Commit: the host has the new values; drop the pending copies.
        self.store.write(|tx| {
            for (_, cur, _) in &plan {
                if let Some(mut r) = tx.run(cur.lpar_id)? {
                    r.pending = None;
                    tx.put_run(&r)?;
                }
            }
            Ok::<_, ServiceError>(())
        })?;
        Ok(nexts)
    }
}

impl Service {
    /// Makes a running partition's host resources go from `old` to `new`, one step at a time;
    /// a failed step undoes the steps before it, so the host is left as `old` had it.
    pub(in crate::service) fn apply_live(
        &self,
        live: &Live,
        old: &Partition,
        new: &Partition,
    ) -> Result<(), ServiceError> {
        let rt = self.runtime()?;
        let running = live::Running {
            id: old.lpar_id,
            boot_mem_mb: live.boot_mem_mb,
            balloon: live.balloon,
            dedicated: live.dedicated,
            accel: rt.env.accel,
            // What the guest agent must online (a guest without an active agent got here
            // only by --force).
            agent: self.rmc_state(live) == RmcState::Active,
        };
        let host = live::LinuxLive {
            service: self,
            live,
            accel: rt.env.accel,
        };
        live::apply(&host, &self.cpus, &**rt, &running, old, new)
    }
}

/// Puts a partition's configuration back as it was before a change that did not go through,
/// keeping the state the event loop may have recorded meanwhile, and clears its pending copy
/// (vCPU plugs the attempt may have used stay counted).
pub(super) fn restore(tx: &ivm_store::Tx, old: &Partition) -> Result<(), ServiceError> {
    let mut back = old.clone();
    if let Some(now) = tx.partition(old.lpar_id)? {
        back.state = now.state;
        back.ref_code = now.ref_code;
        back.ref_time_ms = now.ref_time_ms;
    }
    tx.put_partition(&back)?;
    if let Some(mut r) = tx.run(old.lpar_id)? {
        r.pending = None;
        tx.put_run(&r)?;
    }
    Ok(())
}
