//! The OpenAPI document, served at `/api/v1/openapi.json`.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    backup, console, display, error, events, lifecycle, media, mempool, mobility, network,
    partitions, session, storage, system, tasks, users, utilization,
};

/// ivm's REST API.
#[derive(OpenApi)]
#[openapi(
    info(title = "ivm", description = "Integrated Virtualization Manager for Linux/KVM"),
    paths(
        system::get_system, system::resources,
        mempool::get_pool, mempool::create_pool, mempool::change_pool, mempool::remove_pool,
        mempool::add_pgdev, mempool::remove_pgdev,
        partitions::list, partitions::get_one, partitions::create, partitions::change, partitions::delete,
        partitions::get_cloud_init, partitions::set_cloud_init, partitions::remove_cloud_init,
        session::login, session::logout, session::whoami, session::create_token,
        users::list, users::create, users::change_role, users::delete, users::set_password, users::keys, users::set_keys,
        tasks::list,
        lifecycle::activate, lifecycle::shutdown, lifecycle::dlpar, lifecycle::ethernet, lifecycle::move_resources,
        console::terminal, console::websocket, console::close,
        display::websocket, display::screen, events::events,
        storage::get_all, storage::create_pool, storage::remove_pool, storage::set_default_pool,
        storage::create_disk, storage::upload_disk_image, storage::change_disk, storage::remove_disk, storage::map, storage::unmap, storage::cfgdev, storage::create_vg_pool, storage::add_pvs,
        storage::remove_pvs,
        media::create_repository, media::change_repository, media::remove_repository,
        media::create_media, media::upload_media, media::change_media, media::remove_media,
        media::create_optical, media::load, media::unload,
        network::get_all, network::create_sea, network::remove_device,
        backup::get_backup, backup::get_backup_file, backup::restore, backup::clear,
        mobility::list, mobility::capabilities, mobility::migrate, mobility::stop, mobility::recover,
        mobility::host_key, mobility::trust, mobility::incoming_validate, mobility::incoming_prepare,
        mobility::incoming_stream, mobility::incoming_nbd, mobility::incoming_commit, mobility::incoming_abort, mobility::incoming_status,
        utilization::samples, utilization::series, utilization::events, utilization::config, utilization::set_config, utilization::metrics,
    ),
    components(schemas(error::ErrorBody, ivm_model::SystemView)),
    modifiers(&Security, &UniqueOperationIds),
    security(("bearer" = []), ("cookie" = []))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::extract::SESSION_COOKIE,
            ))),
        );
    }
}

/// Operation IDs are the handlers' names, which repeat across modules (`storage::get_all`,
/// `network::get_all`); generated clients need them unique, so each gets its tag in front.
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
                if let (Some(tag), Some(id)) = (tag, op.operation_id.as_mut()) {
                    *id = format!("{tag}_{id}");
                }
            }
        }
    }
}

/// The document as pretty JSON: what `/api/v1/openapi.json` serves and `web/openapi.json` holds.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}

/// `GET /api/v1/openapi.json`: the document built when it is asked for, so the daemon neither
/// keeps it in memory nor runs the code that builds it (every schema's) until someone reads it.
pub async fn document() -> impl axum::response::IntoResponse {
    let json = ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serializes");
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json,
    )
}

#[cfg(test)]
mod tests {
    /// The console's types are generated from `web/openapi.json` at its build; a server whose
    /// API changed without that file would give the console types that no longer match.
    #[test]
    fn committed_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed.trim_end() == super::openapi_json().trim_end(),
            "web/openapi.json is not the server's OpenAPI document; write it anew with \
             `cargo run -q -p ivm -- openapi > web/openapi.json` and rebuild the console"
        );
    }
}
