//! Partition definitions: list, create, change, delete.

use ivm_model::{CreatePreview, Partition, PartitionChange, PartitionSpec, RmcState};
use ivm_qemu::vm;

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{lpar_target, Actor, Service, ServiceError};
use crate::runtime::{Live, Seen};

/// The longest a guest's figures are reused without asking QEMU, in case an event was missed.
const SEEN_TTL: Duration = Duration::from_secs(10);

/// QEMU's answer, or the committed value when it gave none (and then `answered` turns false).
fn answer_or<T>(r: Result<T, ivm_qemu::QmpError>, committed: T, answered: &mut bool) -> T {
    r.unwrap_or_else(|_| {
        *answered = false;
        committed
    })
}

/// At most this many threads ask running partitions' QEMUs what their guests have.
const FILL_THREADS: usize = 16;

/// A partition as JSON.
fn json(p: &Partition) -> Vec<u8> {
    // Plain data with string-keyed maps only: serializing it cannot fail.
    serde_json::to_vec(p).expect("a partition serializes to JSON")
}

impl Service {
    /// Every partition, the management partition first, running ones with what they have.
    pub fn partitions(&self) -> Result<Vec<Partition>, ServiceError> {
        let mut parts = self.store.partitions()?;
        let running: Vec<&mut Partition> =
            parts.iter_mut().filter(|p| self.runs(p.lpar_id)).collect();
        self.fill_runs(running);
        Ok(parts)
    }

    /// Every partition as the API's JSON array, the same as `partitions` serialized: those
    /// not running are serialized once per store version and kept (serializing 1,000 of them
    /// was a third of a listing's time in the daemon), those running anew with what their
    /// guest has.
    pub fn partitions_json(&self) -> Result<Vec<u8>, ServiceError> {
        let (version, parts) = self.store.partitions_at()?;
        let kept = {
            let mut kept = self.listing_json.lock().unwrap_or_else(|e| e.into_inner());
            match &*kept {
                Some((v, items)) if *v == version => items.clone(),
                _ => {
                    let items: super::PartitionsJson = Arc::new(parts.iter().map(json).collect());
                    *kept = Some((version, items.clone()));
                    items
                }
            }
        };
        let mut running: Vec<(usize, Partition)> = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| self.runs(p.lpar_id))
            .map(|(i, p)| (i, p.clone()))
            .collect();
        self.fill_runs(running.iter_mut().map(|(_, p)| p).collect());
        let mut fresh = std::collections::HashMap::new();
        for (i, p) in &running {
            fresh.insert(*i, json(p));
        }
        let mut out = Vec::with_capacity(kept.iter().map(Vec::len).sum::<usize>() + kept.len() + 2);
        out.push(b'[');
        for (i, item) in kept.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(fresh.get(&i).unwrap_or(item));
        }
        out.push(b']');
        Ok(out)
    }

    /// Whether partition `id` has a QEMU on this host now.
    fn runs(&self, id: u32) -> bool {
        self.runtime.as_ref().is_some_and(|rt| rt.get(id).is_some())
    }

    /// Fills in what each running partition's guest has (`fill_run`), asking their QEMUs side
    /// by side.
    fn fill_runs(&self, mut running: Vec<&mut Partition>) {
        if running.len() <= 1 {
            running.into_iter().for_each(|p| self.fill_run(p));
        } else {
            // Each running partition's QEMU answers on its own main loop, which under load waits
            // for a core: asked one after another, a listing took the sum of those waits (3.3 s
            // with 40 running), asked together about the longest.
            let per = running.len().div_ceil(FILL_THREADS);
            std::thread::scope(|s| {
                for chunk in running.chunks_mut(per) {
                    s.spawn(move || chunk.iter_mut().for_each(|p| self.fill_run(p)));
                }
            });
        }
    }

    /// One partition by ID.
    pub fn partition(&self, id: u32) -> Result<Partition, ServiceError> {
        let mut p = self
            .store
            .read(|tx| tx.partition(id))?
            .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
        self.fill_run(&mut p);
        Ok(p)
    }

    /// What a running partition's guest really has, asked of QEMU.
    fn fill_run(&self, p: &mut Partition) {
        let Some(rt) = &self.runtime else { return };
        let Some(live) = rt.get(p.lpar_id) else {
            return;
        };
        let shared = p.mem.mem_mode == ivm_model::MemMode::Shared;
        let Seen {
            procs,
            mem,
            rmc_state,
            ..
        } = self.seen(&live, p);
        let resident = shared.then(|| self.guest_resident_mb(&live));
        let cpus = live.cpus.lock().unwrap_or_else(|e| e.into_inner()).clone();
        p.run = Some(ivm_model::RunInfo {
            pid: live.pid,
            accel: rt.env.accel,
            started_ms: live.started_ms,
            procs,
            mem,
            cpus: ivm_host::cpulist::format(&cpus),
            console_attached: live.console_attached(),
            utilized_units: ivm_model::ProcUnits(live.utilized()),
            phys_mem: resident,
            paged_mem: resident.map(|r| mem.saturating_sub(r)),
            rmc_state,
            rmc_ipaddr: self.rmc_ipaddr(&live, rmc_state),
        });
    }

    /// What QEMU says the guest has: the answer kept from last time while the QMP connection
    /// has seen no event and no state-changing command since (and for at most `SEEN_TTL`),
    /// else asked again. Idle partitions cost a listing nothing: with 40 running, asking each
    /// QEMU, whose main loop waits for a core under TCG, took 450 ms a listing.
    fn seen(&self, live: &Live, p: &Partition) -> Seen {
        let lock = || live.seen.lock().unwrap_or_else(|e| e.into_inner());
        let changes = live.qmp.changes();
        if let Some(s) = *lock() {
            if s.changes == changes && s.at.elapsed() < SEEN_TTL {
                return s;
            }
        }
        let at = Instant::now();
        // QEMU may be on its way out and not answer: then the committed values are the best
        // statement of what the guest has, and they are not kept.
        let mut answered = true;
        let q = &live.qmp;
        let procs = answer_or(vm::vcpus(q), p.procs.desired_procs, &mut answered);
        let mem = if p.mem.mem_mode == ivm_model::MemMode::Shared {
            answer_or(vm::balloon_mb(q), p.mem.desired_mem, &mut answered)
        } else {
            let layout = ivm_rules::memory_layout(live.boot_mem_mb, p.mem.desired_mem);
            let plugged = answer_or(vm::plugged_mem_mb(q), layout.plugged_mb, &mut answered);
            let balloon = live
                .balloon
                .then(|| answer_or(vm::balloon_mb(q), layout.balloon_target_mb, &mut answered));
            ivm_rules::guest_memory_mb(live.boot_mem_mb, plugged, balloon)
        };
        let rmc_state = match answer_or(vm::agent_open(q), false, &mut answered) {
            true => RmcState::Active,
            false => RmcState::Inactive,
        };
        let seen = Seen {
            changes,
            at,
            procs,
            mem,
            rmc_state,
        };
        if answered && live.qmp.changes() == changes {
            *lock() = Some(seen);
        }
        seen
    }

    /// Creates a client partition and commits its resources.
    pub fn create_partition(
        &self,
        actor: &Actor,
        spec: &PartitionSpec,
    ) -> Result<Partition, ServiceError> {
        self.logged(actor, "create partition", &spec.name, || {
            let mut spec = spec.clone();
            self.confine_boot(&mut spec.boot_kernel, &mut spec.boot_initrd)?;
            let p = self.store.write(|tx| {
                let all = tx.partitions()?;
                let departed = tx.departed_macs()?;
                let p = ivm_rules::new_partition(&self.system_in(tx)?, (&all, &departed), &spec)?;
                tx.put_partition(&p)?;
                super::storage::add_adapter(tx, p.lpar_id)?;
                Ok::<_, ServiceError>(p)
            })?;
            // A shared-memory partition gets its paging device, or is taken back.
            if let Err(e) = self.add_paging_device(&p) {
                // Its virtual SCSI adapter goes with it (a cascading delete).
                self.store.write(|tx| tx.delete_partition(p.lpar_id))?;
                return Err(e);
            }
            Ok((p.clone(), lpar_target(&p)))
        })
    }

    /// Runs the rules of `create_partition` on the current store and commits nothing: the
    /// partition that would be made and the system's capacity after it.
    pub fn preview_partition(
        &self,
        _actor: &Actor,
        spec: &PartitionSpec,
    ) -> Result<CreatePreview, ServiceError> {
        let mut spec = spec.clone();
        self.confine_boot(&mut spec.boot_kernel, &mut spec.boot_initrd)?;
        let (sys, mut all, departed) = self.store.read(|tx| {
            Ok::<_, ServiceError>((self.system_in(tx)?, tx.partitions()?, tx.departed_macs()?))
        })?;
        let partition = ivm_rules::new_partition(&sys, (&all, &departed), &spec)?;
        all.push(partition.clone());
        let after = ivm_rules::summary(&sys, &all);
        Ok(CreatePreview { partition, after })
    }

    /// Changes a partition; on a running partition only what DLPAR allows.
    pub fn change_partition(
        &self,
        actor: &Actor,
        id: u32,
        change: &PartitionChange,
        force: bool,
    ) -> Result<Partition, ServiceError> {
        self.logged(actor, "change partition", &format!("lpar {id}"), || {
            let mut change = change.clone();
            self.confine_boot(&mut change.boot_kernel, &mut change.boot_initrd)?;
            let change = &change;
            let next = self.change_live(&[id], force, |sys, all| {
                let current = all
                    .iter()
                    .find(|p| p.lpar_id == id)
                    .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
                Ok(vec![ivm_rules::apply_change(sys, all, current, change)?])
            })?;
            let next = next.into_iter().next().expect("one partition changed");
            self.reconcile_paging(&next)?;
            // A running shared-memory partition's new weight moves the shares.
            if let Some(rt) = self.runtime.as_ref().filter(|rt| rt.get(id).is_some()) {
                if next.mem.mem_mode == ivm_model::MemMode::Shared {
                    self.rebalance_pool(rt, None)?;
                }
            }
            let t = lpar_target(&next);
            Ok((next, t))
        })
    }

    /// Resolves the boot files a request names inside the boot directory.
    fn confine_boot(
        &self,
        kernel: &mut Option<String>,
        initrd: &mut Option<String>,
    ) -> Result<(), ServiceError> {
        for (attr, value) in [("boot_kernel", kernel), ("boot_initrd", initrd)] {
            if let Some(v) = value.as_mut() {
                *v = self.boot_file(attr, v)?;
            }
        }
        Ok(())
    }

    /// Deletes a partition that is not running, releasing its resources.
    pub fn delete_partition(&self, actor: &Actor, id: u32) -> Result<(), ServiceError> {
        self.logged_write(actor, "delete partition", &format!("lpar {id}"), |tx| {
            let p = tx
                .partition(id)?
                .ok_or_else(|| ServiceError::NoSuchPartition(format!("with ID {id}")))?;
            ivm_rules::check_delete(&p)?;
            ivm_rules::check_no_mappings(&p, &tx.mappings()?)?;
            tx.delete_partition(id)?;
            Ok(((), lpar_target(&p)))
        })?;
        // Its UEFI variables go with it; a new partition given the ID starts from OVMF's
        // template.
        // Its last cloud-init seed medium too.
        let seed = self.data_dir.join("cidata").join(format!("lpar-{id}.iso"));
        for path in [self.nvram_path(id), seed] {
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(lpar = id, error = %e, path = %path.display(), "cannot remove a file of the deleted partition");
                }
            }
        }
        // Its paging device goes with it (the partition is gone even if this fails: the
        // device is then an ordinary backing device again, removable with rmbdsp).
        self.remove_paging_device(id)
    }

    /// Where partition `id`'s UEFI variables are kept.
    pub(super) fn nvram_path(&self, id: u32) -> std::path::PathBuf {
        self.data_dir.join("nvram").join(format!("lpar-{id}.fd"))
    }
}
