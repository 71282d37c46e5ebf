//! Counts and latencies of API requests, by method, route and status class, for `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Which requests: method, route pattern, status class (`2xx`).
type Series = (String, String, String);

/// Requests seen: per series, how many and the seconds they took in all.
#[derive(Default)]
pub struct RequestStats(Mutex<BTreeMap<Series, (u64, f64)>>);

impl RequestStats {
    /// Prometheus text for the requests seen so far.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::from(
            "# HELP ivm_http_requests_total API requests answered.\n# TYPE ivm_http_requests_total counter\n",
        );
        for ((m, p, s), (n, _)) in seen.iter() {
            let _ = writeln!(
                out,
                "ivm_http_requests_total{{method=\"{m}\",route=\"{p}\",status=\"{s}\"}} {n}"
            );
        }
        out.push_str("# HELP ivm_http_request_seconds Time to answer API requests.\n# TYPE ivm_http_request_seconds summary\n");
        for ((m, p, s), (n, secs)) in seen.iter() {
            let l = format!("method=\"{m}\",route=\"{p}\",status=\"{s}\"");
            let _ = writeln!(out, "ivm_http_request_seconds_sum{{{l}}} {secs:.6}");
            let _ = writeln!(out, "ivm_http_request_seconds_count{{{l}}} {n}");
        }
        out
    }
}

/// Middleware: times each request and counts it under its route (the pattern, never the
/// path, so IDs and names do not make new series).
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    let class = format!("{}xx", resp.status().as_u16() / 100);
    let secs = start.elapsed().as_secs_f64();
    let mut seen = state.requests.0.lock().unwrap_or_else(|e| e.into_inner());
    let e = seen.entry((method, route, class)).or_default();
    e.0 += 1;
    e.1 += secs;
    resp
}
