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
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
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
    /// A whole disk the host holds open (mounted, in a volume group) cannot go to a partition.
    #[error("{what} ({}) cannot be opened for the partition: {source}; is the host using it?", path.display())]
    DeviceBusy {
        /// The disk's ivm name.
        what: String,
        /// Its device.
        path: std::path::PathBuf,
        /// What the kernel said.
        source: std::io::Error,
    },
    /// An image that cannot be imported as it is (its format, what it refers to, who may
    /// read it), with what to do.
    #[error(transparent)]
    BadImage(ivm_storage::image::ImageError),
    /// The store failed.
    #[error("the configuration store could not complete the request and nothing was changed; retry, and if it fails again check the disk of the data directory and the daemon's log")]
    Store(#[source] StoreError),
}

/// Why a caller could not be identified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Neither a session cookie nor a bearer token.
    #[error("log in first: no session cookie or bearer token")]
    NoCredentials,
    /// A wrong user name or password (which of the two is not said).
    #[error("invalid user name or password")]
    BadLogin,
    /// A session that ended or a token that was never issued.
    #[error("the session has expired or is not valid; log in again")]
    SessionExpired,
    /// The Unix socket's peer credentials could not be read.
    #[error("cannot read the peer's credentials: {cause}")]
    NoPeerCredentials {
        /// What the kernel or the lookup said.
        cause: String,
    },
    /// A Unix socket peer whose UID has no account name.
    #[error("Unix user {uid} has no name")]
    NamelessUnixUser {
        /// The peer's UID.
        uid: u32,
    },
    /// A Unix account that shares an ivm user's name but is not ivm's login account.
    #[error("Unix user {name} is not an ivm login account")]
    NotALoginAccount {
        /// The account.
        name: String,
    },
    /// A Unix account with no ivm user of its name.
    #[error("Unix user {name} has no ivm account")]
    NoIvmUser {
        /// The account.
        name: String,
    },
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        tracing::error!(error = %e, "store failure");
        ServiceError::Store(e)
    }
}

/// A host driver's failure as the service reports it.
pub(super) fn host<E: Into<crate::runtime::HostError>>(e: E) -> ServiceError {
    ServiceError::Host(e.into())
}
