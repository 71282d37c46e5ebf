//! Why a rule refused a request, in words that name the attribute and the fix.

use ivm_model::{ProcMode, ProcUnits};

/// A request that breaks one of IVM's rules. Messages name the attribute and the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A required attribute is missing.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A name breaks the naming rules.
    #[error("name '{}' is not valid: {reason}", name.escape_debug())]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Another partition has this name.
    #[error("a partition named '{0}' already exists")]
    NameInUse(String),
    /// Another partition has this ID.
    #[error("lpar_id {0} is already in use")]
    IdInUse(u32),
    /// A partition ID outside 2..=max_lpars.
    #[error("lpar_id {id} is out of range: client partitions use IDs 2 to {max}")]
    IdOutOfRange {
        /// The rejected ID.
        id: u32,
        /// The highest ID of the managed system.
        max: u32,
    },
    /// Every partition ID is taken.
    #[error("no free partition ID: all IDs 2 to {0} are in use")]
    NoFreeId(u32),
    /// An attribute value outside its allowed range.
    #[error("{attr}={value} is out of range: allowed {allowed}")]
    OutOfRange {
        /// Attribute name.
        attr: &'static str,
        /// Rejected value as text.
        value: String,
        /// The allowed range as text.
        allowed: String,
    },
    /// min <= desired <= max does not hold.
    #[error("{min_attr}={min} <= {desired_attr}={desired} <= {max_attr}={max} does not hold; change them together so it does")]
    Order {
        /// Minimum attribute name.
        min_attr: &'static str,
        /// Minimum value as text.
        min: String,
        /// Desired attribute name.
        desired_attr: &'static str,
        /// Desired value as text.
        desired: String,
        /// Maximum attribute name.
        max_attr: &'static str,
        /// Maximum value as text.
        max: String,
    },
    /// A memory value that is not a multiple of the region size.
    #[error("{attr}={value} is not valid: memory must be a multiple of {region} MB, the value of the memory region size for the managed system.")]
    NotRegionMultiple {
        /// Attribute name.
        attr: &'static str,
        /// Rejected value in MB.
        value: u64,
        /// Region size in MB.
        region: u64,
    },
    /// An attribute that does not belong to the partition's processor mode.
    #[error("{attr} does not apply to proc_mode={mode}")]
    ModeMismatch {
        /// Attribute name.
        attr: &'static str,
        /// The processor mode in force.
        mode: ProcMode,
    },
    /// Virtual processors and processing units that do not fit together.
    #[error("{procs_attr}={procs} needs {units_attr} between {low} and {high}: each virtual processor carries 0.10 to 1.00 processing units (got {units})")]
    UnitsPerProc {
        /// Virtual processor attribute.
        procs_attr: &'static str,
        /// Virtual processors.
        procs: u32,
        /// Units attribute.
        units_attr: &'static str,
        /// Units given.
        units: ProcUnits,
        /// Lowest units that fit.
        low: ProcUnits,
        /// Highest units that fit.
        high: ProcUnits,
    },
    /// Committing this would overcommit the managed system.
    #[error(
        "not enough {resource} available: the request needs {needed} more, {available} available"
    )]
    Insufficient {
        /// `processing units` or `memory`.
        resource: &'static str,
        /// What the request adds, as text with unit.
        needed: String,
        /// What is free, as text with unit.
        available: String,
    },
    /// A running partition's QEMU was started with a lower maximum than the request needs.
    #[error("{attr}={value} is beyond what the running partition was activated with ({limit}); a new maximum takes effect at the next activation")]
    BeyondLaunch {
        /// Attribute.
        attr: &'static str,
        /// Requested value.
        value: String,
        /// The bound in force.
        limit: String,
    },
    /// Under TCG the running QEMU cannot plug more vCPUs.
    #[error("the running partition can take {left} more vCPU plug(s) and the request needs {needed}: under TCG (software emulation) QEMU never gives back an unplugged vCPU's translation context; shut the partition down and activate it again to reset this")]
    NoVcpuPlugsLeft {
        /// Plugs left.
        left: u32,
        /// Plugs the request needs.
        needed: u32,
    },
    /// The partition is between states; its resources can change once it settles.
    #[error("partition {name} is {state}; its resources can be changed dynamically once it is Running (or, with a changed profile, while Not Activated)")]
    NotSettled {
        /// Partition name.
        name: String,
        /// The state it is in now.
        state: String,
    },
    /// No storage object of that kind and name.
    #[error("{what} {name} does not exist")]
    NoSuch {
        /// `storage pool`, `virtual disk`, `adapter`, ...
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// A storage name already taken.
    #[error("{what} name {name} is already in use")]
    StorageNameInUse {
        /// What was being named.
        what: &'static str,
        /// The name asked for.
        name: String,
    },
    /// The object is in use and cannot be removed or reused.
    #[error("{what} {name} is in use: {by}")]
    InUse {
        /// What kind of object ("virtual disk", "storage pool").
        what: &'static str,
        /// The object's name.
        name: String,
        /// By what, and what to do.
        by: String,
    },
    /// An attribute that may change only while the partition is not running.
    #[error("{0} can be changed only while the partition is not running")]
    NotWhileRunning(&'static str),
    /// A dynamic (DLPAR) change outside the running partition's min..max.
    #[error("{attr}={value} is outside the running partition's range {min} to {max}")]
    OutsideDynamicRange {
        /// Attribute name.
        attr: &'static str,
        /// Requested value as text.
        value: String,
        /// Running minimum as text.
        min: String,
        /// Running maximum as text.
        max: String,
    },
    /// An operation the management partition does not allow.
    #[error("the management partition cannot be {0}")]
    ManagementPartition(&'static str),
    /// A partition that must be stopped first.
    #[error("partition {name} is {state}; it must be Not Activated to be {action}")]
    MustBeInactive {
        /// Partition name.
        name: String,
        /// The state it is in now.
        state: String,
        /// What was asked.
        action: &'static str,
    },
    /// A value ivm does not support.
    #[error("{attr}={value} is not supported: {reason}")]
    Unsupported {
        /// Attribute name.
        attr: &'static str,
        /// Rejected value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// Nothing to change.
    #[error("the change names no attribute to change")]
    EmptyChange,
    /// A backup that cannot be restored here.
    #[error("the backup {0}; nothing was changed")]
    Backup(String),
    /// A change request that names nothing to change; `give` says what it could name.
    #[error("nothing to change: give {give}")]
    NothingToChange {
        /// The options that change something.
        give: &'static str,
    },
    /// Two options that exclude each other were both given.
    #[error("give either {either} or {or}, not both")]
    Exclusive {
        /// One option.
        either: &'static str,
        /// The other.
        or: &'static str,
    },
    /// A time range whose start lies after its end.
    #[error("the start of the time range is after its end")]
    ReversedTimeRange,
    /// Physical volumes go into volume group pools only.
    #[error("{pool} is a file pool; physical volumes go into volume group pools")]
    NotAVolumeGroupPool {
        /// The pool named.
        pool: String,
    },
    /// A physical volume to take out of a pool that does not hold it.
    #[error("{hdisk} is not in storage pool {pool}")]
    NotInPool {
        /// The physical volume.
        hdisk: String,
        /// The pool named.
        pool: String,
    },
    /// Disk commands on an optical device.
    #[error("{vtd} is an optical device; media load with loadopt")]
    OpticalDevice {
        /// The virtual target device.
        vtd: String,
    },
    /// Disk commands on the media repository's backing device.
    #[error("{name} holds the virtual media library; use {instead}")]
    RepositoryDevice {
        /// The backing device.
        name: String,
        /// The command that does it.
        instead: &'static str,
    },
    /// Disk commands on the logical volume that holds a file pool.
    #[error("{name} holds the file pool {name}; remove the pool with rmsp {name}")]
    PoolVolume {
        /// The volume (named as its pool).
        name: String,
    },
    /// The prime administrator keeps its role.
    #[error("padmin is the prime administrator; its role cannot change")]
    PrimeAdminRole,
    /// A user that is never deleted.
    #[error("user {name} cannot be deleted")]
    Undeletable {
        /// The user.
        name: String,
    },
    /// No virtual Ethernet adapter in the slot.
    #[error("no adapter in slot {slot}")]
    NoAdapterInSlot {
        /// The slot named.
        slot: u32,
    },
    /// A running partition has no PCI Express port for the slot.
    #[error("slot {slot} has no PCI Express port in the running partition (a partition gets ports for its first {ported} adapter slots at activation); use one of those, or add the adapter while it is not running")]
    NoPortInSlot {
        /// The slot named.
        slot: u32,
        /// How many slots get ports.
        ported: u32,
    },
    /// A partition to remove still has virtual target devices.
    #[error("partition {name} has virtual target devices {}; remove them first (rmvdev -vtd NAME)", vtds.join(", "))]
    HasMappings {
        /// The partition.
        name: String,
        /// Its virtual target devices.
        vtds: Vec<String>,
    },
    /// A restore while partitions run.
    #[error("partitions {} are active; shut them down first (chsysstate -o shutdown)", names.join(", "))]
    PartitionsActive {
        /// The active partitions.
        names: Vec<String>,
    },
    /// The default storage pool stays until another is the default.
    #[error(
        "{pool} is the default storage pool; make another pool the default first (chsp -default)"
    )]
    DefaultPool {
        /// The default pool, which was to be removed.
        pool: String,
    },
    /// A physical volume the host does not show now.
    #[error("physical volume {name} ({id}) is not present; run cfgdev once it is attached")]
    NotPresent {
        /// Its hdisk name.
        name: String,
        /// Its identifier.
        id: String,
    },
    /// Logical volumes need device-mapper.
    #[error("volume group {vg} cannot hold logical volumes here: this host's kernel has no device-mapper; use a file pool")]
    NoDeviceMapper {
        /// The volume group.
        vg: String,
    },
    /// A live change that could not be undone is still pending on the partition.
    #[error("an earlier change of partition {name} was interrupted and could not be undone (the daemon's log says why); shut the partition down and activate it again")]
    InterruptedChange {
        /// The partition.
        name: String,
    },
    /// Under TCG, no translation buffer region is free for another vCPU thread.
    #[error("partition {name} runs under TCG and QEMU's translation buffer has no room for another processor now ({used_mb} of {capacity_mb} MB of generated code): a processor added now would stop the partition; try again later (QEMU empties the buffer when it fills) or activate the partition again")]
    TcgBufferFull {
        /// The partition.
        name: String,
        /// Generated code, MB.
        used_mb: u64,
        /// The buffer's capacity, MB.
        capacity_mb: u64,
    },
    /// A DLPAR add the partition's OS would not take: no guest agent to online it.
    #[error("partition {name} has no active RMC connection, so its operating system would not use the {what} added (ivm's RMC is the QEMU guest agent: install and start qemu-guest-agent in the partition), or force the change with --force")]
    NoRmc {
        /// The partition.
        name: String,
        /// `processors` or `memory`.
        what: &'static str,
    },
    /// The host has a Unix account of that name that ivm did not make.
    #[error("the host already has a Unix account {name} that ivm did not make; remove or rename it, or choose another user name")]
    ForeignAccount {
        /// The account.
        name: String,
    },
    /// SSH keys where ivm keeps no login accounts.
    #[error("ivm keeps no login accounts on this host (unix_accounts = false in ivm.toml), so there are no SSH keys to manage")]
    NoLoginAccounts,
    /// Activation of a partition that runs already.
    #[error("partition {name} is already {state}")]
    AlreadyActive {
        /// The partition.
        name: String,
        /// The partition's name.
        state: ivm_model::PartitionState,
    },
    /// A second shared memory pool.
    #[error("a shared memory pool exists already; change it with chhwres -r mempool -o s")]
    MemPoolExists,
    /// Media between states.
    #[error("optical media {name} is still being made or removed")]
    MediaBusy {
        /// The media.
        name: String,
    },
    /// A graphical console asked of a partition without a display adapter.
    #[error("partition {name} has no display adapter (display=none): its console is the virtual terminal (mkvt); for a screen, shut it down, chsyscfg -r prof -i \"lpar_name={name},display=vga\" (or virtio-gpu) and activate it")]
    NoDisplay {
        /// The partition.
        name: String,
    },
    /// An action that needs the partition running.
    #[error("partition {name} is {state}{why}")]
    NotRunning {
        /// The partition.
        name: String,
        /// The partition's name.
        state: ivm_model::PartitionState,
        /// What needs it running, as a clause after the state ("; only a running ...").
        why: &'static str,
    },
    /// A file a user named lies outside the directories ivm takes such files from.
    #[error("{attr}={given} is not in {dir}: ivm loads boot files only from that directory; copy the file there (as root) and name it relative to it")]
    BootFileOutside {
        /// Attribute.
        attr: String,
        /// What was given.
        given: String,
        /// The boot directory.
        dir: String,
    },
    /// A named file that does not exist.
    #[error("{attr}={given} does not exist in {dir}")]
    NoSuchFile {
        /// Attribute.
        attr: String,
        /// What was given.
        given: String,
        /// The directory looked in.
        dir: String,
    },
    /// A named file that is not a regular file, or not in UTF-8.
    #[error("{attr}={given} is not {what}")]
    NotAPlainFile {
        /// Attribute.
        attr: String,
        /// What was given.
        given: String,
        /// What it must be ("a regular file", "valid UTF-8").
        what: &'static str,
    },
    /// A pool path that is not a directory, not plain, or outside ivm's pool directories.
    #[error("{path} is not {what}")]
    PoolPath {
        /// The path given.
        path: String,
        /// What it must be.
        what: String,
    },
    /// A media source outside the directories ivm takes media from.
    #[error("file {given} is not a regular file in a directory ivm manages ({dirs}); copy it to {boot_dir} or upload it (POST /api/v1/storage/media/NAME)")]
    MediaSourceOutside {
        /// What was given.
        given: String,
        /// The directories looked in.
        dirs: String,
        /// The boot directory.
        boot_dir: String,
    },
    /// An upload that did not arrive as announced; nothing was kept.
    #[error("{0}")]
    Upload(UploadRefusal),
    /// The guest could not empty memory plugged above its boot memory; the removal was undone.
    #[error("partition {name} did not give back {mb} MB of the memory added above its boot memory: its kernel holds pages there (a kernel that onlines added memory into its normal zone, as a stock distribution does through its guest agent, often cannot empty it again). Nothing changed; remove the memory with the partition shut down (chsyscfg -r prof desired_mem), or keep such guests' DLPAR removals within what was added and later freed")]
    GuestKeepsMemory {
        /// The partition.
        name: String,
        /// MB asked back.
        mb: u64,
    },
    /// A disk size given for an import that is smaller than the image.
    #[error("image {image} holds {image_mb} MB, more than the {size_mb} MB given: give no size (the image's own) or at least {image_mb} MB")]
    ImageLargerThanDisk {
        /// The image's file name as given.
        image: String,
        /// MB the image holds (its virtual size, rounded up).
        image_mb: u64,
        /// MB given.
        size_mb: u64,
    },
    /// An image import into a pool that has no file or block device on this host.
    #[error(
        "storage pool {pool} is an RBD pool; import the image into a file or volume group pool"
    )]
    ImportPool {
        /// The RBD pool named.
        pool: String,
    },
    /// A migration holds the partition.
    #[error("partition {name} is migrating ({state}); wait for the migration to end, or stop it with migrlpar -o s (recover with migrlpar -o r)")]
    Migrating {
        /// The partition.
        name: String,
        /// The migration's state.
        state: String,
    },
    /// A partition that cannot move as it is, and why.
    #[error("partition {name} cannot migrate: {reason}")]
    NotMigratable {
        /// The partition.
        name: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The target host cannot take the partition, and why.
    #[error(
        "the target system {system} refused the migration{}: {reason}",
        of_partition(name)
    )]
    TargetRefuses {
        /// The target managed system.
        system: String,
        /// The partition.
        name: String,
        /// Why.
        reason: String,
    },
    /// The other host's ivm refused a step (its own message).
    #[error("{message} (the ivm at {ip})")]
    RemoteRefusal {
        /// The other host.
        ip: String,
        /// What it said.
        message: String,
    },
    /// An address or user name for another host that ivm will not pass to ssh.
    #[error("{attr} '{}' is not valid: {why}", given.escape_debug())]
    BadPeer {
        /// `--ip` or `-u`.
        attr: &'static str,
        /// What was given.
        given: String,
        /// What it must be.
        why: &'static str,
    },
    /// A Ceph pool that does not answer as `mksp -rbd` described it.
    #[error("cannot use Ceph pool {pool} at {monitors} as client.{user}: {cause}; check the monitors, the user, its key and that the pool exists")]
    CephUnusable {
        /// The Ceph pool.
        pool: String,
        /// The monitor addresses as given.
        monitors: String,
        /// The Ceph user.
        user: String,
        /// What Ceph's tools said.
        cause: String,
    },
    /// A password for another host that ssh cannot be given (never printed).
    #[error("the password for the other host is not valid: {why}")]
    BadPeerPassword {
        /// What is wrong with it.
        why: &'static str,
    },
    /// ssh could not log in to another host with the password given.
    #[error("cannot log in to {target}: {cause}; check the address, the user and the password")]
    PeerLogin {
        /// USER@HOST.
        target: String,
        /// What ssh said.
        cause: String,
    },
    /// The SSH trust with another host is missing or broken.
    #[error("HSCL3653 there is no working trust with {target}: {cause}; set it up with mkauthkeys --ip {ip} -u {user}")]
    NoTrust {
        /// USER@HOST.
        target: String,
        /// What ssh said.
        cause: String,
        /// The host.
        ip: String,
        /// The remote user ssh logs in as.
        user: String,
    },
    /// No migration where one was named.
    #[error("partition {name} is not migrating")]
    NotMigrating {
        /// The partition.
        name: String,
    },
}

fn of_partition(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" of partition {name}")
    }
}

/// How an upload failed; nothing of it was kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefusal {
    /// No body.
    #[error("an empty upload is no optical media; send the ISO image as the request body")]
    Empty,
    /// The stream broke.
    #[error("the upload broke off: {cause}; nothing was kept")]
    BrokeOff {
        /// What the connection said.
        cause: String,
    },
    /// More bytes than announced.
    #[error("more than the announced {len} bytes arrived; nothing was kept")]
    TooLong {
        /// Bytes announced.
        len: u64,
    },
    /// Fewer bytes than announced.
    #[error("{path}: {written} of {expected} bytes arrived; nothing was kept")]
    Short {
        /// The medium's file.
        path: String,
        /// Bytes announced.
        expected: u64,
        /// Bytes that arrived.
        written: u64,
    },
}

/// What kind of refusal a rule made, so each interface answers it the same way (HTTP status,
/// exit code) without knowing every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request is malformed or asks for what no state of the system allows.
    Invalid,
    /// What it names does not exist.
    NotFound,
    /// It conflicts with the present state (in use, running, taken).
    Conflict,
    /// It needs the partition running.
    NotRunning,
}

/// The refusal for shared memory without a pool.
pub(crate) fn shared_memory_without_pool() -> RuleError {
    RuleError::Unsupported {
        attr: "mem_mode",
        value: "shared".into(),
        reason: "this managed system has no shared memory pool; create one with \
                 chhwres -r mempool -o a, or use mem_mode=ded",
    }
}

impl RuleError {
    /// The kind of refusal; every variant says which (no default), so a new rule cannot be
    /// answered as the wrong kind by accident.
    pub fn kind(&self) -> RefusalKind {
        use RefusalKind::*;
        match self {
            RuleError::NoSuch { .. } => NotFound,
            RuleError::NotRunning { .. } => NotRunning,
            RuleError::InUse { .. }
            | RuleError::StorageNameInUse { .. }
            | RuleError::NotSettled { .. }
            | RuleError::NoVcpuPlugsLeft { .. }
            | RuleError::Insufficient { .. }
            | RuleError::NameInUse(_)
            | RuleError::IdInUse(_)
            | RuleError::NoFreeId(_)
            | RuleError::MustBeInactive { .. }
            | RuleError::NotWhileRunning(_)
            | RuleError::NoPortInSlot { .. }
            | RuleError::HasMappings { .. }
            | RuleError::PartitionsActive { .. }
            | RuleError::DefaultPool { .. }
            | RuleError::NotPresent { .. }
            | RuleError::NoDeviceMapper { .. }
            | RuleError::InterruptedChange { .. }
            | RuleError::NoRmc { .. }
            | RuleError::GuestKeepsMemory { .. }
            | RuleError::TcgBufferFull { .. }
            | RuleError::ForeignAccount { .. }
            | RuleError::NoLoginAccounts
            | RuleError::AlreadyActive { .. }
            | RuleError::MemPoolExists
            | RuleError::MediaBusy { .. }
            | RuleError::NoDisplay { .. }
            | RuleError::Migrating { .. }
            | RuleError::NotMigratable { .. }
            | RuleError::TargetRefuses { .. }
            | RuleError::NotMigrating { .. }
            | RuleError::NoTrust { .. }
            | RuleError::PeerLogin { .. }
            | RuleError::CephUnusable { .. }
            | RuleError::RemoteRefusal { .. } => Conflict,
            RuleError::Missing(_)
            | RuleError::InvalidName { .. }
            | RuleError::IdOutOfRange { .. }
            | RuleError::OutOfRange { .. }
            | RuleError::Order { .. }
            | RuleError::NotRegionMultiple { .. }
            | RuleError::ModeMismatch { .. }
            | RuleError::UnitsPerProc { .. }
            | RuleError::BeyondLaunch { .. }
            | RuleError::OutsideDynamicRange { .. }
            | RuleError::ManagementPartition(_)
            | RuleError::Unsupported { .. }
            | RuleError::EmptyChange
            | RuleError::Backup(_)
            | RuleError::NothingToChange { .. }
            | RuleError::Exclusive { .. }
            | RuleError::ReversedTimeRange
            | RuleError::NotAVolumeGroupPool { .. }
            | RuleError::NotInPool { .. }
            | RuleError::OpticalDevice { .. }
            | RuleError::RepositoryDevice { .. }
            | RuleError::PoolVolume { .. }
            | RuleError::PrimeAdminRole
            | RuleError::Undeletable { .. }
            | RuleError::NoAdapterInSlot { .. }
            | RuleError::BootFileOutside { .. }
            | RuleError::NoSuchFile { .. }
            | RuleError::NotAPlainFile { .. }
            | RuleError::PoolPath { .. }
            | RuleError::MediaSourceOutside { .. }
            | RuleError::ImageLargerThanDisk { .. }
            | RuleError::ImportPool { .. }
            | RuleError::Upload(_)
            | RuleError::BadPeer { .. }
            | RuleError::BadPeerPassword { .. } => Invalid,
        }
    }
}
