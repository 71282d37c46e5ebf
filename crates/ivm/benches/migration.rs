//! What a live move costs: two ivm hosts on this machine (network namespaces joined by a veth
//! pair, the target's sshd real), a partition of 1 GB memory and a 2 GB virtual disk moved
//! there, idle and with the guest rewriting 256 MB of its memory (random bytes) as fast as it
//! can;
//! prints total time, QEMU's downtime, ivm's pause (the source's stop to the target's resume),
//! bytes and passes, median of RUNS moves each. Run with `cargo bench -p ivm --bench migration`
//! (needs the test guest in target/test-guest).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::hosts::{hosts, TARGET_IP};
use common::{boot, lock, Console, Daemon};

const RUNS: usize = 3;

/// One move of `name` from `from` to the host at `ip`; the figures it printed and the wall time.
fn move_once(from: &Daemon, ip: &str, name: &str) -> (Vec<(String, u64)>, Duration) {
    let t = Instant::now();
    let o = from.ivm(&[
        "migrlpar", "-o", "m", "--ip", ip, "-u", "padmin", "-p", name, "-d", "1",
    ]);
    let took = t.elapsed();
    assert_eq!(o.code, 0, "migrlpar: {o:?}");
    let figures = o
        .stdout
        .trim()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| v.parse().ok().map(|v| (k.to_string(), v)))
        .collect();
    (figures, took)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let _l = lock();
    let h = hosts("");
    for writing in [false, true] {
        let mut total = Vec::new();
        let mut downtime = Vec::new();
        let mut pause = Vec::new();
        let mut bytes = Vec::new();
        let mut passes = Vec::new();
        let mut wall = Vec::new();
        for run in 0..RUNS {
            let name = format!("m{}{run}", if writing { "w" } else { "i" });
            h.src.ok(&[
                "mksyscfg", "-r", "lpar", "-i",
                &format!("name={name},desired_procs=1,min_mem=1024,desired_mem=1024,max_mem=1024,boot_kernel=vmlinuz,boot_initrd=initramfs,\"boot_args=console=ttyS0 quiet\""),
            ]);
            let id = common::lpar_id(&h.src, &name);
            // The partitions before it moved away: it is partition 2 with adapter vhost0 again.
            let vhost = "vhost0";
            h.src.ok(&[
                "mkbdsp",
                "2G",
                "-bd",
                &format!("{name}d"),
                "-vadapter",
                vhost,
            ]);
            let mut con: Console = boot(&h.src, &name, id);
            con.send("dd if=/dev/urandom of=/dev/sda bs=1M count=64 conv=fsync 2>/dev/null; echo filled-\"\"disk");
            con.wait_for("filled-disk", Duration::from_secs(120));
            if writing {
                // Random bytes (zero pages cost QEMU nothing to send): the disk's first 64 MB
                // copied into memory over and over, 256 MB of guest memory rewritten.
                con.send("(while :; do for i in 0 1 2 3; do dd if=/dev/sda of=/tmp/blob$i bs=1M count=64 2>/dev/null; done; done) & echo started-\"\"writer");
                con.wait_for("started-writer", Duration::from_secs(30));
            }
            drop(con);
            let (f, took) = move_once(&h.src, TARGET_IP, &name);
            let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| *v).unwrap_or(0);
            total.push(get("total_ms"));
            downtime.push(get("downtime_ms"));
            pause.push(get("pause_ms"));
            bytes.push(get("bytes_transmitted"));
            passes.push(get("passes"));
            wall.push(took.as_millis() as u64);
            // Room for the next run on the target.
            eprintln!("  {name}: {f:?}, migrlpar {} ms", took.as_millis());
            common::stop_now(&h.dst, &name);
            h.dst.ok(&["rmvdev", "-vdev", &format!("{name}d")]);
            h.dst.ok(&["rmsyscfg", "-r", "lpar", "-n", &name]);
            h.dst.ok(&["rmbdsp", "-bd", &format!("{name}d")]);
        }
        println!(
            "move of a 1 GB partition with a 2 GB disk ({}): migrlpar {} ms (disk copy included), memory stream {} ms, QEMU downtime {} ms, pause to the target's resume {} ms, {} MB of memory in {} passes (median of {RUNS})",
            if writing { "guest rewriting 256 MB" } else { "idle" },
            median(wall),
            median(total),
            median(downtime),
            median(pause),
            median(bytes) >> 20,
            median(passes),
        );
    }
}
