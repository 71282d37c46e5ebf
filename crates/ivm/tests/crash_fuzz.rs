//! The crash and fuzz suite (`scripts/crash-fuzz.sh` runs it; `cargo test` alone does not, it
//! takes minutes): SIGKILL under load, API fuzzing from the OpenAPI document, command-line
//! fuzzing, and daemon limits. Each part prints its counts.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

use common::{activate, cgroup_file, cgroup_mounts, define_guest, eventually, Daemon};

/// The rules see a large machine, so that 200 clients can create partitions; the two running
/// partitions are what really runs on this host.
const LOAD_SYSTEM: &str = "installed_procs = 256\ninstalled_mem = 262144\nmem_region_size = 128\nmax_lpars = 1000\nshutdown_delay_secs = 3\n";

fn seed() -> u64 {
    let s = std::env::var("IVM_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    println!("seed {s} (IVM_FUZZ_SEED={s} repeats this run)");
    s
}

#[derive(Default)]
struct Counts {
    by_status: Mutex<BTreeMap<u16, u64>>,
    samples: Mutex<BTreeSet<String>>,
    sent: AtomicU64,
    ok: AtomicU64,
    refused: AtomicU64,
    server_errors: AtomicU64,
    unanswered: AtomicU64,
}

impl Counts {
    fn record(&self, status: Option<StatusCode>) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = status {
            *self
                .by_status
                .lock()
                .unwrap()
                .entry(s.as_u16())
                .or_default() += 1;
        }
        let c = match status {
            Some(s) if s.is_success() => &self.ok,
            Some(s) if s.is_server_error() => &self.server_errors,
            Some(_) => &self.refused,
            None => &self.unanswered,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the clients know for sure: partitions whose creation was answered 201 and whose
/// deletion was not answered 204, and those whose deletion was.
#[derive(Default)]
struct Ledger {
    created: BTreeMap<String, u64>,
    deleted: BTreeSet<String>,
}

/// The status of an answer, keeping a few refusal messages for the report.
async fn sample(
    r: reqwest::Result<reqwest::Response>,
    counts: &Counts,
    what: &str,
) -> Option<StatusCode> {
    let r = r.ok()?;
    let s = r.status();
    if !s.is_success() {
        let text = r.text().await.unwrap_or_default();
        let mut m = counts.samples.lock().unwrap();
        if m.len() < 12 {
            m.insert(format!(
                "{what} {s}: {}",
                text.chars().take(160).collect::<String>()
            ));
        }
    }
    Some(s)
}

/// What every load client shares.
struct Load {
    base: String,
    token: String,
    http: reqwest::Client,
    running: Vec<u64>,
    gate: tokio::sync::RwLock<()>,
    stop: std::sync::atomic::AtomicBool,
    counts: Counts,
    ledger: Mutex<Ledger>,
    seed: u64,
}

/// One client: creates, changes and deletes its own partitions, and changes the running ones.
async fn client(n: usize, load: Arc<Load>) {
    let Load {
        base,
        token,
        http,
        running,
        gate,
        stop,
        counts,
        ledger,
        seed,
    } = &*load;
    let (seed, running) = (*seed, running.clone());
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed + n as u64);
    let mut mine: Vec<(String, u64)> = Vec::new();
    let mut serial = 0;
    while !stop.load(Ordering::Relaxed) {
        let _pass = gate.read().await;
        let roll: u32 = rng.gen_range(0..100);
        let timeout = Duration::from_secs(60);
        // Each client keeps at most three partitions, so capacity runs short only by accident.
        let status: Option<StatusCode> = if mine.is_empty() || (roll < 35 && mine.len() < 3) {
            serial += 1;
            let name = format!("c{n}x{serial}");
            let r = http
                .post(format!("{base}/partitions"))
                .bearer_auth(token)
                .timeout(timeout)
                .json(
                    &json!({"name": name, "desired_procs": 1, "min_proc_units": 0.1,
                              "desired_proc_units": 0.1, "max_proc_units": 1.0,
                              "desired_mem": 256, "max_mem": 512}),
                )
                .send()
                .await;
            match r {
                Ok(r) => {
                    let s = r.status();
                    let v = r.json::<Value>().await.ok();
                    if s == StatusCode::CREATED {
                        if let Some(id) = v.as_ref().and_then(|v| v["lpar_id"].as_u64()) {
                            mine.push((name.clone(), id));
                            ledger.lock().unwrap().created.insert(name, id);
                        }
                    }
                    Some(s)
                }
                Err(_) => None,
            }
        } else if roll < 60 {
            let (_, id) = mine.choose(&mut rng).unwrap().clone();
            let body = json!({"desired_mem": 256 * rng.gen_range(1..=2),
                              "desired_proc_units": rng.gen_range(1..=3) as f64 / 10.0});
            let r = http
                .patch(format!("{base}/partitions/{id}"))
                .bearer_auth(token)
                .timeout(timeout)
                .json(&body)
                .send()
                .await;
            sample(r, counts, "change").await
        } else if roll < 80 {
            let i = rng.gen_range(0..mine.len());
            let (name, id) = mine[i].clone();
            let r = http
                .delete(format!("{base}/partitions/{id}"))
                .bearer_auth(token)
                .timeout(timeout)
                .send()
                .await;
            let connect_failed = r.as_ref().is_err_and(|e| e.is_connect());
            let s = r.ok().map(|r| r.status());
            match s {
                Some(s) if s.is_success() => {
                    mine.remove(i);
                    let mut l = ledger.lock().unwrap();
                    l.created.remove(&name);
                    l.deleted.insert(name);
                }
                Some(_) => {}
                // Sent but not answered: the daemon may have deleted it before it died. Its
                // fate is unknown, so it is neither checked present nor absent.
                None if !connect_failed => {
                    mine.remove(i);
                    ledger.lock().unwrap().created.remove(&name);
                }
                // The daemon was down: nothing was sent.
                None => {}
            }
            s
        } else {
            // DLPAR on a running partition: units, or memory within its range (forced: the
            // test guest runs no agent and onlines hot-added memory itself).
            let id = *running.choose(&mut rng).unwrap();
            let body = if rng.gen_bool(0.5) {
                json!({"op": "s", "proc_units": rng.gen_range(1..=9) as f64 / 10.0})
            } else {
                let mem = [256, 384, 512][rng.gen_range(0..3)];
                json!({"op": "s", "mem": mem, "force": true})
            };
            let r = http
                .post(format!("{base}/partitions/{id}/dlpar"))
                .bearer_auth(token)
                .timeout(timeout)
                .json(&body)
                .send()
                .await;
            sample(r, counts, "dlpar").await
        };
        counts.record(status);
        if status.is_none() {
            // The daemon is down: try again once it is back (the gate holds during restarts).
            drop(_pass);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// After a restart: the database is sound, its totals are the recount, every partition it
/// calls Running has its QEMU and cgroup values, nothing runs that it does not know, and every
/// answered success is in it.
fn check_after_restart(d: &Daemon, ledger: &Ledger, token: &str, round: usize) -> (usize, usize) {
    let db = rusqlite::Connection::open(d.data_dir().join("ivm.db")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "round {round}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let get = |path: &str| -> Value {
        rt.block_on(async {
            d.https()
                .get(d.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    };
    let res = get("/system/resources");
    let (rows, mem, units) = common::recount(d.data_dir());
    assert_eq!(rows, res["partitions"].as_i64().unwrap(), "round {round}");
    assert_eq!(mem, res["committed_mem"].as_i64().unwrap(), "round {round}");
    assert_eq!(
        units,
        (res["committed_proc_units"].as_f64().unwrap() * 100.0).round() as i64,
        "round {round}"
    );
    let pending: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM runs WHERE pending IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, 0, "round {round}: a live change left half done");

    // Running partitions: QEMU alive, with the committed values in QEMU and in the cgroup.
    let accel = get("/system")["accel"].as_str().unwrap().to_string();
    let overhead = if accel == "kvm" { 128 } else { 256 };
    let parts = get("/partitions");
    let mut running = BTreeSet::new();
    let mut states = BTreeMap::new();
    for p in parts.as_array().unwrap() {
        let id = p["lpar_id"].as_u64().unwrap() as u32;
        states.insert(id, p["state"].to_string());
        if id == 1 || p["state"] != "Running" {
            continue;
        }
        running.insert(id);
        let run = &p["run"];
        assert!(run["pid"].as_u64().unwrap() > 0, "round {round}: lpar {id}");
        assert_eq!(run["procs"], p["desired_procs"], "round {round}: lpar {id}");
        assert_eq!(run["mem"], p["desired_mem"], "round {round}: lpar {id}");
        let limit: u64 = cgroup_file(d, id, "memory.limit_in_bytes")
            .or_else(|| cgroup_file(d, id, "memory.max"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            limit,
            (p["desired_mem"].as_u64().unwrap() + overhead) << 20,
            "round {round}: lpar {id} memory limit"
        );
        let units = (p["desired_proc_units"].as_f64().unwrap() * 100.0).round() as u64;
        if p["sharing_mode"] == "cap" {
            let quota = cgroup_file(d, id, "cpu.cfs_quota_us")
                .or_else(|| cgroup_file(d, id, "cpu.max"))
                .unwrap();
            assert!(
                quota.starts_with(&(units * 1000).to_string()),
                "round {round}: lpar {id} quota {quota} for {units} hundredths"
            );
        }
    }
    // No QEMU and no cgroup that the store does not call active.
    let marker = d.data_dir().to_str().unwrap().to_string();
    let mut qemus = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        if cmd.contains("qemu-system") && cmd.contains(&marker) {
            qemus += 1;
            let id: u32 = cmd
                .split("/lpars/")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .and_then(|i| i.parse().ok())
                .unwrap();
            assert!(
                running.contains(&id),
                "round {round}: QEMU {pid} of lpar {id} unknown to the store (state {:?})",
                states.get(&id)
            );
        }
    }
    let name = std::fs::read_to_string(d.data_dir().join("cgroup.name")).unwrap();
    for mount in cgroup_mounts() {
        if let Ok(children) = std::fs::read_dir(mount.join(name.trim())) {
            for c in children.flatten().filter(|c| c.path().is_dir()) {
                let n = c.file_name().to_string_lossy().to_string();
                let id: u32 = n.trim_start_matches("lpar").parse().unwrap();
                assert!(
                    running.contains(&id),
                    "round {round}: cgroup {n} in {} unknown to the store",
                    mount.display()
                );
            }
        }
    }
    // Every answered success is in the store.
    let names: BTreeSet<String> = parts
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    for n in ledger.created.keys() {
        assert!(names.contains(n), "round {round}: created {n} is missing");
    }
    for n in &ledger.deleted {
        assert!(!names.contains(n), "round {round}: deleted {n} is back");
    }
    (running.len(), qemus)
}

#[test]
fn kill_9_under_load() {
    let seed = seed();
    let port = common::free_port();
    let mut d = Daemon::start_at(LOAD_SYSTEM, &format!("127.0.0.1:{port}"));
    d.set_password("padmin", "padmin-pass-1");
    for name in ["run1", "run2"] {
        define_guest(
            &d,
            name,
            "desired_procs=1,max_procs=2,min_proc_units=0.1,desired_proc_units=0.2,max_proc_units=2.0,sharing_mode=cap,min_mem=256,desired_mem=256,max_mem=512",
        );
        activate(&d, name);
    }
    for id in [2, 3] {
        // The console log keeps what the guest printed before anyone attached.
        let log = d.data_dir().join(format!("lpars/{id}/console.log"));
        eventually("both guests to boot", Duration::from_secs(180), || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("IVM-TEST-GUEST READY")
        });
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let token = rt.block_on(d.token("padmin", "padmin-pass-1"));
    let load = Arc::new(Load {
        base: d.url(""),
        token: token.clone(),
        http: d.https(),
        running: vec![2, 3],
        gate: tokio::sync::RwLock::new(()),
        stop: std::sync::atomic::AtomicBool::new(false),
        counts: Counts::default(),
        ledger: Mutex::new(Ledger::default()),
        seed,
    });
    let (gate, stop, counts, ledger) = (&load.gate, &load.stop, &load.counts, &load.ledger);
    let clients: Vec<_> = (0..200)
        .map(|n| rt.spawn(client(n, load.clone())))
        .collect();

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut kills = 0;
    let mut checked = Vec::new();
    while kills < 10 {
        // A random moment in the next 2 to 8 seconds: the kill lands wherever requests are.
        std::thread::sleep(Duration::from_millis(rng.gen_range(2000..8000)));
        d.restart_after_kill_at_same_address();
        kills += 1;
        // Hold the clients while checking, so the store is still.
        let hold = rt.block_on(gate.write());
        let token = rt.block_on(d.token("padmin", "padmin-pass-1"));
        let l = ledger.lock().unwrap();
        checked.push(check_after_restart(&d, &l, &token, kills));
        drop(l);
        drop(hold);
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        rt.block_on(c).unwrap();
    }
    let elapsed = started.elapsed();
    let l = ledger.lock().unwrap();
    println!(
        "kill -9 under load: 200 clients for {:.0} s, {kills} SIGKILLs and restarts; requests sent {}, succeeded {}, refused {}, 5xx {}, unanswered (daemon down) {}; answers by status {:?}; partitions created and kept {}, deleted {}; after each restart (running partitions, QEMUs): {checked:?}",
        elapsed.as_secs_f64(),
        counts.sent.load(Ordering::Relaxed),
        counts.ok.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.server_errors.load(Ordering::Relaxed),
        counts.unanswered.load(Ordering::Relaxed),
        counts.by_status.lock().unwrap(),
        l.created.len(),
        l.deleted.len(),
    );
    println!("refusals seen: {:#?}", counts.samples.lock().unwrap());
    assert!(counts.ok.load(Ordering::Relaxed) > 0);
    assert!(checked
        .iter()
        .all(|(running, qemus)| *running == 2 && *qemus == 2));
}

// ---- API fuzzing from the OpenAPI document ----

/// Random values of every shape a client can send, some well-formed, most not.
fn noise(rng: &mut impl Rng) -> Value {
    match rng.gen_range(0..14) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen_range(-5i64..300)),
        3 => json!(i64::MAX),
        4 => json!(-1),
        5 => json!(rng.gen_range(0.0..10.0)),
        6 => json!(""),
        7 => json!("a".repeat(65536)),
        8 => json!("名前\u{0}\u{202e}'\";--"),
        9 => json!([1, "x", null]),
        10 => json!({"nested": {"deep": [1, 2, 3]}}),
        11 => json!(format!("p{}", rng.gen_range(0..50))),
        12 => json!(
            ["shared", "ded", "cap", "uncap", "a", "r", "s", "immed", "os"][rng.gen_range(0..9)]
        ),
        _ => json!(1.0e308),
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(&r.trim_start_matches('#').replace("~1", "/"))
            .unwrap_or(schema),
        None => schema,
    }
}

/// A body for `schema`: mostly its own properties with values that may or may not fit them.
fn body_for(doc: &Value, schema: &Value, rng: &mut impl Rng) -> Value {
    let schema = resolve(doc, schema);
    let mut obj = serde_json::Map::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            if rng.gen_bool(0.6) {
                let p = resolve(doc, p);
                let v = match (p.get("type").and_then(Value::as_str), rng.gen_bool(0.7)) {
                    (Some("integer"), true) => json!(rng.gen_range(0..2000)),
                    (Some("number"), true) => json!(rng.gen_range(0..40) as f64 / 10.0),
                    (Some("boolean"), true) => json!(rng.gen::<bool>()),
                    (Some("string"), true) => match p.get("enum").and_then(Value::as_array) {
                        Some(e) if !e.is_empty() => e[rng.gen_range(0..e.len())].clone(),
                        _ => json!(format!("f{}", rng.gen_range(0..1000))),
                    },
                    _ => noise(rng),
                };
                obj.insert(k.clone(), v);
            }
        }
    }
    if rng.gen_bool(0.1) {
        obj.insert("unknown_attribute".into(), noise(rng));
    }
    match rng.gen_range(0..20) {
        0 => noise(rng),
        _ => Value::Object(obj),
    }
}

fn path_value(rng: &mut impl Rng) -> String {
    let choices = [
        "1".to_string(),
        "2".into(),
        "3".into(),
        rng.gen_range(0..300).to_string(),
        "4294967296".into(),
        "-1".into(),
        "abc".into(),
        "%00".into(),
        "%E5%90%8D".into(),
        "a".repeat(300),
        "viewer".into(),
        "nobody".into(),
    ];
    choices[rng.gen_range(0..choices.len())].clone()
}

/// The role a user has now, as the administrator sees it ("" once the user is gone).
async fn current_role(d: &Daemon, http: &reqwest::Client, token: &str, user: &str) -> String {
    let v: Value = http
        .get(d.url("/users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null);
    v.as_array()
        .into_iter()
        .flatten()
        .find(|u| u["name"] == user)
        .and_then(|u| u["role"].as_str())
        .unwrap_or("")
        .to_string()
}

/// What a refused call must not change: partitions (as configured), users, totals.
async fn snapshot(d: &Daemon, http: &reqwest::Client, token: &str) -> String {
    let mut out = String::new();
    for path in ["/partitions", "/users", "/system/resources"] {
        let mut v: Value = http
            .get(d.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(a) = v.as_array_mut() {
            for p in a {
                if let Some(o) = p.as_object_mut() {
                    // What a running guest does on its own (CPU use) is not configuration.
                    o.remove("run");
                }
            }
        }
        out.push_str(&v.to_string());
    }
    out
}

/// Rounds over every endpoint and role.
const ROUNDS: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_fuzzing_from_the_openapi_document() {
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Little memory, so that whatever the fuzzer manages to activate stays small.
    let d = Daemon::start("installed_mem = 3072\nshutdown_delay_secs = 1\n");
    d.set_password("padmin", "padmin-pass-1");
    let http = d.https();
    let admin = d.token("padmin", "padmin-pass-1").await;
    for (user, role) in [("viewer", "View Only"), ("sr", "Service Representative")] {
        let r = http
            .post(d.url("/users"))
            .bearer_auth(&admin)
            .json(&json!({"name": user, "role": role, "password": "fuzz-pass-1"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{r:?}");
    }
    let viewer = d.token("viewer", "fuzz-pass-1").await;
    let sr = d.token("sr", "fuzz-pass-1").await;
    // Snapshots go through their own connections: the daemon closes a fuzzing connection
    // when it refuses a body it does not read.
    let look = d.https();
    let doc: Value = http
        .get(d.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut endpoints = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // Streams and the raw terminal upgrade are not request/response; logout would end
            // the fuzzer's own sessions. The WebSocket addresses (console, display) stay: a
            // plain request to them must get the JSON error body too.
            if path.ends_with("/events") || path.ends_with("/terminal") || path.ends_with("/logout")
            {
                continue;
            }
            endpoints.push((path.clone(), method.clone(), op.clone()));
        }
    }
    let roles: [(&str, Option<&str>); 4] = [
        ("View/Modify", Some(&admin)),
        ("View Only", Some(&viewer)),
        ("Service Representative", Some(&sr)),
        ("anonymous", None),
    ];
    let (mut sent, mut refused, mut succeeded, mut closed_early) = (0u64, 0u64, 0u64, 0u64);
    let mut server_errors = Vec::new();
    for round in 0..ROUNDS {
        for (path, method, op) in &endpoints {
            for (role, token) in &roles {
                let mut url = path.trim_start_matches("/api/v1").to_string();
                while let Some(start) = url.find('{') {
                    let end = url[start..].find('}').unwrap() + start;
                    url.replace_range(start..=end, &path_value(&mut rng));
                }
                let body = op
                    .pointer("/requestBody/content/application~1json/schema")
                    .map(|s| body_for(&doc, s, &mut rng));
                let before = snapshot(&d, &look, &admin).await;
                let mut req = http.request(method.to_uppercase().parse().unwrap(), d.url(&url));
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                if let Some(b) = &body {
                    req = req.json(b);
                }
                if rng.gen_bool(0.05) {
                    req = req.header("content-type", "text/plain").body("{not json");
                }
                let r = match req.timeout(Duration::from_secs(60)).send().await {
                    Ok(r) => r,
                    // The daemon answered (a refusal) and closed before a large body was sent.
                    Err(e) if e.is_request() || e.is_body() => {
                        sent += 1;
                        closed_early += 1;
                        let after = snapshot(&d, &look, &admin).await;
                        assert_eq!(
                            before, after,
                            "{role} {method} {url}: cut short and changed"
                        );
                        continue;
                    }
                    Err(e) => panic!("{role} {method} {url}: {e}"),
                };
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                sent += 1;
                if status.is_server_error() {
                    server_errors
                        .push(format!("{role} {method} {url} {body:?} -> {status} {text}"));
                }
                if status.is_client_error() {
                    refused += 1;
                    let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    assert!(
                        parsed["error"].is_string() && parsed["message"].is_string(),
                        "round {round}: {role} {method} {url}: {status} without the JSON error body: {text}"
                    );
                    let after = snapshot(&d, &look, &admin).await;
                    assert_eq!(
                        before, after,
                        "round {round}: refused {role} {method} {url} {body:?} changed something"
                    );
                } else if status.is_success() {
                    succeeded += 1;
                    // The fuzzer's own administrator may have given the user another role
                    // (PATCH /users/viewer); what counts is the role the user has now.
                    let now = match *role {
                        "View Only" => current_role(&d, &look, &admin, "viewer").await,
                        "Service Representative" => current_role(&d, &look, &admin, "sr").await,
                        other => other.to_string(),
                    };
                    // Virtual terminals (rmvt closes one) are the Service Representative's too.
                    let console = now == "Service Representative" && url.ends_with("/console");
                    assert!(
                        now == "View/Modify"
                            || console
                            || method == "get"
                            || url == "/login"
                            || url == "/tokens"
                            || url.ends_with("/password"),
                        "{role} (now {now}) may not {method} {url}: {status}"
                    );
                }
            }
        }
    }
    // The daemon is still there.
    let r = http
        .get(d.url("/system"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    println!(
        "API fuzzing: {} endpoints x 4 roles x {ROUNDS} rounds: {sent} requests, {succeeded} succeeded, {refused} refused and {closed_early} cut short by the daemon (each checked to change nothing), {} 5xx",
        endpoints.len(),
        server_errors.len()
    );
    assert!(
        server_errors.is_empty(),
        "5xx answers:\n{}",
        server_errors.join("\n")
    );
}

// ---- Command-line fuzzing ----

fn fuzz_string(rng: &mut impl Rng) -> String {
    let atoms = [
        "name=x",
        "lpar_names=",
        "lpar_ids=2",
        "\"",
        "\"\"",
        ",",
        ",,",
        "=",
        "\\",
        "'",
        "desired_mem=",
        "desired_procs=1",
        "min_mem=-1",
        "max_procs=99999999999",
        "state",
        "name",
        "lpar_id",
        "curr_procs",
        "名前",
        "\u{202e}",
        "\t",
        " ",
        "\"a,b\"",
        "lpar_names=\"a,b\",lpar_ids=1",
        "desired_proc_units=0.05",
        "sharing_mode=uncap",
        "io_slots=none",
        "boot_kernel=/etc/shadow",
        "%s%n",
        "$(id)",
        "`id`",
        ";",
        "|",
        "\n",
    ];
    let mut s = String::new();
    for _ in 0..rng.gen_range(0..8) {
        s.push_str(atoms[rng.gen_range(0..atoms.len())]);
    }
    if rng.gen_bool(0.05) {
        s.push_str(&"v".repeat(65536));
    }
    s
}

fn db_snapshot(d: &Daemon) -> String {
    let db = rusqlite::Connection::open(d.data_dir().join("ivm.db")).unwrap();
    let mut out = String::new();
    for q in [
        "SELECT * FROM partitions ORDER BY lpar_id",
        "SELECT name, role, password_hash FROM users ORDER BY name",
    ] {
        let mut st = db.prepare(q).unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        for row in rows {
            out.push_str(&row.unwrap());
            out.push('\n');
        }
    }
    out
}

#[test]
fn command_line_fuzzing() {
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let d = Daemon::start("installed_mem = 3072\n");
    d.ok(&[
        "mksyscfg",
        "-r",
        "lpar",
        "-i",
        "name=keep,desired_procs=1,desired_mem=256",
    ]);
    let shapes: &[&[&str]] = &[
        &["lssyscfg", "-r", "lpar", "--filter"],
        &["lssyscfg", "-r", "lpar", "-F"],
        &["lssyscfg", "-r", "prof", "--filter"],
        &["lssyscfg", "-r", "prof", "-F"],
        &["lssyscfg", "-r", "sys", "-F"],
        &["lshwres", "-r", "proc", "--level", "lpar", "--filter"],
        &["lshwres", "-r", "mem", "--level", "lpar", "-F"],
        &["mksyscfg", "-r", "lpar", "-i"],
        &["chsyscfg", "-r", "prof", "-i"],
        &["chsyscfg", "-r", "lpar", "-i"],
        &["chhwres", "-r", "mem", "-o", "a", "--id", "2", "-q"],
        &["chhwres", "-r", "proc", "-o", "s", "-p"],
        &["chsysstate", "-r", "lpar", "-o", "shutdown", "-n"],
        &["rmsyscfg", "-r", "lpar", "-n"],
        &["lsrefcode", "-r", "lpar", "--filter"],
    ];
    let (mut runs, mut failed, mut succeeded) = (0, 0, 0);
    for _ in 0..60 {
        for shape in shapes {
            let value = fuzz_string(&mut rng);
            let mut args: Vec<&str> = shape.to_vec();
            args.push(&value);
            let before = db_snapshot(&d);
            let o = d.ivm(&args);
            runs += 1;
            assert!(
                !o.stderr.contains("panicked") && o.code != 101 && o.code >= 0,
                "{args:?} crashed: {o:?}"
            );
            if o.code == 0 {
                succeeded += 1;
            } else {
                failed += 1;
                assert!(
                    !o.stderr.trim().is_empty(),
                    "{args:?} failed without a message: {o:?}"
                );
                assert_eq!(
                    before,
                    db_snapshot(&d),
                    "{args:?} failed and changed something"
                );
            }
        }
    }
    println!(
        "command-line fuzzing: {runs} runs of {} command shapes, {succeeded} succeeded, {failed} refused with a message and changed nothing",
        shapes.len()
    );
}

// ---- Daemon limits ----

#[test]
fn idle_slow_and_huge_clients_do_not_stop_others() {
    use std::io::Write;
    let d = Daemon::start("");
    d.set_password("padmin", "padmin-pass-1");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = rt.block_on(d.token("padmin", "padmin-pass-1"));
    // 1,000 idle connections that never start TLS.
    let idle: Vec<std::net::TcpStream> = (0..1000)
        .map(|_| std::net::TcpStream::connect(&d.addr).unwrap())
        .collect();
    // A slow-loris on the Unix socket: headers one byte at a time.
    let sock = d.data_dir().join("ivm.sock");
    let loris = std::thread::spawn(move || {
        let mut s = std::os::unix::net::UnixStream::connect(sock).unwrap();
        let mut sent = 0;
        let start = Instant::now();
        for b in b"GET /api/v1/system HTTP/1.1\r\nHost: x\r\nX-Slow: "
            .iter()
            .cycle()
        {
            if s.write_all(&[*b]).is_err() || start.elapsed() > Duration::from_secs(30) {
                break;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(200));
        }
        (sent, start.elapsed())
    });
    // A 100 MB body.
    let huge = {
        let (http, url, token) = (d.https(), d.url("/partitions"), token.clone());
        rt.spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(vec![b' '; 100 << 20])
                .send()
                .await;
            r.map(|r| r.status())
        })
    };
    // Meanwhile others are served: each within the 5 s deadline of its request (a deadline,
    // not a speed target; the slowest is printed).
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        let t = Instant::now();
        let r = rt.block_on(async {
            d.https()
                .get(d.url("/system"))
                .bearer_auth(&token)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .unwrap()
        });
        assert_eq!(r.status(), 200);
        worst = worst.max(t.elapsed());
        let o = d.ivm(&["lssyscfg", "-r", "sys", "-F", "name"]);
        assert_eq!(o.code, 0, "{o:?}");
    }
    let huge = rt.block_on(huge).unwrap();
    let (loris_bytes, loris_time) = loris.join().unwrap();
    println!(
        "daemon limits: 1000 idle connections, a slow-loris cut off after {loris_bytes} bytes in {:.1} s, a 100 MB body answered {huge:?}; slowest of 10 other requests {:.0} ms",
        loris_time.as_secs_f64(),
        worst.as_secs_f64() * 1000.0
    );
    assert!(
        loris_time < Duration::from_secs(20),
        "the slow client was not cut off"
    );
    match huge {
        Ok(s) => assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE),
        // The server may close the connection before the client finished sending.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    drop(idle);
}
