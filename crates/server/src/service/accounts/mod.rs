//! ivm users' Unix login accounts, the door for SSH clients (`ssh padmin@host 'lssyscfg ...'`):
//! each ivm user has an account whose login shell is ivm's restricted shell, made at start for
//! users that lack one and with the user, its password hash kept in step with ivm's (set from
//! the store's crypt hash), removed with the user. Only accounts ivm made are ever touched.

use ivm_host::accounts;
use ivm_store::UserRecord;

use super::{Service, ServiceError};
use crate::runtime::HostError;

impl Service {
    /// Makes or brings in step the login account of `rec` (when accounts are enabled): made
    /// if missing, its shell and password hash set (locked until ivm has a hash for it).
    pub(super) fn sync_login(&self, rec: &UserRecord) -> Result<(), ServiceError> {
        let Some(shell) = self.login_shell.as_deref() else {
            return Ok(());
        };
        let name = &rec.user.name;
        let host = |action: &'static str| {
            move |message: String| {
                ServiceError::Host(HostError::Account {
                    action,
                    name: name.to_string(),
                    message,
                })
            }
        };
        accounts::ensure_group().map_err(host("put in the ivm-users group"))?;
        match accounts::account(&self.host_root, name) {
            None => accounts::create_login(name, shell).map_err(host("create"))?,
            Some(a) if !a.is_ivm() => {
                return Err(ivm_rules::RuleError::ForeignAccount { name: name.clone() }.into())
            }
            Some(a) if a.shell != shell.to_string_lossy() => {
                accounts::set_shell(name, shell).map_err(host("set the shell of"))?
            }
            Some(_) => {}
        }
        if !accounts::in_ivm_group(&self.host_root, name) {
            accounts::join_ivm_group(name).map_err(host("put in the ivm-users group"))?;
        }
        let hash = if rec.unix_hash.is_empty() {
            "!"
        } else {
            rec.unix_hash.as_str()
        };
        if accounts::shadow_hash(&self.host_root, name).as_deref() != Some(hash) {
            accounts::set_password_hash(name, hash).map_err(host("set the password of"))?;
        }
        Ok(())
    }

    /// Removes the login account of a deleted user (one ivm made; the store no longer has the
    /// user, so its keys are gone and the daemon refuses its socket): locked first so nobody
    /// logs in meanwhile, then every process of the user ended, then removed. A step that fails
    /// leaves the account locked.
    pub(super) fn remove_login(&self, name: &str) -> Result<(), ServiceError> {
        if self.login_shell.is_none() {
            return Ok(());
        }
        let Some(a) = accounts::account(&self.host_root, name).filter(accounts::Account::is_ivm)
        else {
            return Ok(());
        };
        let host = |action: &'static str, message: String| {
            ServiceError::Host(HostError::Account {
                action,
                name: name.to_string(),
                message,
            })
        };
        accounts::set_password_hash(name, "!").map_err(|e| host("lock", e))?;
        accounts::lock_login(name).map_err(|e| host("lock", e))?;
        accounts::end_processes(a.uid, std::time::Duration::from_secs(10))
            .map_err(|e| host("end the processes of", e))?;
        accounts::delete_login(name).map_err(|e| host("remove", e))
    }

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
        if self.login_shell.is_none() {
            return Err(ivm_rules::RuleError::NoLoginAccounts.into());
        }
        Ok(())
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
