//! The daemon's REST API as the commands use it: one function per route, taking and returning
//! the model's types, so a request body can only be what the server's handler takes (the same
//! Rust type) and no command spells a path or a field name.

use ivm_model::{
    ActivateRequest, BackingDevice, BackupFile, DiskChange, DiskSpec, DlparRequest, EthDevice,
    EthDlparRequest, Hdisk, LoadRequest, MapRequest, Mapping, MediaChange, MediaSpec,
    MemPoolRequest, MemPoolView, MoveRequest, NetworkView, NewUser, OpticalDevice, OpticalRequest,
    PagingPvRequest, Partition, PartitionChange, PartitionSpec, PasswordChange, PoolSpec,
    RateChange, RepositorySpec, ResourceSummary, RestoreRequest, RoleChange, SeaRequest,
    ShutdownRequest, StorageView, SystemView, User, UtilConfig, UtilSample, VgPoolRequest,
};

use ivm_model::{
    IncomingStatus, MigrationAccept, MigrationOffer, MigrationRequest, MigrationView, MobilityView,
    TrustRequest,
};

use crate::client::Client;
use crate::CliError;

type Result<T> = std::result::Result<T, CliError>;

/// A path segment with everything but unreserved characters percent-encoded.
pub(crate) fn enc(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A path with the time range query of the utilization routes.
fn range(path: &str, from_ms: i64, to_ms: Option<i64>) -> String {
    match to_ms {
        Some(t) => format!("{path}?from_ms={from_ms}&to_ms={t}"),
        None => format!("{path}?from_ms={from_ms}"),
    }
}

impl Client {
    // The managed system.

    /// `GET /system`.
    pub fn system(&self) -> Result<SystemView> {
        self.get("/system")
    }

    /// `GET /system/resources`.
    pub fn resources(&self) -> Result<ResourceSummary> {
        self.get("/system/resources")
    }

    // Partitions.

    /// `GET /partitions`.
    pub fn partitions(&self) -> Result<Vec<Partition>> {
        self.get("/partitions")
    }

    /// `POST /partitions`.
    pub fn create_partition(&self, spec: &PartitionSpec) -> Result<()> {
        self.send("POST", "/partitions", Some(spec))
    }

    /// `GET /partitions/{id}`.
    pub fn partition(&self, id: u32) -> Result<Partition> {
        self.get(&format!("/partitions/{id}"))
    }

    /// `PATCH /partitions/{id}?force=`.
    pub fn change_partition(&self, id: u32, change: &PartitionChange, force: bool) -> Result<()> {
        self.send(
            "PATCH",
            &format!("/partitions/{id}?force={force}"),
            Some(change),
        )
    }

    /// `DELETE /partitions/{id}?vioscfg=&vdisk=`.
    pub fn delete_partition(&self, id: u32, vioscfg: bool, vdisk: bool) -> Result<()> {
        self.send::<()>(
            "DELETE",
            &format!("/partitions/{id}?vioscfg={vioscfg}&vdisk={vdisk}"),
            None,
        )
    }

    /// `POST /partitions/{id}/activate`.
    pub fn activate(&self, id: u32, req: &ActivateRequest) -> Result<()> {
        self.send("POST", &format!("/partitions/{id}/activate"), Some(req))
    }

    /// `POST /partitions/{id}/shutdown`.
    pub fn shutdown(&self, id: u32, req: &ShutdownRequest) -> Result<()> {
        self.send("POST", &format!("/partitions/{id}/shutdown"), Some(req))
    }

    /// `POST /partitions/{id}/dlpar`.
    pub fn dlpar(&self, id: u32, req: &DlparRequest) -> Result<()> {
        self.send("POST", &format!("/partitions/{id}/dlpar"), Some(req))
    }

    /// `DELETE /partitions/{id}/console`: closes the partition's open virtual terminal.
    pub fn close_console(&self, id: u32) -> Result<()> {
        self.send::<()>("DELETE", &format!("/partitions/{id}/console"), None)
    }

    /// `POST /partitions/move`.
    pub fn move_resources(&self, req: &MoveRequest) -> Result<()> {
        self.send("POST", "/partitions/move", Some(req))
    }

    /// `POST /partitions/{id}/ethernet`.
    pub fn change_ethernet(&self, id: u32, req: &EthDlparRequest) -> Result<()> {
        self.send("POST", &format!("/partitions/{id}/ethernet"), Some(req))
    }

    // Storage.

    /// `GET /storage`.
    pub fn storage(&self) -> Result<StorageView> {
        self.get("/storage")
    }

    /// `POST /storage/cfgdev`.
    pub fn cfgdev(&self) -> Result<Vec<Hdisk>> {
        self.request::<(), _>("POST", "/storage/cfgdev", None)
    }

    /// `POST /storage/pools`.
    pub fn create_pool(&self, spec: &PoolSpec) -> Result<()> {
        self.send("POST", "/storage/pools", Some(spec))
    }

    /// `DELETE /storage/pools/{name}`.
    pub fn remove_pool(&self, name: &str) -> Result<()> {
        self.send::<()>("DELETE", &format!("/storage/pools/{}", enc(name)), None)
    }

    /// `POST /storage/pools/{name}/default`.
    pub fn set_default_pool(&self, name: &str) -> Result<()> {
        self.send::<()>(
            "POST",
            &format!("/storage/pools/{}/default", enc(name)),
            None,
        )
    }

    /// `POST /storage/vgpools`.
    pub fn create_vg_pool(&self, req: &VgPoolRequest) -> Result<()> {
        self.send("POST", "/storage/vgpools", Some(req))
    }

    /// `POST /storage/vgpools/add` or `/remove`.
    pub fn change_vg_pool(&self, add: bool, req: &VgPoolRequest) -> Result<()> {
        let how = if add { "add" } else { "remove" };
        self.send("POST", &format!("/storage/vgpools/{how}"), Some(req))
    }

    /// `POST /storage/disks`.
    pub fn create_disk(&self, spec: &DiskSpec) -> Result<BackingDevice> {
        self.request("POST", "/storage/disks", Some(spec))
    }

    /// `PATCH /storage/disks/{name}`.
    pub fn change_disk(&self, name: &str, change: &DiskChange) -> Result<()> {
        self.send(
            "PATCH",
            &format!("/storage/disks/{}", enc(name)),
            Some(change),
        )
    }

    /// `DELETE /storage/disks/{name}?with_vtd=`.
    pub fn remove_disk(&self, name: &str, with_vtd: bool) -> Result<()> {
        self.send::<()>(
            "DELETE",
            &format!("/storage/disks/{}?with_vtd={with_vtd}", enc(name)),
            None,
        )
    }

    /// `POST /storage/mappings`.
    pub fn map(&self, req: &MapRequest) -> Result<Mapping> {
        self.request("POST", "/storage/mappings", Some(req))
    }

    /// `DELETE /storage/mappings/{vtd}` (or the backing device's name): the mapping removed.
    pub fn remove_mapping(&self, name: &str) -> Result<Mapping> {
        self.request::<(), _>("DELETE", &format!("/storage/mappings/{}", enc(name)), None)
    }

    /// `POST /storage/optical`.
    pub fn create_optical(&self, req: &OpticalRequest) -> Result<OpticalDevice> {
        self.request("POST", "/storage/optical", Some(req))
    }

    // The virtual media library.

    /// `POST /storage/repository`.
    pub fn create_repository(&self, spec: &RepositorySpec) -> Result<()> {
        self.send("POST", "/storage/repository", Some(spec))
    }

    /// `PATCH /storage/repository`.
    pub fn change_repository(&self, spec: &RepositorySpec) -> Result<()> {
        self.send("PATCH", "/storage/repository", Some(spec))
    }

    /// `DELETE /storage/repository?force=`.
    pub fn remove_repository(&self, force: bool) -> Result<()> {
        self.send::<()>(
            "DELETE",
            &format!("/storage/repository?force={force}"),
            None,
        )
    }

    /// `POST /storage/media`.
    pub fn create_media(&self, spec: &MediaSpec) -> Result<()> {
        self.send("POST", "/storage/media", Some(spec))
    }

    /// `PATCH /storage/media/{name}`.
    pub fn change_media(&self, name: &str, change: &MediaChange) -> Result<()> {
        self.send(
            "PATCH",
            &format!("/storage/media/{}", enc(name)),
            Some(change),
        )
    }

    /// `DELETE /storage/media/{name}?force=`.
    pub fn remove_media(&self, name: &str, force: bool) -> Result<()> {
        self.send::<()>(
            "DELETE",
            &format!("/storage/media/{}?force={force}", enc(name)),
            None,
        )
    }

    /// `POST /storage/optical/{vtd}/load`.
    pub fn load_media(&self, vtd: &str, req: &LoadRequest) -> Result<()> {
        self.send(
            "POST",
            &format!("/storage/optical/{}/load", enc(vtd)),
            Some(req),
        )
    }

    /// `POST /storage/optical/{vtd}/unload`.
    pub fn unload_media(&self, vtd: &str) -> Result<()> {
        self.send::<()>(
            "POST",
            &format!("/storage/optical/{}/unload", enc(vtd)),
            None,
        )
    }

    // The shared memory pool.

    /// `GET /system/mempool`.
    pub fn mem_pool(&self) -> Result<MemPoolView> {
        self.get("/system/mempool")
    }

    /// `POST /system/mempool`.
    pub fn create_mem_pool(&self, req: &MemPoolRequest) -> Result<()> {
        self.send("POST", "/system/mempool", Some(req))
    }

    /// `PATCH /system/mempool`.
    pub fn change_mem_pool(&self, req: &MemPoolRequest) -> Result<()> {
        self.send("PATCH", "/system/mempool", Some(req))
    }

    /// `DELETE /system/mempool`.
    pub fn remove_mem_pool(&self) -> Result<()> {
        self.send::<()>("DELETE", "/system/mempool", None)
    }

    /// `POST /system/mempool/pgdev`.
    pub fn add_paging_pv(&self, req: &PagingPvRequest) -> Result<()> {
        self.send("POST", "/system/mempool/pgdev", Some(req))
    }

    /// `DELETE /system/mempool/pgdev/{device}`.
    pub fn remove_paging_pv(&self, device: &str) -> Result<()> {
        self.send::<()>(
            "DELETE",
            &format!("/system/mempool/pgdev/{}", enc(device)),
            None,
        )
    }

    // Virtual Ethernet.

    /// `GET /network`.
    pub fn network(&self) -> Result<NetworkView> {
        self.get("/network")
    }

    /// `DELETE /network/devices/{name}`.
    pub fn remove_eth_device(&self, name: &str) -> Result<()> {
        self.send::<()>("DELETE", &format!("/network/devices/{}", enc(name)), None)
    }

    /// `POST /network/sea`.
    pub fn create_sea(&self, req: &SeaRequest) -> Result<EthDevice> {
        self.request("POST", "/network/sea", Some(req))
    }

    // Users.

    /// `GET /session`: who is asking.
    pub fn session(&self) -> Result<User> {
        self.get("/session")
    }

    /// `GET /users`.
    pub fn users(&self) -> Result<Vec<User>> {
        self.get("/users")
    }

    /// `POST /users`.
    pub fn create_user(&self, user: &NewUser) -> Result<()> {
        self.send("POST", "/users", Some(user))
    }

    /// `PATCH /users/{name}`.
    pub fn change_role(&self, name: &str, change: &RoleChange) -> Result<()> {
        self.send("PATCH", &format!("/users/{}", enc(name)), Some(change))
    }

    /// `DELETE /users/{name}`.
    pub fn delete_user(&self, name: &str) -> Result<()> {
        self.send::<()>("DELETE", &format!("/users/{}", enc(name)), None)
    }

    /// `PUT /users/{name}/password`.
    pub fn set_password(&self, name: &str, change: &PasswordChange) -> Result<()> {
        self.send(
            "PUT",
            &format!("/users/{}/password", enc(name)),
            Some(change),
        )
    }

    /// `GET /users/{name}/keys`.
    pub fn keys(&self, name: &str) -> Result<Vec<String>> {
        self.get(&format!("/users/{}/keys", enc(name)))
    }

    /// `PUT /users/{name}/keys`.
    pub fn set_keys(&self, name: &str, keys: &[String]) -> Result<()> {
        self.send("PUT", &format!("/users/{}/keys", enc(name)), Some(&keys))
    }

    // Utilization data.

    /// `GET /utilization?from_ms=&to_ms=`.
    pub fn utilization(&self, from_ms: i64, to_ms: Option<i64>) -> Result<Vec<UtilSample>> {
        self.get(&range("/utilization", from_ms, to_ms))
    }

    /// `GET /utilization/events?from_ms=&to_ms=`: state changes in the range.
    pub fn utilization_events(&self, from_ms: i64, to_ms: Option<i64>) -> Result<Vec<UtilSample>> {
        self.get(&range("/utilization/events", from_ms, to_ms))
    }

    /// `GET /utilization/config`.
    pub fn util_config(&self) -> Result<UtilConfig> {
        self.get("/utilization/config")
    }

    /// `PUT /utilization/config`.
    pub fn set_util_config(&self, change: &RateChange) -> Result<()> {
        self.send("PUT", "/utilization/config", Some(change))
    }

    // Profile backups.

    /// `GET /backup`.
    pub fn backup(&self) -> Result<BackupFile> {
        self.get("/backup")
    }

    /// `POST /backup/restore`.
    pub fn restore(&self, req: &RestoreRequest) -> Result<()> {
        self.send("POST", "/backup/restore", Some(req))
    }

    /// `POST /backup/clear`.
    pub fn clear_backup(&self) -> Result<()> {
        self.send::<()>("POST", "/backup/clear", None)
    }

    // Partition mobility.

    /// `GET /migrations`.
    pub fn migrations(&self) -> Result<Vec<MigrationView>> {
        self.get("/migrations")
    }

    /// `GET /system/mobility`.
    pub fn mobility(&self) -> Result<MobilityView> {
        self.get("/system/mobility")
    }

    /// `POST /migrations`.
    pub fn migrate(&self, req: &MigrationRequest) -> Result<MigrationAccept> {
        self.request("POST", "/migrations", Some(req))
    }

    /// `POST /migrations/{id}/stop`.
    pub fn stop_migration(&self, id: u32) -> Result<()> {
        self.send::<()>("POST", &format!("/migrations/{id}/stop"), None)
    }

    /// `POST /migrations/{id}/recover`.
    pub fn recover_migration(&self, id: u32) -> Result<()> {
        self.send::<()>("POST", &format!("/migrations/{id}/recover"), None)
    }

    /// `GET /system/ssh-key`.
    pub fn host_key(&self) -> Result<String> {
        self.get("/system/ssh-key")
    }

    /// `POST /system/trust`.
    pub fn trust(&self, req: &TrustRequest) -> Result<()> {
        self.send("POST", "/system/trust", Some(req))
    }

    /// `POST /incoming/validate`.
    pub fn incoming_validate(&self, offer: &MigrationOffer) -> Result<MigrationAccept> {
        self.request("POST", "/incoming/validate", Some(offer))
    }

    /// `POST /incoming/prepare`.
    pub fn incoming_prepare(&self, offer: &MigrationOffer) -> Result<MigrationAccept> {
        self.request("POST", "/incoming/prepare", Some(offer))
    }

    /// `POST /incoming/{mid}/commit`.
    pub fn incoming_commit(&self, mid: &str) -> Result<()> {
        self.send::<()>("POST", &format!("/incoming/{}/commit", enc(mid)), None)
    }

    /// `POST /incoming/{mid}/abort`.
    pub fn incoming_abort(&self, mid: &str) -> Result<()> {
        self.send::<()>("POST", &format!("/incoming/{}/abort", enc(mid)), None)
    }

    /// `GET /incoming/{mid}`.
    pub fn incoming_status(&self, mid: &str) -> Result<IncomingStatus> {
        self.get(&format!("/incoming/{}", enc(mid)))
    }
}
