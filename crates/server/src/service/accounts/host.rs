//! What the accounts component asks of the host, as a trait: the Linux implementation reads
//! the passwd, shadow and group files below a root and changes them with the shadow tools
//! (`ivm_host::accounts`); the unit tests give the component accounts in memory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ivm_host::accounts::{self, Account};

/// Unix login accounts, as the accounts component uses them. Failures are the tool's message.
pub(crate) trait AccountHost: Send + Sync {
    /// Account `name`, if the passwd file has it.
    fn account(&self, name: &str) -> Option<Account>;
    /// Makes login account `name` (ivm's comment, a home, `shell`), its password locked.
    fn create_login(&self, name: &str, shell: &Path) -> Result<(), String>;
    /// Sets the login shell of `name`.
    fn set_shell(&self, name: &str, shell: &Path) -> Result<(), String>;
    /// Removes login account `name` and its home.
    fn delete_login(&self, name: &str) -> Result<(), String>;
    /// The password hash the shadow file has for `name`.
    fn shadow_hash(&self, name: &str) -> Option<String>;
    /// Sets the password hash of `name` (`!` locks it).
    fn set_password_hash(&self, name: &str, hash: &str) -> Result<(), String>;
    /// Makes the `ivm-users` group when missing.
    fn ensure_group(&self) -> Result<(), String>;
    /// Whether `name` is in the `ivm-users` group.
    fn in_ivm_group(&self, name: &str) -> bool;
    /// Puts `name` in the `ivm-users` group.
    fn join_ivm_group(&self, name: &str) -> Result<(), String>;
    /// Locks `name` for every kind of login (password and expiry).
    fn lock_login(&self, name: &str) -> Result<(), String>;
    /// Ends every process of `uid`, waiting up to `timeout`.
    fn end_processes(&self, uid: u32, timeout: Duration) -> Result<usize, String>;
}

/// The host's accounts, read below `root`.
pub(crate) struct LinuxAccounts {
    /// Where `etc/passwd`, `etc/shadow` and `etc/group` are read.
    pub root: PathBuf,
}

impl AccountHost for LinuxAccounts {
    fn account(&self, name: &str) -> Option<Account> {
        accounts::account(&self.root, name)
    }
    fn create_login(&self, name: &str, shell: &Path) -> Result<(), String> {
        accounts::create_login(name, shell)
    }
    fn set_shell(&self, name: &str, shell: &Path) -> Result<(), String> {
        accounts::set_shell(name, shell)
    }
    fn delete_login(&self, name: &str) -> Result<(), String> {
        accounts::delete_login(name)
    }
    fn shadow_hash(&self, name: &str) -> Option<String> {
        accounts::shadow_hash(&self.root, name)
    }
    fn set_password_hash(&self, name: &str, hash: &str) -> Result<(), String> {
        accounts::set_password_hash(name, hash)
    }
    fn ensure_group(&self) -> Result<(), String> {
        accounts::ensure_group()
    }
    fn in_ivm_group(&self, name: &str) -> bool {
        accounts::in_ivm_group(&self.root, name)
    }
    fn join_ivm_group(&self, name: &str) -> Result<(), String> {
        accounts::join_ivm_group(name)
    }
    fn lock_login(&self, name: &str) -> Result<(), String> {
        accounts::lock_login(name)
    }
    fn end_processes(&self, uid: u32, timeout: Duration) -> Result<usize, String> {
        accounts::end_processes(uid, timeout)
    }
}
