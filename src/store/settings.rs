//! Settings objects (contract section 10), a user's or an organization's: read, and changed by a
//! read-modify-write in one write transaction. The rules of the change are `domain::settings`;
//! here, only the lock around them and the audit event.

use uuid::Uuid;

use super::events::{append_event, json, Actor, NewEvent};
use super::tx::{args, for_update, PerDialect, Tx};
use super::{Store, StoreError, StoreResult, User};
use crate::domain::{
    ChangedPaths, EventContext, OrgId, Settings, SettingsChange, SettingsRefusal, SettingsScope,
    UserId,
};

/// Whose settings object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsOwner {
    User(UserId),
    Org(OrgId),
}

impl SettingsOwner {
    /// The object of `scope` that `user` reaches: their own, or their organization's.
    pub fn of(scope: SettingsScope, user: &User) -> SettingsOwner {
        match scope {
            SettingsScope::User => SettingsOwner::User(user.id),
            SettingsScope::Organization => SettingsOwner::Org(user.org_id),
        }
    }

    fn queries(self) -> &'static SettingsQueries {
        match self {
            SettingsOwner::User(_) => &USER_SETTINGS,
            SettingsOwner::Org(_) => &ORG_SETTINGS,
        }
    }

    fn id(self) -> Uuid {
        match self {
            SettingsOwner::User(id) => id.uuid(),
            SettingsOwner::Org(id) => id.uuid(),
        }
    }

    /// What its events are about: `usersettings` or `orgsettings`, with the owner's id as their
    /// `contextId`.
    fn context(self) -> EventContext {
        match self {
            SettingsOwner::User(_) => EventContext::UserSettings,
            SettingsOwner::Org(_) => EventContext::OrgSettings,
        }
    }
}

/// What a settings write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsOutcome {
    /// Stored, with its event.
    Changed,
    /// The object already was what the write asked for: nothing stored, no event.
    Unchanged,
    /// The result would break a bound: nothing stored.
    Refused(SettingsRefusal),
}

/// The `jsonData` of a settings event: the dot paths that changed, never their values. When
/// more changed than fit in the event's bound, the ones that fit, `"truncated": true` and how
/// many changed.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangedKeys<'a> {
    keys: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed_count: Option<usize>,
}

impl<'a> From<&'a ChangedPaths> for ChangedKeys<'a> {
    fn from(changed: &'a ChangedPaths) -> Self {
        let truncated = changed.is_truncated();
        ChangedKeys {
            keys: &changed.paths,
            truncated: truncated.then_some(true),
            changed_count: truncated.then_some(changed.total),
        }
    }
}

impl Store {
    /// The owner's settings object; `{}` when none was ever written.
    pub async fn settings(&self, owner: SettingsOwner) -> StoreResult<Settings> {
        self.read(move |tx| {
            Box::pin(async move {
                let stored = tx
                    .query_opt(owner.queries().read, args![owner.id()], |row| {
                        row.get::<String>("settings")
                    })
                    .await?;
                Ok(stored
                    .as_deref()
                    .map(parse)
                    .transpose()?
                    .unwrap_or_default())
            })
        })
        .await
    }

    /// Applies `change` to the owner's object in one write transaction: the stored object is
    /// read under a lock, changed in Rust, checked against the bounds and written back with its
    /// `usersettings` / `orgsettings` `updated` event. Concurrent writes to one object, from any
    /// number of instances, take turns, so each sees the one before it (two partial updates of
    /// different keys both survive).
    pub async fn change_settings(
        &self,
        by: Actor,
        owner: SettingsOwner,
        change: SettingsChange,
    ) -> StoreResult<SettingsOutcome> {
        self.write(move |tx| {
            Box::pin(async move { change_settings_in(tx, by, owner, &change).await })
        })
        .await
    }
}

async fn change_settings_in(
    tx: &mut Tx<'_>,
    by: Actor,
    owner: SettingsOwner,
    change: &SettingsChange,
) -> StoreResult<SettingsOutcome> {
    let statements = owner.queries();
    // A row that exists is locked by the read (PostgreSQL; SQLite's one writer already holds
    // the database). A missing one cannot be locked: the first write inserts it, and when a
    // concurrent first write inserted it meanwhile (the insert then waits for that commit and
    // inserts nothing), the second pass reads and locks that row. Every refusal comes before
    // any write, so nothing is stored for it.
    for _ in 0..2 {
        let stored = tx
            .query_opt_per_dialect(&statements.lock, args![owner.id()], |row| {
                row.get::<String>("settings")
            })
            .await?;
        let current = stored
            .as_deref()
            .map(parse)
            .transpose()?
            .unwrap_or_default();
        let applied = match change.apply(&current) {
            Ok(applied) => applied,
            Err(refusal) => return Ok(SettingsOutcome::Refused(refusal)),
        };
        if applied.changed.is_empty() {
            return Ok(SettingsOutcome::Unchanged);
        }
        let write = if stored.is_some() {
            statements.update
        } else {
            statements.insert
        };
        let written = tx
            .execute(write, args![owner.id(), &applied.text, by.at])
            .await?;
        if written == 0 {
            continue;
        }
        let data = json(&ChangedKeys::from(&applied.changed))?;
        let event = NewEvent::settings(by, owner.context(), owner.id(), data);
        append_event(tx, &event).await?;
        return Ok(SettingsOutcome::Changed);
    }
    Err(StoreError::Unavailable(
        "the settings row was neither found nor inserted",
    ))
}

/// A stored object's text, which the store itself wrote.
fn parse(text: &str) -> StoreResult<Settings> {
    serde_json::from_str(text).map_err(StoreError::Encoding)
}

// ---- SQL ----------------------------------------------------------------------------------------

/// The statements of one kind of settings object, by owner id ($1).
struct SettingsQueries {
    /// The stored object's text, if any.
    read: &'static str,
    /// The same, locking the row on PostgreSQL for the read-modify-write.
    lock: PerDialect,
    /// Binds: owner id, settings, updated_at. Inserts nothing when a row exists already (a
    /// concurrent first write committed it).
    insert: &'static str,
    /// Binds: owner id, settings, updated_at.
    update: &'static str,
}

/// The statements of the settings table `$table`, whose owner column is `$owner`.
macro_rules! settings_queries {
    ($table:literal, $owner:literal) => {
        SettingsQueries {
            read: concat!("SELECT settings FROM ", $table, " WHERE ", $owner, " = $1"),
            lock: for_update!(concat!(
                "SELECT settings FROM ",
                $table,
                " WHERE ",
                $owner,
                " = $1"
            )),
            insert: concat!(
                "INSERT INTO ",
                $table,
                " (",
                $owner,
                ", settings, updated_at) VALUES ($1, $2, $3) ON CONFLICT (",
                $owner,
                ") DO NOTHING"
            ),
            update: concat!(
                "UPDATE ",
                $table,
                " SET settings = $2, updated_at = $3 WHERE ",
                $owner,
                " = $1"
            ),
        }
    };
}

const USER_SETTINGS: SettingsQueries = settings_queries!("user_settings", "user_id");

const ORG_SETTINGS: SettingsQueries = settings_queries!("org_settings", "org_id");
