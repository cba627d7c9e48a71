//! The devices a user signs in from (contract section 9): recorded by each login in its own
//! transaction, listed, trusted, untrusted and removed. Untrusting and removing end the device's
//! sessions in the same transaction. Every statement is scoped by the user in SQL, so another
//! user's device is the same "not found" as an unknown id. These writes append no system event:
//! section 7 lists none for sessions or devices.

use super::sessions::SessionInfo;
use super::tx::{args, Row, Tx};
use super::{queries, Store, StoreResult};
use crate::domain::{DeviceId, SeenDevice, SessionId, TrustLevel, UserId};

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
            queries::UPSERT_DEVICE,
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
    tx.execute(queries::TRIM_DEVICES, args![user_id, MAX_DEVICES, keep])
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
                tx.query_all(queries::LIST_DEVICES, args![user_id], Device::from_row)
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
                        queries::DEVICE_WITH_SESSIONS,
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
                    .query_opt(
                        queries::TRUST_DEVICE,
                        args![user_id, &fingerprint, until],
                        |row| row.get("id"),
                    )
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
                tx.execute(queries::DELETE_DEVICE, args![device_id, user_id])
                    .await?;
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
        .execute(queries::UNTRUST_DEVICE, args![device_id, user_id])
        .await?;
    if found == 0 {
        return Ok(false);
    }
    tx.execute(
        queries::REVOKE_DEVICE_SESSIONS,
        args![device_id, user_id, now],
    )
    .await?;
    Ok(true)
}

/// The plans SQLite makes for the statements of the sessions and devices pages: each page is
/// one statement, and each reads the user's rows through an index, never a whole table.
#[cfg(test)]
mod plan_tests {
    use crate::store::queries;
    use crate::store::sqlite::explain::{migrated, plan};

    #[test]
    fn session_and_device_statements_read_through_indexes() {
        let conn = migrated();
        let statements = [
            (queries::LIST_SESSIONS, "sessions_user"),
            (queries::LIST_DEVICES, "devices_user_fingerprint"),
            (queries::DEVICE_WITH_SESSIONS, "sessions_device"),
            (queries::REVOKE_DEVICE_SESSIONS, "sessions_device"),
            (queries::TRUST_DEVICE, "devices_user_fingerprint"),
            (queries::UNTRUST_DEVICE, "sqlite_autoindex_devices_1"),
            (queries::DELETE_DEVICE, "sqlite_autoindex_devices_1"),
            (queries::HEARTBEAT_SESSION, "sqlite_autoindex_sessions_1"),
            (queries::SLIDE_REFRESH_TOKENS, "refresh_tokens_session"),
            (queries::TRIM_DEVICES, "devices_user_fingerprint"),
            (queries::END_OLDEST_PENDING_SESSIONS, "sessions_user"),
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
