//! Utilization data from cgroup counters: a busy capped 0.50-unit partition uses about all its
//! entitlement, an idle one almost none, over a minute of samples; the sampling configuration
//! and the metrics endpoint.

mod common;

use std::time::Duration;

use common::{boot, lock, stop_now, Daemon};

const CONFIG: &str = "util_sample_secs = 2\nshutdown_delay_secs = 3\n";

/// (time_bin, entitled, used) of each sample of `name`, oldest first.
fn samples(d: &Daemon, name: &str) -> Vec<(i64, u64, u64)> {
    let out = d.ok(&[
        "lslparutil",
        "-r",
        "lpar",
        "--filter",
        &format!("lpar_names={name}"),
        "-F",
        "time_bin,entitled_cycles,capped_cycles,uncapped_cycles",
    ]);
    let mut v: Vec<(i64, u64, u64)> = out
        .lines()
        .map(|l| {
            let f: Vec<u64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            (f[0] as i64, f[1], f[2] + f[3])
        })
        .collect();
    v.reverse();
    v
}

/// Utilization over the samples from `after_ms` on: (used) / (entitled) of the differences.
fn utilization(s: &[(i64, u64, u64)], after_ms: i64) -> (f64, i64) {
    let w: Vec<&(i64, u64, u64)> = s.iter().filter(|x| x.0 >= after_ms).collect();
    let (a, b) = (w[0], w[w.len() - 1]);
    ((b.2 - a.2) as f64 / (b.1 - a.1) as f64, b.0 - a.0)
}

#[test]
fn a_busy_partition_uses_its_entitlement_and_an_idle_one_does_not() {
    let _l = lock();
    let d = Daemon::start(CONFIG);
    for name in ["busy", "idle"] {
        common::define_guest(
            &d,
            name,
            "desired_procs=1,desired_proc_units=0.5,max_proc_units=1.0,sharing_mode=cap,desired_mem=256",
        );
    }
    let mut busy = boot(&d, "busy", 2);
    let _idle = boot(&d, "idle", 3);
    busy.send("while :; do :; done &");
    busy.send("echo LOOP-\"\"STARTED");
    busy.wait_for("LOOP-STARTED", Duration::from_secs(30));
    let start = samples(&d, "busy").last().map_or(0, |s| s.0) + 1;
    // A minute of samples after the loop started, waited for by the samples themselves.
    common::eventually("a minute of samples", Duration::from_secs(150), || {
        let s = samples(&d, "busy");
        s.iter().filter(|x| x.0 >= start).count() >= 2 && utilization(&s, start).1 >= 60_000
    });
    let (b, span) = utilization(&samples(&d, "busy"), start);
    let (i, _) = utilization(&samples(&d, "idle"), start);
    println!("over {span} ms: busy {b:.3}, idle {i:.3} of a 0.50-unit entitlement");
    assert!(
        (0.75..=1.1).contains(&b),
        "busy partition used {b:.3} of its entitlement"
    );
    assert!(i < 0.35, "idle partition used {i:.3} of its entitlement");

    // The partition's activation is among the records, as state changes.
    let events = d.ok(&[
        "lslparutil",
        "-r",
        "lpar",
        "--filter",
        "lpar_names=busy",
        "-F",
        "event_type,state",
    ]);
    let changes: Vec<&str> = events
        .lines()
        .filter(|l| l.starts_with("state_change,"))
        .collect();
    assert_eq!(
        changes,
        ["state_change,Running", "state_change,Starting"],
        "{events}"
    );
    assert!(events.contains("sample,Running\n"), "{events}");

    // Every sample has IVM's attributes; -n keeps the newest.
    let last = d.ok(&[
        "lslparutil",
        "-r",
        "lpar",
        "-n",
        "1",
        "--filter",
        "lpar_ids=2",
    ]);
    assert_eq!(last.lines().count(), 1, "{last}");
    for attr in [
        "time=",
        ",time_bin=",
        ",lpar_id=2,",
        ",lpar_name=busy,",
        ",curr_proc_units=0.5,",
        ",curr_procs=1,",
        ",curr_sharing_mode=cap,",
        ",curr_mem=256,",
        ",entitled_cycles=",
        ",capped_cycles=",
        ",uncapped_cycles=",
        ",idle_cycles=",
    ] {
        assert!(last.contains(attr), "{attr}: {last}");
    }
    // The pool is the shared partitions' sum at one sample time, the management partition
    // (the host, sampled from /proc/stat less the partitions' counters) included.
    let pool = d.ok(&[
        "lslparutil",
        "-r",
        "pool",
        "-n",
        "1",
        "-F",
        "resource_type,time_bin,curr_proc_units",
    ]);
    let pool: Vec<&str> = pool.trim().split(',').collect();
    let at = d.ok(&[
        "lslparutil",
        "-r",
        "lpar",
        "-F",
        "time_bin,lpar_id,curr_proc_mode,curr_proc_units,capped_cycles",
    ]);
    let at: Vec<Vec<&str>> = at
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[0] == pool[1])
        .collect();
    assert_eq!(
        at.iter().map(|f| f[1]).collect::<Vec<_>>(),
        ["1", "2", "3"],
        "every partition sampled at {}",
        pool[1]
    );
    let shared: f64 = at
        .iter()
        .filter(|f| f[2] == "shared")
        .map(|f| f[3].parse::<f64>().unwrap())
        .sum();
    assert_eq!(pool[0], "pool");
    assert!(
        (pool[2].parse::<f64>().unwrap() - shared).abs() < 1e-9,
        "{pool:?} {at:?}"
    );
    assert!(
        at[0][4].parse::<u64>().unwrap() > 0,
        "the host used no CPU: {at:?}"
    );

    // The chart's points come from the server: about 0.50 units used of 0.50 entitled.
    let points: serde_json::Value = tokio::runtime::Runtime::new().unwrap().block_on(async {
        d.set_password("padmin", "padmin-pass-1");
        let token = d.token("padmin", "padmin-pass-1").await;
        let url = d.url(&format!("/utilization/series?lpar_id=2&from_ms={start}"));
        let r = d.https().get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    });
    let points = points.as_array().unwrap();
    assert!(points.len() >= 2, "{points:?}");
    let last = &points[points.len() - 1];
    assert!(
        (last["entitled_units"].as_f64().unwrap() - 0.5).abs() < 0.01,
        "{last}"
    );
    assert!(last["used_units"].as_f64().unwrap() > 0.3, "{last}");
    assert_eq!(last["curr_mem"], 256);
    drop(busy);
    stop_now(&d, "busy");
    stop_now(&d, "idle");
}

#[test]
fn sampling_is_configured_and_metrics_need_a_login() {
    let d = Daemon::start(CONFIG);
    assert_eq!(
        d.ok(&[
            "lslparutil",
            "-r",
            "config",
            "-F",
            "sample_rate,max_age_secs"
        ]),
        "2,604800\n"
    );
    let e = d.fails(&["chlparutil", "-r", "config", "-s", "31"]);
    assert!(e.contains("30, 60, 300"), "{e}");
    assert_eq!(d.ok(&["chlparutil", "-r", "config", "-s", "60"]), "");
    assert_eq!(
        d.ok(&["lslparutil", "-r", "config", "-F", "sample_rate"]),
        "60\n"
    );
    for (args, why) in [
        (
            vec![
                "lslparutil",
                "-r",
                "lpar",
                "--startyear",
                "2026",
                "--startmonth",
                "2",
                "--startday",
                "30",
            ],
            "not a valid date",
        ),
        (
            vec![
                "lslparutil",
                "-r",
                "lpar",
                "--startyear",
                "2026",
                "--endyear",
                "2025",
            ],
            "after its end",
        ),
        (
            vec!["lslparutil", "-r", "lpar", "-F", "bogus"],
            "invalid attribute",
        ),
        (vec!["lslparutil", "-r", "proc"], "Valid types are"),
    ] {
        let o = d.ivm(&args);
        // An empty listing checks attributes only when there is a record; ask for one.
        if o.code == 0 {
            assert!(why == "invalid attribute", "{args:?}: {o:?}");
            continue;
        }
        assert!(o.stderr.contains(why), "{args:?}: {o:?}");
    }
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=m1,desired_procs=1,desired_mem=256",
    ]);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let http = d.https();
        let url = d.url("/metrics").replace("/api/v1/metrics", "/metrics");
        let anonymous = http.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        d.set_password("padmin", "padmin-pass-1");
        let token = d.token("padmin", "padmin-pass-1").await;
        let r = http.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        for line in [
            "ivm_partition_running{lpar_id=\"2\",lpar_name=\"m1\"} 0",
            "ivm_partition_entitled_units{lpar_id=\"2\",lpar_name=\"m1\"} 0.10",
            "ivm_partition_memory_assigned_bytes{lpar_id=\"2\",lpar_name=\"m1\"} 268435456",
            "# TYPE ivm_partition_cpu_seconds_total counter",
            "ivm_partitions 1",
            "ivm_http_requests_total{method=\"POST\",route=\"/api/v1/login\",status=\"2xx\"} 1",
            "# TYPE ivm_http_request_seconds summary",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
    });
}

/// Found while measuring: the sampler slept the old period before it read a new one, so a
/// rate changed from the default 300 s showed only after five minutes, and a new daemon's
/// first sample came one whole period after start.
#[test]
fn the_first_sample_is_taken_at_start_and_a_new_rate_applies_at_once() {
    // The default rate (300 s): no util_sample_secs.
    let d = Daemon::start("shutdown_delay_secs = 3\n");
    let times = || -> Vec<i64> {
        d.ok(&[
            "lslparutil",
            "-r",
            "lpar",
            "--filter",
            "lpar_ids=1",
            "-F",
            "time_bin",
        ])
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
    };
    common::eventually("a sample at start", Duration::from_secs(20), || {
        !times().is_empty()
    });
    assert_eq!(times().len(), 1, "one sample at start");
    assert_eq!(d.ok(&["chlparutil", "-r", "config", "-s", "30"]), "");
    let changed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // The old sampler would wait out the 300 s it was sleeping; the new rate's first sample
    // comes one new period after the change.
    common::eventually("a sample at the new rate", Duration::from_secs(75), || {
        times().len() >= 2
    });
    let newest = times()[0];
    println!(
        "second sample {} ms after the change to 30 s",
        newest - changed
    );
    assert!(
        newest >= changed + 29_000,
        "the new period starts at the change: {newest} vs {changed}"
    );
}
