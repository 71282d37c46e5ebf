//! How fast a change reaches the guest and the browser: from `chhwres` returning to the
//! guest seeing a processor online or its memory grown (and the reverse), median of several
//! runs; and from QEMU's event to the events stream (`/api/v1/events`, what the browser
//! reads) carrying the new state. Run with `cargo bench -p ivm --bench dlpar_latency` (needs
//! the test guest in target/test-guest).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "figures/mod.rs"]
mod figures;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Console, Daemon};
use figures::{median, ms};

const RUNS: usize = 5;

/// Runs `chhwres` and returns the time from its return to the guest's next change line.
fn timed(d: &Daemon, con: &mut Console, args: &[&str]) -> Duration {
    con.skip_seen();
    let mut argv = vec!["chhwres", "--force"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--id", "2"]);
    d.ok(&argv);
    let returned = Instant::now();
    con.wait_for("SEEN-", Duration::from_secs(30));
    returned.elapsed()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Reads the events stream until partition 2 is in none of `from`; returns the time from
/// its state's date (QEMU's event time for states QEMU reports) to the stream's delivery.
async fn stream_delay(r: &mut reqwest::Response, from: &[&str]) -> (String, i64) {
    let mut buf = String::new();
    loop {
        let chunk = r.chunk().await.unwrap().expect("the events stream ended");
        let got = now_ms();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if !frame.contains("event: partitions") {
                continue;
            }
            let data: String = frame
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            let parts: serde_json::Value = serde_json::from_str(&data).unwrap();
            let p = parts
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["lpar_id"] == 2)
                .unwrap();
            let state = p["state"].as_str().unwrap().to_string();
            if !from.contains(&state.as_str()) {
                return (state, got - p["ref_time_ms"].as_i64().unwrap());
            }
        }
    }
}

/// Starts the guest's watcher: a line whenever its online processors or MemTotal change
/// (its shell reads them every 10 ms: that is the resolution of what follows).
fn watch(con: &mut Console) {
    con.send(
        "o=; while :; do read c < /sys/devices/system/cpu/online; \
         while read k v u; do [ $k = MemTotal: ] && break; done < /proc/meminfo; \
         n=$c-$v; [ \"$n\" != \"$o\" ] && echo SEEN\"\"-$n; o=$n; sleep 0.01; done &",
    );
    con.wait_for("SEEN-", Duration::from_secs(30));
}

fn main() {
    let d = Daemon::start("shutdown_delay_secs = 3\n");
    // Under TCG a running partition can be given each of its max_procs - desired_procs
    // processors once: every round starts the partition anew.
    common::define_guest(
        &d,
        "lat",
        "desired_procs=1,max_procs=2,desired_proc_units=0.2,max_proc_units=2.0,desired_mem=256,max_mem=512,virtual_eth_adapters=none",
    );
    let (mut cpu_add, mut cpu_rm, mut mem_add, mut mem_rm) = (vec![], vec![], vec![], vec![]);
    let mut delays: Vec<(String, i64)> = Vec::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    d.set_password("padmin", "padmin-pass-1");
    let token = rt.block_on(d.token("padmin", "padmin-pass-1"));
    for _ in 0..RUNS {
        let mut con = common::boot(&d, "lat", 2);
        watch(&mut con);
        cpu_add.push(timed(
            &d,
            &mut con,
            &["-r", "proc", "-o", "a", "--procs", "1"],
        ));
        cpu_rm.push(timed(
            &d,
            &mut con,
            &["-r", "proc", "-o", "r", "--procs", "1"],
        ));
        mem_add.push(timed(&d, &mut con, &["-r", "mem", "-o", "a", "-q", "128"]));
        mem_rm.push(timed(&d, &mut con, &["-r", "mem", "-o", "r", "-q", "128"]));
        // The events stream: the guest powers itself off (QEMU's SHUTDOWN event, dated by
        // QEMU); the state the stream delivers next is timed against its date.
        rt.block_on(async {
            let mut r = d
                .https()
                .get(d.url("/events"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            // The first frame is the state now.
            stream_delay(&mut r, &[]).await;
            con.send("poweroff -f");
            delays.push(stream_delay(&mut r, &["Running"]).await);
        });
        common::eventually("the partition to stop", Duration::from_secs(30), || {
            d.ok(&[
                "lssyscfg",
                "-r",
                "lpar",
                "--filter",
                "lpar_ids=2",
                "-F",
                "state",
            ]) == "Not Activated\n"
        });
    }
    let accel = d.ok(&["lssyscfg", "-r", "sys", "-F", "accel"]);
    println!("accelerator: {}", accel.trim());
    println!("from chhwres returning to the guest seeing it (median of {RUNS}, 10 ms resolution;");
    println!(
        "a removal returns once the guest has given the resource back, so it is seen already):"
    );
    for (what, v) in [
        ("processor added, online", cpu_add),
        ("processor removed, offline", cpu_rm),
        ("128 MB added, MemTotal grown", mem_add),
        ("128 MB removed, MemTotal shrunk", mem_rm),
    ] {
        let (min, max) = (*v.iter().min().unwrap(), *v.iter().max().unwrap());
        println!(
            "  {what:<32} {:>7.1} ms (min {:.1}, max {:.1})",
            ms(median(v)),
            ms(min),
            ms(max)
        );
    }
    let mut shut: Vec<i64> = delays.iter().map(|(_, ms)| *ms).collect();
    shut.sort();
    let states: Vec<&str> = delays.iter().map(|(s, _)| s.as_str()).collect();
    println!(
        "events stream, QEMU's SHUTDOWN event to delivery (median of {RUNS}): {} ms (min {}, max {}; states delivered: {states:?})",
        shut[shut.len() / 2],
        shut[0],
        shut[shut.len() - 1]
    );
}
