//! The same guest's disk and network under ivm and under libvirt with the devices
//! `virt-install` gives a Linux guest (virtio-blk on a raw file with libvirt's default cache and
//! I/O mode, virtio-net on a tap on a Linux bridge), on the same accelerator, interleaved round
//! by round: fio inside the guest (4k random read/write at iodepth 32, 1 MB sequential reads
//! and writes at iodepth 8, direct I/O, on a fully allocated 256 MB raw file on the same file
//! system) and an HTTP transfer between two guests on one bridge (ivm: one virtual Ethernet ID).
//! Prints each figure for both, the ratio ivm / libvirt and the accelerator.
//! Run with `cargo bench -p ivm --bench vs_libvirt_io` (needs the test guest with tools.iso,
//! libvirt and socat: scripts/install-bench-deps.sh). To find where a difference comes from:
//! `IVM_BENCH_PARTS=disk` or `net` runs one part; `IVM_BENCH_LV_DRIVER="cache='none' io='native'"`
//! adds attributes to libvirt's disk driver; `IVM_BENCH_LV_TB=64` gives libvirt's guests ivm's
//! translation buffer (MiB) under TCG.

#[path = "../tests/common/mod.rs"]
mod common;
mod figures;
mod guest_http;

use std::path::Path;
use std::time::Duration;

use common::libvirt::{allocated, Libvirtd};
use common::{boot, stop_now, Console, Daemon, Netns};
use figures::{accel_of, median_f64 as median};
use guest_http::{serve, transfer};

const ROUNDS: usize = 3;
const SECONDS: u64 = 8;
const DISK_MB: u64 = 256;
const NET_MB: u32 = 384;
const NET_ROUNDS: usize = 7;

/// The fio jobs, each with what it reports: (label, fio options, read or write, IOPS or MB/s).
const JOBS: [(&str, &str, &str, Unit); 4] = [
    ("4k random read IOPS", RANDRW, "read", Unit::Iops),
    ("4k random write IOPS", RANDRW, "write", Unit::Iops),
    (
        "sequential read MB/s",
        "--rw=read --bs=1M --iodepth=8",
        "read",
        Unit::MBps,
    ),
    (
        "sequential write MB/s",
        "--rw=write --bs=1M --iodepth=8",
        "write",
        Unit::MBps,
    ),
];
const RANDRW: &str = "--rw=randrw --rwmixread=50 --bs=4k --iodepth=32";

#[derive(Clone, Copy)]
enum Unit {
    Iops,
    MBps,
}

/// One fio run inside the guest on `dev`; fio's JSON report.
fn fio(con: &mut Console, dev: &str, options: &str) -> serde_json::Value {
    // One line, so the console hands it back whole; `{` is not in the echoed command.
    con.send(&format!(
        "echo \"FIO-JSON $(/mnt/t/lib/ld.so --library-path /mnt/t/lib /mnt/t/fio --name=b \
         --filename={dev} {options} --ioengine=libaio --direct=1 --thread --runtime={SECONDS} \
         --time_based --output-format=json 2>&1 | tr -d '\\n')\""
    ));
    let out = con.wait_for("FIO-JSON {", Duration::from_secs(SECONDS * 8 + 60));
    let json = out.trim_start_matches("FIO-JSON ").trim();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("fio report: {e}: {json}"))
}

/// The figure `dir` / `unit` of a report.
fn figure(report: &serde_json::Value, dir: &str, unit: Unit) -> f64 {
    let side = &report["jobs"][0][dir];
    match unit {
        Unit::Iops => side["iops"].as_f64().unwrap(),
        Unit::MBps => side["bw_bytes"].as_f64().unwrap() / 1e6,
    }
}

/// Mounts the tools disc (whichever of `devs` holds it) on /mnt/t; the other device.
fn mount_tools(con: &mut Console, devs: [&str; 2]) -> String {
    con.send(&format!(
        "mkdir -p /mnt/t; for d in {} {}; do mount -t iso9660 -o ro $d /mnt/t 2>/dev/null && echo \"TOOLS-\"\"ON $d\"; done",
        devs[0], devs[1]
    ));
    let line = con.wait_for("TOOLS-ON ", Duration::from_secs(30));
    let on = line.trim().rsplit(' ').next().unwrap().to_string();
    devs.iter().find(|d| **d != on).unwrap().to_string()
}

/// One fio round of every job on one side: the figures in `JOBS`' order.
fn disk_round(con: &mut Console, dev: &str) -> Vec<f64> {
    let rand = fio(con, dev, RANDRW);
    let read = fio(con, dev, JOBS[2].1);
    let write = fio(con, dev, JOBS[3].1);
    vec![
        figure(&rand, "read", Unit::Iops),
        figure(&rand, "write", Unit::Iops),
        figure(&read, JOBS[2].2, JOBS[2].3),
        figure(&write, JOBS[3].2, JOBS[3].3),
    ]
}

/// libvirt's domain for the test guest as `virt-install --import --os-variant linux2022` with
/// `--disk path=...,format=raw` and `--network bridge=...` defines it: q35, virtio-blk with no
/// cache or io attribute (libvirt leaves QEMU's defaults), virtio-net, a virtio balloon and RNG.
/// The tools disc is a second, read-only virtio-blk disk: the test guest has no AHCI driver
/// for the SATA CD-ROM virt-install would add.
fn domain_xml(
    name: &str,
    dtype: &str,
    (kernel, initrd): (&Path, &Path),
    mem_mb: u32,
    args: &str,
    devices: &str,
) -> String {
    let (k, i) = (kernel.display(), initrd.display());
    let tcg = std::env::var("IVM_BENCH_LV_TB")
        .map(|mb| format!("<tcg><tb-cache unit='MiB'>{mb}</tb-cache></tcg>"))
        .unwrap_or_default();
    format!(
        "<domain type='{dtype}'><name>{name}</name><memory unit='MiB'>{mem_mb}</memory>\
         <vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type><kernel>{k}</kernel>\
         <initrd>{i}</initrd><cmdline>console=ttyS0 quiet{args}</cmdline></os>\
         <features><acpi/><apic/>{tcg}</features><clock offset='utc'/>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}\
         <serial type='unix'><source mode='bind' path='/var/lib/libvirt/{name}.con'/>\
         <target port='0'/></serial><memballoon model='virtio'/>\
         <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>\
         </devices></domain>"
    )
}

/// A raw file as a virtio-blk disk, as virt-install writes it (plus `IVM_BENCH_LV_DRIVER`).
fn blk(file: &Path, dev: &str, readonly: bool) -> String {
    let extra = std::env::var("IVM_BENCH_LV_DRIVER").unwrap_or_default();
    format!(
        "<disk type='file' device='disk'><driver name='qemu' type='raw' {extra}/>\
         <source file='{}'/><target dev='{dev}' bus='virtio'/>{}</disk>",
        file.display(),
        if readonly { "<readonly/>" } else { "" }
    )
}

/// What both sides run on: ivm's daemon, the libvirt daemon and the test guest's files.
struct Sides {
    d: Daemon,
    lv: Libvirtd,
    guest: (std::path::PathBuf, std::path::PathBuf),
    tools: std::path::PathBuf,
}

/// A row of the result: label, ivm's median, libvirt's median.
type Row = (String, f64, f64);

/// The domain type libvirt needs for the accelerator ivm's QEMU was started with.
fn domain_type(accel: &str) -> &'static str {
    if accel == "kvm" {
        "kvm"
    } else {
        "qemu"
    }
}

/// Disk: one guest on each side, every fio job ROUNDS times, interleaved. The rows, the
/// accelerator and what ivm's disk runs with.
fn disk_part(s: &Sides) -> (Vec<Row>, String, String) {
    let d = &s.d;
    d.ok(&["mkrep", "-sp", "rootvg", "-size", "200M"]);
    d.ok(&["mkvopt", "-name", "tools", "-file", "tools.iso", "-ro"]);
    let input = "name=fio,desired_procs=1,desired_mem=512,boot_kernel=vmlinuz,boot_initrd=initramfs,\"boot_args=console=ttyS0 quiet\",virtual_eth_adapters=none";
    d.ok(&["mksyscfg", "-r", "lpar", "-i", input]);
    let id = common::lpar_id(d, "fio");
    d.ok(&[
        "mkbdsp",
        &format!("{DISK_MB}M"),
        "-bd",
        "data",
        "-vadapter",
        "vhost0",
    ]);
    d.ok(&["mkvdev", "-fbo", "-vadapter", "vhost0"]);
    d.ok(&["loadopt", "-disk", "tools", "-vtd", "vtopt0"]);
    let mut ivm_con = boot(d, "fio", id);
    let cmdline = common::qemu_cmdline(d, id);
    let accel = accel_of(&cmdline);
    let ivm_dev = mount_tools(&mut ivm_con, ["/dev/sr0", "/dev/sda"]);

    let data = s.lv.image("data.raw");
    allocated(&data, DISK_MB);
    let devices = blk(&data, "vda", false) + &blk(&s.tools, "vdb", true);
    let xml = domain_xml(
        "lvfio",
        domain_type(&accel),
        (&s.guest.0, &s.guest.1),
        512,
        "",
        &devices,
    );
    s.lv.start_xml("lvfio", &xml);
    let mut lv_con = s.lv.console("lvfio");
    let lv_dev = mount_tools(&mut lv_con, ["/dev/vda", "/dev/vdb"]);

    let (mut a, mut b) = (vec![Vec::new(); 4], vec![Vec::new(); 4]);
    for round in 0..ROUNDS {
        let x = disk_round(&mut ivm_con, &ivm_dev);
        let y = disk_round(&mut lv_con, &lv_dev);
        println!("disk round {round}: ivm {x:.1?}, libvirt {y:.1?}");
        for i in 0..4 {
            a[i].push(x[i]);
            b[i].push(y[i]);
        }
    }
    drop((ivm_con, lv_con));
    stop_now(d, "fio");
    s.lv.remove_guest("lvfio");
    let rows = JOBS
        .iter()
        .enumerate()
        .map(|(i, (label, ..))| (label.to_string(), median(&mut a[i]), median(&mut b[i])))
        .collect();
    let aio = if cmdline.contains("aio=io_uring") {
        "io_uring"
    } else {
        "threads"
    };
    let how = format!("ivm's disk: virtio-scsi with an iothread, O_DIRECT, aio {aio}");
    (rows, accel, how)
}

/// Network: two guests on each side, the server holding its file in RAM, NET_ROUNDS
/// transfers each, interleaved. The row, the accelerator and whether vhost-net was used.
fn net_part(s: &Sides) -> (Row, String, bool) {
    let d = &s.d;
    for (name, ip, mem) in [("srv", "10.9.6.2", 1024), ("cli", "10.9.6.3", 256)] {
        d.ok(&[
            "mksyscfg",
            "-r",
            "lpar",
            "-i",
            &format!(
                "name={name},desired_procs=1,desired_mem={mem},boot_kernel=vmlinuz,boot_initrd=initramfs,\
                 \"boot_args=console=ttyS0 quiet ivm.ip=eth0:{ip}/24\",\"virtual_eth_adapters=3/0/1//0/0\""
            ),
        ]);
    }
    let (srv_id, cli_id) = (common::lpar_id(d, "srv"), common::lpar_id(d, "cli"));
    let mut ivm_srv = boot(d, "srv", srv_id);
    let mut ivm_cli = boot(d, "cli", cli_id);
    let cmdline = common::qemu_cmdline(d, srv_id);
    let accel = accel_of(&cmdline);
    let nic = "<interface type='bridge'><source bridge='lvbr0'/><model type='virtio'/></interface>";
    for (name, ip, mem) in [("lvsrv", "10.9.7.2", 1024), ("lvcli", "10.9.7.3", 256)] {
        let args = format!(" ivm.ip=eth0:{ip}/24");
        let xml = domain_xml(
            name,
            domain_type(&accel),
            (&s.guest.0, &s.guest.1),
            mem,
            &args,
            nic,
        );
        s.lv.start_xml(name, &xml);
    }
    let mut lv_srv = s.lv.console("lvsrv");
    let mut lv_cli = s.lv.console("lvcli");
    serve(&mut ivm_srv, &mut ivm_cli, "10.9.6.2", NET_MB);
    serve(&mut lv_srv, &mut lv_cli, "10.9.7.2", NET_MB);
    // One transfer each first, not counted: the first one also translates the code the
    // others run (TCG) and fills the bridges' forwarding tables.
    transfer(&mut ivm_cli, "10.9.6.2", NET_MB);
    transfer(&mut lv_cli, "10.9.7.2", NET_MB);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..NET_ROUNDS {
        // Who goes first alternates, so neither side always follows the other's load.
        let (x, y) = if round % 2 == 0 {
            let x = transfer(&mut ivm_cli, "10.9.6.2", NET_MB);
            (x, transfer(&mut lv_cli, "10.9.7.2", NET_MB))
        } else {
            let y = transfer(&mut lv_cli, "10.9.7.2", NET_MB);
            (transfer(&mut ivm_cli, "10.9.6.2", NET_MB), y)
        };
        println!("network round {round}: ivm {x:.1} MB/s, libvirt {y:.1} MB/s");
        a.push(x);
        b.push(y);
    }
    drop((ivm_srv, ivm_cli, lv_srv, lv_cli));
    stop_now(d, "srv");
    stop_now(d, "cli");
    s.lv.remove_guest("lvsrv");
    s.lv.remove_guest("lvcli");
    let row = (
        format!("TCP, HTTP {NET_MB} MB, MB/s"),
        median(&mut a),
        median(&mut b),
    );
    (row, accel, cmdline.contains("vhost=on"))
}

fn main() {
    let parts = std::env::var("IVM_BENCH_PARTS").unwrap_or_else(|_| "disk,net".into());
    let ns = Netns::new("lv");
    let lv = Libvirtd::start(&ns.name, "ivmbench-lv", 71);
    ns.ip_in(&["link", "add", "lvbr0", "type", "bridge"]);
    ns.ip_in(&["link", "set", "lvbr0", "up"]);
    let d = Daemon::start_in_netns("shutdown_delay_secs = 3\nrootvg_size_mb = 2048\n");
    common::install_guest(&d);
    let guest = common::test_guest();
    let tools = guest.0.parent().unwrap().join("tools.iso");
    std::fs::copy(&tools, d.data_dir().join("boot/tools.iso"))
        .expect("tools.iso: run scripts/build-test-guest.sh");
    let s = Sides {
        d,
        lv,
        guest,
        tools,
    };

    let (mut rows, mut notes, mut accel) = (Vec::new(), Vec::new(), String::new());
    if parts.contains("disk") {
        let (r, a, how) = disk_part(&s);
        rows.extend(r);
        notes.push(how);
        accel = a;
    }
    if parts.contains("net") {
        let (r, a, vhost) = net_part(&s);
        rows.push(r);
        notes.push(format!(
            "both sides' network: virtio-net on a tap on a Linux bridge, vhost-net {}",
            if vhost {
                "used"
            } else {
                "not available on this host"
            }
        ));
        accel = a;
    }

    let version = s.lv.virsh(&["version", "--daemon"]);
    let version = version
        .lines()
        .find(|l| l.contains("libvirt"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or("?")
        .to_string();
    println!(
        "vs_libvirt_io: ivm against libvirt {version} (domains as virt-install defines them), \
         accelerator {accel}, medians of {ROUNDS} disk and {NET_ROUNDS} network rounds, interleaved"
    );
    println!(
        "  {:<26} {:>10} {:>10} {:>7}",
        "", "ivm", "libvirt", "ratio"
    );
    for (label, a, b) in rows {
        println!("  {label:<26} {a:>10.1} {b:>10.1} {:>7.2}", a / b);
    }
    for n in notes {
        println!("  ({n})");
    }
    let overrides: Vec<String> = ["IVM_BENCH_LV_DRIVER", "IVM_BENCH_LV_TB"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
        .collect();
    println!(
        "  (libvirt's disk: virtio-blk with QEMU's default cache (writeback) and aio (threads){})",
        if overrides.is_empty() {
            String::new()
        } else {
            format!("; overridden: {}", overrides.join(" "))
        }
    );
}
