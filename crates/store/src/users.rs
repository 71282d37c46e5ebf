//! User rows.

use ivm_model::{Role, User};
use rusqlite::{params, OptionalExtension};

use crate::tx::{corrupt, Tx};
use crate::StoreError;

/// A user as stored, with its password hash (PHC string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Name and role.
    pub user: User,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// The same password as a crypt(3) SHA-512 string for the user's Unix login account
    /// (empty until a password is set through ivm).
    pub unix_hash: String,
}

impl Tx<'_> {
    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT name, role, password_hash, unix_hash FROM users ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        rows.map(|r| record(r?)).collect()
    }

    /// One user by name.
    pub fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = self
            .tx
            .query_row(
                "SELECT name, role, password_hash, unix_hash FROM users WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(record).transpose()
    }

    /// Inserts a user, or replaces its role and hash.
    pub fn put_user(&self, rec: &UserRecord, now_ms: i64) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO users (name, role, password_hash, unix_hash, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
             unix_hash = excluded.unix_hash",
            params![rec.user.name, rec.user.role.as_str(), rec.password_hash, rec.unix_hash, now_ms],
        )?;
        Ok(())
    }

    /// Deletes a user and its sessions; true when it existed.
    pub fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .execute("DELETE FROM users WHERE name = ?1", [name])?
            > 0)
    }
}

fn record(
    (name, role, password_hash, unix_hash): (String, String, String, String),
) -> Result<UserRecord, StoreError> {
    let role = Role::parse(&role)
        .ok_or_else(|| corrupt(format!("user {name} has unknown role {role}")))?;
    Ok(UserRecord {
        user: User { name, role },
        password_hash,
        unix_hash,
    })
}

impl Tx<'_> {
    /// A user's SSH public keys, in the order they were given.
    pub fn ssh_keys(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT key FROM ssh_keys WHERE user = ?1 ORDER BY position")?;
        let rows = stmt.query_map([user], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replaces a user's SSH public keys.
    pub fn set_ssh_keys(&self, user: &str, keys: &[String]) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM ssh_keys WHERE user = ?1", [user])?;
        for (i, k) in keys.iter().enumerate() {
            self.tx.execute(
                "INSERT INTO ssh_keys (user, position, key) VALUES (?1, ?2, ?3)",
                params![user, i as i64, k],
            )?;
        }
        Ok(())
    }
}

/// A user's SSH public keys read straight from the database file, opened read-only: what
/// sshd's `AuthorizedKeysCommand` (`ivm authorized-keys`) prints, with or without a daemon.
pub fn ssh_keys_in(db: &std::path::Path, user: &str) -> Result<Vec<String>, StoreError> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mut stmt = conn.prepare("SELECT key FROM ssh_keys WHERE user = ?1 ORDER BY position")?;
    let rows = stmt.query_map([user], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
