//! Dynamic changes to running partitions (DLPAR): the rules decide, the host carries out, and
//! the store records, all inside one write transaction so a failed step commits nothing.

use ivm_model::{DlparRequest, MoveRequest, Partition};
use ivm_qemu::vm;

use super::lifecycle::cpu_control;
use super::{Actor, Service, ServiceError};
use crate::runtime::HostError;

impl Service {
    /// `chhwres -o a|r|s`: adds, removes or sets processors, units or memory.
    pub fn dlpar(
        &self,
        actor: &Actor,
        id: u32,
        req: &DlparRequest,
    ) -> Result<Partition, ServiceError> {
        self.task(
            actor,
            &format!("change resources ({})", req.op),
            &format!("lpar {id}"),
            |tx| {
                actor.require_modify()?;
                let all = tx.partitions()?;
                let cur = all
                    .iter()
                    .find(|p| p.lpar_id == id)
                    .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
                let change = ivm_rules::dlpar_change(cur, req)?;
                let next = ivm_rules::apply_change(&self.system, &all, cur, &change)?;
                self.apply_live(cur, &next)?;
                tx.put_partition(&next)?;
                Ok((
                    next.clone(),
                    format!("lpar {} ({})", next.lpar_id, next.name),
                ))
            },
        )
    }

    /// `chhwres -o m`: moves processors, units or memory between two partitions.
    pub fn move_resources(&self, actor: &Actor, req: &MoveRequest) -> Result<(), ServiceError> {
        let target = format!("lpar {} to lpar {}", req.source, req.target);
        self.task(actor, "move resources", &target, |tx| {
            actor.require_modify()?;
            let mut all = tx.partitions()?;
            let find = |all: &[Partition], id: u32| {
                all.iter()
                    .find(|p| p.lpar_id == id)
                    .cloned()
                    .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))
            };
            let (src, tgt) = (find(&all, req.source)?, find(&all, req.target)?);
            let (give, take) = ivm_rules::move_changes(&src, &tgt, req)?;
            let src_next = ivm_rules::apply_change(&self.system, &all, &src, &give)?;
            if let Some(slot) = all.iter_mut().find(|p| p.lpar_id == src.lpar_id) {
                *slot = src_next.clone();
            }
            let tgt_next = ivm_rules::apply_change(&self.system, &all, &tgt, &take)?;
            // Release first, so the target never holds what the source still has.
            self.apply_live(&src, &src_next)?;
            if let Err(e) = self.apply_live(&tgt, &tgt_next) {
                let _ = self.apply_live(&src_next, &src);
                return Err(e);
            }
            tx.put_partition(&src_next)?;
            tx.put_partition(&tgt_next)?;
            Ok(((), target.clone()))
        })
    }

    /// Makes a running partition's host resources match `new` (from `old`); a partition that is
    /// not running (or the management partition, which is the host) needs nothing. A failed
    /// step undoes the steps before it.
    pub(super) fn apply_live(&self, old: &Partition, new: &Partition) -> Result<(), ServiceError> {
        let Some(rt) = &self.runtime else {
            return Ok(());
        };
        let Some(live) = rt.get(old.lpar_id) else {
            return Ok(());
        };
        let accel = rt.env.accel;
        let limit = |p: &Partition| ivm_rules::memory_limit_mb(p.mem.desired_mem, accel) << 20;
        let plugged = |p: &Partition| p.mem.desired_mem - p.mem.min_mem;

        let set_mem = |from: &Partition, to: &Partition| -> Result<(), HostError> {
            if to.mem.desired_mem == from.mem.desired_mem {
                return Ok(());
            }
            if to.mem.desired_mem > from.mem.desired_mem {
                live.group.set_memory_limit(limit(to))?;
                if let Err(e) = vm::set_plugged_mem(&live.qmp, plugged(to)) {
                    let _ = vm::set_plugged_mem(&live.qmp, plugged(from));
                    let _ = live.group.set_memory_limit(limit(from));
                    return Err(e.into());
                }
            } else {
                if let Err(e) = vm::set_plugged_mem(&live.qmp, plugged(to)) {
                    let _ = vm::set_plugged_mem(&live.qmp, plugged(from));
                    return Err(e.into());
                }
                live.group.set_memory_limit(limit(to))?;
            }
            Ok(())
        };

        let set_procs = |from: &Partition, to: &Partition| -> Result<(), ServiceError> {
            let (have, want) = (from.procs.desired_procs, to.procs.desired_procs);
            if have == want {
                return Ok(());
            }
            if live.dedicated && want > have {
                let taken = rt.dedicated_cpus();
                let extra = ivm_rules::pick_dedicated_cpus(&rt.env.host_cpus, &taken, want - have)?;
                let mut now_taken = taken.clone();
                now_taken.extend(&extra);
                rt.set_pool(&ivm_rules::shared_pool(&rt.env.host_cpus, &now_taken))?;
                let mut cpus = live.cpus.lock().unwrap_or_else(|p| p.into_inner());
                cpus.extend(extra);
                cpus.sort_unstable();
                live.group
                    .set_cpus(&ivm_host::cpulist::format(&cpus))
                    .map_err(HostError::from)?;
            }
            if let Err(e) = vm::set_vcpus(&live.qmp, accel, want) {
                let _ = vm::set_vcpus(&live.qmp, accel, have);
                return Err(HostError::from(e).into());
            }
            if live.dedicated && want < have {
                let mut cpus = live.cpus.lock().unwrap_or_else(|p| p.into_inner());
                cpus.truncate(want as usize);
                live.group
                    .set_cpus(&ivm_host::cpulist::format(&cpus))
                    .map_err(HostError::from)?;
                drop(cpus);
                rt.set_pool(&ivm_rules::shared_pool(
                    &rt.env.host_cpus,
                    &rt.dedicated_cpus(),
                ))?;
            }
            Ok(())
        };

        set_mem(old, new)?;
        if let Err(e) = set_procs(old, new) {
            let _ = set_mem(new, old);
            return Err(e);
        }
        live.group
            .set_cpu(&cpu_control(new))
            .map_err(HostError::from)?;
        Ok(())
    }
}
