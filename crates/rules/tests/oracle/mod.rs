//! An independent statement of IVM's rules (ivm-reference.md, "Processors" and "Memory"),
//! written from their text and sharing no code with the crate it checks: what a partition
//! commits, what the managed system can commit, and the per-partition invariants.

use ivm_model::{ManagedSystem, Partition, ProcMode, SharingMode};

/// Hundredths of a processing unit a partition commits: a dedicated processor is a whole
/// processor (100), a shared partition commits its desired processing units; whatever its state.
pub fn committed_hundredths(p: &Partition) -> u64 {
    match p.procs.proc_mode {
        ProcMode::Dedicated => u64::from(p.procs.desired_procs) * 100,
        ProcMode::Shared => u64::from(p.procs.desired_proc_units.map_or(0, |u| u.0)),
    }
}

/// (processing units in hundredths, memory MB) the system can commit: every installed
/// processor, and installed memory less the hypervisor's reserve.
pub fn capacity(sys: &ManagedSystem) -> (u64, u64) {
    (
        u64::from(sys.installed_procs) * 100,
        sys.installed_mem - sys.firmware_mem,
    )
}

/// (processing units in hundredths, memory MB) the partitions commit together.
pub fn committed(parts: &[Partition]) -> (u64, u64) {
    let mut units = 0;
    let mut mem = 0;
    for p in parts {
        units += committed_hundredths(p);
        mem += p.mem.desired_mem;
    }
    (units, mem)
}

/// (processing units in hundredths, memory MB) still free.
pub fn available(sys: &ManagedSystem, parts: &[Partition]) -> (u64, u64) {
    let (cu, cm) = capacity(sys);
    let (u, m) = committed(parts);
    (cu.saturating_sub(u), cm.saturating_sub(m))
}

/// Every rule the partitions break; empty when they keep them all.
pub fn violations(sys: &ManagedSystem, parts: &[Partition]) -> Vec<String> {
    let mut out = Vec::new();
    let (cap_units, cap_mem) = capacity(sys);
    let (units, mem) = committed(parts);
    if units > cap_units {
        out.push(format!(
            "processing units overcommitted: {units} > {cap_units} hundredths"
        ));
    }
    if mem > cap_mem {
        out.push(format!("memory overcommitted: {mem} > {cap_mem} MB"));
    }
    for (i, p) in parts.iter().enumerate() {
        for q in &parts[i + 1..] {
            if p.name == q.name {
                out.push(format!("two partitions named {}", p.name));
            }
            if p.lpar_id == q.lpar_id {
                out.push(format!("two partitions with ID {}", p.lpar_id));
            }
        }
        if p.lpar_id < 1 || p.lpar_id > sys.max_lpars {
            out.push(format!(
                "{}: ID {} outside 1..{}",
                p.name, p.lpar_id, sys.max_lpars
            ));
        }
        let m = &p.mem;
        if m.min_mem > m.desired_mem || m.desired_mem > m.max_mem {
            out.push(format!(
                "{}: memory {}/{}/{}",
                p.name, m.min_mem, m.desired_mem, m.max_mem
            ));
        }
        for v in [m.min_mem, m.desired_mem, m.max_mem] {
            if v % sys.mem_region_size != 0 {
                out.push(format!(
                    "{}: {v} MB is not a multiple of the region",
                    p.name
                ));
            }
        }
        let c = &p.procs;
        if c.min_procs < 1 || c.min_procs > c.desired_procs || c.desired_procs > c.max_procs {
            out.push(format!(
                "{}: processors {}/{}/{}",
                p.name, c.min_procs, c.desired_procs, c.max_procs
            ));
        }
        match c.proc_mode {
            ProcMode::Shared => {
                // Each virtual processor carries at least 0.10 and at most 1.00 units.
                for (procs, units) in [
                    (c.min_procs, c.min_proc_units),
                    (c.desired_procs, c.desired_proc_units),
                    (c.max_procs, c.max_proc_units),
                ] {
                    match units {
                        Some(u) if u.0 >= 10 * procs && u.0 <= 100 * procs => {}
                        other => out.push(format!(
                            "{}: {procs} processors with {other:?} units",
                            p.name
                        )),
                    }
                }
                if !matches!(c.sharing_mode, SharingMode::Capped | SharingMode::Uncapped) {
                    out.push(format!("{}: shared with {:?}", p.name, c.sharing_mode));
                }
            }
            ProcMode::Dedicated => {
                if c.desired_proc_units.is_some() {
                    out.push(format!("{}: dedicated with processing units", p.name));
                }
                if !matches!(
                    c.sharing_mode,
                    SharingMode::KeepIdleProcs | SharingMode::ShareIdleProcs
                ) {
                    out.push(format!("{}: dedicated with {:?}", p.name, c.sharing_mode));
                }
            }
        }
    }
    out
}
