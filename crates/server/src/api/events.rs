//! Live state for the browser: a server-sent-events stream of partitions, resource totals and
//! the task log, each sent when it changes. One poller serves every open stream (asking QEMU
//! once a second in all, not once per browser), and runs only while a stream is open.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::watch;

use super::{blocking, AppState};
use crate::service::Actor;

/// How often the state is sampled while anyone watches and nothing was written (CPU use).
const TICK: Duration = Duration::from_secs(1);
/// The least time between two snapshots when changes come in bursts.
const MIN_GAP: Duration = Duration::from_millis(25);

/// One sample of what the browser shows, as the REST API returns it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    partitions: String,
    summary: String,
    tasks: String,
}

/// The shared poller: its latest sample, and whether it is running.
#[derive(Default)]
pub struct Feed {
    current: Mutex<Option<watch::Sender<Arc<Snapshot>>>>,
    /// Woken by every committed store write, so a change reaches the streams at once rather
    /// than at the next tick (which remains for what changes outside the store: CPU use).
    pub changed: Arc<tokio::sync::Notify>,
}

impl Feed {
    /// A receiver of samples; starts the poller if no stream had one open.
    fn subscribe(&self, state: &AppState) -> watch::Receiver<Arc<Snapshot>> {
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = cur.as_ref().filter(|tx| !tx.is_closed()) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(Arc::new(Snapshot::default()));
        *cur = Some(tx.clone());
        let state = state.clone();
        let changed = self.changed.clone();
        tokio::spawn(async move {
            // Runs until the last stream has gone.
            while tx.receiver_count() > 0 {
                let sample = blocking(&state, |svc| {
                    let who = Actor::system();
                    Ok(Snapshot {
                        partitions: String::from_utf8(svc.partitions_json()?).unwrap_or_default(),
                        summary: serde_json::to_string(&svc.summary()?).unwrap_or_default(),
                        tasks: serde_json::to_string(&svc.tasks(&who, 100, None)?)
                            .unwrap_or_default(),
                    })
                })
                .await;
                if let Ok(s) = sample {
                    tx.send_if_modified(|old| {
                        let changed = **old != s;
                        if changed {
                            *old = Arc::new(s);
                        }
                        changed
                    });
                }
                let taken = tokio::time::Instant::now();
                tokio::select! {
                    _ = changed.notified() => {
                        // A burst of writes makes one snapshot, not one each.
                        tokio::time::sleep_until(taken + MIN_GAP).await;
                    }
                    _ = tokio::time::sleep(TICK) => {}
                }
            }
        });
        rx
    }
}

#[derive(Default)]
struct Seen {
    partitions: String,
    summary: String,
    tasks: String,
}

/// Events `partitions`, `summary` and `tasks` (JSON, as the REST API returns them) whenever
/// they change, and `expired` (then the end) when the session ends or sits idle too long.
#[utoipa::path(get, path = "/api/v1/events", tag = "system",
    responses((status = 200, description = "text/event-stream of partitions, summary, tasks"),
              (status = 401, body = super::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    actor: Actor,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.feed.subscribe(&state);
    let ticks = stream::unfold(
        (state, actor, rx, Seen::default(), true),
        |(state, actor, mut rx, mut seen, first)| async move {
            if !first {
                // A new sample, or a tick to check the session.
                let _ = tokio::time::timeout(TICK, rx.changed()).await;
            }
            let who = actor.clone();
            match blocking(&state, move |svc| svc.session_alive(&who)).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(_) => {}
            }
            let snap = rx.borrow_and_update().clone();
            let mut out = Vec::new();
            if !snap.partitions.is_empty() {
                for (name, json, last) in [
                    ("partitions", &snap.partitions, &mut seen.partitions),
                    ("summary", &snap.summary, &mut seen.summary),
                    ("tasks", &snap.tasks, &mut seen.tasks),
                ] {
                    if *json != *last {
                        out.push(Event::default().event(name).data(json.as_str()));
                        last.clone_from(json);
                    }
                }
            }
            Some((
                stream::iter(out.into_iter().map(Ok)),
                (state, actor, rx, seen, false),
            ))
        },
    )
    .flatten()
    .chain(stream::once(async {
        Ok(Event::default()
            .event("expired")
            .data("the session has ended"))
    }));
    Sse::new(ticks).keep_alive(KeepAlive::default())
}
