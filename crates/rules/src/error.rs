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
        /// Its state.
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
        /// The name.
        name: String,
    },
    /// The object is in use and cannot be removed or reused.
    #[error("{what} {name} is in use: {by}")]
    InUse {
        /// What.
        what: &'static str,
        /// Its name.
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
        /// Its state.
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
}
