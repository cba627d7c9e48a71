//! [`OrganizationStore`] on SQLite.

use async_trait::async_trait;
use uuid::Uuid;

use super::exec::{count, execute, query_opt};
use super::{rows, SqliteStore};
use crate::store::{
    queries, NewPasswordReset, Organization, OrganizationPatch, OrganizationStore, ResetRecipient,
    StoreResult,
};

#[async_trait]
impl OrganizationStore for SqliteStore {
    async fn organization(&self, org_id: Uuid) -> StoreResult<Option<Organization>> {
        self.reads
            .run(|conn| query_opt(conn, queries::ORGANIZATION, &[&org_id], rows::organization))
            .await
    }

    async fn update_organization(
        &self,
        org_id: Uuid,
        patch: OrganizationPatch,
        now: i64,
    ) -> StoreResult<Option<Organization>> {
        self.writer
            .write(move |conn| {
                // Read-modify-write under the write lock: a concurrent update of other fields
                // runs after this one and reads the row with this change in it.
                let current =
                    query_opt(conn, queries::ORGANIZATION, &[&org_id], rows::organization)?;
                let Some(mut org) = current else {
                    return Ok(None);
                };
                patch.apply_to(&mut org);
                execute(
                    conn,
                    queries::UPDATE_ORGANIZATION,
                    &[
                        &org.id,
                        &org.name,
                        &org.address1,
                        &org.address2,
                        &org.city,
                        &org.zipcode,
                        &org.phone,
                        &org.state,
                        &org.country,
                        &org.website,
                        &org.is_business,
                        &org.mfa_enforced,
                        &now,
                    ],
                )?;
                Ok(Some(org))
            })
            .await
    }

    async fn create_password_reset(
        &self,
        email_key: &str,
        reset: NewPasswordReset,
    ) -> StoreResult<Option<ResetRecipient>> {
        let email_key = email_key.to_owned();
        self.writer
            .write(move |conn| {
                let recipient = query_opt(conn, queries::RESET_RECIPIENT, &[&email_key], |row| {
                    Ok(ResetRecipient {
                        user_id: row.get(0)?,
                        email: row.get(1)?,
                        first_name: row.get(2)?,
                    })
                })?;
                let Some(recipient) = recipient else {
                    return Ok(None);
                };
                execute(
                    conn,
                    queries::INSERT_PASSWORD_RESET,
                    &[
                        &reset.id,
                        &recipient.user_id,
                        &reset.token_hash,
                        &reset.created_at,
                        &reset.expires_at,
                    ],
                )?;
                Ok(Some(recipient))
            })
            .await
    }

    async fn password_reset_is_live(&self, token_hash: &[u8], now: i64) -> StoreResult<bool> {
        self.reads
            .run(|conn| count(conn, queries::COUNT_LIVE_RESETS, &[&token_hash, &now]))
            .await
            .map(|live| live > 0)
    }

    async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let (token_hash, password_hash) = (token_hash.to_vec(), password_hash.to_owned());
        self.writer
            .write(move |conn| {
                // A deleted account's token is refused like an unknown one.
                let user_id: Option<Uuid> = query_opt(
                    conn,
                    queries::LIVE_RESET_USER,
                    &[&token_hash, &now],
                    |row| row.get(0),
                )?;
                let Some(user_id) = user_id else {
                    return Ok(false);
                };
                // Receiving the e-mail proves the address, hence `validated`.
                execute(
                    conn,
                    queries::SET_PASSWORD_VALIDATED,
                    &[&user_id, &password_hash, &true, &now],
                )?;
                // This token and older reset e-mails must not reset the new password again.
                execute(conn, queries::SPEND_RESETS, &[&user_id, &now])?;
                // Whoever knew the old password loses access at once.
                execute(conn, queries::REVOKE_USER_SESSIONS, &[&user_id, &now])?;
                Ok(true)
            })
            .await
    }
}
