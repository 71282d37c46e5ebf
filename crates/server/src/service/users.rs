//! Users, logins, sessions and API tokens.

use ivm_model::{Role, User, PRIME_ADMIN};
use ivm_store::{SessionRecord, StoreError, UserRecord};

use super::{now_ms, Actor, AuthError, Service, ServiceError};
use crate::auth::{
    hash_password, new_password, new_token, token_hash, unix_password_hash, verify_password,
};
use ivm_rules::RuleError;

/// A browser session ends after this long without a request.
pub const SESSION_IDLE_TIMEOUT_MS: i64 = 30 * 60 * 1000;
/// Uses closer together than this are not written back, to spare the disk.
const TOUCH_INTERVAL_MS: i64 = 60 * 1000;

/// A hash no password matches in practice, checked for unknown users so that they take as
/// long as known ones.
fn unknown_user_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&new_password()))
}

fn bad_login() -> ServiceError {
    ServiceError::Unauthorized(AuthError::BadLogin)
}

impl Service {
    /// Creates padmin with a random password when it does not exist; returns that password.
    pub(super) fn ensure_padmin(&self) -> Result<Option<String>, ServiceError> {
        // Made now, so that the first unknown user's login costs no more than any other.
        unknown_user_hash();
        self.store
            .write(|tx| {
                if tx.user(PRIME_ADMIN)?.is_some() {
                    return Ok(None);
                }
                let password = new_password();
                let rec = UserRecord {
                    user: User {
                        name: PRIME_ADMIN.into(),
                        role: Role::ViewModify,
                    },
                    password_hash: hash_password(&password),
                    unix_hash: unix_password_hash(&password),
                };
                tx.put_user(&rec, now_ms())?;
                Ok::<_, StoreError>(Some(password))
            })
            .map_err(Into::into)
    }

    /// Checks a user's password and opens a browser session; returns the token. A run of
    /// failures from one address or for one user earns a wait (refused without hashing
    /// meanwhile), and an unknown user costs the same hashing as a known one, so neither
    /// guessing nor timing tells which names exist.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        addr: Option<std::net::IpAddr>,
    ) -> Result<(String, User), ServiceError> {
        let now = now_ms();
        let wait = self.logins.wait_secs(addr, name, now);
        if wait > 0 {
            return Err(ServiceError::TooManyLogins {
                retry_after_secs: wait,
            });
        }
        let rec = self.store.read(|tx| tx.user(name))?;
        let hash = rec
            .as_ref()
            .map_or_else(|| unknown_user_hash(), |r| r.password_hash.as_str());
        let matches = verify_password(password, hash);
        let Some(rec) = rec.filter(|_| matches) else {
            self.logins.failed(addr, name, now_ms());
            return Err(bad_login());
        };
        self.logins.succeeded(addr, name);
        let token = self.open_session(&rec.user.name, Some(SESSION_IDLE_TIMEOUT_MS))?;
        Ok((token, rec.user))
    }

    /// Issues a token for scripts that does not expire while its user exists.
    pub fn create_api_token(&self, actor: &Actor) -> Result<String, ServiceError> {
        self.open_session(&actor.user, None)
    }

    fn open_session(
        &self,
        user: &str,
        idle_timeout_ms: Option<i64>,
    ) -> Result<String, ServiceError> {
        let token = new_token();
        let now = now_ms();
        let rec = SessionRecord {
            token_hash: token_hash(&token),
            user: user.to_string(),
            created_ms: now,
            last_used_ms: now,
            idle_timeout_ms,
        };
        self.store.write(|tx| tx.put_session(&rec))?;
        Ok(token)
    }

    /// Resolves a session or API token to its user, ending sessions that sat idle too long.
    pub fn authenticate(&self, token: &str) -> Result<Actor, ServiceError> {
        let hash = token_hash(token);
        let now = now_ms();
        let expired = || ServiceError::Unauthorized(AuthError::SessionExpired);
        let (session, user) = self
            .store
            .read(|tx| {
                let Some(s) = tx.session(&hash)? else {
                    return Ok::<_, StoreError>(None);
                };
                let user = tx.user(&s.user)?;
                Ok(user.map(|u| (s, u)))
            })?
            .ok_or_else(expired)?;
        if session
            .idle_timeout_ms
            .is_some_and(|t| now - session.last_used_ms > t)
        {
            self.store.write(|tx| tx.delete_session(&hash))?;
            return Err(expired());
        }
        if now - session.last_used_ms > TOUCH_INTERVAL_MS {
            self.store.write(|tx| tx.touch_session(&hash, now))?;
        }
        Ok(Actor {
            user: user.user.name,
            role: user.user.role,
            session: Some(hash),
        })
    }

    /// Whether the session the actor came with still exists (streams check it as they run).
    pub fn session_alive(&self, actor: &Actor) -> Result<bool, ServiceError> {
        match &actor.session {
            None => Ok(true),
            Some(hash) => {
                let now = now_ms();
                Ok(self
                    .store
                    .read(|tx| tx.session(hash))?
                    .is_some_and(|s| s.idle_timeout_ms.is_none_or(|t| now - s.last_used_ms <= t)))
            }
        }
    }

    /// Whether the actor may still take actions declared `access`: its user exists, its session
    /// (if it came with one) is open, and its role now allows it. Long-lived connections (the
    /// console relays) ask as they run, so a role lowered or a user removed ends them.
    pub fn still_may(
        &self,
        actor: &Actor,
        access: ivm_model::Access,
    ) -> Result<bool, ServiceError> {
        if !self.session_alive(actor)? {
            return Ok(false);
        }
        let Some(rec) = self.store.read(|tx| tx.user(&actor.user))? else {
            return Ok(false);
        };
        Ok(ivm_rules::may(
            access,
            Some((&rec.user.name, rec.user.role)),
            None,
        ))
    }

    /// Ends the session the actor came with.
    pub fn logout(&self, actor: &Actor) -> Result<(), ServiceError> {
        if let Some(hash) = &actor.session {
            self.store.write(|tx| tx.delete_session(hash))?;
        }
        Ok(())
    }

    /// The ivm user a local Unix user acts as: root and `padmin` act as padmin, any other Unix
    /// user as the ivm user of the same name (where ivm keeps login accounts, only through the
    /// account ivm made).
    pub fn actor_for_unix_user(
        &self,
        uid: u32,
        unix_name: Option<&str>,
    ) -> Result<Actor, ServiceError> {
        let name = match (uid, unix_name) {
            (0, _) => PRIME_ADMIN,
            (_, Some(n)) => n,
            (_, None) => return Err(AuthError::NamelessUnixUser { uid }.into()),
        };
        // Where ivm keeps login accounts, only those (and root) speak for an ivm user: a host
        // account that happens to share an ivm user's name is not that user.
        if uid != 0 && self.accounts.enabled() && !self.accounts.is_login_of(name, uid) {
            return Err(AuthError::NotALoginAccount {
                name: name.to_string(),
            }
            .into());
        }
        let rec = self.store.read(|tx| tx.user(name))?.ok_or_else(|| {
            ServiceError::from(AuthError::NoIvmUser {
                name: name.to_string(),
            })
        })?;
        Ok(Actor {
            user: rec.user.name,
            role: rec.user.role,
            session: None,
        })
    }

    /// Every user (View/Modify only).
    pub fn users(&self, _actor: &Actor) -> Result<Vec<User>, ServiceError> {
        Ok(self
            .store
            .read(|tx| tx.users())?
            .into_iter()
            .map(|r| r.user)
            .collect())
    }

    /// Creates a user with a role and password.
    pub fn create_user(
        &self,
        actor: &Actor,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<User, ServiceError> {
        self.logged(actor, "create user", name, || {
            let rec = self.store.write(|tx| {
                ivm_rules::validate_user_name(name)?;
                ivm_rules::validate_password(password)?;
                if tx.user(name)?.is_some() {
                    return Err(ServiceError::UserExists(name.into()));
                }
                let rec = UserRecord {
                    user: User {
                        name: name.into(),
                        role,
                    },
                    password_hash: hash_password(password),
                    unix_hash: unix_password_hash(password),
                };
                tx.put_user(&rec, now_ms())?;
                Ok(rec)
            })?;
            // The login account, or no user at all.
            if let Err(e) = self.accounts.sync(&rec) {
                self.store.write(|tx| tx.delete_user(name))?;
                return Err(e);
            }
            Ok((rec.user, name.to_string()))
        })
    }

    /// Changes a user's role; padmin stays View/Modify.
    pub fn change_role(&self, actor: &Actor, name: &str, role: Role) -> Result<User, ServiceError> {
        self.logged_write(actor, "change user role", name, |tx| {
            let mut rec = tx
                .user(name)?
                .ok_or_else(|| ServiceError::NoSuchUser(name.into()))?;
            if name == PRIME_ADMIN && role != Role::ViewModify {
                return Err(RuleError::PrimeAdminRole.into());
            }
            rec.user.role = role;
            tx.put_user(&rec, now_ms())?;
            Ok((rec.user, name.to_string()))
        })
    }

    /// Deletes a user (padmin and oneself cannot be): first from the store, so its sessions,
    /// keys and socket access end at once, then its login account (locked, its processes
    /// ended, removed). A login account that cannot be removed stays locked and fails the task.
    pub fn delete_user(&self, actor: &Actor, name: &str) -> Result<(), ServiceError> {
        self.logged(actor, "delete user", name, || {
            self.store.write(|tx| {
                if name == PRIME_ADMIN || name == actor.user {
                    return Err(RuleError::Undeletable {
                        name: name.to_string(),
                    }
                    .into());
                }
                if !tx.delete_user(name)? {
                    return Err(ServiceError::NoSuchUser(name.into()));
                }
                Ok(())
            })?;
            self.accounts.remove(name)?;
            Ok(((), name.to_string()))
        })
    }

    /// Sets a password: one's own, or anyone's for View/Modify users. Other sessions of that
    /// user end; the caller's own session stays.
    pub fn set_password(
        &self,
        actor: &Actor,
        name: &str,
        password: &str,
    ) -> Result<(), ServiceError> {
        self.logged(actor, "change password", name, || {
            let (old, rec) = self.store.write(|tx| {
                ivm_rules::validate_password(password)?;
                let old = tx
                    .user(name)?
                    .ok_or_else(|| ServiceError::NoSuchUser(name.into()))?;
                let mut rec = old.clone();
                rec.password_hash = hash_password(password);
                rec.unix_hash = unix_password_hash(password);
                tx.put_user(&rec, now_ms())?;
                let keep = if name == actor.user {
                    actor.session.as_deref()
                } else {
                    None
                };
                tx.delete_sessions_of(name, keep)?;
                Ok::<_, ServiceError>((old, rec))
            })?;
            // The SSH login follows in the same step, or the old password stays everywhere.
            if let Err(e) = self.accounts.sync(&rec) {
                self.store.write(|tx| tx.put_user(&old, now_ms()))?;
                return Err(e);
            }
            Ok(((), name.to_string()))
        })
    }

    /// Sets a password from the host itself (`ivm passwd`, run as root), creating padmin if needed.
    pub fn set_password_local(&self, name: &str, password: &str) -> Result<(), ServiceError> {
        let root = Actor {
            user: PRIME_ADMIN.into(),
            role: Role::ViewModify,
            session: None,
        };
        self.set_password(&root, name, password)
    }
}

#[cfg(test)]
mod tests {
    use argon2::PasswordHash;

    use super::*;
    use crate::auth::hash_password;

    /// An unknown user's login verifies against a hash of the same algorithm, version and cost
    /// as a real user's, so it does the same work (the timing is printed by the API test, not
    /// asserted: one sample on a shared machine says nothing).
    #[test]
    fn the_unknown_user_hash_costs_what_a_real_one_does() {
        let real = hash_password("a-real-password");
        let real = PasswordHash::new(&real).unwrap();
        let unknown = PasswordHash::new(unknown_user_hash()).unwrap();
        assert_eq!(unknown.algorithm, real.algorithm);
        assert_eq!(unknown.version, real.version);
        assert_eq!(unknown.params, real.params);
        assert_eq!(
            unknown.hash.map(|h| h.len()),
            real.hash.map(|h| h.len()),
            "same output length"
        );
        assert!(!verify_password("", unknown_user_hash()));
    }
}
