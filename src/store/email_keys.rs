//! Bringing stored e-mail keys up to the key function in force. A migration cannot run Rust, so
//! the server re-keys at start-up instead: an address's key once was its plain lower case, and is
//! now `domain::email_key`. The two agree on every ASCII address, so only the accounts whose
//! address is not ASCII are read (`length` counts characters and `octet_length` bytes on both
//! backends), and only those whose key changes are written.

use super::tx::args;
use super::{Store, StoreError, StoreResult};
use crate::domain::UserId;

/// What a re-keying changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Accounts whose key was brought up to date.
    pub updated: u64,
    /// Accounts left under their old key because another account already holds the new one
    /// (two addresses that were distinct under plain lower case and are one now). Such an account
    /// cannot log in by e-mail until an operator merges or renames it.
    pub conflicts: Vec<UserId>,
}

impl Store {
    /// Recomputes the key of every account with a non-ASCII address with `key` and stores the
    /// ones that differ. Idempotent, and safe when several instances start at once: each update
    /// only applies while the row still holds the key it was read with, and the unique index
    /// decides between two accounts that now share a key: an account already under it keeps it,
    /// and of two that both need it, the older (read first).
    pub async fn rekey_emails(&self, key: fn(&str) -> String) -> StoreResult<Rekeyed> {
        let stale = self
            .read(|tx| {
                Box::pin(async move {
                    tx.query_all(NON_ASCII_EMAILS, args![], |row| {
                        Ok((
                            row.get::<UserId>("id")?,
                            row.get::<String>("email")?,
                            row.get::<String>("email_key")?,
                        ))
                    })
                    .await
                })
            })
            .await?;
        let mut rekeyed = Rekeyed::default();
        for (id, email, old_key) in stale {
            let new_key = key(&email);
            if new_key == old_key {
                continue;
            }
            let outcome = self
                .write_single(move |tx| {
                    Box::pin(
                        async move { tx.execute(REKEY_EMAIL, args![id, &new_key, &old_key]).await },
                    )
                })
                .await;
            match outcome {
                Ok(changed) => rekeyed.updated += changed,
                Err(StoreError::Conflict) => rekeyed.conflicts.push(id),
                Err(error) => return Err(error),
            }
        }
        Ok(rekeyed)
    }
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Accounts whose address is not ASCII, oldest first: the only ones a change of the e-mail key
/// function can re-key.
const NON_ASCII_EMAILS: &str = "SELECT id, email, email_key FROM users \
     WHERE length(email) <> octet_length(email) ORDER BY created_at, id";

/// Binds: id, new key, the key it was read with.
const REKEY_EMAIL: &str = "UPDATE users SET email_key = $2 WHERE id = $1 AND email_key = $3";
