//! Live state for the browser: a server-sent-events stream of partitions, resource totals and
//! the task log, each sent when it changes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};

use super::{blocking, AppState};
use crate::service::Actor;

/// How often the state is sampled.
const TICK: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Seen {
    partitions: String,
    summary: String,
    tasks: String,
}

/// Events `partitions`, `summary` and `tasks` (JSON, as the REST API returns them) whenever
/// they change, and `expired` (then the end) when the session ends.
#[utoipa::path(get, path = "/api/v1/events", tag = "system",
    responses((status = 200, description = "text/event-stream of partitions, summary, tasks"),
              (status = 401, body = super::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    actor: Actor,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let ticks = stream::unfold(
        (state, actor, Seen::default(), true),
        |(state, actor, mut seen, first)| async move {
            if !first {
                tokio::time::sleep(TICK).await;
            }
            let who = actor.clone();
            let snapshot = blocking(&state, move |svc| {
                if !svc.session_alive(&who)? {
                    return Ok(None);
                }
                Ok(Some((
                    svc.partitions()?,
                    svc.summary()?,
                    svc.tasks(&who, 100, None)?,
                )))
            })
            .await;
            let mut out = Vec::new();
            match snapshot {
                Ok(Some((parts, summary, tasks))) => {
                    for (name, json, last) in [
                        (
                            "partitions",
                            serde_json::to_string(&parts),
                            &mut seen.partitions,
                        ),
                        (
                            "summary",
                            serde_json::to_string(&summary),
                            &mut seen.summary,
                        ),
                        ("tasks", serde_json::to_string(&tasks), &mut seen.tasks),
                    ] {
                        let json = json.unwrap_or_default();
                        if json != *last {
                            out.push(Event::default().event(name).data(&json));
                            *last = json;
                        }
                    }
                }
                Ok(None) => return None,
                Err(_) => {}
            }
            Some((
                stream::iter(out.into_iter().map(Ok)),
                (state, actor, seen, false),
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
