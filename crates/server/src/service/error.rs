//! What the service tells a caller that went wrong.

use ivm_rules::RuleError;
use ivm_store::StoreError;

/// A refused or failed request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No partition with that ID or name.
    #[error("HSCL8012 The partition {0} does not exist.")]
    NoSuchPartition(String),
    /// No user with that name.
    #[error("user {0} does not exist")]
    NoSuchUser(String),
    /// A user of that name exists already.
    #[error("user {0} already exists")]
    UserExists(String),
    /// The request breaks a resource rule.
    #[error("{0}")]
    Rule(#[from] RuleError),
    /// The caller's role does not allow it.
    #[error("HSCL350B The user does not have the appropriate authority.")]
    Forbidden,
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// A request that is malformed in a way the rules do not cover.
    #[error("{0}")]
    Invalid(String),
    /// The partition must be running for this.
    #[error("{0}")]
    NotRunning(String),
    /// The request conflicts with the partition's state.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed logins from this address or for this user: wait before trying again.
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    TooManyLogins {
        /// Seconds until a login is taken again.
        retry_after_secs: u64,
    },
    /// Another virtual terminal session is open.
    #[error("Virtual terminal is already connected")]
    ConsoleBusy,
    /// The host could not carry the request out; the cause is kept.
    #[error(transparent)]
    Host(#[from] crate::runtime::HostError),
    /// The store failed.
    #[error("the configuration store could not complete the request and nothing was changed; retry, and if it fails again check the disk of the data directory and the daemon's log")]
    Store(#[source] StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        tracing::error!(error = %e, "store failure");
        ServiceError::Store(e)
    }
}
