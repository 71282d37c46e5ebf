//! cgroups for partitions, on the v1 (per-controller) or v2 (unified) hierarchy.
//!
//! Files are written directly. Each ivm instance owns one parent group (`ivm-<instance>`) in
//! every hierarchy it uses, with one child per running partition (`lpar<ID>`).

use std::fs;
use std::path::{Path, PathBuf};

/// Why a cgroup could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Neither a usable v2 hierarchy nor v1 cpu, cpuset and memory controllers are mounted.
    #[error("no usable cgroup hierarchy: need cgroup v2 with cpu, cpuset and memory, or v1 mounts of each")]
    NoHierarchy,
    /// A cgroup file could not be written.
    #[error("cannot write {value:?} to {path}: {source}")]
    Write {
        /// File.
        path: PathBuf,
        /// What was to be written.
        value: String,
        /// Error.
        source: std::io::Error,
    },
    /// A cgroup directory could not be created or removed.
    #[error("cannot {action} {path}: {source}")]
    Dir {
        /// `create` or `remove`.
        action: &'static str,
        /// Directory.
        path: PathBuf,
        /// Error.
        source: std::io::Error,
    },
}

/// CPU controls to write, already decided by the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuControl {
    /// CFS period, microseconds.
    pub period_us: u64,
    /// CFS quota per period; none for unlimited.
    pub quota_us: Option<u64>,
    /// cgroup v2 `cpu.weight` (1..10000).
    pub weight: u32,
    /// cgroup v1 `cpu.shares`.
    pub shares: u64,
}

/// The mounted hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hierarchy {
    /// Separate v1 mounts for the controllers ivm uses.
    V1 {
        /// cpu controller mount.
        cpu: PathBuf,
        /// cpuset controller mount.
        cpuset: PathBuf,
        /// memory controller mount.
        memory: PathBuf,
        /// cpuacct controller mount (CPU time used), when mounted.
        cpuacct: Option<PathBuf>,
    },
    /// The unified v2 hierarchy.
    V2 {
        /// Its mount point.
        root: PathBuf,
    },
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    guard("cgroup.write", path)?;
    fs::write(path, value).map_err(|source| CgroupError::Write {
        path: path.into(),
        value: value.into(),
        source,
    })
}

fn guard(what: &'static str, path: &Path) -> Result<(), CgroupError> {
    ivm_txguard::host_action(what).map_err(|e| CgroupError::Dir {
        action: "change",
        path: path.into(),
        source: std::io::Error::other(e),
    })
}

fn mkdir(path: &Path) -> Result<(), CgroupError> {
    guard("cgroup.create", path)?;
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(CgroupError::Dir {
            action: "create",
            path: path.into(),
            source,
        }),
    }
}

impl Hierarchy {
    /// Finds the hierarchy from `/proc/mounts`: v2 when it carries cpu, cpuset and memory,
    /// else v1 mounts of each.
    pub fn detect() -> Result<Hierarchy, CgroupError> {
        let mounts = fs::read_to_string("/proc/mounts").unwrap_or_default();
        Self::from_mounts(&mounts, |p| fs::read_to_string(p).ok())
    }

    fn from_mounts(
        mounts: &str,
        read: impl Fn(&Path) -> Option<String>,
    ) -> Result<Hierarchy, CgroupError> {
        let mut v1 = (None, None, None);
        let mut cpuacct = None;
        for line in mounts.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 {
                continue;
            }
            let (dir, kind, opts) = (PathBuf::from(f[1]), f[2], f[3]);
            if kind == "cgroup2" {
                let controllers = read(&dir.join("cgroup.controllers")).unwrap_or_default();
                let have: Vec<&str> = controllers.split_whitespace().collect();
                if ["cpu", "cpuset", "memory"].iter().all(|c| have.contains(c)) {
                    return Ok(Hierarchy::V2 { root: dir });
                }
            } else if kind == "cgroup" {
                let opts: Vec<&str> = opts.split(',').collect();
                if opts.contains(&"cpu") {
                    v1.0 = Some(dir.clone());
                }
                if opts.contains(&"cpuset") {
                    v1.1 = Some(dir.clone());
                }
                if opts.contains(&"cpuacct") {
                    cpuacct = Some(dir.clone());
                }
                if opts.contains(&"memory") {
                    v1.2 = Some(dir);
                }
            }
        }
        match v1 {
            (Some(cpu), Some(cpuset), Some(memory)) => Ok(Hierarchy::V1 {
                cpu,
                cpuset,
                memory,
                cpuacct,
            }),
            _ => Err(CgroupError::NoHierarchy),
        }
    }

    /// Which hierarchy this is.
    pub fn version(&self) -> CgroupVersion {
        match self {
            Hierarchy::V1 { .. } => CgroupVersion::V1,
            Hierarchy::V2 { .. } => CgroupVersion::V2,
        }
    }

    /// The instance's parent group: created with every CPU and memory node of its parent.
    pub fn parent(&self, name: &str) -> Result<Group, CgroupError> {
        let g = self.group_at(Path::new(name));
        match self {
            Hierarchy::V1 { cpuset, .. } => {
                for dir in g.dirs() {
                    mkdir(dir)?;
                }
                for file in ["cpuset.cpus", "cpuset.mems"] {
                    let value = fs::read_to_string(cpuset.join(file)).unwrap_or_default();
                    write(&g.cpuset.join(file), value.trim())?;
                }
            }
            Hierarchy::V2 { root } => {
                write(&root.join("cgroup.subtree_control"), "+cpu +cpuset +memory")?;
                mkdir(&g.cpuset)?;
                write(
                    &g.cpuset.join("cgroup.subtree_control"),
                    "+cpu +cpuset +memory",
                )?;
            }
        }
        Ok(g)
    }

    /// A child group of `parent` (not created yet).
    pub fn child(&self, parent: &str, name: &str) -> Group {
        self.group_at(&Path::new(parent).join(name))
    }

    /// The shared memory pool's group under `parent`: on v1 a memory group only (the pool
    /// limits memory and nothing else); on v2 a group its partitions' groups live in.
    pub fn mem_pool(&self, parent: &str) -> Group {
        let g = self.group_at(&Path::new(parent).join(MEM_POOL));
        if g.version == CgroupVersion::V2 {
            g
        } else {
            Group {
                version: CgroupVersion::V1,
                cpu: PathBuf::new(),
                cpuset: PathBuf::new(),
                memory: g.memory,
                cpuacct: None,
            }
        }
    }

    /// A shared-memory partition's group (not created yet): its memory under the pool's group,
    /// its processors where every partition's are (v1); wholly inside the pool's group (v2).
    pub fn pooled_child(&self, parent: &str, name: &str) -> Group {
        let pooled = self.group_at(&Path::new(parent).join(MEM_POOL).join(name));
        if pooled.version == CgroupVersion::V2 {
            return pooled;
        }
        Group {
            memory: pooled.memory,
            ..self.child(parent, name)
        }
    }

    fn group_at(&self, rel: &Path) -> Group {
        match self {
            Hierarchy::V1 {
                cpu,
                cpuset,
                memory,
                cpuacct,
            } => Group {
                version: CgroupVersion::V1,
                cpu: cpu.join(rel),
                cpuset: cpuset.join(rel),
                memory: memory.join(rel),
                // Co-mounted with cpu ("cpu,cpuacct") it is the same directory.
                cpuacct: cpuacct.as_ref().filter(|a| *a != cpu).map(|a| a.join(rel)),
            },
            Hierarchy::V2 { root } => {
                let p = root.join(rel);
                Group {
                    version: CgroupVersion::V2,
                    cpu: p.clone(),
                    cpuset: p.clone(),
                    memory: p,
                    cpuacct: None,
                }
            }
        }
    }
}

/// The name of the shared memory pool's group under an instance's parent group.
pub const MEM_POOL: &str = "mempool";

/// The cgroup hierarchy's version: per-controller (v1) or unified (v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupVersion {
    /// One hierarchy per controller.
    V1,
    /// The unified hierarchy.
    V2,
}

impl std::fmt::Display for CgroupVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CgroupVersion::V1 => "v1",
            CgroupVersion::V2 => "v2",
        })
    }
}

/// One group, as directories in each controller's hierarchy (the same one on v2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    version: CgroupVersion,
    cpu: PathBuf,
    cpuset: PathBuf,
    memory: PathBuf,
    /// A separate v1 cpuacct directory.
    cpuacct: Option<PathBuf>,
}

impl Group {
    fn dirs(&self) -> Vec<&Path> {
        if self.version == CgroupVersion::V2 {
            vec![&self.cpu]
        } else {
            // The pool's v1 group has a memory directory only.
            let mut d: Vec<&Path> = [&*self.cpu, &*self.cpuset, &*self.memory]
                .into_iter()
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            d.extend(self.cpuacct.as_deref());
            d
        }
    }

    /// Creates the shared memory pool's group (see [`Hierarchy::mem_pool`]) with its limit;
    /// an existing one just gets the limit.
    pub fn create_pool(&self, limit_bytes: u64) -> Result<(), CgroupError> {
        if !self.memory.is_dir() {
            mkdir(&self.memory)?;
            if self.version == CgroupVersion::V2 {
                write(
                    &self.memory.join("cgroup.subtree_control"),
                    "+cpu +cpuset +memory",
                )?;
            }
        }
        self.set_memory_limit(limit_bytes)
    }

    /// Makes the group's memory directory alone (a shared-memory partition's, in the pool's).
    pub fn create_memory(&self) -> Result<(), CgroupError> {
        mkdir(&self.memory)
    }

    /// Whether the group's memory directory exists (a shared-memory partition's is under the
    /// pool's).
    pub fn memory_exists(&self) -> bool {
        self.memory.is_dir()
    }

    /// Memory the kernel protects from reclaim while the group uses less (v2 `memory.low`;
    /// v1 has no such protection under a parent's limit, where ivm lowers the others' limits
    /// instead, so this does nothing there).
    pub fn set_memory_low(&self, bytes: u64) -> Result<(), CgroupError> {
        if self.version == CgroupVersion::V2 {
            write(&self.memory.join("memory.low"), &bytes.to_string())
        } else {
            Ok(())
        }
    }

    /// CPU time the group's tasks have used, from the kernel's own accounting (v1
    /// `cpuacct.usage`, v2 `cpu.stat` usage_usec).
    pub fn cpu_usage(&self) -> Option<std::time::Duration> {
        if self.version == CgroupVersion::V2 {
            let stat = fs::read_to_string(self.cpu.join("cpu.stat")).ok()?;
            let us = stat
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))?
                .trim()
                .parse()
                .ok()?;
            return Some(std::time::Duration::from_micros(us));
        }
        let dir = self.cpuacct.as_ref().unwrap_or(&self.cpu);
        let ns = fs::read_to_string(dir.join("cpuacct.usage")).ok()?;
        ns.trim().parse().ok().map(std::time::Duration::from_nanos)
    }

    /// Memory the group's tasks hold, in bytes (v1 `memory.usage_in_bytes`, v2
    /// `memory.current`).
    pub fn memory_usage(&self) -> Option<u64> {
        let file = if self.version == CgroupVersion::V2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        };
        self.read(file)?.parse().ok()
    }

    /// Creates the group with its CPUs and memory nodes (v1 needs both before tasks join).
    pub fn create(&self, cpus: &str) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            mkdir(dir)?;
        }
        if self.version == CgroupVersion::V1 {
            let mems = fs::read_to_string(
                self.cpuset
                    .parent()
                    .unwrap_or(&self.cpuset)
                    .join("cpuset.mems"),
            )
            .unwrap_or_else(|_| "0".into());
            write(&self.cpuset.join("cpuset.mems"), mems.trim())?;
        }
        self.set_cpus(cpus)
    }

    /// Whether the group exists.
    pub fn exists(&self) -> bool {
        self.cpu.is_dir()
    }

    /// The CPUs the group's tasks may run on (kernel list format).
    pub fn set_cpus(&self, cpus: &str) -> Result<(), CgroupError> {
        write(&self.cpuset.join("cpuset.cpus"), cpus)
    }

    /// CFS quota and weight.
    pub fn set_cpu(&self, c: &CpuControl) -> Result<(), CgroupError> {
        if self.version == CgroupVersion::V2 {
            let max = match c.quota_us {
                Some(q) => format!("{q} {}", c.period_us),
                None => format!("max {}", c.period_us),
            };
            write(&self.cpu.join("cpu.max"), &max)?;
            write(&self.cpu.join("cpu.weight"), &c.weight.to_string())
        } else {
            write(
                &self.cpu.join("cpu.cfs_period_us"),
                &c.period_us.to_string(),
            )?;
            let quota = c
                .quota_us
                .map_or_else(|| "-1".to_string(), |q| q.to_string());
            write(&self.cpu.join("cpu.cfs_quota_us"), &quota)?;
            write(&self.cpu.join("cpu.shares"), &c.shares.to_string())
        }
    }

    /// Hard memory limit.
    pub fn set_memory_limit(&self, bytes: u64) -> Result<(), CgroupError> {
        let file = if self.version == CgroupVersion::V2 {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        write(&self.memory.join(file), &bytes.to_string())
    }

    /// The `cgroup.procs` files a new process must join, one per hierarchy.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs()
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    /// Processes in the group.
    pub fn pids(&self) -> Vec<u32> {
        fs::read_to_string(self.cpu.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Reads a control file (for checks and tests).
    pub fn read(&self, file: &str) -> Option<String> {
        let dir = match file.split('.').next() {
            Some("cpuset") => &self.cpuset,
            Some("memory") => &self.memory,
            Some("cpuacct") => self.cpuacct.as_ref().unwrap_or(&self.cpu),
            _ => &self.cpu,
        };
        fs::read_to_string(dir.join(file))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// Removes the group; it must hold no process. Missing directories are fine. The kernel
    /// reports a group busy for a moment after its last process exited, so that is retried.
    pub fn remove(&self) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            guard("cgroup.remove", dir)?;
            let mut attempts = 0;
            loop {
                match fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempts < 40 => {
                        attempts += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    Err(source) => {
                        return Err(CgroupError::Dir {
                            action: "remove",
                            path: dir.into(),
                            source,
                        })
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_v1_and_v2_from_mounts() {
        let v1 = "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n\
                  cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0\n\
                  cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n\
                  cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n";
        let h = Hierarchy::from_mounts(v1, |_| Some("hugetlb".into())).unwrap();
        assert_eq!(
            h,
            Hierarchy::V1 {
                cpu: "/sys/fs/cgroup/cpu,cpuacct".into(),
                cpuset: "/sys/fs/cgroup/cpuset".into(),
                memory: "/sys/fs/cgroup/memory".into(),
                cpuacct: Some("/sys/fs/cgroup/cpu,cpuacct".into()),
            }
        );
        let v2 = "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n";
        let h = Hierarchy::from_mounts(v2, |_| Some("cpuset cpu io memory pids".into())).unwrap();
        assert_eq!(
            h,
            Hierarchy::V2 {
                root: "/sys/fs/cgroup".into()
            }
        );
        assert!(Hierarchy::from_mounts(v2, |_| Some("io".into())).is_err());
        let g = h.child("ivm-x", "lpar2");
        assert_eq!(
            g.procs_files(),
            vec![PathBuf::from("/sys/fs/cgroup/ivm-x/lpar2/cgroup.procs")]
        );
    }

    /// On the real hierarchy of this host: create, limit, read back, remove.
    #[test]
    fn real_hierarchy_round_trip() {
        // ivm's tests run as root (the README's test command); without it this cannot test.
        // SAFETY: geteuid has no preconditions.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "real_hierarchy_round_trip needs root to write cgroups: run the tests as root"
        );
        let h = Hierarchy::detect().expect("this host has a cgroup hierarchy");
        let parent = format!("ivm-test-{}", std::process::id());
        let p = h.parent(&parent).unwrap();
        let g = h.child(&parent, "lpar9");
        let result = (|| {
            g.create("0")?;
            g.set_cpu(&CpuControl {
                period_us: 100_000,
                quota_us: Some(50_000),
                weight: 100,
                shares: 1024,
            })?;
            g.set_memory_limit(512 << 20)?;
            Ok::<_, CgroupError>(())
        })();
        let cpus = g.read("cpuset.cpus");
        let usage = g.cpu_usage();
        let quota = if h.version() == CgroupVersion::V2 {
            g.read("cpu.max")
        } else {
            g.read("cpu.cfs_quota_us")
        };
        let mem = if h.version() == CgroupVersion::V2 {
            g.read("memory.max")
        } else {
            g.read("memory.limit_in_bytes")
        };
        g.remove().unwrap();
        p.remove().unwrap();
        result.unwrap();
        assert_eq!(cpus.as_deref(), Some("0"));
        assert!(quota.unwrap().starts_with("50000"));
        assert_eq!(mem.as_deref(), Some("536870912"));
        assert_eq!(
            usage,
            Some(std::time::Duration::ZERO),
            "a new group has used no CPU"
        );
        assert!(!g.exists());
    }
}
