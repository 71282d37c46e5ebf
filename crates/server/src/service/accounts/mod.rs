//! ivm users' Unix login accounts, the door for SSH clients (`ssh padmin@host 'lssyscfg ...'`):
//! each ivm user has an account whose login shell is ivm's restricted shell, made at start for
//! users that lack one and with the user, its password hash kept in step with ivm's (set from
//! the store's crypt hash), removed with the user. Only accounts ivm made are ever touched.
//!
//! The component `Accounts` talks to the host through `AccountHost`, so its undo paths are
//! unit-tested against accounts in memory (`fake`).

#[cfg(test)]
pub(crate) mod fake;
mod host;

use std::path::PathBuf;
use std::sync::Arc;

use ivm_store::UserRecord;

use super::steps::Ledger;
use super::{Service, ServiceError};
use crate::runtime::HostError;

pub(crate) use host::{AccountHost, LinuxAccounts};

/// ivm users' login accounts on the host.
pub(super) struct Accounts {
    /// The login shell (ivm's restricted shell); `None` where ivm keeps no accounts.
    shell: Option<PathBuf>,
    host: Arc<dyn AccountHost>,
}

/// A failed account tool, as the service reports it.
fn failed<'a>(action: &'static str, name: &'a str) -> impl FnOnce(String) -> ServiceError + 'a {
    move |message| {
        ServiceError::Host(HostError::Account {
            action,
            name: name.to_string(),
            message,
        })
    }
}

impl Accounts {
    /// The component on `host`, keeping no accounts until given a shell.
    pub fn new(host: Arc<dyn AccountHost>) -> Accounts {
        Accounts { shell: None, host }
    }

    /// Keeps accounts with login shell `shell`.
    pub fn with_shell(self, shell: PathBuf) -> Accounts {
        Accounts {
            shell: Some(shell),
            ..self
        }
    }

    /// Whether ivm keeps login accounts.
    pub fn enabled(&self) -> bool {
        self.shell.is_some()
    }

    /// Whether `uid` is the login account ivm made for `name`.
    pub fn is_login_of(&self, name: &str, uid: u32) -> bool {
        self.host
            .account(name)
            .is_some_and(|a| a.is_ivm() && a.uid == uid)
    }

    /// Makes or brings in step the login account of `rec` (when accounts are enabled): made
    /// if missing, its shell and password hash set (locked until ivm has a hash for it). A
    /// failure puts back what this call changed: an account it made is removed, a shell or
    /// hash it set is set as it was.
    pub fn sync(&self, rec: &UserRecord) -> Result<(), ServiceError> {
        let Some(shell) = self.shell.as_deref() else {
            return Ok(());
        };
        let (h, name) = (&self.host, rec.user.name.as_str());
        let mut taken = Ledger::new("accounts", name.to_string());
        taken.step(
            "group",
            || {
                h.ensure_group()
                    .map_err(failed("put in the ivm-users group", name))
            },
            || {},
        )?;
        match h.account(name) {
            None => taken.step(
                "create",
                || h.create_login(name, shell).map_err(failed("create", name)),
                || {
                    // Only an account ivm made: one that appeared meanwhile under the same
                    // name (and made useradd fail) is someone else's and stays.
                    if h.account(name).is_some_and(|a| a.is_ivm()) {
                        let _ = h.delete_login(name);
                    }
                },
            )?,
            Some(a) if !a.is_ivm() => {
                return Err(ivm_rules::RuleError::ForeignAccount {
                    name: name.to_string(),
                }
                .into())
            }
            Some(a) if a.shell != shell.to_string_lossy() => taken.step(
                "shell",
                || {
                    h.set_shell(name, shell)
                        .map_err(failed("set the shell of", name))
                },
                move || {
                    let _ = h.set_shell(name, std::path::Path::new(&a.shell));
                },
            )?,
            Some(_) => {}
        }
        if !h.in_ivm_group(name) {
            taken.step(
                "join",
                || {
                    h.join_ivm_group(name)
                        .map_err(failed("put in the ivm-users group", name))
                },
                || {},
            )?;
        }
        let hash = if rec.unix_hash.is_empty() {
            "!"
        } else {
            rec.unix_hash.as_str()
        };
        let old = h.shadow_hash(name);
        if old.as_deref() != Some(hash) {
            taken.step(
                "password",
                || {
                    h.set_password_hash(name, hash)
                        .map_err(failed("set the password of", name))
                },
                move || {
                    if let Some(old) = &old {
                        let _ = h.set_password_hash(name, old);
                    }
                },
            )?;
        }
        taken.commit();
        Ok(())
    }

    /// Removes the login account of a deleted user (one ivm made; the store no longer has the
    /// user, so its keys are gone and the daemon refuses its socket): locked first so nobody
    /// logs in meanwhile, then every process of the user ended, then removed. A step that fails
    /// leaves the account locked.
    pub fn remove(&self, name: &str) -> Result<(), ServiceError> {
        if self.shell.is_none() {
            return Ok(());
        }
        let h = &self.host;
        let Some(a) = h.account(name).filter(ivm_host::accounts::Account::is_ivm) else {
            return Ok(());
        };
        h.set_password_hash(name, "!")
            .map_err(failed("lock", name))?;
        h.lock_login(name).map_err(failed("lock", name))?;
        h.end_processes(a.uid, std::time::Duration::from_secs(10))
            .map_err(failed("end the processes of", name))?;
        h.delete_login(name).map_err(failed("remove", name))
    }
}

impl Service {
    /// A user's SSH public keys.
    pub fn authorized_keys(
        &self,
        _actor: &super::Actor,
        name: &str,
    ) -> Result<Vec<String>, ServiceError> {
        self.store.read(|tx| {
            self.login_user(tx, name)?;
            Ok(tx.ssh_keys(name)?)
        })
    }

    /// `mkauthkeys`: replaces a user's SSH public keys (each one line: type, key, comment).
    /// sshd reads them from the store (`ivm authorized-keys`), so the next login takes them.
    pub fn set_authorized_keys(
        &self,
        actor: &super::Actor,
        name: &str,
        keys: &[String],
    ) -> Result<(), ServiceError> {
        self.logged_write(actor, "change SSH keys", name, |tx| {
            self.login_user(tx, name)?;
            for k in keys {
                ivm_rules::validate_ssh_key(k)?;
            }
            tx.set_ssh_keys(name, keys)?;
            Ok(((), name.to_string()))
        })
    }

    /// Refuses key management for a user that does not exist, or where ivm keeps no logins.
    fn login_user(&self, tx: &ivm_store::Tx, name: &str) -> Result<(), ServiceError> {
        if tx.user(name)?.is_none() {
            return Err(ServiceError::NoSuchUser(name.into()));
        }
        if !self.accounts.enabled() {
            return Err(ivm_rules::RuleError::NoLoginAccounts.into());
        }
        Ok(())
    }

    /// At start: every ivm user gets its login account, in step with its password.
    pub fn ensure_login_accounts(&self) {
        if !self.accounts.enabled() {
            return;
        }
        let users = match self.store.read(|tx| tx.users()) {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read users for their login accounts");
                return;
            }
        };
        for rec in &users {
            if let Err(e) = self.accounts.sync(rec) {
                tracing::warn!(user = rec.user.name, error = %e, "no SSH login for this user");
            }
        }
    }
}
