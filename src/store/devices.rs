//! The devices a user signs in from (contract section 9): recorded by each login in its own
//! transaction, listed, trusted, untrusted and removed. Untrusting and removing end the device's
//! sessions in the same transaction. Every statement is scoped by the user in SQL, so another
//! user's device is the same "not found" as an unknown id. These writes append no system event:
//! section 7 lists none for sessions or devices.

use super::sessions::SessionInfo;
use super::tx::{args, Row, Tx};
use super::{Store, StoreResult};
use crate::domain::{DeviceId, LoginMethod, SeenDevice, SessionId, TrustLevel, UserId};

/// A user keeps at most this many devices: a login that records one more drops the least
/// recently seen (contract section 8).
pub const MAX_DEVICES: i64 = 100;

/// A device as a login records it.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// Its id if it is new to the user (an existing row keeps its own).
    pub id: DeviceId,
    pub user_id: UserId,
    pub fingerprint: String,
    pub seen: SeenDevice,
    pub seen_at: i64,
}

impl NewDevice {
    pub fn new(user_id: UserId, seen: SeenDevice, seen_at: i64) -> NewDevice {
        NewDevice {
            id: DeviceId::new(),
            user_id,
            fingerprint: seen.fingerprint(user_id),
            seen,
            seen_at,
        }
    }

    /// The client address, as stored.
    pub fn ip_address(&self) -> Option<String> {
        self.seen.ip_address.map(|ip| ip.to_string())
    }
}

/// Records (or refreshes) a login's device; returns the id its session points at.
pub(super) async fn upsert_device(tx: &mut Tx<'_>, device: &NewDevice) -> StoreResult<DeviceId> {
    let seen = &device.seen;
    let ip_address = device.ip_address();
    let id = tx
        .query_opt(
            UPSERT_DEVICE,
            args![
                device.id,
                device.user_id,
                &device.fingerprint,
                &seen.name,
                seen.device_type,
                &seen.os,
                &seen.browser,
                &seen.user_agent,
                &ip_address,
                seen.level.as_str(),
                device.seen_at
            ],
            |row| row.get("id"),
        )
        .await?;
    // An upsert with RETURNING always answers its row.
    id.ok_or(super::StoreError::Unavailable(
        "a device upsert returned no row",
    ))
}

/// Drops `user_id`'s devices beyond the [`MAX_DEVICES`] last seen, never `keep` (the device just
/// recorded). Their sessions stay, pointing at no device.
pub(super) async fn trim_devices(
    tx: &mut Tx<'_>,
    user_id: UserId,
    keep: DeviceId,
) -> StoreResult<()> {
    tx.execute(TRIM_DEVICES, args![user_id, MAX_DEVICES, keep])
        .await?;
    Ok(())
}

/// A recorded device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: DeviceId,
    pub fingerprint: String,
    pub name: String,
    pub device_type: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    /// The address of its last login.
    pub ip_address: Option<String>,
    /// How it was last seen: LOW or MEDIUM.
    pub seen_level: TrustLevel,
    /// Until when the user trusts it (it may have passed).
    pub trusted_until: Option<i64>,
    pub created_at: i64,
    /// Its last login.
    pub last_seen: i64,
}

impl Device {
    fn from_row(row: &Row<'_>) -> StoreResult<Device> {
        Ok(Device {
            id: row.get("id")?,
            fingerprint: row.get("fingerprint")?,
            name: row.get("device_name")?,
            device_type: row.get("device_type")?,
            os: row.get("os")?,
            browser: row.get("browser")?,
            user_agent: row.get("user_agent")?,
            ip_address: row.get("ip_address")?,
            seen_level: TrustLevel::parse_seen(&row.get::<String>("seen_level")?),
            trusted_until: row.get("trusted_until")?,
            created_at: row.get("created_at")?,
            last_seen: row.get("last_seen")?,
        })
    }

    /// When its trust ends, if it is trusted at `now`.
    pub fn trusted_until_at(&self, now: i64) -> Option<i64> {
        self.trusted_until.filter(|until| *until > now)
    }

    /// HIGH while trusted, else how it was seen.
    pub fn trust_level_at(&self, now: i64) -> TrustLevel {
        match self.trusted_until_at(now) {
            Some(_) => TrustLevel::High,
            None => self.seen_level,
        }
    }
}

/// A device with its live sessions, newest first.
#[derive(Debug, Clone)]
pub struct DeviceDetails {
    pub device: Device,
    pub sessions: Vec<SessionInfo>,
}

impl Store {
    /// The user's devices, last seen first (one statement).
    pub async fn list_devices(&self, user_id: UserId) -> StoreResult<Vec<Device>> {
        self.read(|tx| {
            Box::pin(async move {
                tx.query_all(LIST_DEVICES, args![user_id], Device::from_row)
                    .await
            })
        })
        .await
    }

    /// One of the user's devices with its live sessions at `now` (one statement); None for an
    /// unknown id or another user's device.
    pub async fn device_details(
        &self,
        user_id: UserId,
        device_id: DeviceId,
        now: i64,
    ) -> StoreResult<Option<DeviceDetails>> {
        self.read(|tx| {
            Box::pin(async move {
                let rows = tx
                    .query_all(
                        DEVICE_WITH_SESSIONS,
                        args![device_id, user_id, now],
                        |row| {
                            let device = Device::from_row(row)?;
                            let session = match row.get::<Option<SessionId>>("session_id")? {
                                Some(id) => Some(SessionInfo {
                                    id,
                                    created_at: row.get("session_created_at")?,
                                    last_used_at: row.get("session_last_used_at")?,
                                    expires_at: row.get("session_expires_at")?,
                                    ip_address: row.get("session_ip_address")?,
                                    device_name: Some(device.name.clone()),
                                    login_method: LoginMethod::parse(
                                        &row.get::<Option<String>>("session_login_method")?
                                            .unwrap_or_default(),
                                    ),
                                }),
                                None => None,
                            };
                            Ok((device, session))
                        },
                    )
                    .await?;
                let mut rows = rows.into_iter();
                let Some((device, first)) = rows.next() else {
                    return Ok(None);
                };
                let sessions = first
                    .into_iter()
                    .chain(rows.filter_map(|(_, session)| session))
                    .collect();
                Ok(Some(DeviceDetails { device, sessions }))
            })
        })
        .await
    }

    /// Trusts the user's device with this fingerprint until `until`; false when they have none.
    pub async fn trust_device(
        &self,
        user_id: UserId,
        fingerprint: &str,
        until: i64,
    ) -> StoreResult<bool> {
        let fingerprint = fingerprint.to_owned();
        self.write_single(move |tx| {
            Box::pin(async move {
                let trusted: Option<DeviceId> = tx
                    .query_opt(TRUST_DEVICE, args![user_id, &fingerprint, until], |row| {
                        row.get("id")
                    })
                    .await?;
                Ok(trusted.is_some())
            })
        })
        .await
    }

    /// Ends the trust in one of the user's devices and every session on it, at once; false for
    /// an unknown id or another user's device (then nothing changes).
    pub async fn untrust_device(
        &self,
        user_id: UserId,
        device_id: DeviceId,
        now: i64,
    ) -> StoreResult<bool> {
        self.write(move |tx| Box::pin(async move { end_device(tx, user_id, device_id, now).await }))
            .await
    }

    /// Removes one of the user's devices, ending every session on it, at once; false for an
    /// unknown id or another user's device (then nothing changes).
    pub async fn remove_device(
        &self,
        user_id: UserId,
        device_id: DeviceId,
        now: i64,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            Box::pin(async move {
                if !end_device(tx, user_id, device_id, now).await? {
                    return Ok(false);
                }
                // Its (now revoked) sessions keep no link to it (ON DELETE SET NULL).
                tx.execute(DELETE_DEVICE, args![device_id, user_id]).await?;
                Ok(true)
            })
        })
        .await
    }
}

/// Clears the trust in one of the user's devices and revokes its live sessions; false when the
/// user has no such device. The device's row is written first: on PostgreSQL that locks it, so a
/// login recording the device meanwhile either commits before (and its session is revoked here)
/// or waits for this transaction to end.
async fn end_device(
    tx: &mut Tx<'_>,
    user_id: UserId,
    device_id: DeviceId,
    now: i64,
) -> StoreResult<bool> {
    let found = tx
        .execute(UNTRUST_DEVICE, args![device_id, user_id])
        .await?;
    if found == 0 {
        return Ok(false);
    }
    tx.execute(REVOKE_DEVICE_SESSIONS, args![device_id, user_id, now])
        .await?;
    Ok(true)
}

// ---- SQL ----------------------------------------------------------------------------------------

/// Records the device of a login ($1 id if new, $2 user, $3 fingerprint, $4 name, $5 type, $6 os,
/// $7 browser, $8 user agent, $9 address, $10 seen level, $11 now); returns its id, the existing
/// row's when the user has signed in from it before.
const UPSERT_DEVICE: &str = "INSERT INTO devices (id, user_id, fingerprint, device_name, \
     device_type, os, browser, user_agent, ip_address, seen_level, created_at, last_seen) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
     ON CONFLICT (user_id, fingerprint) DO UPDATE SET device_name = excluded.device_name, \
     device_type = excluded.device_type, os = excluded.os, browser = excluded.browser, \
     user_agent = excluded.user_agent, ip_address = excluded.ip_address, \
     seen_level = excluded.seen_level, last_seen = excluded.last_seen \
     RETURNING id";

/// Deletes user $1's devices but the $2 last seen (ties broken by id), never $3 (the device of
/// the login being recorded). Their sessions live on, pointing at no device (`ON DELETE SET
/// NULL`).
const TRIM_DEVICES: &str = "DELETE FROM devices WHERE user_id = $1 AND id <> $3 \
     AND id NOT IN (SELECT id FROM devices WHERE user_id = $1 \
     ORDER BY last_seen DESC, id DESC LIMIT $2)";

/// The columns of a device (`d`), for `store::devices`.
macro_rules! device_columns {
    () => {
        "d.id, d.fingerprint, d.device_name, d.device_type, d.os, d.browser, d.user_agent, \
         d.ip_address, d.seen_level, d.trusted_until, d.created_at, d.last_seen"
    };
}

/// The user's ($1) devices, last seen first.
const LIST_DEVICES: &str = concat!(
    "SELECT ",
    device_columns!(),
    " FROM devices d WHERE d.user_id = $1 ORDER BY d.last_seen DESC, d.id DESC"
);

/// One of the user's devices ($1 device, $2 user), one row per live session on it ($3 now),
/// newest first (one row with null session columns when it has none).
const DEVICE_WITH_SESSIONS: &str = concat!(
    "SELECT ",
    device_columns!(),
    ", s.id AS session_id, s.created_at AS session_created_at, \
     s.last_used_at AS session_last_used_at, s.expires_at AS session_expires_at, \
     s.ip_address AS session_ip_address, s.login_method AS session_login_method \
     FROM devices d LEFT JOIN sessions s \
     ON s.device_id = d.id AND s.revoked_at IS NULL AND s.expires_at > $3 \
     WHERE d.id = $1 AND d.user_id = $2 ORDER BY s.created_at DESC, s.id DESC"
);

/// Trusts the user's ($1) device with fingerprint $2 until $3; returns its id.
const TRUST_DEVICE: &str = "UPDATE devices SET trusted_until = $3 \
     WHERE user_id = $1 AND fingerprint = $2 RETURNING id";

/// Ends the trust in one of the user's devices ($1 device, $2 user).
const UNTRUST_DEVICE: &str =
    "UPDATE devices SET trusted_until = NULL WHERE id = $1 AND user_id = $2";

/// Revokes the user's live sessions on a device ($1 device, $2 user, $3 now).
const REVOKE_DEVICE_SESSIONS: &str = "UPDATE sessions SET revoked_at = $3 \
     WHERE device_id = $1 AND user_id = $2 AND revoked_at IS NULL";

/// Deletes one of the user's devices ($1 device, $2 user); its sessions keep no link to it.
const DELETE_DEVICE: &str = "DELETE FROM devices WHERE id = $1 AND user_id = $2";

/// The plans SQLite makes for the statements of the sessions and devices pages: each page is
/// one statement, and each reads the user's rows through an index, never a whole table.
#[cfg(test)]
mod plan_tests {
    use super::{
        DELETE_DEVICE, DEVICE_WITH_SESSIONS, LIST_DEVICES, REVOKE_DEVICE_SESSIONS, TRIM_DEVICES,
        TRUST_DEVICE, UNTRUST_DEVICE,
    };
    use crate::store::sessions;
    use crate::store::sqlite::explain::{migrated, plan};

    #[test]
    fn session_and_device_statements_read_through_indexes() {
        let conn = migrated();
        let statements = [
            (sessions::LIST_SESSIONS, "sessions_user"),
            (LIST_DEVICES, "devices_user_fingerprint"),
            (DEVICE_WITH_SESSIONS, "sessions_device"),
            (REVOKE_DEVICE_SESSIONS, "sessions_device"),
            (TRUST_DEVICE, "devices_user_fingerprint"),
            (UNTRUST_DEVICE, "sqlite_autoindex_devices_1"),
            (DELETE_DEVICE, "sqlite_autoindex_devices_1"),
            (
                sessions::HEARTBEAT_SESSION,
                "SEARCH sessions USING PRIMARY KEY",
            ),
            (sessions::SLIDE_REFRESH_TOKENS, "refresh_tokens_session"),
            (TRIM_DEVICES, "devices_user_fingerprint"),
            (sessions::END_OLDEST_PENDING_SESSIONS, "sessions_user"),
        ];
        for (sql, index) in statements {
            let steps = plan(&conn, sql);
            assert!(steps.contains(index), "{sql}:\n{steps}");
            let scans = steps
                .lines()
                .filter(|step| step.starts_with("SCAN"))
                .count();
            assert_eq!(scans, 0, "{sql}:\n{steps}");
        }
    }
}
