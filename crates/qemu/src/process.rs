//! QEMU processes: started daemonized inside their cgroups, found again by pidfile.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why QEMU could not be started or found.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be executed.
    #[error("cannot run {program}: {source}")]
    Exec {
        /// The QEMU binary's path.
        program: String,
        /// Error.
        source: std::io::Error,
    },
    /// The partition's boot memory could not be allocated in its cgroup (nothing was started).
    #[error(
        "cannot commit {mb} MB of memory to the partition ({why}); free memory on the host \
         (lower the management partition's or another partition's memory) or lower this \
         partition's desired memory"
    )]
    Memory {
        /// The boot memory asked for, MB.
        mb: u64,
        /// What the kernel did: refused the allocation, or killed the process making it.
        why: String,
    },
    /// QEMU exited during start-up; its own message follows.
    #[error("QEMU failed to start: {0}")]
    Start(String),
    /// The pidfile is missing or unreadable.
    #[error("no QEMU pidfile at {0}")]
    NoPidfile(PathBuf),
    /// Asked for inside a store write transaction (a bug; nothing was started).
    #[error(transparent)]
    InWriteTransaction(#[from] ivm_txguard::InWriteTransaction),
}

/// Starts QEMU with `-daemonize`, joining each `cgroup.procs` file before exec so that all its
/// memory is charged to the partition from the first page. Returns QEMU's PID once it runs.
/// `fds` are (open descriptor, number QEMU inherits it as) pairs; the caller keeps the
/// descriptors open until this returns.
///
/// `ram_bytes` is the boot memory to commit: once in the cgroup, the child allocates a memfd of
/// that size in full (`fallocate`, which allocates and zeroes pages without mapping them, about
/// 4x faster here than faulting them in) and hands it to QEMU as [`crate::launch::RAM_FD`]. The
/// memory then exists before the guest runs, and the guest maps it as it touches it; when the
/// cgroup or the host has no room, QEMU never starts.
pub fn spawn(
    program: &str,
    argv: &[String],
    cgroup_procs: &[PathBuf],
    pidfile: &Path,
    fds: &[(i32, i32)],
    ram_bytes: Option<u64>,
) -> Result<u32, ProcessError> {
    ivm_txguard::host_action("qemu.spawn")?;
    let fds = fds.to_vec();
    let files: Vec<CString> = cgroup_procs
        .iter()
        .map(|p| CString::new(p.as_os_str().as_bytes()).expect("cgroup paths have no NUL"))
        .collect();
    let mut cmd = Command::new(program);
    cmd.args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec only async-signal-safe calls (open, write, close, dup2,
    // fcntl, memfd_create, fallocate) are made, on memory prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            for &(src, dst) in &fds {
                // dup2 leaves the new descriptor without close-on-exec; the same number needs
                // the flag cleared by hand.
                if src == dst {
                    if libc::fcntl(dst, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(src, dst) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            for f in &files {
                let fd = libc::open(f.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // "0" moves the writing process itself.
                let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                let err = std::io::Error::last_os_error();
                libc::close(fd);
                if n != 1 {
                    return Err(err);
                }
            }
            if let Some(len) = ram_bytes {
                commit_ram(len)?;
            }
            Ok(())
        });
    }
    let out = cmd.output().map_err(|source| match ram_bytes {
        // Only the memory's allocation fails for want of memory before exec.
        Some(len)
            if matches!(
                source.raw_os_error(),
                Some(libc::ENOMEM) | Some(libc::ENOSPC)
            ) =>
        {
            ProcessError::Memory {
                mb: len >> 20,
                why: source.to_string(),
            }
        }
        _ => ProcessError::Exec {
            program: program.into(),
            source,
        },
    })?;
    // A cgroup over its limit (or a host out of memory) kills the process that allocates
    // rather than failing its fallocate: before exec that is only the memory's allocation.
    if let (Some(len), Some(libc::SIGKILL)) = (ram_bytes, out.status.signal()) {
        return Err(ProcessError::Memory {
            mb: len >> 20,
            why: "killed by the kernel's out-of-memory handler".into(),
        });
    }
    if !out.status.success() {
        return Err(ProcessError::Start(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    read_pid(pidfile).ok_or_else(|| ProcessError::NoPidfile(pidfile.into()))
}

/// In the child before exec: allocates `len` bytes of memory as a memfd charged to the
/// process's cgroup and leaves it open as [`crate::launch::RAM_FD`] for QEMU.
fn commit_ram(len: u64) -> std::io::Result<()> {
    let target = crate::launch::RAM_FD;
    // SAFETY: plain system calls on descriptors this child owns; the name is a static string.
    unsafe {
        // Not close-on-exec: QEMU inherits it.
        let fd = libc::memfd_create(c"ivm-lpar-ram".as_ptr(), 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let len = libc::off_t::try_from(len)
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EFBIG))?;
        // fallocate(2) itself, not posix_fallocate, which may fall back to writing.
        if libc::fallocate(fd, 0, 0, len) < 0 {
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            return Err(err);
        }
        if fd != target {
            if libc::dup2(fd, target) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(fd);
        }
    }
    Ok(())
}

/// The PID in a pidfile, if the file exists.
pub fn read_pid(pidfile: &Path) -> Option<u32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live QEMU whose command line names `marker` (its QMP socket path), so a
/// recycled PID is never mistaken for a partition.
pub fn is_ours(pid: u32, marker: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let marker = marker.as_os_str().as_bytes();
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // A zombie has exited already.
    let zombie = state
        .rsplit(')')
        .next()
        .is_some_and(|rest| rest.trim_start().starts_with('Z'));
    !zombie && cmdline.windows(marker.len()).any(|w| w == marker)
}

/// Sends SIGKILL and waits (up to `timeout`) for the process to disappear.
pub fn kill(pid: u32, marker: &Path, timeout: Duration) -> bool {
    ivm_txguard::host_infallible("qemu.kill");
    if !is_ours(pid, marker) {
        return true;
    }
    // SAFETY: signalling a process we verified to be this partition's QEMU.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_gone(pid, marker, timeout)
}

/// Waits until the process is gone; false on timeout.
pub fn wait_gone(pid: u32, marker: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_ours(pid, marker) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// CPU time a process has used (all threads), from /proc.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit(')').next()?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the command: state is index 0, utime 11, stime 12 (clock ticks).
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}

/// Resident memory of a process's mappings of the file named `name` (any directory), MB: for
/// a shared-memory partition's QEMU, its guest memory held in the pool (the one mapping of its
/// paging device).
pub fn mapping_rss_mb(pid: u32, name: &str) -> Option<u64> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    Some(parse_mapping_rss_kb(&smaps, name) >> 10)
}

fn parse_mapping_rss_kb(smaps: &str, name: &str) -> u64 {
    let mut inside = false;
    let mut kb = 0;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        // A mapping's header starts with its address range (`7f00-7f10`).
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            inside = line
                .split_whitespace()
                .nth(5)
                .is_some_and(|p| p.rsplit('/').next() == Some(name));
        } else if inside {
            if let Some(v) = line.strip_prefix("Rss:") {
                kb += v
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .unwrap_or(0);
            }
        }
    }
    kb
}

#[cfg(test)]
mod mapping_tests {
    #[test]
    fn rss_of_the_named_mapping_only() {
        let smaps =
            "7f0000000000-7f0040000000 rw-s 00000000 fd:01 1234 /d/pools/rootvg/amspaging02\n\
                     Size: 1048576 kB\nRss: 204800 kB\nPss: 204800 kB\n\
                     7f0050000000-7f0050001000 r-xp 00000000 fd:01 99 /usr/bin/qemu-system-x86_64\n\
                     Size: 4 kB\nRss: 4 kB\n";
        assert_eq!(super::parse_mapping_rss_kb(smaps, "amspaging02"), 204800);
        assert_eq!(super::parse_mapping_rss_kb(smaps, "amspaging03"), 0);
    }
}

#[cfg(test)]
mod commit_tests {
    use super::*;

    /// A memory cgroup of `limit` bytes made for one test (v1 or v2), removed when dropped.
    struct MemGroup(PathBuf);

    impl MemGroup {
        fn new(limit: u64) -> MemGroup {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let name = format!(
                "ivm-test-commit-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let v1 = Path::new("/sys/fs/cgroup/memory");
            let (dir, file) = if v1.is_dir() {
                (v1.join(&name), "memory.limit_in_bytes")
            } else {
                (Path::new("/sys/fs/cgroup").join(&name), "memory.max")
            };
            std::fs::create_dir(&dir).expect("a memory cgroup (the tests run as root)");
            let g = MemGroup(dir);
            std::fs::write(g.0.join(file), limit.to_string()).expect("memory limit");
            g
        }
    }

    impl Drop for MemGroup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }

    /// Runs `script` the way QEMU is run, committing `ram` bytes inside a 64 MB cgroup; the
    /// script writes its PID as the pidfile, as QEMU's `-daemonize` does.
    fn run(
        ram: u64,
        script: impl FnOnce(&Path) -> String,
    ) -> (Result<u32, ProcessError>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let script = script(dir.path());
        let pidfile = dir.path().join("pid");
        let group = MemGroup::new(64 << 20);
        let out = spawn(
            "/bin/sh",
            &[
                "-c".into(),
                format!("{script}; echo $$ > {}", pidfile.display()),
            ],
            &[group.0.join("cgroup.procs")],
            &pidfile,
            &[],
            Some(ram),
        );
        (out, dir)
    }

    #[test]
    fn the_boot_memory_is_allocated_in_the_cgroup_and_inherited() {
        let (out, dir) = run(32 << 20, |d| {
            format!(
                "stat -L -c %s /proc/self/fd/{} > {d}/size; cat /proc/self/cgroup > {d}/cg",
                crate::launch::RAM_FD,
                d = d.display()
            )
        });
        out.expect("started");
        let size = std::fs::read_to_string(dir.path().join("size")).unwrap();
        assert_eq!(size.trim(), (32u64 << 20).to_string());
        let cg = std::fs::read_to_string(dir.path().join("cg")).unwrap();
        assert!(cg.contains("ivm-test-commit-"), "{cg}");
    }

    #[test]
    fn memory_the_cgroup_has_no_room_for_refuses_the_start() {
        let (out, dir) = run(128 << 20, |d| format!("touch {}/ran", d.display()));
        match out {
            Err(e @ ProcessError::Memory { mb: 128, .. }) => {
                let text = e.to_string();
                assert!(text.contains("cannot commit 128 MB"), "{text}");
                assert!(
                    text.contains("lower this partition's desired memory"),
                    "{text}"
                );
            }
            other => panic!("expected a memory refusal, got {other:?}"),
        }
        assert!(!dir.path().join("ran").exists(), "the program ran");
    }
}
