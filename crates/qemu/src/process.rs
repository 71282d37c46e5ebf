//! QEMU processes: started daemonized inside their cgroups, found again by pidfile.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
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
pub fn spawn(
    program: &str,
    argv: &[String],
    cgroup_procs: &[PathBuf],
    pidfile: &Path,
    fds: &[(i32, i32)],
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
    // fcntl) are made, on memory prepared before the fork.
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
            Ok(())
        });
    }
    let out = cmd.output().map_err(|source| ProcessError::Exec {
        program: program.into(),
        source,
    })?;
    if !out.status.success() {
        return Err(ProcessError::Start(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    read_pid(pidfile).ok_or_else(|| ProcessError::NoPidfile(pidfile.into()))
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
