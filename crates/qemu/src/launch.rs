//! The QEMU argument vector for a partition.

use std::path::{Path, PathBuf};

use ivm_model::{Accel, DisplayAdapter};

/// Where a partition's QEMU keeps its sockets, log and pidfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// The partition's runtime directory.
    pub dir: PathBuf,
}

impl Paths {
    /// Paths below `dir`.
    pub fn new(dir: &Path) -> Paths {
        Paths {
            dir: dir.to_path_buf(),
        }
    }

    /// QMP socket.
    pub fn qmp(&self) -> PathBuf {
        self.dir.join("qmp.sock")
    }

    /// Serial console socket.
    pub fn console(&self) -> PathBuf {
        self.dir.join("console.sock")
    }

    /// The display's VNC socket (only with a display adapter).
    pub fn vnc(&self) -> PathBuf {
        self.dir.join("vnc.sock")
    }

    /// The guest agent's socket.
    pub fn agent(&self) -> PathBuf {
        self.dir.join("qga.sock")
    }

    /// Everything the serial console printed.
    pub fn console_log(&self) -> PathBuf {
        self.dir.join("console.log")
    }

    /// QEMU's pidfile (QEMU removes it when it exits).
    pub fn pidfile(&self) -> PathBuf {
        self.dir.join("qemu.pid")
    }
}

/// Everything QEMU needs to know, decided by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchSpec {
    /// Process name shown by `ps` and in QEMU's thread names.
    pub name: String,
    /// Runtime directory.
    pub paths: Paths,
    /// Accelerator.
    pub accel: Accel,
    /// vCPUs present at start.
    pub vcpus: u32,
    /// vCPUs that may be hot-plugged up to.
    pub max_vcpus: u32,
    /// Boot memory, MB: the desired memory, so a guest that onlines no hot-added memory sees
    /// all of it. Never unplugged; what goes below it is taken by the balloon (`balloon`).
    pub base_mem_mb: u64,
    /// Memory plugged at start beyond the boot memory, MB.
    pub plugged_mem_mb: u64,
    /// Highest total memory, MB.
    pub max_mem_mb: u64,
    /// Direct kernel boot: kernel, initrd (may be empty), command line.
    pub kernel: Option<(String, String, String)>,
    /// UEFI: the descriptor numbers of the partition's variables file, opened read-write and
    /// read-only (QEMU opens it both ways and takes from its descriptor set the one whose
    /// access matches); OVMF's code is shared read-only. BIOS when unset.
    pub uefi_vars_fd: Option<(i32, i32)>,
    /// The descriptor number of the partition's cloud-init seed medium (`cidata`), shown as a
    /// read-only optical device on a SCSI controller of its own.
    pub cidata_fd: Option<i32>,
    /// The display adapter; with one, QEMU serves its screen over VNC on `paths.vnc()` and
    /// gives the guest a USB tablet, so a browser's pointer lands where it is shown.
    pub display: DisplayAdapter,
    /// Unprivileged Unix user QEMU switches to once its devices are open.
    pub run_as: String,
    /// The virtual SCSI controller (N of `vhostN`), when the partition has one.
    pub vhost: Option<u32>,
    /// Disks on it, handed to QEMU as open descriptors.
    pub disks: Vec<LaunchDisk>,
    /// Virtual optical devices on it.
    pub optical: Vec<LaunchOptical>,
    /// Virtual Ethernet adapters.
    pub nics: Vec<LaunchNic>,
    /// Virtual slots that get a PCIe root port, so an adapter can be plugged there later.
    pub nic_slots: Vec<u32>,
    /// Asynchronous I/O engine: `io_uring` where the kernel allows it, else `native`.
    pub aio: &'static str,
    /// The translation buffer under TCG, MB (`ivm_rules::TCG_TB_SIZE_MB`); unused under KVM.
    pub tcg_tb_mb: u64,
    /// Shared memory: the paging device that backs the guest's logical memory (all of
    /// max_mem, mapped shared, so what the pool has no room for is written there), with a
    /// balloon that sets the logical memory in use and gives back what the guest frees.
    pub shared_mem: Option<String>,
    /// Dedicated memory that DLPAR may take below the boot memory (min_mem under it): a
    /// balloon that gives it back to the host and lowers the guest's MemTotal (no
    /// deflate-on-oom, no free page reporting: the guest keeps what it was left).
    pub balloon: bool,
    /// Started as a migration's target (`-incoming defer`): the guest arrives over QMP
    /// (`migration::start_incoming`) instead of booting.
    pub incoming: bool,
}

/// The balloon device of a shared-memory partition.
pub const BALLOON_ID: &str = "balloon0";

/// A virtual Ethernet adapter (virtio-net) on a tap QEMU inherits as a descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchNic {
    /// Its virtual slot number (the device is `ent<slot>`).
    pub slot: u32,
    /// Descriptor number of its tap in QEMU.
    pub fd: i32,
    /// MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// Descriptor number of its vhost-net device, when the kernel moves its packets.
    pub vhostfd: Option<i32>,
}

/// A virtual optical device (`scsi-cd`), empty or with media QEMU inherits as a descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchOptical {
    /// Device name (the virtual target device, `vtoptN`).
    pub vtd: String,
    /// Logical unit number.
    pub lun: u32,
    /// The loaded media: descriptor number and whether the guest may write it.
    pub media: Option<(i32, bool)>,
}

/// A disk QEMU gets as an inherited descriptor (it runs unprivileged and cannot open ivm's
/// files itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchDisk {
    /// Device and block node name (the virtual target device, `vtscsiN`).
    pub vtd: String,
    /// Logical unit number.
    pub lun: u32,
    /// Descriptor number QEMU inherits it as.
    pub fd: i32,
    /// Whether the descriptor has O_DIRECT (then the cache mode is `none`).
    pub direct: bool,
    /// A block device (a whole physical volume) rather than a file.
    pub block: bool,
    /// First in the boot order.
    pub boot: bool,
    /// An RBD image QEMU opens itself; `fd` then carries its user's key.
    pub rbd: Option<RbdDrive>,
}

/// A Ceph RBD image as QEMU's `rbd` driver opens it (no configuration file read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RbdDrive {
    /// The Ceph pool.
    pub pool: String,
    /// The image's name in the pool.
    pub image: String,
    /// The monitors.
    pub servers: Vec<(String, u16)>,
    /// The Ceph user, without `client.`.
    pub user: String,
}

/// The id of the secret object that holds disk `vtd`'s Ceph key.
pub fn secret_id(vtd: &str) -> String {
    format!("key-{vtd}")
}

/// The file node of an RBD disk, as QMP takes it (hot-plug) or, flattened, as `-blockdev`.
pub fn rbd_node(vtd: &str, r: &RbdDrive) -> serde_json::Value {
    let servers: Vec<serde_json::Value> = r
        .servers
        .iter()
        .map(|(host, port)| serde_json::json!({"host": host, "port": port.to_string()}))
        .collect();
    serde_json::json!({
        "driver": "rbd",
        "node-name": format!("f-{vtd}"),
        "pool": r.pool,
        "image": r.image,
        "server": servers,
        "user": r.user,
        "key-secret": secret_id(vtd),
        "auth-client-required": ["cephx"],
    })
}

/// Where a hot-plugged disk goes and what it is.
#[derive(Clone, Copy, Debug)]
pub struct DiskPlacement<'a> {
    /// N of the controller `vhostN`.
    pub vhost: u32,
    /// Device and node name.
    pub vtd: &'a str,
    /// Logical unit number.
    pub lun: u32,
    /// Whether the descriptor has O_DIRECT.
    pub direct: bool,
    /// A block device rather than a file.
    pub block: bool,
}

/// The QEMU id of the virtual SCSI controller of adapter `vhostN`.
pub fn controller_id(vhost: u32) -> String {
    format!("vhost{vhost}")
}

/// The QEMU arguments (`-blockdev` and `-device` property lists) that attach a disk; shared by
/// the command line and hot-plug so both make the same device.
pub fn disk_nodes(
    vhost: u32,
    vtd: &str,
    lun: u32,
    fdset: u32,
    direct: bool,
    block: bool,
    aio: &str,
) -> (String, String, String) {
    let aio = if direct { aio } else { "threads" };
    let driver = if block { "host_device" } else { "file" };
    (
        format!(
            "driver={driver},node-name=f-{vtd},filename=/dev/fdset/{fdset},cache.direct={},aio={aio}",
            if direct { "on" } else { "off" }
        ),
        format!("driver=raw,node-name={vtd},file=f-{vtd}"),
        format!(
            "scsi-hd,bus={}.0,channel=0,scsi-id=0,lun={lun},drive={vtd},id={vtd}",
            controller_id(vhost)
        ),
    )
}

/// Most adapter slots that get a root port (a PCI Express port each).
pub const MAX_NIC_SLOTS: usize = 8;

/// The root port of adapter slot `slot`.
pub fn nic_port(slot: u32) -> String {
    format!("rp{slot}")
}

/// The `-device` property list of an (empty) virtual optical device.
pub fn optical_device(vhost: u32, vtd: &str, lun: u32) -> String {
    format!(
        "scsi-cd,bus={}.0,channel=0,scsi-id=0,lun={lun},id={vtd}",
        controller_id(vhost)
    )
}

/// The descriptor set a disk's descriptor goes in: one per LUN.
pub fn fdset_for(lun: u32) -> u32 {
    lun + 1
}

/// QEMU's seccomp filter as ivm can use it: libvirt's set less two. `spawn=deny` and
/// `elevateprivileges=deny` make `-daemonize` fail (it forks and calls setsid after the filter
/// is installed, and `-run-with user=` changes the user after it too); QEMU then runs as an
/// unprivileged user with no capabilities, so neither a set*id call nor a spawned process can
/// gain privilege.
pub const SANDBOX: &str = "on,obsolete=deny,resourcecontrol=deny";

/// The descriptor set of a partition's cloud-init seed medium.
pub const CIDATA_FDSET: u32 = 4001;

/// The descriptor number of the boot memory: a memfd that `process::spawn` allocates in full
/// before QEMU runs (below the disks', which start at 10).
pub const RAM_FD: i32 = 9;

/// The virtio-mem device that carries memory beyond the boot memory.
pub const VIRTIO_MEM_ID: &str = "vmem0";

/// QOM type of a hot-pluggable vCPU for the accelerator's CPU model.
pub fn cpu_type(accel: Accel) -> &'static str {
    match accel {
        Accel::Kvm => "host-x86_64-cpu",
        Accel::Tcg => "qemu64-x86_64-cpu",
    }
}

impl LaunchSpec {
    /// The boot memory QEMU is handed already allocated (bytes), as the descriptor
    /// [`RAM_FD`]: all of a dedicated-memory partition's boot memory; none with shared memory,
    /// whose paging device backs it.
    pub fn committed_ram_bytes(&self) -> Option<u64> {
        self.shared_mem.is_none().then_some(self.base_mem_mb << 20)
    }

    /// The argument vector (without the program name).
    ///
    /// One boot vCPU comes from `-smp`; the others are `-device` CPUs, because only those can be
    /// unplugged again. Memory beyond the boot memory is a virtio-mem device so it can grow and
    /// shrink in small blocks. Boot memory is a file the guest's RAM is mapped from, allocated
    /// before QEMU starts ([`LaunchSpec::committed_ram_bytes`]), and plugged virtio-mem blocks
    /// are preallocated: a partition's memory is really committed.
    pub fn argv(&self) -> Vec<String> {
        let p = &self.paths;
        let mut a: Vec<String> = Vec::new();
        let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
        push(&["-name", &format!("{},debug-threads=on", self.name)]);
        push(&["-machine", "q35,memory-backend=ram0"]);
        match self.accel {
            // Nested hosts abort on the arch-capabilities MSR; guests do not need it.
            Accel::Kvm => push(&["-accel", "kvm", "-cpu", "host,-arch-capabilities"]),
            Accel::Tcg => push(&[
                "-accel",
                &format!("tcg,tb-size={}", self.tcg_tb_mb),
                "-cpu",
                "qemu64",
            ]),
        }
        push(&[
            "-smp",
            &format!(
                "1,sockets=1,cores={0},threads=1,maxcpus={0}",
                self.max_vcpus
            ),
        ]);
        for core in 1..self.vcpus {
            push(&[
                "-device",
                &format!(
                    "{},id=cpu{core},socket-id=0,core-id={core},thread-id=0",
                    cpu_type(self.accel)
                ),
            ]);
        }
        let extra = match &self.shared_mem {
            Some(_) => 0,
            None => self.max_mem_mb - self.base_mem_mb,
        };
        if let Some(paging) = &self.shared_mem {
            push(&["-m", &format!("{}M", self.max_mem_mb)]);
            push(&[
                "-object",
                &format!(
                    "memory-backend-file,id=ram0,size={}M,mem-path={paging},share=on,prealloc=off",
                    self.max_mem_mb
                ),
            ]);
            push(&[
                "-device",
                &format!(
                    "virtio-balloon-pci,id={BALLOON_ID},free-page-reporting=on,deflate-on-oom=on"
                ),
            ]);
        } else if extra > 0 {
            push(&[
                "-m",
                &format!("{}M,maxmem={}M", self.base_mem_mb, self.max_mem_mb),
            ]);
        } else {
            push(&["-m", &format!("{}M", self.base_mem_mb)]);
        }
        if self.shared_mem.is_none() {
            // The memory `spawn` committed in the partition's cgroup before QEMU ran.
            push(&[
                "-object",
                &format!(
                    "memory-backend-file,id=ram0,size={}M,mem-path=/proc/self/fd/{RAM_FD},share=on,prealloc=off",
                    self.base_mem_mb
                ),
            ]);
        }
        if self.balloon && self.shared_mem.is_none() {
            push(&["-device", &format!("virtio-balloon-pci,id={BALLOON_ID}")]);
        }
        if extra > 0 {
            push(&[
                "-object",
                &format!("memory-backend-ram,id=vmem0-ram,size={extra}M,reserve=off"),
            ]);
            push(&[
                "-device",
                &format!(
                    "virtio-mem-pci,id={VIRTIO_MEM_ID},memdev=vmem0-ram,block-size=2M,requested-size={}M,prealloc=on",
                    self.plugged_mem_mb
                ),
            ]);
        }
        push(&["-nodefaults", "-no-user-config", "-display", "none"]);
        push(&[
            "-chardev",
            &format!(
                "socket,id=qmp,path={},server=on,wait=off",
                p.qmp().display()
            ),
        ]);
        push(&["-mon", "chardev=qmp,mode=control"]);
        push(&[
            "-chardev",
            &format!(
                "socket,id=console,path={},server=on,wait=off,logfile={},logappend=on",
                p.console().display(),
                p.console_log().display()
            ),
        ]);
        push(&["-serial", "chardev:console"]);
        if let Some(model) = match self.display {
            DisplayAdapter::None => None,
            DisplayAdapter::Vga => Some("VGA"),
            // virtio-vga rather than virtio-gpu-pci: its VGA side shows the firmware and the
            // boot loader before the guest's driver takes over.
            DisplayAdapter::VirtioGpu => Some("virtio-vga"),
        } {
            push(&["-device", &format!("{model},id=video0")]);
            push(&[
                "-device",
                "qemu-xhci,id=usb0",
                "-device",
                "usb-tablet,id=tablet0,bus=usb0.0",
            ]);
            // The screen on a Unix socket in the partition's own directory, never a TCP port:
            // only the daemon connects, for users it has authenticated.
            push(&["-vnc", &format!("unix:{}", p.vnc().display())]);
        }
        // The guest agent's channel (ivm's RMC): every partition has one, used when the OS
        // runs qemu-guest-agent.
        push(&[
            "-chardev",
            &format!(
                "socket,id={},path={},server=on,wait=off",
                crate::agent::AGENT_CHARDEV,
                p.agent().display()
            ),
        ]);
        push(&["-device", "virtio-serial-pci,id=vser0"]);
        push(&[
            "-device",
            &format!(
                // The ID makes QEMU announce the guest opening and closing the channel
                // (VSERPORT_CHANGE), which tells listings to ask again.
                "virtserialport,bus=vser0.0,chardev={},name={},id={}",
                crate::agent::AGENT_CHARDEV,
                crate::agent::AGENT_PORT,
                crate::agent::AGENT_CHARDEV
            ),
        ]);
        if let Some((rw, ro)) = self.uefi_vars_fd {
            let set = crate::firmware::NVRAM_FDSET;
            push(&[
                "-drive",
                &format!(
                    "if=pflash,format=raw,unit=0,readonly=on,file={}",
                    crate::firmware::OVMF_CODE
                ),
                "-add-fd",
                &format!("fd={rw},set={set},opaque=nvram"),
                "-add-fd",
                &format!("fd={ro},set={set},opaque=nvram-ro"),
                "-drive",
                &format!("if=pflash,format=raw,unit=1,file=/dev/fdset/{set}"),
            ]);
        }
        if let Some(fd) = self.cidata_fd {
            push(&[
                "-device",
                "virtio-scsi-pci,id=ci0",
                "-add-fd",
                &format!("fd={fd},set={CIDATA_FDSET},opaque=cidata"),
                "-drive",
                &format!("if=none,id=d-cidata,file=/dev/fdset/{CIDATA_FDSET},format=raw,media=cdrom,readonly=on"),
                "-device",
                "scsi-cd,bus=ci0.0,channel=0,scsi-id=0,lun=0,id=cidata,drive=d-cidata",
            ]);
        }
        if let Some((kernel, initrd, args)) = &self.kernel {
            push(&["-kernel", kernel]);
            if !initrd.is_empty() {
                push(&["-initrd", initrd]);
            }
            push(&["-append", args]);
        }
        if let Some(vhost) = self.vhost {
            push(&["-object", "iothread,id=io0"]);
            push(&[
                "-device",
                &format!("virtio-scsi-pci,id={},iothread=io0", controller_id(vhost)),
            ]);
            for d in &self.disks {
                let set = fdset_for(d.lun);
                let (file, raw, dev) =
                    disk_nodes(vhost, &d.vtd, d.lun, set, d.direct, d.block, self.aio);
                if let Some(r) = &d.rbd {
                    // The key is read from the inherited descriptor while QEMU starts, never
                    // from a file or an argument.
                    push(&[
                        "-object",
                        &format!(
                            "secret,id={},format=base64,file=/proc/self/fd/{}",
                            secret_id(&d.vtd),
                            d.fd
                        ),
                    ]);
                    push(&["-blockdev", &rbd_node(&d.vtd, r).to_string()]);
                    push(&["-blockdev", &raw]);
                } else {
                    push(&[
                        "-add-fd",
                        &format!("fd={},set={set},opaque={}", d.fd, d.vtd),
                    ]);
                    push(&["-blockdev", &file, "-blockdev", &raw]);
                }
                let dev = if d.boot && self.kernel.is_none() {
                    format!("{dev},bootindex=1")
                } else {
                    dev
                };
                push(&["-device", &dev]);
            }
            for o in &self.optical {
                let mut dev = optical_device(vhost, &o.vtd, o.lun);
                if let Some((fd, writable)) = o.media {
                    let set = fdset_for(o.lun);
                    push(&["-add-fd", &format!("fd={fd},set={set},opaque={}", o.vtd)]);
                    // A drive rather than -blockdev nodes: its nodes belong to the device, so
                    // an eject over QMP frees them as it does for media loaded later.
                    push(&[
                        "-drive",
                        &format!(
                            "if=none,id=d-{},file=/dev/fdset/{set},format=raw,media=cdrom,readonly={}",
                            o.vtd,
                            if writable { "off" } else { "on" }
                        ),
                    ]);
                    dev.push_str(&format!(",drive=d-{}", o.vtd));
                }
                // Disk first, then CD, as IVM's firmware boots them.
                if self.kernel.is_none() {
                    dev.push_str(",bootindex=2");
                }
                push(&["-device", &dev]);
            }
        }
        // q35 plugs PCI Express devices only into root ports: one per adapter slot.
        for slot in &self.nic_slots {
            push(&[
                "-device",
                &format!("pcie-root-port,id={},chassis={slot}", nic_port(*slot)),
            ]);
        }
        for n in &self.nics {
            push(&[
                "-netdev",
                &match n.vhostfd {
                    Some(v) => format!("tap,id=net{},fd={},vhost=on,vhostfd={v}", n.slot, n.fd),
                    None => format!("tap,id=net{},fd={}", n.slot, n.fd),
                },
                "-device",
                &format!(
                    "virtio-net-pci,netdev=net{},mac={},id=ent{},bus={}",
                    n.slot,
                    n.mac,
                    n.slot,
                    nic_port(n.slot)
                ),
            ]);
        }
        if self.incoming {
            push(&["-incoming", "defer"]);
        }
        push(&["-run-with", &format!("user={}", self.run_as)]);
        push(&["-sandbox", SANDBOX]);
        // Always start stopped: ivm resumes the guest once QMP is attached, so no event is lost.
        push(&[
            "-S",
            "-pidfile",
            &p.pidfile().display().to_string(),
            "-daemonize",
        ]);
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LaunchSpec {
        LaunchSpec {
            name: "lpar2".into(),
            paths: Paths::new(Path::new("/d/lpars/2")),
            accel: Accel::Tcg,
            vcpus: 2,
            max_vcpus: 4,
            base_mem_mb: 256,
            plugged_mem_mb: 128,
            max_mem_mb: 1024,
            kernel: Some(("/k".into(), "/i".into(), "console=ttyS0 quiet".into())),
            uefi_vars_fd: None,
            cidata_fd: None,
            display: DisplayAdapter::None,
            run_as: "ivm-qemu".into(),
            vhost: Some(0),
            disks: vec![LaunchDisk {
                vtd: "vtscsi0".into(),
                lun: 0,
                fd: 10,
                direct: true,
                block: false,
                boot: true,
                rbd: None,
            }],
            optical: vec![],
            nics: vec![
                LaunchNic {
                    slot: 3,
                    fd: 12,
                    mac: "02:ab:12:cd:34:03".into(),
                    vhostfd: None,
                },
                LaunchNic {
                    slot: 4,
                    fd: 13,
                    mac: "02:ab:12:cd:34:04".into(),
                    vhostfd: Some(14),
                },
            ],
            nic_slots: vec![3, 4],
            aio: "io_uring",
            tcg_tb_mb: 128,
            shared_mem: None,
            balloon: false,
            incoming: false,
        }
    }

    #[test]
    fn optical_devices_boot_after_the_disk_and_carry_their_media() {
        let s = LaunchSpec {
            kernel: None,
            uefi_vars_fd: None,
            cidata_fd: None,
            optical: vec![
                LaunchOptical {
                    vtd: "vtopt0".into(),
                    lun: 1,
                    media: Some((11, false)),
                },
                LaunchOptical {
                    vtd: "vtopt1".into(),
                    lun: 2,
                    media: None,
                },
            ],
            ..spec()
        };
        let a = s.argv().join(" ");
        assert!(
            a.contains("lun=0,drive=vtscsi0,id=vtscsi0,bootindex=1"),
            "{a}"
        );
        assert!(a.contains("-add-fd fd=11,set=2,opaque=vtopt0 -drive if=none,id=d-vtopt0,file=/dev/fdset/2,format=raw,media=cdrom,readonly=on -device scsi-cd,bus=vhost0.0,channel=0,scsi-id=0,lun=1,id=vtopt0,drive=d-vtopt0,bootindex=2"), "{a}");
        assert!(
            a.contains(
                "-device scsi-cd,bus=vhost0.0,channel=0,scsi-id=0,lun=2,id=vtopt1,bootindex=2 "
            ),
            "{a}"
        );
    }

    #[test]
    fn argv_has_hotpluggable_cpus_and_memory() {
        let a = spec().argv().join(" ");
        assert!(
            a.contains("-smp 1,sockets=1,cores=4,threads=1,maxcpus=4"),
            "{a}"
        );
        assert!(
            a.contains("-device qemu64-x86_64-cpu,id=cpu1,socket-id=0,core-id=1,thread-id=0"),
            "{a}"
        );
        assert!(!a.contains("id=cpu2"), "{a}");
        assert!(a.contains("-m 256M,maxmem=1024M"), "{a}");
        assert!(
            a.contains("memory-backend-ram,id=vmem0-ram,size=768M,reserve=off"),
            "{a}"
        );
        assert!(a.contains("requested-size=128M,prealloc=on"), "{a}");
        assert!(
            a.contains("-chardev socket,id=qmp,path=/d/lpars/2/qmp.sock,server=on,wait=off"),
            "{a}"
        );
        assert!(a.contains("-append console=ttyS0 quiet"), "{a}");
        assert!(
            a.contains("-run-with user=ivm-qemu -sandbox on,obsolete=deny,resourcecontrol=deny"),
            "{a}"
        );
        assert!(
            a.contains("-object iothread,id=io0 -device virtio-scsi-pci,id=vhost0,iothread=io0 -add-fd fd=10,set=1,opaque=vtscsi0 -blockdev driver=file,node-name=f-vtscsi0,filename=/dev/fdset/1,cache.direct=on,aio=io_uring -blockdev driver=raw,node-name=vtscsi0,file=f-vtscsi0 -device scsi-hd,bus=vhost0.0,channel=0,scsi-id=0,lun=0,drive=vtscsi0,id=vtscsi0 "),
            "{a}"
        );
        assert!(!a.contains("bootindex"), "the kernel boots first: {a}");
        assert!(
            a.contains("-device pcie-root-port,id=rp3,chassis=3 -device pcie-root-port,id=rp4,chassis=4 -netdev tap,id=net3,fd=12 -device virtio-net-pci,netdev=net3,mac=02:ab:12:cd:34:03,id=ent3,bus=rp3"),
            "{a}"
        );
        assert!(
            a.contains("-netdev tap,id=net4,fd=13,vhost=on,vhostfd=14 -device virtio-net-pci,netdev=net4,mac=02:ab:12:cd:34:04,id=ent4,bus=rp4"),
            "{a}"
        );
        assert!(
            a.ends_with("-S -pidfile /d/lpars/2/qemu.pid -daemonize"),
            "{a}"
        );
        // The command line is an argument vector: the kernel arguments stay one argument.
        assert!(spec().argv().contains(&"console=ttyS0 quiet".to_string()));
    }

    #[test]
    fn fixed_memory_has_no_virtio_mem() {
        let s = LaunchSpec {
            max_mem_mb: 256,
            plugged_mem_mb: 0,
            kernel: None,
            uefi_vars_fd: None,
            cidata_fd: None,
            accel: Accel::Kvm,
            ..spec()
        };
        let a = s.argv().join(" ");
        assert!(a.contains("-m 256M "), "{a}");
        assert!(!a.contains("virtio-mem"), "{a}");
        assert!(a.contains("-accel kvm -cpu host,-arch-capabilities"), "{a}");
        assert!(a.contains("host-x86_64-cpu,id=cpu1"), "{a}");
    }

    #[test]
    fn uefi_shares_ovmfs_code_and_gives_the_partition_its_own_variables_by_descriptor() {
        let a = LaunchSpec {
            uefi_vars_fd: Some((12, 13)),
            cidata_fd: Some(14),
            kernel: None,
            ..spec()
        }
        .argv()
        .join(" ");
        assert!(
            a.contains("-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd -add-fd fd=12,set=4000,opaque=nvram -add-fd fd=13,set=4000,opaque=nvram-ro -drive if=pflash,format=raw,unit=1,file=/dev/fdset/4000"),
            "{a}"
        );
        assert!(!spec().argv().join(" ").contains("pflash"));
        assert!(
            a.contains("-device virtio-scsi-pci,id=ci0 -add-fd fd=14,set=4001,opaque=cidata -drive if=none,id=d-cidata,file=/dev/fdset/4001,format=raw,media=cdrom,readonly=on -device scsi-cd,bus=ci0.0,channel=0,scsi-id=0,lun=0,id=cidata,drive=d-cidata"),
            "{a}"
        );
    }

    #[test]
    fn a_display_is_served_on_a_unix_socket_never_a_tcp_port() {
        assert!(!spec().argv().join(" ").contains("-vnc"));
        let a = LaunchSpec {
            display: DisplayAdapter::Vga,
            ..spec()
        }
        .argv()
        .join(" ");
        assert!(a.contains("-device VGA,id=video0 -device qemu-xhci,id=usb0 -device usb-tablet,id=tablet0,bus=usb0.0 -vnc unix:/d/lpars/2/vnc.sock"), "{a}");
        let v = LaunchSpec {
            display: DisplayAdapter::VirtioGpu,
            ..spec()
        }
        .argv()
        .join(" ");
        assert!(v.contains("-device virtio-vga,id=video0"), "{v}");
    }

    #[test]
    fn boot_memory_is_the_committed_file_and_shared_memory_has_none() {
        let a = spec().argv().join(" ");
        assert!(
            a.contains("-object memory-backend-file,id=ram0,size=256M,mem-path=/proc/self/fd/9,share=on,prealloc=off "),
            "{a}"
        );
        assert_eq!(spec().committed_ram_bytes(), Some(256 << 20));
        let shared = LaunchSpec {
            shared_mem: Some("/d/pools/rootvg/amspaging02".into()),
            ..spec()
        };
        assert_eq!(shared.committed_ram_bytes(), None);
        assert!(!shared.argv().join(" ").contains("/proc/self/fd/"));
    }

    #[test]
    fn dedicated_memory_below_its_boot_memory_has_a_plain_balloon() {
        let a = LaunchSpec {
            balloon: true,
            ..spec()
        }
        .argv()
        .join(" ");
        assert!(
            a.contains(
                "-device virtio-balloon-pci,id=balloon0 -object memory-backend-ram,id=vmem0-ram"
            ),
            "{a}"
        );
        assert!(!spec().argv().join(" ").contains("balloon"));
    }

    #[test]
    fn shared_memory_is_the_paging_device_mapped_with_a_balloon() {
        let s = LaunchSpec {
            base_mem_mb: 256,
            plugged_mem_mb: 256,
            max_mem_mb: 1024,
            shared_mem: Some("/d/pools/rootvg/amspaging02".into()),
            ..spec()
        };
        let a = s.argv().join(" ");
        assert!(
            a.contains("-m 1024M -object memory-backend-file,id=ram0,size=1024M,mem-path=/d/pools/rootvg/amspaging02,share=on,prealloc=off -device virtio-balloon-pci,id=balloon0,free-page-reporting=on,deflate-on-oom=on "),
            "{a}"
        );
        assert!(
            !a.contains("virtio-mem") && !a.contains("memory-backend-ram"),
            "{a}"
        );
    }
}
