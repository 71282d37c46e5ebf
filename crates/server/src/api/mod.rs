//! The REST API (`/api/v1`): thin handlers that translate HTTP to service calls.

mod access;
mod backup;
mod console;
mod display;
mod error;
mod events;
mod extract;
mod lifecycle;
mod media;
mod mempool;
mod mobility;
mod network;
mod openapi;
mod partitions;
mod requests;
mod session;
mod storage;
mod system;
mod tasks;
mod upload;
mod users;
mod utilization;

use std::sync::Arc;

use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use utoipa_swagger_ui::SwaggerUi;

use crate::service::{Service, ServiceError};

pub use access::{ACCESS, CSRF_HEADER};
pub use console::TERMINAL_PROTOCOL;
pub use error::ApiError;
pub use extract::PeerIdentity;
pub use mobility::MIGRATION_PROTOCOL;
pub use openapi::openapi_json;

/// The largest request body the API reads (its bodies are small JSON documents).
const MAX_BODY: usize = 1 << 20;

/// What every handler gets: the service.
#[derive(Clone)]
pub struct AppState {
    /// The service, shared by every connection.
    pub svc: Arc<Service>,
    /// The one poller behind every live events stream.
    pub feed: Arc<events::Feed>,
    /// Counts and latencies of API requests.
    pub requests: Arc<requests::RequestStats>,
    /// Admission to password hashing.
    pub login_slots: Arc<session::LoginSlots>,
}

/// Runs a service call on the blocking pool: the store does synchronous disk I/O.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Service) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    let svc = state.svc.clone();
    tokio::task::spawn_blocking(move || f(&svc))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)
}

/// The whole router: the API under `/api/v1`, its OpenAPI document and Swagger UI.
pub fn router(svc: Arc<Service>) -> Router {
    let feed = Arc::new(events::Feed::default());
    let changed = feed.changed.clone();
    svc.on_change(move || changed.notify_one());
    let state = AppState {
        svc,
        feed,
        requests: Arc::default(),
        login_slots: Arc::default(),
    };
    let api = Router::new()
        .route("/system", get(system::get_system))
        .route("/system/resources", get(system::resources))
        .route(
            "/system/mempool",
            get(mempool::get_pool)
                .post(mempool::create_pool)
                .patch(mempool::change_pool)
                .delete(mempool::remove_pool),
        )
        .route("/system/mempool/pgdev", post(mempool::add_pgdev))
        .route(
            "/system/mempool/pgdev/{device}",
            delete(mempool::remove_pgdev),
        )
        .route(
            "/partitions",
            get(partitions::list).post(partitions::create),
        )
        .route(
            "/partitions/{id}",
            get(partitions::get_one)
                .patch(partitions::change)
                .delete(partitions::delete),
        )
        .route(
            "/partitions/{id}/cloud-init",
            get(partitions::get_cloud_init)
                .put(partitions::set_cloud_init)
                .delete(partitions::remove_cloud_init),
        )
        .route("/partitions/move", post(lifecycle::move_resources))
        .route("/partitions/{id}/activate", post(lifecycle::activate))
        .route("/partitions/{id}/shutdown", post(lifecycle::shutdown))
        .route("/partitions/{id}/dlpar", post(lifecycle::dlpar))
        .route("/partitions/{id}/ethernet", post(lifecycle::ethernet))
        .route("/partitions/{id}/terminal", get(console::terminal))
        .route("/partitions/{id}/display", get(display::websocket))
        .route("/partitions/{id}/screen", get(display::screen))
        .route(
            "/partitions/{id}/console",
            get(console::websocket).delete(console::close),
        )
        .route("/login", post(session::login))
        .route("/logout", post(session::logout))
        .route("/session", get(session::whoami))
        .route("/tokens", post(session::create_token))
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{name}",
            patch(users::change_role).delete(users::delete),
        )
        .route("/users/{name}/password", put(users::set_password))
        .route("/tasks", get(tasks::list))
        .route("/storage", get(storage::get_all))
        .route("/storage/cfgdev", post(storage::cfgdev))
        .route("/storage/pools", post(storage::create_pool))
        .route("/storage/vgpools", post(storage::create_vg_pool))
        .route("/storage/vgpools/add", post(storage::add_pvs))
        .route("/storage/vgpools/remove", post(storage::remove_pvs))
        .route(
            "/storage/pools/{name}",
            axum::routing::delete(storage::remove_pool),
        )
        .route(
            "/storage/pools/{name}/default",
            post(storage::set_default_pool),
        )
        .route("/storage/disks", post(storage::create_disk))
        .route(
            "/storage/disks/{name}",
            patch(storage::change_disk).delete(storage::remove_disk),
        )
        .route(
            "/storage/disks/{name}/image",
            put(storage::upload_disk_image),
        )
        .route("/storage/mappings", post(storage::map))
        .route(
            "/storage/mappings/{name}",
            axum::routing::delete(storage::unmap),
        )
        .route(
            "/storage/repository",
            post(media::create_repository)
                .patch(media::change_repository)
                .delete(media::remove_repository),
        )
        .route("/storage/media", post(media::create_media))
        .route(
            "/storage/media/{name}",
            put(media::upload_media)
                .patch(media::change_media)
                .delete(media::remove_media),
        )
        .route("/storage/optical", post(media::create_optical))
        .route("/storage/optical/{vtd}/load", post(media::load))
        .route("/storage/optical/{vtd}/unload", post(media::unload))
        .route("/users/{name}/keys", get(users::keys).put(users::set_keys))
        .route("/backup", get(backup::get_backup))
        .route("/backup/file", get(backup::get_backup_file))
        .route("/backup/restore", post(backup::restore))
        .route("/backup/clear", post(backup::clear))
        .route("/utilization", get(utilization::samples))
        .route("/utilization/series", get(utilization::series))
        .route("/utilization/events", get(utilization::events))
        .route(
            "/utilization/config",
            get(utilization::config).put(utilization::set_config),
        )
        .route("/network", get(network::get_all))
        .route("/network/sea", post(network::create_sea))
        .route(
            "/network/devices/{name}",
            axum::routing::delete(network::remove_device),
        )
        .route("/migrations", get(mobility::list).post(mobility::migrate))
        .route("/migrations/{id}/stop", post(mobility::stop))
        .route("/migrations/{id}/recover", post(mobility::recover))
        .route("/system/mobility", get(mobility::capabilities))
        .route("/system/ssh-key", get(mobility::host_key))
        .route("/system/trust", post(mobility::trust))
        .route("/incoming/validate", post(mobility::incoming_validate))
        .route("/incoming/prepare", post(mobility::incoming_prepare))
        .route("/incoming/{mid}", get(mobility::incoming_status))
        .route("/incoming/{mid}/stream", get(mobility::incoming_stream))
        .route("/incoming/{mid}/nbd", get(mobility::incoming_nbd))
        .route("/incoming/{mid}/commit", post(mobility::incoming_commit))
        .route("/incoming/{mid}/abort", post(mobility::incoming_abort))
        .route("/events", get(events::events))
        // After routing, so each route's declared authority is known; outermost the count.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::check,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            requests::record,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::rejected(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not take that HTTP method; see /api/v1/openapi.json",
            )
        });
    Router::new()
        .nest("/api/v1", api)
        // Where Prometheus looks; a session or token is required as for the API.
        .route(
            "/metrics",
            get(utilization::metrics).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                access::check,
            )),
        )
        .route("/api/v1/openapi.json", get(openapi::document))
        .merge(
            SwaggerUi::new("/api/v1/docs")
                .config(utoipa_swagger_ui::Config::from("/api/v1/openapi.json")),
        )
        .fallback(console_file)
        .with_state(state)
}

/// The browser console: its files, and `index.html` for every page path.
async fn console_file(uri: axum::http::Uri) -> axum::response::Response {
    use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
    use axum::response::IntoResponse;
    match ivm_web::asset(uri.path().trim_start_matches('/')) {
        Some(a) => {
            let cache = if a.immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [(CONTENT_TYPE, a.mime), (CACHE_CONTROL, cache)],
                a.bytes.into_owned(),
            )
                .into_response()
        }
        None => {
            ApiError::not_found("the browser console is not part of this build").into_response()
        }
    }
}
