//! Identities at identity providers (contract section 12): signing in with one, which links an
//! unknown identity to the account with its verified e-mail, or registers a new organization
//! and its OWNER, and opens the session, all in one transaction.

use super::accounts::{append_user_updated, insert_registration, NewOrganization, NewUser, User};
use super::activation_links::{append_link_spent, spend_link, Activation};
use super::devices::NewDevice;
use super::events::Changes;
use super::sessions::{insert_session, NewRefreshToken, NewSession};
use super::sql::{self, mfa_required, user_columns};
use super::tx::{args, for_update, PerDialect, Tx};
use super::{Store, StoreResult};
use crate::domain::UserId;

/// A sign-in with an identity the provider vouched for.
#[derive(Debug, Clone)]
pub struct ProviderSignIn {
    /// The provider's name (`google`, `microsoft`, `github`, or a generic provider's).
    pub provider: String,
    /// The provider's id of the person.
    pub subject: String,
    /// The e-mail, only when the provider says it is verified: its text and its key.
    pub verified_email: Option<(String, String)>,
    /// What to register when no account has that e-mail; None when the registration policy
    /// allows no new organization.
    pub registration: Option<(NewOrganization, NewUser)>,
    /// An activation link (its token checked already) a registration spends: the registration
    /// happens only if the link is pending and names the e-mail (`POST /auth/github` and the
    /// exchange routes with `activationUid`, as `POST /user/activate`).
    pub activation: Option<uuid::Uuid>,
    /// The session to open, as for a user without MFA, for the user `registration` would make
    /// (an existing user gets it instead, on the same device); a user who needs MFA gets it
    /// pending, ending at `pending_expires_at`.
    pub session: NewSession,
    pub refresh: NewRefreshToken,
    pub pending_expires_at: i64,
    pub now: i64,
}

/// What a provider sign-in led to. Every outcome but `SignedIn` wrote nothing.
#[derive(Debug, Clone)]
pub enum ProviderSignInOutcome {
    /// The session is open (pending when `mfa_required`).
    SignedIn { user: User, mfa_required: bool },
    /// The identity's account is deleted.
    Inactive,
    /// An unknown identity without a verified e-mail: nothing to link or register with.
    EmailUnverified,
    /// An unknown identity, no account with its e-mail, and the policy registers nobody.
    RegistrationRefused,
    /// The activation link to register with is unknown, spent or expired.
    ActivationInvalid,
    /// The activation link names another e-mail address.
    ActivationEmailMismatch,
}

impl Store {
    /// Signs in with a provider's identity: its linked user; else the user with its verified
    /// e-mail, linking it (an account never verified is verified, loses its password and its
    /// sessions: the provider proved the mailbox); else a new organization and OWNER. A unique
    /// violation (`Conflict`) means a concurrent sign-in linked or registered first: retrying
    /// finds it.
    pub async fn sign_in_with_provider(
        &self,
        sign_in: ProviderSignIn,
    ) -> StoreResult<ProviderSignInOutcome> {
        self.write(move |tx| Box::pin(async move { sign_in_in(tx, sign_in).await }))
            .await
    }

    /// The names of the providers whose identities a user has, sorted (for tests and the
    /// profile later).
    pub async fn identity_providers(&self, user_id: UserId) -> StoreResult<Vec<String>> {
        self.read(move |tx| Box::pin(async move { providers_of(tx, user_id).await }))
            .await
    }
}

async fn sign_in_in(
    tx: &mut Tx<'_>,
    mut sign_in: ProviderSignIn,
) -> StoreResult<ProviderSignInOutcome> {
    let now = sign_in.now;
    let linked = tx
        .query_opt_per_dialect(
            &IDENTITY_USER,
            args![sign_in.provider.as_str(), sign_in.subject.as_str()],
            user_and_mfa,
        )
        .await?;
    if let Some((user, mfa_required)) = linked {
        if user.deleted_at.is_some() {
            return Ok(ProviderSignInOutcome::Inactive);
        }
        open_session(tx, &mut sign_in, user.id, mfa_required).await?;
        return Ok(ProviderSignInOutcome::SignedIn { user, mfa_required });
    }
    let Some((email, email_key)) = sign_in.verified_email.clone() else {
        return Ok(ProviderSignInOutcome::EmailUnverified);
    };
    let same_email = tx
        .query_opt_per_dialect(&USER_BY_EMAIL_KEY, args![email_key.as_str()], user_and_mfa)
        .await?;
    if let Some((user, mfa_required)) = same_email {
        if user.deleted_at.is_some() {
            return Ok(ProviderSignInOutcome::Inactive);
        }
        let before = providers_of(tx, user.id).await?;
        insert_identity(tx, &sign_in, user.id, &email).await?;
        let mut after = before.clone();
        after.push(sign_in.provider.clone());
        after.sort();
        let mut changes = Changes::default().field("identities", before, after);
        if !user.validated {
            // Whoever registered the address before its owner proved it must keep no way in.
            tx.execute(VERIFY_AND_CLEAR_PASSWORD, args![user.id, now])
                .await?;
            tx.execute(sql::REVOKE_USER_SESSIONS, args![user.id, now])
                .await?;
            tx.execute(sql::SPEND_VERIFICATIONS, args![user.id, now])
                .await?;
            changes = changes
                .field("validated", false, true)
                .secret("password", true);
        }
        append_user_updated(tx, &user, user.id, now, changes).await?;
        open_session(tx, &mut sign_in, user.id, mfa_required).await?;
        let user = User {
            validated: true,
            ..user
        };
        return Ok(ProviderSignInOutcome::SignedIn { user, mfa_required });
    }
    let Some((org, new_user)) = sign_in.registration.clone() else {
        return Ok(ProviderSignInOutcome::RegistrationRefused);
    };
    let link = match sign_in.activation {
        Some(id) => match spend_link(tx, id, &new_user, now).await? {
            Ok(link) => Some(link),
            Err(Activation::EmailMismatch) => {
                return Ok(ProviderSignInOutcome::ActivationEmailMismatch)
            }
            Err(_) => return Ok(ProviderSignInOutcome::ActivationInvalid),
        },
        None => None,
    };
    insert_registration(tx, &org, &new_user, &sign_in.session, &sign_in.refresh).await?;
    insert_identity(tx, &sign_in, new_user.id, &email).await?;
    if let Some(link) = &link {
        append_link_spent(tx, link, new_user.id, now).await?;
    }
    let user = User {
        id: new_user.id,
        org_id: org.id,
        email: new_user.email,
        first_name: new_user.first_name,
        last_name: new_user.last_name,
        org_role: new_user.org_role,
        validated: new_user.validated,
        deleted_at: None,
        instance_admin: false,
    };
    Ok(ProviderSignInOutcome::SignedIn {
        user,
        mfa_required: false,
    })
}

fn user_and_mfa(row: &super::tx::Row<'_>) -> StoreResult<(User, bool)> {
    Ok((User::from_row(row)?, row.get("mfa_required")?))
}

/// Opens the sign-in's session for `user_id` (on the device it came from), pending its second
/// factor when the user needs one.
async fn open_session(
    tx: &mut Tx<'_>,
    sign_in: &mut ProviderSignIn,
    user_id: UserId,
    mfa_required: bool,
) -> StoreResult<()> {
    let session = &mut sign_in.session;
    if session.user_id != user_id {
        session.user_id = user_id;
        session.device = NewDevice::new(user_id, session.device.seen.clone(), sign_in.now);
    }
    session.decide_mfa(mfa_required, &sign_in.refresh, sign_in.pending_expires_at);
    insert_session(tx, &sign_in.session, &sign_in.refresh).await
}

async fn insert_identity(
    tx: &mut Tx<'_>,
    sign_in: &ProviderSignIn,
    user_id: UserId,
    email: &str,
) -> StoreResult<()> {
    tx.execute(
        INSERT_IDENTITY,
        args![
            sign_in.provider.as_str(),
            sign_in.subject.as_str(),
            user_id,
            email,
            sign_in.now
        ],
    )
    .await?;
    Ok(())
}

async fn providers_of(tx: &mut Tx<'_>, user_id: UserId) -> StoreResult<Vec<String>> {
    tx.query_all(PROVIDERS_OF_USER, args![user_id], |row| row.get("provider"))
        .await
}

// ---- SQL ----------------------------------------------------------------------------------------

/// The user an identity ($1 provider, $2 subject) is linked to, deleted or not, and whether MFA
/// is required for them; locked on PostgreSQL until commit (a concurrent deletion waits).
const IDENTITY_USER: PerDialect = for_update!(concat!(
    "SELECT ",
    user_columns!(),
    ", ",
    mfa_required!(),
    " AS mfa_required FROM identities i JOIN users u ON u.id = i.user_id \
     WHERE i.provider = $1 AND i.subject = $2"
));

/// The user (deleted or not) with e-mail key $1 and whether MFA is required for them; locked
/// on PostgreSQL until commit.
const USER_BY_EMAIL_KEY: PerDialect = for_update!(concat!(
    "SELECT ",
    user_columns!(),
    ", ",
    mfa_required!(),
    " AS mfa_required FROM users u WHERE u.email_key = $1"
));

/// Binds: provider, subject, user_id, email, created_at.
const INSERT_IDENTITY: &str =
    "INSERT INTO identities (provider, subject, user_id, email, created_at) \
     VALUES ($1, $2, $3, $4, $5)";

/// The provider names of user $1's identities, sorted.
const PROVIDERS_OF_USER: &str =
    "SELECT provider FROM identities WHERE user_id = $1 ORDER BY provider";

/// Verifies user $1's address and removes their password ($2 now).
const VERIFY_AND_CLEAR_PASSWORD: &str =
    "UPDATE users SET validated = TRUE, password_hash = NULL, updated_at = $2 WHERE id = $1";
