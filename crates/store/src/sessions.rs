//! Login sessions and API tokens, stored by the hash of their secret.

use rusqlite::{params, OptionalExtension};

use crate::tx::Tx;
use crate::StoreError;

/// A session or token as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the secret, hex.
    pub token_hash: String,
    /// Owner.
    pub user: String,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// Last use, ms since the epoch.
    pub last_used_ms: i64,
    /// Idle time after which it expires; none for API tokens.
    pub idle_timeout_ms: Option<i64>,
}

impl Tx<'_> {
    /// Stores a new session.
    pub fn put_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO sessions (token_hash, user, created_ms, last_used_ms, idle_timeout_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                s.token_hash,
                s.user,
                s.created_ms,
                s.last_used_ms,
                s.idle_timeout_ms
            ],
        )?;
        Ok(())
    }

    /// Finds a session by its hash.
    pub fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT token_hash, user, created_ms, last_used_ms, idle_timeout_ms FROM sessions WHERE token_hash = ?1",
                [token_hash],
                |r| {
                    Ok(SessionRecord {
                        token_hash: r.get(0)?,
                        user: r.get(1)?,
                        created_ms: r.get(2)?,
                        last_used_ms: r.get(3)?,
                        idle_timeout_ms: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records a use of a session.
    pub fn touch_session(&self, token_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE sessions SET last_used_ms = ?2 WHERE token_hash = ?1",
            params![token_hash, now_ms],
        )?;
        Ok(())
    }

    /// Ends a session.
    pub fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    /// Ends every session of a user but `keep` (after a password change).
    pub fn delete_sessions_of(&self, user: &str, keep: Option<&str>) -> Result<(), StoreError> {
        self.tx.execute(
            "DELETE FROM sessions WHERE user = ?1 AND token_hash IS NOT ?2",
            params![user, keep],
        )?;
        Ok(())
    }

    /// Deletes sessions idle past their timeout at `now_ms`; returns how many.
    pub fn prune_sessions(&self, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self.tx.execute(
            "DELETE FROM sessions WHERE idle_timeout_ms IS NOT NULL AND ?1 - last_used_ms > idle_timeout_ms",
            [now_ms],
        )?)
    }
}
