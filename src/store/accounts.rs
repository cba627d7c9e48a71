//! Accounts: registration (an organization with its first user), the credentials a login
//! checks, and e-mail verification. Also what every change of a user shares: inserting one with
//! its `user created` event, reading one inside a transaction, and the `user updated` event.

use uuid::Uuid;

use super::events::{append_event, json, Actor, Changes, NewEvent, OrgFields, UserFields};
use super::sessions::{insert_session, NewRefreshToken, NewSession};
use super::sql::{self, mfa_required, user_columns};
use super::tx::{args, Row, Tx};
use super::{Store, StoreError, StoreResult};
use crate::domain::{EventKind, OrgId, OrgRole, UserId};

impl Store {
    /// Creates an organization, its first user, a first session with its refresh token and an
    /// e-mail verification, atomically, with the `org` and `user` created events (the new user
    /// their actor). `Conflict` when the e-mail is taken.
    pub async fn register(
        &self,
        org: NewOrganization,
        user: NewUser,
        session: NewSession,
        refresh: NewRefreshToken,
        verification: NewVerification,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                insert_registration(tx, &org, &user, &session, &refresh).await?;
                insert_verification(tx, &verification).await
            })
        })
        .await
    }

    /// The user with this e-mail key (deleted or not) and their password hash.
    pub async fn credentials_by_email(&self, email_key: &str) -> StoreResult<Option<Credentials>> {
        let email_key = email_key.to_owned();
        self.read(|tx| {
            Box::pin(async move {
                tx.query_opt(CREDENTIALS_BY_EMAIL, args![&email_key], |row| {
                    Ok(Credentials {
                        user: User::from_row(row)?,
                        password_hash: row.get("password_hash")?,
                        mfa_required: row.get("mfa_required")?,
                    })
                })
                .await
            })
        })
        .await
    }

    /// A user's password hash; None when they have none (or no such user).
    pub async fn password_hash(&self, user_id: UserId) -> StoreResult<Option<String>> {
        self.read(|tx| {
            Box::pin(async move {
                let hash: Option<Option<String>> = tx
                    .query_opt(PASSWORD_HASH, args![user_id], |row| {
                        row.get("password_hash")
                    })
                    .await?;
                Ok(hash.flatten())
            })
        })
        .await
    }

    pub async fn create_verification(&self, verification: NewVerification) -> StoreResult<()> {
        self.write_single(move |tx| {
            Box::pin(async move { insert_verification(tx, &verification).await })
        })
        .await
    }

    /// The (not deleted) user a verification was issued to, for a resend.
    pub async fn user_by_verification_id(
        &self,
        verification_id: Uuid,
    ) -> StoreResult<Option<User>> {
        self.read(|tx| {
            Box::pin(async move {
                tx.query_opt(
                    USER_BY_VERIFICATION_ID,
                    args![verification_id],
                    User::from_row,
                )
                .await
            })
        })
        .await
    }

    /// Whether a verification or invitation token is live ($1 hash), without using it: `Some`
    /// with whether its user has a password yet, None for an unknown, used or expired token or
    /// a deleted user (the same token `consume_verification` accepts).
    pub async fn verification_has_password(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<bool>> {
        let token_hash = token_hash.to_vec();
        self.read(move |tx| {
            Box::pin(async move {
                tx.query_opt(
                    LIVE_VERIFICATION_HAS_PASSWORD,
                    args![&token_hash, now],
                    |row| row.get("has_password"),
                )
                .await
            })
        })
        .await
    }

    /// Uses a verification token once: marks the user validated, when given sets a password, and
    /// ends every session opened before (contract section 4). Returns the user's id, or None for an unknown, used or expired token, or a deleted user.
    pub async fn consume_verification(
        &self,
        token_hash: &[u8],
        now: i64,
        new_password_hash: Option<String>,
    ) -> StoreResult<Option<UserId>> {
        let token_hash = token_hash.to_vec();
        self.write(move |tx| {
            Box::pin(async move {
                let live: Option<UserId> = tx
                    .query_opt(LIVE_VERIFICATION_USER, args![&token_hash, now], |row| {
                        row.get("user_id")
                    })
                    .await?;
                if live.is_none() {
                    return Ok(None);
                }
                // Of two concurrent uses, one claims the token; the other finds it used.
                let claimed: Option<UserId> = tx
                    .query_opt(CLAIM_VERIFICATION, args![&token_hash, now], |row| {
                        row.get("user_id")
                    })
                    .await?;
                let Some(user_id) = claimed else {
                    return Ok(None);
                };
                let before = live_user(tx, user_id).await?;
                tx.execute(VALIDATE_USER, args![user_id, true, now, &new_password_hash])
                    .await?;
                // The address is proved: the account's other verification e-mails (an earlier
                // one, before a resend) must not set a password later.
                tx.execute(sql::SPEND_VERIFICATIONS, args![user_id, now])
                    .await?;
                let changes = Changes::default()
                    .field("validated", before.validated, true)
                    .secret("password", new_password_hash.is_some());
                append_user_updated(tx, &before, before.id, now, changes).await?;
                // Whoever registered the address before its owner verified it (or learnt the
                // password that verification replaces) must not keep a session: the verified
                // account starts with none.
                tx.execute(sql::REVOKE_USER_SESSIONS, args![user_id, now])
                    .await?;
                Ok(Some(user_id))
            })
        })
        .await
    }

    /// Marks the account with this e-mail key validated (operator command), its event naming
    /// the user as the actor (the operator has no account). False if unknown.
    pub async fn mark_validated_by_email(&self, email_key: &str, now: i64) -> StoreResult<bool> {
        let email_key = email_key.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                let before = tx
                    .query_opt(USER_BY_EMAIL_KEY, args![&email_key], User::from_row)
                    .await?;
                let Some(before) = before else {
                    return Ok(false);
                };
                tx.execute(VALIDATE_BY_EMAIL, args![&email_key, true, now])
                    .await?;
                tx.execute(sql::SPEND_VERIFICATIONS, args![before.id, now])
                    .await?;
                let changes = Changes::default().field("validated", before.validated, true);
                append_user_updated(tx, &before, before.id, now, changes).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Grants (`admin` true) or revokes instance administration to the live account with this
    /// e-mail key (`workspaces admin grant|revoke`): None when there is none; `Some(false)` when
    /// it already was so (nothing written); `Some(true)` when changed, with its `user updated`
    /// event, the user as the actor (as for `user verify`).
    pub async fn set_instance_admin(
        &self,
        email_key: &str,
        admin: bool,
        now: i64,
    ) -> StoreResult<Option<bool>> {
        let email_key = email_key.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                let before = tx
                    .query_opt(USER_BY_EMAIL_KEY, args![&email_key], User::from_row)
                    .await?;
                let Some(before) = before.filter(|u| u.deleted_at.is_none()) else {
                    return Ok(None);
                };
                if before.instance_admin == admin {
                    return Ok(Some(false));
                }
                tx.execute(SET_INSTANCE_ADMIN, args![before.id, admin, now])
                    .await?;
                let changes =
                    Changes::default().field("instanceAdmin", before.instance_admin, admin);
                append_user_updated(tx, &before, before.id, now, changes).await?;
                Ok(Some(true))
            })
        })
        .await
    }
}

/// A registration's rows: the organization with its `org` created event, its first user (the
/// actor of both events) with theirs, and their first session.
pub(super) async fn insert_registration(
    tx: &mut Tx<'_>,
    org: &NewOrganization,
    user: &NewUser,
    session: &NewSession,
    refresh: &NewRefreshToken,
) -> StoreResult<()> {
    tx.execute(
        INSERT_ORGANIZATION,
        args![
            org.id,
            &org.name,
            org.is_business,
            &org.website,
            org.created_at
        ],
    )
    .await?;
    let by = Actor {
        org_id: org.id,
        user_id: user.id,
        at: org.created_at,
    };
    let fields = OrgFields {
        id: org.id,
        name: &org.name,
        website: org.website.as_deref(),
        is_business: org.is_business,
    };
    append_event(tx, &NewEvent::org(by, EventKind::Created, json(&fields)?)).await?;
    insert_user(tx, by, user).await?;
    insert_session(tx, session, refresh).await
}

/// A live user, read inside a transaction that found them live a statement earlier.
pub(super) async fn live_user(tx: &mut Tx<'_>, user_id: UserId) -> StoreResult<User> {
    tx.query_opt(LIVE_USER_BY_ID, args![user_id], User::from_row)
        .await?
        .ok_or(StoreError::Unavailable(
            "a user vanished inside a transaction",
        ))
}

/// Appends `user` updated for `target` by `actor_id` of the target's organization, when
/// `changes` holds any; nothing when nothing changed.
pub(super) async fn append_user_updated(
    tx: &mut Tx<'_>,
    target: &User,
    actor_id: UserId,
    at: i64,
    changes: Changes,
) -> StoreResult<()> {
    let Some(data) = changes.json()? else {
        return Ok(());
    };
    let by = Actor {
        org_id: target.org_id,
        user_id: actor_id,
        at,
    };
    append_event(tx, &NewEvent::user(by, EventKind::Updated, target.id, data)).await
}

/// Inserts a user with its `user` created event (`by` its author); a taken e-mail is
/// [`StoreError::Conflict`].
pub(super) async fn insert_user(tx: &mut Tx<'_>, by: Actor, user: &NewUser) -> StoreResult<()> {
    tx.execute(
        INSERT_USER,
        args![
            user.id,
            user.org_id,
            &user.email,
            &user.email_key,
            &user.password_hash,
            &user.first_name,
            &user.last_name,
            user.org_role,
            user.validated,
            user.created_at,
        ],
    )
    .await?;
    let names = (
        user.email.as_str(),
        user.first_name.as_str(),
        user.last_name.as_str(),
    );
    let fields = UserFields::of(user.id, user.org_id, names, user.org_role, user.validated);
    let event = NewEvent::user(by, EventKind::Created, user.id, json(&fields)?);
    append_event(tx, &event).await
}

pub(super) async fn insert_verification(tx: &mut Tx<'_>, v: &NewVerification) -> StoreResult<()> {
    tx.execute(
        INSERT_VERIFICATION,
        args![v.id, v.user_id, &v.token_hash, v.created_at, v.expires_at],
    )
    .await?;
    Ok(())
}

/// A user of an organization, as every route sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub org_role: OrgRole,
    pub validated: bool,
    /// When the user was deleted (they can be re-activated), Unix ms.
    pub deleted_at: Option<i64>,
    /// An administrator of this server (`workspaces admin grant`), beyond their organization.
    pub instance_admin: bool,
}

impl User {
    /// Reads the columns of `user_columns!`.
    pub(super) fn from_row(row: &Row<'_>) -> StoreResult<User> {
        Ok(User {
            id: row.get("id")?,
            org_id: row.get("org_id")?,
            email: row.get("email")?,
            first_name: row.get("first_name")?,
            last_name: row.get("last_name")?,
            org_role: row.get("org_role")?,
            validated: row.get("validated")?,
            deleted_at: row.get("deleted_at")?,
            instance_admin: row.get("instance_admin")?,
        })
    }
}

/// A user as login sees them: with the password hash, which only password checks read.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
    /// MFA is required for them: a password login opens a pending session.
    pub mfa_required: bool,
}

#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub id: OrgId,
    pub name: String,
    pub is_business: bool,
    pub website: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub email_key: String,
    pub password_hash: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub org_role: OrgRole,
    /// Whether the address is proved already (an activation link reached the mailbox); else it
    /// waits for its verification.
    pub validated: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewVerification {
    /// Its public id (`verificationTokenId`), for resends.
    pub id: Uuid,
    pub user_id: UserId,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}

// ---- SQL ----------------------------------------------------------------------------------------

const INSERT_ORGANIZATION: &str =
    "INSERT INTO organizations (id, name, is_business, website, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $5)";

/// Binds: id, org_id, email, email_key, password_hash, first_name, last_name, org_role,
/// validated, created_at.
const INSERT_USER: &str =
    "INSERT INTO users (id, org_id, email, email_key, password_hash, first_name, \
     last_name, org_role, validated, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)";

const INSERT_VERIFICATION: &str =
    "INSERT INTO email_verifications (id, user_id, token_hash, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5)";

/// A user's password hash ($1 user), if they have one.
const PASSWORD_HASH: &str = "SELECT password_hash FROM users WHERE id = $1";

/// A user (deleted or not), their password hash and whether MFA is required for them, by
/// e-mail key.
const CREDENTIALS_BY_EMAIL: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", u.password_hash, ",
    mfa_required!(),
    " AS mfa_required FROM users u WHERE u.email_key = $1"
);

const USER_BY_VERIFICATION_ID: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM email_verifications v JOIN users u ON u.id = v.user_id \
     WHERE v.id = $1 AND u.deleted_at IS NULL"
);

/// Marks a live verification token used ($1 hash, $2 now); returns its user.
const CLAIM_VERIFICATION: &str = "UPDATE email_verifications SET used_at = $2 \
     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id";

/// The (not deleted) user of a live verification token ($1 hash, $2 now).
const LIVE_VERIFICATION_USER: &str =
    "SELECT v.user_id FROM email_verifications v JOIN users u ON u.id = v.user_id \
     WHERE v.token_hash = $1 AND v.used_at IS NULL AND v.expires_at > $2 \
     AND u.deleted_at IS NULL";

/// Whether the user of a live verification token ($1 hash, $2 now) has a password: the
/// conditions of [`LIVE_VERIFICATION_USER`].
const LIVE_VERIFICATION_HAS_PASSWORD: &str = "SELECT u.password_hash IS NOT NULL AS has_password \
     FROM email_verifications v JOIN users u ON u.id = v.user_id \
     WHERE v.token_hash = $1 AND v.used_at IS NULL AND v.expires_at > $2 \
     AND u.deleted_at IS NULL";

/// Marks a user validated, setting a password when $4 is not NULL ($2 true, $3 now).
const VALIDATE_USER: &str = "UPDATE users SET validated = $2, updated_at = $3, \
     password_hash = COALESCE($4, password_hash) WHERE id = $1 AND deleted_at IS NULL";

/// A user (deleted or not) by e-mail key.
const USER_BY_EMAIL_KEY: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.email_key = $1"
);

/// A user who is not deleted.
const LIVE_USER_BY_ID: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL"
);

/// Sets whether a user ($1) administers the instance ($2), $3 now.
const SET_INSTANCE_ADMIN: &str =
    "UPDATE users SET instance_admin = $2, updated_at = $3 WHERE id = $1";

const VALIDATE_BY_EMAIL: &str =
    "UPDATE users SET validated = $2, updated_at = $3 WHERE email_key = $1";
