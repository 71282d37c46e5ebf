//! A libvirt daemon of the test's own, the baseline the migration benchmark measures ivm
//! against: Debian's `libvirtd` in a network namespace the test made, with a mount namespace
//! of its own (its `/run/libvirt`, `/var/lib/libvirt`, `/etc/libvirt`, ... are bind mounts of a
//! temporary directory) and a UTS namespace with its own hostname. libvirt refuses to migrate
//! between two daemons with the same hostname or host UUID, so each gets its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Console;

/// The directories a daemon keeps its state in, as (name under its directory, where it sees
/// it).
const DIRS: [(&str, &str); 5] = [
    ("run", "/run/libvirt"),
    ("lib", "/var/lib/libvirt"),
    ("cache", "/var/cache/libvirt"),
    ("log", "/var/log/libvirt"),
    ("etc", "/etc/libvirt"),
];

/// The daemon's configuration: no authentication on its socket (only root reaches it, in the
/// test's directory), no virtlogd, no cgroups and no security driver (the baseline's QEMU
/// runs as root; ivm's never does).
const QEMU_CONF: &str = "user = \"root\"\ngroup = \"root\"\ndynamic_ownership = 0\n\
    remember_owner = 0\nsecurity_driver = \"none\"\ncgroup_controllers = [ ]\n\
    stdio_handler = \"file\"\n";

/// A running libvirtd.
pub struct Libvirtd {
    dir: PathBuf,
    child: Child,
}

impl Libvirtd {
    /// Starts one in network namespace `netns` with hostname `host` and host UUID suffix `n`.
    pub fn start(netns: &str, host: &str, n: u32) -> Libvirtd {
        assert!(
            Path::new("/usr/sbin/libvirtd").exists(),
            "the baseline needs Debian's libvirt: run scripts/install-bench-deps.sh"
        );
        let dir = std::env::temp_dir().join(format!("ivm-libvirt-{}-{host}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (d, _) in DIRS {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::create_dir_all(dir.join("lib/images")).unwrap();
        std::fs::write(
            dir.join("etc/libvirtd.conf"),
            format!(
                "unix_sock_dir = \"/run/libvirt\"\nunix_sock_rw_perms = \"0700\"\n\
                 auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n\
                 host_uuid = \"3b0b6a8e-9d7f-4c53-9a51-5a0c0e5d{n:04}\"\nlog_outputs = \"3:stderr\"\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.join("etc/qemu.conf"), QEMU_CONF).unwrap();
        let mounts: String = DIRS
            .iter()
            // The package makes some of them only when systemd starts its sockets.
            .map(|(d, at)| {
                format!(
                    "mkdir -p {at} && mount --bind {}/{d} {at} && ",
                    dir.display()
                )
            })
            .collect();
        let log = std::fs::File::create(dir.join("libvirtd.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", netns, "unshare", "-m", "-u", "sh", "-c"])
            .arg(format!(
                "mount --make-rprivate / && {mounts}hostname {host} && \
                 exec libvirtd -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid"
            ))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start libvirtd");
        let mut d = Libvirtd { dir, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while d.virsh_status(&["hostname"]).0.trim() != host {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("libvirtd ended ({status}): {}", d.log());
            }
            assert!(
                Instant::now() < deadline,
                "libvirtd did not answer: {}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("libvirtd.log")).unwrap_or_default()
    }

    /// Its connection URI, for virsh and as a migration's destination.
    pub fn uri(&self) -> String {
        format!(
            "qemu+unix:///system?socket={}/run/libvirt-sock",
            self.dir.display()
        )
    }

    fn virsh_status(&self, args: &[&str]) -> (String, bool) {
        let out = Command::new("virsh")
            .args(["-q", "-c", &self.uri()])
            .args(args)
            .output()
            .expect("run virsh");
        (
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
            out.status.success(),
        )
    }

    /// `virsh ARGS` on this daemon, asserting success; its output.
    pub fn virsh(&self, args: &[&str]) -> String {
        let (out, ok) = self.virsh_status(args);
        assert!(ok, "virsh {args:?}: {out}");
        out
    }

    /// Where this daemon's `/var/lib/libvirt/images/NAME` is seen from outside.
    pub fn image(&self, name: &str) -> PathBuf {
        self.dir.join("lib/images").join(name)
    }

    /// Defines and starts a guest booting `(kernel, initrd)` shaped as ivm makes a partition
    /// under TCG: q35, qemu64, one vCPU, `mem_mb` of memory, a raw disk `NAME.raw` of
    /// `disk_mb` on virtio-scsi, the console on a Unix socket.
    pub fn start_guest(
        &self,
        name: &str,
        (kernel, initrd): (&Path, &Path),
        mem_mb: u64,
        disk_mb: u64,
    ) {
        allocated(&self.image(&format!("{name}.raw")), disk_mb);
        let (k, i) = (kernel.display(), initrd.display());
        let tb = ivm_rules::TCG_TB_SIZE_MB;
        let xml = format!(
            "<domain type='qemu'><name>{name}</name><memory unit='MiB'>{mem_mb}</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64' machine='q35'>hvm</type><kernel>{k}</kernel>\
             <initrd>{i}</initrd><cmdline>console=ttyS0 quiet</cmdline></os>\
             <features><acpi/><tcg><tb-cache unit='MiB'>{tb}</tb-cache></tcg></features>\
             <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>\
             <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>\
             <controller type='scsi' model='virtio-scsi'/>\
             <disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>\
             <source file='/var/lib/libvirt/images/{name}.raw'/><target dev='sda' bus='scsi'/></disk>\
             <serial type='unix'><source mode='bind' path='/var/lib/libvirt/{name}.con'/>\
             <target port='0'/></serial><memballoon model='none'/></devices></domain>"
        );
        self.start_xml(name, &xml);
    }

    /// Defines guest `name` from domain XML `xml` and starts it.
    pub fn start_xml(&self, name: &str, xml: &str) {
        let file = self.dir.join(format!("{name}.xml"));
        std::fs::write(&file, xml).unwrap();
        self.virsh(&["define", &file.display().to_string()]);
        self.virsh(&["start", name]);
    }

    /// The guest's serial console, at its shell prompt.
    pub fn console(&self, name: &str) -> Console {
        let sock = self.dir.join(format!("lib/{name}.con"));
        let mut cmd = Command::new("socat");
        cmd.arg("-").arg(format!("UNIX-CONNECT:{}", sock.display()));
        let mut con = Console::spawn(cmd);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            con.send("echo ready-\"\"now");
            let remaining = deadline.saturating_duration_since(Instant::now());
            assert!(!remaining.is_zero(), "guest {name}'s shell never answered");
            if con
                .try_wait_for("ready-now", Duration::from_secs(5).min(remaining))
                .is_some()
            {
                return con;
            }
        }
    }

    /// Removes guest `name` (stopped if it runs) and its disk.
    pub fn remove_guest(&self, name: &str) {
        let _ = self.virsh_status(&["destroy", name]);
        let _ = self.virsh_status(&["undefine", name]);
        let _ = std::fs::remove_file(self.image(&format!("{name}.raw")));
    }
}

/// A raw disk file of `mb` with every block allocated, as ivm makes a virtual disk in a file
/// pool (a sparse one would let the copy skip what the guest never wrote).
pub fn allocated(path: &Path, mb: u64) {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::create(path).unwrap();
    // SAFETY: fallocate on a descriptor this function owns.
    let r = unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, (mb << 20) as libc::off_t) };
    assert_eq!(
        r,
        0,
        "fallocate {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        // libvirtd leaves its guests running when it ends: they go first.
        let (names, _) = self.virsh_status(&["list", "--all", "--name"]);
        for name in names.split_whitespace() {
            self.remove_guest(name);
        }
        // A QEMU virsh could not stop, by the pid file libvirt keeps.
        if let Ok(entries) = std::fs::read_dir(self.dir.join("run/qemu")) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "pid") {
                    if let Ok(pid) = std::fs::read_to_string(e.path()) {
                        let _ = Command::new("kill").args(["-9", pid.trim()]).status();
                    }
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
