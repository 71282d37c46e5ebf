//! The REST API over real HTTPS: authentication, roles, the task log, concurrency.

mod common;

use std::time::Instant;

use common::Daemon;
use reqwest::StatusCode;
use serde_json::{json, Value};

const SYSTEM: &str = r#"
name = "apitest"
installed_procs = 2
installed_mem = 8192
max_lpars = 200
"#;

async fn partitions(d: &Daemon, token: &str) -> Vec<Value> {
    let r = d
        .https()
        .get(d.url("/partitions"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn partition(name: &str, mem: u64) -> Value {
    json!({"name": name, "desired_procs": 1, "desired_mem": mem})
}

#[tokio::test]
async fn unauthenticated_calls_get_401_and_change_nothing() {
    let d = Daemon::start(SYSTEM);
    d.set_password("padmin", "padmin-pass-1");
    let c = d.https();
    for (method, path, body) in [
        ("GET", "/partitions", None),
        ("GET", "/system", None),
        ("GET", "/tasks", None),
        ("POST", "/partitions", Some(partition("x", 512))),
        ("PATCH", "/partitions/1", Some(json!({"desired_mem": 2048}))),
        ("DELETE", "/partitions/1", None),
        (
            "POST",
            "/users",
            Some(json!({"name": "eve", "role": "View/Modify", "password": "12345678"})),
        ),
    ] {
        let mut req = c.request(method.parse().unwrap(), d.url(path));
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"], "unauthorized");
        // A forged token is no better than none.
        let mut req = c
            .request(method.parse().unwrap(), d.url(path))
            .bearer_auth("00ff");
        if let Some(b) = &body {
            req = req.json(b);
        }
        assert_eq!(
            req.send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} forged"
        );
    }
    let r = c
        .post(d.url("/login"))
        .json(&json!({"user": "padmin", "password": "wrong-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .post(d.url("/login"))
        .json(&json!({"user": "nobody", "password": "wrong-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let token = d.token("padmin", "padmin-pass-1").await;
    let parts = partitions(&d, &token).await;
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["desired_mem"], 1024);
    let tasks: Value = c
        .get(d.url("/tasks"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Only `ivm passwd` is in the log; nothing unauthenticated reached the service.
    let ops: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, vec!["change password"], "{tasks}");
}

#[tokio::test]
async fn view_only_users_get_403_and_change_nothing() {
    let d = Daemon::start(SYSTEM);
    d.set_password("padmin", "padmin-pass-1");
    let c = d.https();
    let admin = d.token("padmin", "padmin-pass-1").await;
    let r = c
        .post(d.url("/partitions"))
        .bearer_auth(&admin)
        .json(&partition("lp1", 512))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c
        .post(d.url("/users"))
        .bearer_auth(&admin)
        .json(&json!({"name": "viewer", "role": "View Only", "password": "viewer-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let viewer = d.token("viewer", "viewer-pass").await;
    let before = partitions(&d, &admin).await;
    for (method, path, body) in [
        ("POST", "/partitions", Some(partition("x", 512))),
        (
            "PATCH",
            "/partitions/2",
            Some(json!({"desired_mem": 1024, "max_mem": 1024})),
        ),
        ("DELETE", "/partitions/2", None),
        (
            "POST",
            "/users",
            Some(json!({"name": "eve", "role": "View/Modify", "password": "12345678"})),
        ),
        (
            "PATCH",
            "/users/viewer",
            Some(json!({"role": "View/Modify"})),
        ),
        (
            "PUT",
            "/users/padmin/password",
            Some(json!({"password": "taken-over"})),
        ),
        ("GET", "/users", None),
    ] {
        let mut req = c
            .request(method.parse().unwrap(), d.url(path))
            .bearer_auth(&viewer);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(
            e["message"],
            "HSCL350B The user does not have the appropriate authority."
        );
    }
    assert_eq!(partitions(&d, &viewer).await, before);
    // padmin's password still works; viewer's role is unchanged.
    d.token("padmin", "padmin-pass-1").await;
    let who: Value = c
        .get(d.url("/session"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who, json!({"name": "viewer", "role": "View Only"}));
    // The refused attempts are in the task log, newest first, attributed to viewer.
    let tasks: Vec<Value> = c
        .get(d.url("/tasks?limit=3"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tasks.len(), 3);
    assert_eq!(tasks[0]["operation"], "PUT /api/v1/users/{name}/password");
    assert_eq!(tasks[0]["target"], "padmin");
    assert_eq!(tasks[0]["user"], "viewer");
    assert_eq!(tasks[0]["result"], "failed");
    assert!(tasks[0]["finished_ms"].as_i64().unwrap() >= tasks[0]["started_ms"].as_i64().unwrap());
}

#[tokio::test]
async fn sessions_tokens_and_user_accounts() {
    let d = Daemon::start(SYSTEM);
    assert_eq!(
        d.password.len(),
        16,
        "first start prints padmin's password once"
    );
    let c = d.https();
    // The printed initial password works, and the cookie works like the bearer token.
    let r = c
        .post(d.url("/login"))
        .json(&json!({"user": "padmin", "password": d.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("ivm_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("Secure"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let r = c
        .get(d.url("/system/resources"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let res: Value = r.json().await.unwrap();
    assert_eq!(res["configurable_mem"], 8064);
    assert_eq!(res["available_proc_units"], 1.8);

    // An API token outlives the session it was made from. A change made with the cookie
    // needs the console's header (or a JSON body): a cross-site form can send neither.
    let r = c
        .post(d.url("/tokens"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(d.url("/tokens"))
        .header("cookie", &session)
        .header("x-ivm-request", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let api_token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .post(d.url("/logout"))
        .header("cookie", &session)
        .header("x-ivm-request", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c
        .get(d.url("/partitions"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        c.get(d.url("/partitions"))
            .bearer_auth(&api_token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Users: create, change role, change password (old one stops working), delete.
    let t = api_token.as_str();
    let r = c
        .post(d.url("/users"))
        .bearer_auth(t)
        .json(&json!({"name": "op1", "role": "View Only", "password": "op1-pass-x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c
        .post(d.url("/users"))
        .bearer_auth(t)
        .json(&json!({"name": "op1", "role": "View Only", "password": "op1-pass-x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // This daemon keeps no login accounts: there are no SSH keys to read or to set.
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey op1@host";
    let r = c
        .put(d.url("/users/op1/keys"))
        .bearer_auth(t)
        .json(&json!([key]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = c
        .get(d.url("/users/op1/keys"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = c
        .post(d.url("/users"))
        .bearer_auth(t)
        .json(&json!({"name": "Op 2", "role": "View Only", "password": "op1-pass-x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .post(d.url("/users"))
        .bearer_auth(t)
        .json(&json!({"name": "op2", "role": "View Only", "password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .patch(d.url("/users/op1"))
        .bearer_auth(t)
        .json(&json!({"role": "View/Modify"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"name": "op1", "role": "View/Modify"})
    );
    let op1 = d.token("op1", "op1-pass-x").await;
    let r = c
        .put(d.url("/users/op1/password"))
        .bearer_auth(&op1)
        .json(&json!({"password": "op1-new-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        c.get(d.url("/session"))
            .bearer_auth(&op1)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "own session kept"
    );
    let r = c
        .post(d.url("/login"))
        .json(&json!({"user": "op1", "password": "op1-pass-x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    d.token("op1", "op1-new-pass").await;
    let r = c
        .delete(d.url("/users/padmin"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .patch(d.url("/users/padmin"))
        .bearer_auth(t)
        .json(&json!({"role": "View Only"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .delete(d.url("/users/op1"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        c.get(d.url("/session"))
            .bearer_auth(&op1)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let users: Value = c
        .get(d.url("/users"))
        .bearer_auth(t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users, json!([{"name": "padmin", "role": "View/Modify"}]));
}

#[tokio::test]
async fn partitions_over_the_api_and_malformed_bodies() {
    let d = Daemon::start(SYSTEM);
    d.set_password("padmin", "padmin-pass-1");
    let c = d.https();
    let t = d.token("padmin", "padmin-pass-1").await;
    let r = c.post(d.url("/partitions")).bearer_auth(&t)
        .json(&json!({"name": "lp1", "proc_mode": "shared", "desired_procs": 2, "max_procs": 2, "desired_mem": 512, "max_mem": 1024, "sharing_mode": "cap"}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        (
            p["lpar_id"].clone(),
            p["state"].clone(),
            p["desired_proc_units"].clone(),
            p["max_proc_units"].clone()
        ),
        (json!(2), json!("Not Activated"), json!(0.2), json!(2.0))
    );
    let r = c
        .post(d.url("/partitions"))
        .bearer_auth(&t)
        .json(&json!({"name": "x", "desired_procs": 1, "desired_mem": 512, "colour": "red"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{e}"
    );
    let r = c.post(d.url("/partitions")).bearer_auth(&t).json(&json!({"name": "x", "desired_procs": 1, "desired_mem": 512, "desired_proc_units": 0.333})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Malformed paths, queries, methods, media types and oversized bodies get the JSON error
    // body too, never a plain-text rejection.
    for (req, want) in [
        (c.get(d.url("/partitions/abc")), StatusCode::BAD_REQUEST),
        (
            c.get(d.url("/partitions/99999999999")),
            StatusCode::BAD_REQUEST,
        ),
        (c.get(d.url("/tasks?limit=lots")), StatusCode::BAD_REQUEST),
        (
            c.put(d.url("/partitions/2")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            c.post(d.url("/partitions")).body("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        // Its own client: the daemon closes that connection rather than read the body.
        (
            d.https()
                .post(d.url("/partitions"))
                .header("content-type", "application/json")
                .body(vec![b' '; 2 << 20]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let r = match req.bearer_auth(&t).send().await {
            Ok(r) => r,
            // The daemon may answer 413 and close before the client has sent the whole body.
            Err(e) if want == StatusCode::PAYLOAD_TOO_LARGE && (e.is_request() || e.is_body()) => {
                continue
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!(r.status(), want);
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"].is_string() && !e["message"].as_str().unwrap().is_empty(),
            "{e}"
        );
    }
    let r = c
        .patch(d.url("/partitions/2"))
        .bearer_auth(&t)
        .json(&json!({"desired_mem": 1024}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["desired_mem"], 1024);
    let r = c
        .patch(d.url("/partitions/2"))
        .bearer_auth(&t)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .get(d.url("/partitions/99"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .starts_with("HSCL8012"));
    let r = c
        .delete(d.url("/partitions/2"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let tasks: Vec<Value> = c
        .get(d.url("/tasks"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let summary: Vec<(String, String, String)> = tasks
        .iter()
        .filter(|t| t["operation"].as_str().unwrap().ends_with("partition"))
        .map(|t| {
            (
                t["operation"].as_str().unwrap().into(),
                t["target"].as_str().unwrap().into(),
                t["result"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary[0],
        (
            "delete partition".into(),
            "lpar 2 (lp1)".into(),
            "succeeded".into()
        )
    );
    assert_eq!(
        summary.last().unwrap(),
        &(
            "create partition".into(),
            "lpar 2 (lp1)".into(),
            "succeeded".into()
        )
    );

    // The OpenAPI document describes the API and is public, as is Swagger UI.
    let doc: Value = c
        .get(d.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/partitions",
        "/api/v1/partitions/{id}",
        "/api/v1/system/resources",
        "/api/v1/login",
        "/api/v1/tasks",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    assert!(doc["components"]["schemas"]["PartitionSpec"].is_object());
    let ui = c.get(d.url("/docs/")).send().await.unwrap();
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
    // Swagger UI loads the document the daemon builds when asked, at its one address.
    let init = c
        .get(d.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init
        .text()
        .await
        .unwrap()
        .contains("\"/api/v1/openapi.json\""));
}

/// 100 concurrent creates for capacity that fits exactly 10 (704 MB each into 7040 MB free):
/// exactly 10 succeed, and the store's totals match a recount of its rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_never_overcommit() {
    let d = Daemon::start(SYSTEM);
    d.set_password("padmin", "padmin-pass-1");
    let t = d.token("padmin", "padmin-pass-1").await;
    let c = d.https();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let req = c
                .post(d.url("/partitions"))
                .bearer_auth(&t)
                .json(&partition(&format!("c{i}"), 704));
            tokio::spawn(async move { req.send().await.unwrap().status() })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 10);
    let res: Value = c
        .get(d.url("/system/resources"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res["available_mem"], 0);
    assert_eq!(res["partitions"], 11);

    // Recount straight from the database file.
    let (rows, mem, units) = common::recount(d.data_dir());
    let db = rusqlite::Connection::open(d.data_dir().join("ivm.db")).unwrap();
    assert_eq!(rows, 11);
    assert_eq!(mem, res["committed_mem"].as_i64().unwrap());
    assert_eq!(mem, 1024 + 10 * 704);
    assert_eq!(
        units as f64 / 100.0,
        res["committed_proc_units"].as_f64().unwrap()
    );
    let logged: i64 = db
        .query_row("SELECT COUNT(*) FROM tasks WHERE operation = 'create partition' AND result = 'succeeded'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(logged, 10);
}

#[tokio::test]
async fn a_dry_run_answers_like_the_create_and_commits_nothing() {
    let d = Daemon::start(SYSTEM);
    d.set_password("padmin", "padmin-pass-1");
    let c = d.https();
    let t = d.token("padmin", "padmin-pass-1").await;
    let get = |path: &'static str| {
        let (c, t, url) = (c.clone(), t.clone(), d.url(path));
        async move {
            let r = c.get(url).bearer_auth(t).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let before = get("/system/resources").await;
    let tasks_before = get("/tasks").await.as_array().unwrap().len();
    let spec = json!({"name": "dry", "proc_mode": "shared", "desired_procs": 2, "max_procs": 2, "desired_mem": 1024});
    let r = c
        .post(d.url("/partitions?dry_run=true"))
        .bearer_auth(&t)
        .json(&spec)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{v}");
    // IVM's units for 2 virtual processors: 0.20 desired and minimum, 2.00 maximum.
    let p = &v["partition"];
    assert_eq!(
        (
            &p["lpar_id"],
            &p["min_proc_units"],
            &p["desired_proc_units"],
            &p["max_proc_units"],
            &p["state"]
        ),
        (
            &json!(2),
            &json!(0.2),
            &json!(0.2),
            &json!(2.0),
            &json!("Not Activated")
        )
    );
    let after = &v["after"];
    assert_eq!(
        after["available_mem"].as_u64().unwrap(),
        before["available_mem"].as_u64().unwrap() - 1024
    );
    assert_eq!(
        after["committed_proc_units"].as_f64().unwrap(),
        before["committed_proc_units"].as_f64().unwrap() + 0.2
    );
    assert_eq!(
        after["partitions"].as_u64(),
        before["partitions"].as_u64().map(|n| n + 1)
    );
    // Nothing committed, nothing logged.
    assert_eq!(get("/system/resources").await, before);
    assert_eq!(partitions(&d, &t).await.len(), 1);
    assert_eq!(get("/tasks").await.as_array().unwrap().len(), tasks_before);

    // The same refusal as the create, with the same status; a View Only user gets 403.
    for body in [
        json!({"name": "dry", "desired_procs": 1, "desired_mem": 999_999}),
        json!({"name": "dry", "desired_procs": 1, "desired_mem": 512, "desired_proc_units": 0.333}),
    ] {
        let mut answers = Vec::new();
        for path in ["/partitions?dry_run=true", "/partitions"] {
            let r = c
                .post(d.url(path))
                .bearer_auth(&t)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            answers.push((status, v["message"].clone()));
        }
        assert!(answers[0].0.is_client_error(), "{answers:?}");
        assert_eq!(answers[0], answers[1]);
    }
    let r = c
        .post(d.url("/users"))
        .bearer_auth(&t)
        .json(&json!({"name": "viewer", "role": "View Only", "password": "viewer-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let viewer = d.token("viewer", "viewer-pass").await;
    let r = c
        .post(d.url("/partitions?dry_run=true"))
        .bearer_auth(&viewer)
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(d.url("/partitions?dry_run=maybe"))
        .bearer_auth(&t)
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(partitions(&d, &t).await.len(), 1);
}

/// The daemon's peak and current resident memory, KiB (`VmHWM`, `VmRSS`).
fn daemon_memory(d: &Daemon) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.child.id())).unwrap();
    let field = |k: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// 200 wrong logins at once: a few hash at a time, the rest are told to come back (429 with
/// Retry-After), a run of failures earns a wait, the daemon's memory stays bounded and other
/// requests are still answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_is_bounded_and_others_are_still_served() {
    let d = Daemon::start(SYSTEM);
    d.set_password("padmin", "padmin-pass-1");
    let token = d.token("padmin", "padmin-pass-1").await;
    let c = d.https();
    // Known and unknown names cost the same hashing (checked by the server's unit test on the
    // hash parameters); the time is printed here, interleaved, never asserted. A right login
    // after each pair starts the address's count afresh, so no pair meets the back-off.
    let timed = |user: &'static str| {
        let c = c.clone();
        let url = d.url("/login");
        async move {
            let t = Instant::now();
            let r = c
                .post(url)
                .json(&json!({"user": user, "password": "wrong-password"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
            t.elapsed().as_secs_f64() * 1000.0
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        known.push(timed("padmin").await);
        unknown.push(timed("nosuchuser").await);
        d.token("padmin", "padmin-pass-1").await;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "wrong login, median of 3 interleaved: known user {:.1} ms, unknown user {:.1} ms",
        median(&mut known),
        median(&mut unknown)
    );

    let (peak_before, _) = daemon_memory(&d);
    let flood = (0..200).map(|i| {
        let c = c.clone();
        let url = d.url("/login");
        tokio::spawn(async move {
            let r = c
                .post(url)
                .json(&json!({"user": format!("guess{}", i % 7), "password": "wrong-password"}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers().contains_key("retry-after"))
        })
    });
    let flood: Vec<_> = flood.collect();
    // Meanwhile an ordinary request, again and again: each answered within a second.
    let mut slowest = 0f64;
    for _ in 0..20 {
        let t = Instant::now();
        let r = c
            .get(d.url("/system"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        slowest = slowest.max(t.elapsed().as_secs_f64());
    }
    let mut counts = std::collections::BTreeMap::new();
    for f in flood {
        let (status, retry) = f.await.unwrap();
        if status == 429 {
            assert!(retry, "429 without Retry-After");
        }
        *counts.entry(status).or_insert(0) += 1;
    }
    let (peak_after, now) = daemon_memory(&d);
    println!(
        "200 parallel wrong logins: {counts:?}; daemon peak RSS {} -> {} MiB (now {} MiB); slowest other request {:.0} ms",
        peak_before / 1024,
        peak_after / 1024,
        now / 1024,
        slowest * 1000.0
    );
    assert!(
        counts.get(&429).copied().unwrap_or(0) > 0,
        "nothing was turned away"
    );
    assert_eq!(counts.values().sum::<i32>(), 200);
    assert!(counts.keys().all(|s| *s == 401 || *s == 429), "{counts:?}");
    // Each Argon2 run holds about 19 MiB; a few at once must not become gigabytes.
    assert!(
        peak_after - peak_before < 256 * 1024,
        "peak RSS grew by {} MiB",
        (peak_after - peak_before) / 1024
    );
    // A deadline, not a speed target: a stalled API would take the whole flood's time.
    assert!(
        slowest < 10.0,
        "a request took {slowest:.2} s during the flood"
    );
    // A run of failures for one name earns a wait, even with the right password.
    for _ in 0..4 {
        let _ = c
            .post(d.url("/login"))
            .json(&json!({"user": "padmin", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
    }
    let r = c
        .post(d.url("/login"))
        .json(&json!({"user": "padmin", "password": "padmin-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    // The session opened before is untouched.
    let r = c
        .get(d.url("/system"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
