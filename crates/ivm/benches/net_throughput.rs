//! TCP throughput between two partitions on one virtual Ethernet ID (one fetching a file from
//! the other's HTTP server: busybox httpd and wget in the test guest) against the same two
//! programs in two network namespaces joined by a veth pair, interleaved round by round,
//! printed as MB/s and a ratio with the accelerator and whether vhost-net carried the packets.
//! Under TCG the partitions' figure measures the emulator as much as the network path.
//! Run with `cargo bench -p ivm --bench net_throughput` (needs the test guest and busybox-static).

#[path = "../tests/common/mod.rs"]
mod common;
mod figures;
mod guest_http;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{boot, stop_now, Daemon, Netns};
use figures::{accel_of, median_f64};
use guest_http::{serve, transfer};

const ROUNDS: usize = 5;
const MB: u32 = 128;

/// The baseline's server, stopped however the benchmark ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The veth baseline: `wget` in one namespace from `httpd` in the other; MB/s.
fn veth_round(client: &Netns, url: &str) -> f64 {
    let t = Instant::now();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &client.name,
            "busybox",
            "wget",
            "-q",
            "-O",
            "/dev/null",
            url,
        ])
        .output()
        .expect("busybox wget");
    assert!(out.status.success(), "{out:?}");
    f64::from(MB) / t.elapsed().as_secs_f64()
}

fn main() {
    // The baseline: two namespaces on a veth pair.
    let (a, b) = (Netns::new("ba"), Netns::new("bb"));
    a.ip_in(&[
        "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", &b.name,
    ]);
    a.ip_in(&["addr", "add", "10.9.3.1/24", "dev", "v0"]);
    b.ip_in(&["addr", "add", "10.9.3.2/24", "dev", "v1"]);
    a.ip_in(&["link", "set", "v0", "up"]);
    b.ip_in(&["link", "set", "v1", "up"]);
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("big"), vec![0u8; (MB as usize) << 20]).unwrap();
    let _httpd = Server(
        Command::new("ip")
            .args([
                "netns", "exec", &a.name, "busybox", "httpd", "-f", "-p", "8080", "-h",
            ])
            .arg(www.path())
            .spawn()
            .expect("busybox httpd"),
    );
    common::eventually("the baseline's server", Duration::from_secs(10), || {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &b.name,
                "busybox",
                "wget",
                "-q",
                "-O",
                "/dev/null",
                "http://10.9.3.1:8080/",
            ])
            .output()
            .is_ok_and(|o| !String::from_utf8_lossy(&o.stderr).contains("refused"))
    });

    // The partitions: two on virtual Ethernet 1.
    let accel_line = std::env::var("IVM_BENCH_ACCEL")
        .map(|a| format!("accel = \"{a}\"\n"))
        .unwrap_or_default();
    let d = Daemon::start_in_netns(&format!("shutdown_delay_secs = 3\n{accel_line}"));
    common::install_guest(&d);
    // The server holds the file in its RAM-backed root file system.
    for (name, ip, mem) in [("srv", "10.9.2.2", 768), ("cli", "10.9.2.3", 256)] {
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
    let mut srv = boot(&d, "srv", 2);
    let mut cli = boot(&d, "cli", 3);
    let cmdline = common::qemu_cmdline(&d, 2);
    let accel = accel_of(&cmdline);
    let vhost = cmdline.contains("vhost=on");
    serve(&mut srv, &mut cli, "10.9.2.2", MB);

    let (mut guest, mut host) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let g = transfer(&mut cli, "10.9.2.2", MB);
        let h = veth_round(&b, "http://10.9.3.1:8080/big");
        println!("round {round}: partitions {g:.1} MB/s, veth namespaces {h:.1} MB/s");
        guest.push(g);
        host.push(h);
    }
    drop((srv, cli));
    stop_now(&d, "srv");
    stop_now(&d, "cli");
    let (g, h) = (median_f64(&mut guest), median_f64(&mut host));
    println!(
        "net_throughput: HTTP transfer of {MB} MB, {ROUNDS} rounds interleaved, medians: partitions \
         on one virtual Ethernet {g:.1} MB/s, two namespaces on a veth pair {h:.1} MB/s, ratio {:.3}x \
         (accelerator {accel}, vhost-net {})",
        g / h,
        if vhost { "used" } else { "not used: the kernel has no /dev/vhost-net" }
    );
}
