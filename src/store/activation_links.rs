//! Activation links (contract section 13): an instance administrator's invitation for one e-mail
//! address to register a new organization. The rows hold no token (`auth::LinkKey` derives it
//! from the id), so deleting a row revokes its link.
//!
//! Changes are `org` updated events in the administrator's organization, `{"activationLink":
//! {"from": LinkFields | null, "to": LinkFields | null}}`; the activation that spends a link writes
//! one there too (its actor the new user), beside the new organization's `org` and `user`
//! created events.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::accounts::insert_registration;
use super::events::{append_event, Actor, Changes, NewEvent};
use super::sessions::{NewRefreshToken, NewSession};
use super::tx::{args, PerDialect, Row, Tx};
use super::{NewOrganization, NewUser, Store, StoreError, StoreResult};
use crate::domain::{EventKind, OrgId, UserId};

impl Store {
    /// Stores a new link, `by` an instance administrator, with its event.
    pub async fn create_link(&self, by: Actor, link: NewLink) -> StoreResult<()> {
        self.write(move |tx| {
            Box::pin(async move {
                tx.execute(
                    INSERT_LINK,
                    args![
                        link.id,
                        &link.email,
                        &link.name,
                        &link.description,
                        by.user_id,
                        by.at,
                        link.expires_at
                    ],
                )
                .await?;
                let to = LinkFields {
                    id: link.id,
                    email: &link.email,
                    description: link.description.as_deref(),
                    expires_at: link.expires_at,
                    activated_at: None,
                };
                append_link_event(tx, by, None, Some(&to)).await
            })
        })
        .await
    }

    /// One link, with its creator; None when there is no such row.
    pub async fn link(&self, id: Uuid) -> StoreResult<Option<ActivationLink>> {
        self.read(move |tx| {
            Box::pin(async move {
                tx.query_opt(LINK_BY_ID, args![id], ActivationLink::from_row)
                    .await
            })
        })
        .await
    }

    /// A page of links, newest first, and how many match the filter in all.
    pub async fn links(&self, filter: LinkFilter) -> StoreResult<(Vec<ActivationLink>, i64)> {
        self.read_snapshot(move |tx| {
            Box::pin(async move {
                let like = filter.text.as_deref().map(like_pattern);
                let status = filter.status as i64;
                let matching = args![filter.from, filter.to, status, filter.now, like.as_deref()];
                let total = tx.count(COUNT_LINKS, matching).await?;
                let page = args![
                    filter.from,
                    filter.to,
                    status,
                    filter.now,
                    like.as_deref(),
                    filter.take,
                    filter.skip
                ];
                let links = tx
                    .query_all(LIST_LINKS, page, ActivationLink::from_row)
                    .await?;
                Ok((links, total))
            })
        })
        .await
    }

    /// Changes a link's description and/or e-mail address, `by` an instance administrator.
    pub async fn update_link(
        &self,
        by: Actor,
        id: Uuid,
        patch: LinkPatch,
    ) -> StoreResult<LinkChange> {
        self.write(move |tx| {
            Box::pin(async move {
                let Some(before) = locked_link(tx, id).await? else {
                    return Ok(LinkChange::NotFound);
                };
                if before.activated_at.is_some() {
                    return Ok(LinkChange::Activated);
                }
                let email = patch.email.clone().unwrap_or_else(|| before.email.clone());
                let description = match &patch.description {
                    Some(description) => description.clone(),
                    None => before.description.clone(),
                };
                let after = ActivationLink {
                    email,
                    description,
                    ..before.clone()
                };
                if after.email == before.email && after.description == before.description {
                    return Ok(LinkChange::Done(Box::new(after), false));
                }
                tx.execute(UPDATE_LINK, args![id, &after.email, &after.description])
                    .await?;
                append_link_event(tx, by, Some(&before.fields()), Some(&after.fields())).await?;
                let readdressed = after.email != before.email;
                Ok(LinkChange::Done(Box::new(after), readdressed))
            })
        })
        .await
    }

    /// Deletes a link (its token then opens nothing), `by` an instance administrator; false when
    /// there is no such row.
    pub async fn delete_link(&self, by: Actor, id: Uuid) -> StoreResult<bool> {
        self.write(move |tx| {
            Box::pin(async move {
                let Some(before) = locked_link(tx, id).await? else {
                    return Ok(false);
                };
                tx.execute(DELETE_LINK, args![id]).await?;
                append_link_event(tx, by, Some(&before.fields()), None).await?;
                Ok(true)
            })
        })
        .await
    }

    /// Registers through link `id` (`POST /user/activate`): when the link is pending at `now`
    /// and names the new user's address, spends it and inserts the registration (the user
    /// verified), in one transaction. Of two concurrent activations of a link, the second
    /// finds it spent: on PostgreSQL it waits on the link's row lock, then reads it again.
    /// `Conflict` when the address has an account.
    pub async fn activate(
        &self,
        id: Uuid,
        org: NewOrganization,
        user: NewUser,
        session: NewSession,
        refresh: NewRefreshToken,
    ) -> StoreResult<Activation> {
        self.write(move |tx| {
            Box::pin(async move {
                let now = org.created_at;
                let link = match spend_link(tx, id, &user, now).await? {
                    Ok(link) => link,
                    Err(refused) => return Ok(refused),
                };
                insert_registration(tx, &org, &user, &session, &refresh).await?;
                append_link_spent(tx, &link, user.id, now).await?;
                Ok(Activation::Activated)
            })
        })
        .await
    }
}

/// Spends link `id` for the registration of `user` when it is pending at `now` and names the
/// user's address: the link as it was; else why not (nothing written).
pub(super) async fn spend_link(
    tx: &mut Tx<'_>,
    id: Uuid,
    user: &NewUser,
    now: i64,
) -> StoreResult<Result<ActivationLink, Activation>> {
    let Some(link) = tx
        .query_opt_per_dialect(&PENDING_LINK, args![id, now], ActivationLink::from_row)
        .await?
    else {
        return Ok(Err(Activation::Invalid));
    };
    if crate::domain::email_key(&link.email) != user.email_key {
        return Ok(Err(Activation::EmailMismatch));
    }
    tx.execute(SPEND_LINK, args![id, now, user.id]).await?;
    Ok(Ok(link))
}

/// The event of `link` spent by the new user `user_id` (after the user's row exists): told in
/// the organization of whoever made the link, by the new user.
pub(super) async fn append_link_spent(
    tx: &mut Tx<'_>,
    link: &ActivationLink,
    user_id: UserId,
    now: i64,
) -> StoreResult<()> {
    let by = Actor {
        org_id: link.creator_org_id,
        user_id,
        at: now,
    };
    let spent = ActivationLink {
        activated_at: Some(now),
        ..link.clone()
    };
    append_link_event(tx, by, Some(&link.fields()), Some(&spent.fields())).await
}

/// The link's row, locked on PostgreSQL until the transaction ends.
async fn locked_link(tx: &mut Tx<'_>, id: Uuid) -> StoreResult<Option<ActivationLink>> {
    tx.query_opt_per_dialect(&LOCKED_LINK, args![id], ActivationLink::from_row)
        .await
}

async fn append_link_event(
    tx: &mut Tx<'_>,
    by: Actor,
    from: Option<&LinkFields<'_>>,
    to: Option<&LinkFields<'_>>,
) -> StoreResult<()> {
    let value = |fields: Option<&LinkFields<'_>>| {
        fields.map_or(Ok(Value::Null), |f| {
            serde_json::to_value(f).map_err(StoreError::Encoding)
        })
    };
    let changes = Changes::default().field("activationLink", value(from)?, value(to)?);
    let Some(data) = changes.json()? else {
        return Ok(());
    };
    append_event(tx, &NewEvent::org(by, EventKind::Updated, data)).await
}

/// `text` as a case-insensitive `LIKE` pattern matching it anywhere, its `%`, `_` and `\`
/// escaped (the statements say `ESCAPE '\'`).
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A link about to be stored.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub id: Uuid,
    pub email: String,
    /// The invitee's name, for the e-mail's greeting.
    pub name: Option<String>,
    pub description: Option<String>,
    pub expires_at: i64,
}

/// What `PUT /links/{id}` changes; None leaves a field as it is (a description of `Some(None)`
/// clears it).
#[derive(Debug, Clone, Default)]
pub struct LinkPatch {
    pub email: Option<String>,
    pub description: Option<Option<String>>,
}

/// Which links a listing shows, by their state at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    All = 0,
    Pending = 1,
    Activated = 2,
    Expired = 3,
}

#[derive(Debug, Clone)]
pub struct LinkFilter {
    /// Created at or after (ms).
    pub from: Option<i64>,
    /// Created at or before (ms).
    pub to: Option<i64>,
    pub status: LinkStatus,
    /// Found in the e-mail address or the description, ignoring case.
    pub text: Option<String>,
    pub now: i64,
    pub skip: i64,
    pub take: i64,
}

/// A stored link with its creator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationLink {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub created_by: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    pub activated_at: Option<i64>,
    pub creator_email: String,
    pub creator_first_name: String,
    pub creator_last_name: String,
    pub creator_org_id: OrgId,
}

impl ActivationLink {
    fn from_row(row: &Row<'_>) -> StoreResult<ActivationLink> {
        Ok(ActivationLink {
            id: row.get("id")?,
            email: row.get("email")?,
            name: row.get("name")?,
            description: row.get("description")?,
            created_by: row.get("created_by")?,
            created_at: row.get("created_at")?,
            expires_at: row.get("expires_at")?,
            activated_at: row.get("activated_at")?,
            creator_email: row.get("creator_email")?,
            creator_first_name: row.get("creator_first_name")?,
            creator_last_name: row.get("creator_last_name")?,
            creator_org_id: row.get("creator_org_id")?,
        })
    }

    fn fields(&self) -> LinkFields<'_> {
        LinkFields {
            id: self.id,
            email: &self.email,
            description: self.description.as_deref(),
            expires_at: self.expires_at,
            activated_at: self.activated_at,
        }
    }
}

/// What a link's events record of it (never its token).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkFields<'a> {
    id: Uuid,
    email: &'a str,
    description: Option<&'a str>,
    expires_at: i64,
    activated_at: Option<i64>,
}

/// What `update_link` did.
#[derive(Debug)]
pub enum LinkChange {
    NotFound,
    /// An activated link does not change (409).
    Activated,
    /// The link as it is now (unchanged when the patch changed nothing), and whether its
    /// address changed (then it is e-mailed to the new one).
    Done(Box<ActivationLink>, bool),
}

/// What `activate` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Activated,
    /// No such link, or it is spent or expired.
    Invalid,
    /// The new account's address is not the link's.
    EmailMismatch,
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Binds: id, email, name, description, created_by, created_at, expires_at.
const INSERT_LINK: &str = "INSERT INTO activation_links (id, email, name, description, \
     created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// The columns of `ActivationLink`, from `activation_links l JOIN users c` (its creator).
macro_rules! link_columns {
    () => {
        "l.id, l.email, l.name, l.description, l.created_by, l.created_at, l.expires_at, \
         l.activated_at, c.email AS creator_email, c.first_name AS creator_first_name, \
         c.last_name AS creator_last_name, c.org_id AS creator_org_id \
         FROM activation_links l JOIN users c ON c.id = l.created_by"
    };
}

const LINK_BY_ID: &str = concat!("SELECT ", link_columns!(), " WHERE l.id = $1");

/// [`LINK_BY_ID`], its row locked on PostgreSQL (`OF l`: the creator's row stays free).
const LOCKED_LINK: PerDialect = PerDialect::new(
    concat!("SELECT ", link_columns!(), " WHERE l.id = $1"),
    concat!(
        "SELECT ",
        link_columns!(),
        " WHERE l.id = $1 FOR UPDATE OF l"
    ),
);

/// The link $1 when it is pending at $2, locked on PostgreSQL. A concurrent activation that
/// waited on the lock reads the row again once it is free, and finds it spent.
const PENDING_LINK: PerDialect = PerDialect::new(
    concat!(
        "SELECT ",
        link_columns!(),
        " WHERE l.id = $1 AND l.activated_at IS NULL AND l.expires_at > $2"
    ),
    concat!(
        "SELECT ",
        link_columns!(),
        " WHERE l.id = $1 AND l.activated_at IS NULL AND l.expires_at > $2 FOR UPDATE OF l"
    ),
);

/// Spends link $1 at $2 for the new user $3.
const SPEND_LINK: &str =
    "UPDATE activation_links SET activated_at = $2, activated_user_id = $3 WHERE id = $1";

const UPDATE_LINK: &str = "UPDATE activation_links SET email = $2, description = $3 WHERE id = $1";

const DELETE_LINK: &str = "DELETE FROM activation_links WHERE id = $1";

/// The filter of a listing: $1 from, $2 to (created, ms, either may be NULL), $3 status
/// ([`LinkStatus`]), $4 now, $5 a `LIKE` pattern over the e-mail and description or NULL.
macro_rules! link_filter {
    () => {
        " WHERE ($1 IS NULL OR l.created_at >= $1) AND ($2 IS NULL OR l.created_at <= $2) \
         AND ($3 = 0 \
              OR ($3 = 1 AND l.activated_at IS NULL AND l.expires_at > $4) \
              OR ($3 = 2 AND l.activated_at IS NOT NULL) \
              OR ($3 = 3 AND l.activated_at IS NULL AND l.expires_at <= $4)) \
         AND ($5 IS NULL OR lower(l.email) LIKE $5 ESCAPE '\\' \
              OR lower(COALESCE(l.description, '')) LIKE $5 ESCAPE '\\')"
    };
}

const COUNT_LINKS: &str = concat!(
    "SELECT COUNT(*) AS n FROM activation_links l",
    link_filter!()
);

/// A page ($6 take, $7 skip), newest first.
const LIST_LINKS: &str = concat!(
    "SELECT ",
    link_columns!(),
    link_filter!(),
    " ORDER BY l.created_at DESC, l.id DESC LIMIT $6 OFFSET $7"
);

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_match_the_text_literally_anywhere() {
        assert_eq!(like_pattern("Ann"), "%ann%");
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
