//! What a request did to the database: a [`Snapshot`] of everything the routes can change, to
//! show that a refused request changed nothing, and the audit events written since an
//! [`EventMark`].

use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::app::TestApp;
use crate::support::clock::now_ms;
use crate::support::database::{on_sqlite, Db};

/// Everything the routes can change, as text, to show that a refused request changed nothing.
/// Leaves out what every authenticated request may touch (a session's `last_used_at`).
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    rows: Vec<String>,
    mails: usize,
}

impl TestApp {
    pub async fn snapshot(&self) -> Snapshot {
        let queries = [
            "SELECT 'org|' || name || '|' || COALESCE(website, '') || '|' || \
             COALESCE(address1, '') || '|' || COALESCE(address2, '') || '|' || \
             COALESCE(city, '') || '|' || COALESCE(zipcode, '') || '|' || COALESCE(phone, '') || \
             '|' || COALESCE(state, '') || '|' || COALESCE(country, '') || '|' || is_business || \
             '|' || mfa_enforced || '|' || updated_at || '|' || COALESCE(deleted_at, -1) \
             FROM organizations ORDER BY 1",
            "SELECT 'user|' || email || '|' || first_name || '|' || last_name || '|' || \
             org_role || '|' || validated || '|' || COALESCE(deleted_at, -1) || '|' || \
             COALESCE(password_hash, '') || '|' || updated_at || '|' || mfa_required FROM users \
             ORDER BY 1",
            "SELECT 'session|' || u.email || '|' || s.created_at || '|' || \
             COALESCE(s.revoked_at, -1) || '|' || s.mfa_pending || '|' || s.mfa_verified || \
             '|' || s.login_method FROM sessions s JOIN users u ON u.id = s.user_id ORDER BY 1",
            "SELECT 'identity|' || i.provider || '|' || i.subject || '|' || u.email || '|' || \
             i.email || '|' || i.created_at FROM identities i JOIN users u ON u.id = i.user_id \
             ORDER BY 1",
            "SELECT 'mfa|' || u.email || '|' || m.method || '|' || m.configured || '|' || \
             m.enabled || '|' || m.is_primary || '|' || m.last_step || '|' || \
             COALESCE(LENGTH(m.secret), -1) || '|' || COALESCE(LENGTH(m.pending_secret), -1) || \
             '|' || m.updated_at FROM mfa_methods m JOIN users u ON u.id = m.user_id ORDER BY 1",
            "SELECT 'passkey|' || u.email || '|' || p.name || '|' || p.counter || '|' || \
             p.backed_up || '|' || COALESCE(p.last_used_at, -1) FROM passkeys p \
             JOIN users u ON u.id = p.user_id ORDER BY 1",
            "SELECT 'backup|' || u.email || '|' || b.pending || '|' || COALESCE(b.used_at, -1) \
             FROM mfa_backup_codes b JOIN users u ON u.id = b.user_id ORDER BY 1",
            "SELECT 'link|' || u.email || '|' || l.purpose || '|' || l.created_at || '|' || \
             COALESCE(l.used_at, -1) FROM mfa_link_tokens l JOIN users u ON u.id = l.user_id \
             ORDER BY 1",
            "SELECT 'mfa-failure|' || u.email || '|' || f.failed_at FROM mfa_failures f \
             JOIN users u ON u.id = f.user_id ORDER BY 1",
            "SELECT 'device|' || u.email || '|' || d.fingerprint || '|' || d.last_seen || '|' || \
             COALESCE(d.trusted_until, -1) FROM devices d JOIN users u ON u.id = d.user_id \
             ORDER BY 1",
            "SELECT 'refresh|' || u.email || '|' || t.created_at || '|' || \
             COALESCE(t.used_at, -1) FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
             JOIN users u ON u.id = s.user_id ORDER BY 1",
            "SELECT 'verification|' || u.email || '|' || v.created_at || '|' || \
             COALESCE(v.used_at, -1) FROM email_verifications v JOIN users u ON u.id = v.user_id \
             ORDER BY 1",
            "SELECT 'activation|' || l.email || '|' || COALESCE(l.description, '') || '|' || \
             l.expires_at || '|' || COALESCE(l.activated_at, -1) FROM activation_links l \
             ORDER BY 1",
            "SELECT 'reset|' || u.email || '|' || r.created_at || '|' || COALESCE(r.used_at, -1) \
             FROM password_resets r JOIN users u ON u.id = r.user_id ORDER BY 1",
            "SELECT 'workspace|' || name || '|' || name_key || '|' || created_at || '|' || \
             updated_at || '|' || COALESCE(deleted_at, -1) FROM workspaces ORDER BY 1",
            "SELECT 'member|' || w.name || '|' || u.email || '|' || m.role || '|' || m.created_at \
             FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id \
             JOIN users u ON u.id = m.user_id ORDER BY 1",
            "SELECT 'user_settings|' || u.email || '|' || s.settings || '|' || s.updated_at \
             FROM user_settings s JOIN users u ON u.id = s.user_id ORDER BY 1",
            "SELECT 'org_settings|' || o.name || '|' || s.settings || '|' || s.updated_at \
             FROM org_settings s JOIN organizations o ON o.id = s.org_id ORDER BY 1",
            "SELECT 'event|' || id || '|' || context || '|' || event || '|' || created_at || '|' \
             || COALESCE(json_data, '') FROM system_events ORDER BY 1",
            "SELECT 'event-read|' || u.email || '|' || r.event_id FROM system_event_reads r \
             JOIN users u ON u.id = r.user_id ORDER BY 1",
            "SELECT 'webhook|' || url || '|' || events || '|' || COALESCE(description, '') || \
             '|' || enabled || '|' || LENGTH(secret) || '|' || \
             COALESCE(previous_expires_at, -1) || '|' || next_seq FROM webhooks ORDER BY 1",
            "SELECT 'delivery|' || type || '|' || status || '|' || attempts || '|' || \
             COALESCE(next_attempt_at, -1) FROM webhook_deliveries ORDER BY 1",
        ];
        let mut rows = Vec::new();
        for sql in queries {
            rows.extend(self.strings(sql, &[]).await);
        }
        Snapshot {
            rows,
            mails: self.mailer.count(),
        }
    }

    /// Asserts that nothing changed since `before` was taken.
    pub async fn assert_unchanged(&self, before: &Snapshot) {
        let after = self.snapshot().await;
        assert_eq!(&after, before, "a refused request changed something");
    }
}

/// Where the audit trail stood before a test's change: its last event id, and the time.
#[derive(Debug, Clone, Copy)]
pub struct EventMark {
    id: i64,
    at: i64,
}

impl TestApp {
    pub async fn event_mark(&self) -> EventMark {
        let id = self
            .count("SELECT COALESCE(MAX(id), 0) FROM system_events", &[])
            .await;
        EventMark { id, at: now_ms() }
    }

    /// The events stored after `mark`, in id order, each as the JSON of its columns
    /// (`orgId`, `actorId`, `workspaceId`, `context`, `event`, `contextId`, `jsonData` parsed
    /// from its text): for comparing whole. Their `created_at` is checked to fall between the
    /// mark and now, and left out.
    pub async fn events_since(&self, mark: &EventMark) -> Vec<Value> {
        let until = now_ms();
        let mut events = Vec::new();
        for mut row in self.event_rows(mark.id).await {
            let at = row["createdAt"].as_i64().unwrap();
            assert!(
                (mark.at..=until).contains(&at),
                "event time {at} outside {}..={until}: {row}",
                mark.at
            );
            let row_object = row.as_object_mut().unwrap();
            row_object.remove("createdAt");
            row_object.remove("id");
            events.push(row);
        }
        events
    }

    /// Every column of the events after id `after`, ids increasing.
    async fn event_rows(&self, after: i64) -> Vec<Value> {
        let sql = format!(
            "SELECT id, org_id, actor_id, workspace_id, context, event, context_id, json_data, \
             created_at FROM system_events WHERE id > {after} ORDER BY id"
        );
        type Columns = (
            i64,
            Uuid,
            Uuid,
            Option<Uuid>,
            i64,
            i64,
            Uuid,
            Option<String>,
            i64,
        );
        let rows: Vec<Columns> = match &self.db {
            Db::Sqlite(conn) => {
                on_sqlite(conn, &sql, &[], |statement| {
                    let mut rows = statement.raw_query();
                    let mut out = Vec::new();
                    while let Some(row) = rows.next()? {
                        out.push((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                            row.get(6)?,
                            row.get(7)?,
                            row.get(8)?,
                        ));
                    }
                    Ok(out)
                })
                .await
            }
            Db::Postgres(pool) => {
                use sqlx::Row;
                let rows = sqlx::query(&sql).fetch_all(pool).await.unwrap();
                rows.iter()
                    .map(|row| {
                        (
                            row.get(0),
                            row.get(1),
                            row.get(2),
                            row.get(3),
                            i64::from(row.get::<i16, _>(4)),
                            i64::from(row.get::<i16, _>(5)),
                            row.get(6),
                            row.get(7),
                            row.get(8),
                        )
                    })
                    .collect()
            }
        };
        rows.into_iter()
            .map(
                |(id, org, actor, workspace, context, event, context_id, data, at)| {
                    let data = data.map(|text| {
                        serde_json::from_str::<Value>(&text)
                            .unwrap_or_else(|_| panic!("json_data is JSON text: {text}"))
                    });
                    json!({
                        "id": id,
                        "orgId": org.to_string(),
                        "actorId": actor.to_string(),
                        "workspaceId": workspace.map(|w| w.to_string()),
                        "context": context,
                        "event": event,
                        "contextId": context_id.to_string(),
                        "jsonData": data,
                        "createdAt": at,
                    })
                },
            )
            .collect()
    }
}
