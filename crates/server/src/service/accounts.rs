//! ivm users' Unix login accounts, the door for SSH clients (`ssh padmin@host 'lssyscfg ...'`):
//! each ivm user has an account whose login shell is ivm's restricted shell, made at start for
//! users that lack one and with the user, its password hash kept in step with ivm's (set from
//! the store's crypt hash), removed with the user. Only accounts ivm made are ever touched.

use std::path::Path;

use ivm_host::accounts;
use ivm_store::UserRecord;

use super::{Service, ServiceError};

impl Service {
    /// Makes or brings in step the login account of `rec` (when accounts are enabled): made
    /// if missing, its shell and password hash set (locked until ivm has a hash for it).
    pub(super) fn sync_login(&self, rec: &UserRecord) -> Result<(), ServiceError> {
        let Some(shell) = self.login_shell.as_deref() else {
            return Ok(());
        };
        let name = &rec.user.name;
        match accounts::account(Path::new("/"), name) {
            None => accounts::create_login(name, shell).map_err(ServiceError::Host)?,
            Some(a) if !a.is_ivm() => {
                return Err(ServiceError::Conflict(format!(
                    "the host already has a Unix account {name} that ivm did not make; remove or rename it, or choose another user name"
                )))
            }
            Some(a) if a.shell != shell.to_string_lossy() => {
                accounts::set_shell(name, shell).map_err(ServiceError::Host)?
            }
            Some(_) => {}
        }
        let hash = if rec.unix_hash.is_empty() {
            "!"
        } else {
            rec.unix_hash.as_str()
        };
        if accounts::shadow_hash(Path::new("/"), name).as_deref() != Some(hash) {
            accounts::set_password_hash(name, hash).map_err(ServiceError::Host)?;
        }
        Ok(())
    }

    /// Removes the login account of a deleted user (one ivm made): locked first, so a failed
    /// removal still lets no one in.
    pub(super) fn remove_login(&self, name: &str) {
        if self.login_shell.is_none() {
            return;
        }
        match accounts::account(Path::new("/"), name) {
            Some(a) if a.is_ivm() => {
                if let Err(e) = accounts::set_password_hash(name, "!")
                    .and_then(|()| accounts::delete_login(name))
                {
                    tracing::warn!(user = name, error = %e, "cannot remove a login account");
                }
            }
            _ => {}
        }
    }

    /// A user's SSH public keys (their own, or anyone's for View/Modify users).
    pub fn authorized_keys(
        &self,
        actor: &super::Actor,
        name: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let a = self.login_account(actor, name)?;
        Ok(accounts::authorized_keys(&a.home))
    }

    /// `mkauthkeys`: replaces a user's SSH public keys (each one line: type, key, comment).
    pub fn set_authorized_keys(
        &self,
        actor: &super::Actor,
        name: &str,
        keys: &[String],
    ) -> Result<(), ServiceError> {
        self.logged(actor, "change SSH keys", name, || {
            let a = self.login_account(actor, name)?;
            for k in keys {
                ivm_rules::validate_ssh_key(k)?;
            }
            accounts::write_authorized_keys(&a.home, (a.uid, a.gid), keys).map_err(|e| {
                ServiceError::Host(format!("cannot write the SSH keys of {name}: {e}"))
            })?;
            Ok(((), name.to_string()))
        })
    }

    fn login_account(
        &self,
        actor: &super::Actor,
        name: &str,
    ) -> Result<accounts::Account, ServiceError> {
        if name != actor.user {
            actor.require_modify()?;
        }
        if self.store.read(|tx| tx.user(name))?.is_none() {
            return Err(ServiceError::NoSuchUser(name.into()));
        }
        if self.login_shell.is_none() {
            return Err(ServiceError::Conflict(
                "ivm keeps no login accounts on this host (unix_accounts = false in ivm.toml), so there are no SSH keys to manage".into(),
            ));
        }
        accounts::account(Path::new("/"), name)
            .filter(accounts::Account::is_ivm)
            .ok_or_else(|| {
                ServiceError::Conflict(format!(
                    "user {name} has no login account made by ivm (the daemon's log says why)"
                ))
            })
    }

    /// At start: every ivm user gets its login account, in step with its password.
    pub fn ensure_login_accounts(&self) {
        if self.login_shell.is_none() {
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
            if let Err(e) = self.sync_login(rec) {
                tracing::warn!(user = rec.user.name, error = %e, "no SSH login for this user");
            }
        }
    }
}
