//! 4k random reads and writes (fio, iodepth 32, direct I/O) inside a partition on a virtual
//! disk, against fio on the host on the same backing file, interleaved round by round, printed
//! as IOPS and a ratio with the accelerator in use. Under TCG the guest's figure measures the
//! emulator as much as the disk path; the 0.9x goal is for KVM.
//! Run with `cargo bench -p ivm --bench disk_io` (needs the test guest's tools.iso);
//! `IVM_BENCH_ACCEL=kvm` forces KVM where ivm would choose TCG.

#[path = "../tests/common/mod.rs"]
mod common;
mod figures;

use std::process::Command;
use std::time::Duration;

use common::{boot, stop_now, Daemon};

const ROUNDS: usize = 3;
const SECONDS: u32 = 10;

fn fio_args(file: &str) -> String {
    format!(
        "--name=bench --filename={file} --rw=randrw --rwmixread=50 --bs=4k --iodepth=32 \
         --ioengine=libaio --direct=1 --thread --runtime={SECONDS} --time_based \
         --output-format=json"
    )
}

/// Read and write IOPS from fio's JSON report.
fn iops(json: &str) -> (f64, f64) {
    let v: serde_json::Value =
        serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("fio report: {e}: {json}"));
    let job = &v["jobs"][0];
    (
        job["read"]["iops"].as_f64().unwrap(),
        job["write"]["iops"].as_f64().unwrap(),
    )
}

fn main() {
    // IVM_BENCH_ACCEL=kvm|tcg overrides ivm's own choice (to measure KVM where it is nested).
    let accel_line = std::env::var("IVM_BENCH_ACCEL")
        .map(|a| format!("accel = \"{a}\"\n"))
        .unwrap_or_default();
    let d = Daemon::start(&format!(
        "shutdown_delay_secs = 3\nrootvg_size_mb = 2048\n{accel_line}"
    ));
    common::install_guest(&d);
    let (kernel, _) = common::test_guest();
    std::fs::copy(
        kernel.parent().unwrap().join("tools.iso"),
        d.data_dir().join("boot/tools.iso"),
    )
    .expect("tools.iso: run scripts/build-test-guest.sh");
    d.ok(&["mkrep", "-sp", "rootvg", "-size", "200M"]);
    d.ok(&["mkvopt", "-name", "tools", "-file", "tools.iso", "-ro"]);
    let input = "name=fio,desired_procs=1,desired_mem=512,boot_kernel=vmlinuz,boot_initrd=initramfs,\"boot_args=console=ttyS0 quiet\"";
    d.ok(&["mksyscfg", "-r", "lpar", "-i", input]);
    d.ok(&["mkbdsp", "256M", "-bd", "data", "-vadapter", "vhost0"]);
    d.ok(&["mkvdev", "-fbo", "-vadapter", "vhost0"]);
    d.ok(&["loadopt", "-disk", "tools", "-vtd", "vtopt0"]);
    let backing = d.data_dir().join("pools/rootvg/data");

    let mut con = boot(&d, "fio", 2);
    let accel = figures::accel_of(&common::qemu_cmdline(&d, 2));
    con.send("mkdir -p /mnt/t && mount -t iso9660 -o ro /dev/sr0 /mnt/t && echo tools-mounted");
    con.wait_for("tools-mounted\r", Duration::from_secs(30));
    let (mut guest, mut host) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // One line, so the console hands it back whole; `{` is not in the echoed command.
        con.send(&format!(
            "echo \"FIO-JSON $(/mnt/t/lib/ld.so --library-path /mnt/t/lib /mnt/t/fio {} 2>&1 | tr -d '\\n')\"",
            fio_args("/dev/sda")
        ));
        let out = con.wait_for("FIO-JSON {", Duration::from_secs(u64::from(SECONDS) * 6));
        let json = out.trim_start_matches("FIO-JSON ").trim();
        let g = iops(json);
        let h_out = Command::new("fio")
            .args(fio_args(backing.to_str().unwrap()).split_whitespace())
            .output()
            .expect("fio on the host (apt install fio)");
        let h = iops(&String::from_utf8_lossy(&h_out.stdout));
        println!(
            "round {round}: guest {:.0} read + {:.0} write IOPS, host {:.0} read + {:.0} write IOPS",
            g.0, g.1, h.0, h.1
        );
        guest.push(g.0 + g.1);
        host.push(h.0 + h.1);
    }
    drop(con);
    stop_now(&d, "fio");
    let (g, h): (f64, f64) = (
        guest.iter().sum::<f64>() / guest.len() as f64,
        host.iter().sum::<f64>() / host.len() as f64,
    );
    println!(
        "disk_io: 4k random read/write, iodepth 32, direct, {SECONDS} s x {ROUNDS} rounds interleaved: \
         guest {g:.0} IOPS, host {h:.0} IOPS on the same file, ratio {:.2}x (accelerator {accel}{})",
        g / h,
        if accel == "tcg" {
            "; under TCG this measures the emulator, the 0.9x goal is for KVM"
        } else {
            ""
        }
    );
}
