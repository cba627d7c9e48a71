//! POST /systemevent (contract section 7): the scope by role, each filter alone and combined,
//! the default window, pagination with `total`, and every bound answering 400 naming the field.

use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::assertions::{assert_answer, assert_error, assert_unauthorized};
use crate::support::clock::{now_ms, rfc3339};
use crate::support::event_cast::{EventCast, Row, HOUR, MINUTE};

/// The events of the scope tests, oldest first, and their ids.
struct Scene {
    cast: EventCast,
    rows: Vec<Row>,
    ids: Vec<i64>,
}

/// a: owner created the workspace; b: owner added the member to it; c: the manager updated
/// themself; d: the outsider updated themself; e: the other organization's owner; f: the owner
/// updated the organization; g: the member updated their settings.
async fn scene() -> Scene {
    let cast = EventCast::new().await;
    let (owner, member, ws) = (&cast.owner, &cast.member, cast.workspace.clone());
    let mut a = EventCast::row(owner, 0, 0, &ws, 10 * MINUTE);
    a.workspace = Some(ws.clone());
    a.json_data = Some(r#"{"name":"Design"}"#);
    let mut b = EventCast::row(owner, 5, 0, &member.user_id, 9 * MINUTE);
    b.workspace = Some(ws.clone());
    let c = EventCast::row(&cast.manager, 3, 1, &cast.manager.user_id, 8 * MINUTE);
    let d = EventCast::row(&cast.outsider, 3, 1, &cast.outsider.user_id, 7 * MINUTE);
    let e = EventCast::row(&cast.stranger, 4, 0, &cast.stranger.org_id, 6 * MINUTE);
    let f = EventCast::row(owner, 4, 1, &owner.org_id, 5 * MINUTE);
    let g = EventCast::row(member, 7, 1, &member.user_id, 4 * MINUTE);
    let rows = vec![a, b, c, d, e, f, g];
    let mut ids = Vec::new();
    for row in &rows {
        ids.push(cast.insert(row).await);
    }
    Scene { cast, rows, ids }
}

impl Scene {
    /// The ids of the named events (`"gfa"`), in that order.
    fn of(&self, names: &str) -> Vec<i64> {
        names
            .bytes()
            .map(|name| self.ids[usize::from(name - b'a')])
            .collect()
    }

    async fn sees(&self, who: &Account, body: Value, names: &str) {
        let expected = self.of(names);
        let total = expected.len() as i64;
        assert_eq!(
            self.cast.ids(who, body.clone()).await,
            (expected, total),
            "{} with {body}",
            who.email
        );
    }
}

#[tokio::test]
async fn owners_and_administrators_see_their_organization_and_everyone_else_their_own_and_their_workspaces(
) {
    let s = scene().await;
    let c = &s.cast;
    // The whole answer once, as the owner sees it.
    let answer = c.query(&c.owner, json!({})).await;
    let by = |at: usize| match at {
        0 | 1 | 5 => &c.owner,
        2 => &c.manager,
        3 => &c.outsider,
        _ => &c.member,
    };
    let events: Vec<Value> = [6, 5, 3, 2, 1, 0]
        .into_iter()
        .map(|at| EventCast::json(s.ids[at], &s.rows[at], by(at), true))
        .collect();
    let expected = json!({"success": true, "events": events, "total": 6, "skip": 0, "take": 20});
    assert_answer(&answer, 200, &expected);

    s.sees(&c.admin, json!({}), "gfdcba").await;
    // WORKSPACES is no administrator: only what they did.
    s.sees(&c.manager, json!({}), "c").await;
    // A USER member: their own, and their workspace's.
    s.sees(&c.member, json!({}), "gba").await;
    s.sees(&c.outsider, json!({}), "d").await;
    s.sees(&c.stranger, json!({}), "e").await;
    // A filter never widens the scope: another's events stay out of sight.
    s.sees(&c.outsider, json!({"userId": c.owner.user_id}), "")
        .await;
    s.sees(&c.stranger, json!({"userId": c.owner.user_id}), "")
        .await;
    s.sees(&c.member, json!({"userId": c.owner.user_id}), "ba")
        .await;
    // Membership is read at query time: removed from the workspace, the member no longer sees
    // what happened in it.
    let path = format!("/workspace/{}/users/{}", c.workspace, c.member.user_id);
    let removed = c.app.delete(&path, Some(&c.owner.access_token)).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    s.sees(&c.member, json!({}), "g").await;
}

#[tokio::test]
async fn each_filter_alone_and_combined_narrows_the_answer() {
    let s = scene().await;
    let c = &s.cast;
    let (owner, member, ws) = (&c.owner, &c.member, &c.workspace);
    s.sees(owner, json!({"contextId": member.user_id}), "gb")
        .await;
    s.sees(owner, json!({"context": 5}), "b").await;
    s.sees(owner, json!({"context": 3}), "dc").await;
    s.sees(owner, json!({"context": 1}), "").await;
    s.sees(owner, json!({"event": 0}), "ba").await;
    s.sees(owner, json!({"event": 2}), "").await;
    s.sees(owner, json!({"userId": owner.user_id}), "fba").await;
    s.sees(owner, json!({"workspaceId": ws}), "ba").await;
    s.sees(owner, json!({"showUnread": false}), "gfdcba").await;
    s.sees(owner, json!({"userId": owner.user_id, "context": 0}), "a")
        .await;
    let three = json!({"workspaceId": ws, "event": 0, "contextId": member.user_id});
    s.sees(owner, three, "b").await;
    let two = json!({"context": 3, "userId": c.manager.user_id, "event": 1});
    s.sees(owner, two, "c").await;
    s.sees(
        owner,
        json!({"context": 4, "event": 1, "userId": member.user_id}),
        "",
    )
    .await;
    // null reads as absent, as the client's undefined does.
    s.sees(
        owner,
        json!({"context": null, "userId": null, "take": null}),
        "gfdcba",
    )
    .await;
}

#[tokio::test]
async fn without_timestamps_the_last_24_hours_and_with_one_the_other_side_is_open() {
    let cast = EventCast::new().await;
    let owner = &cast.owner;
    let old = EventCast::row(owner, 4, 1, &owner.org_id, 25 * HOUR);
    let recent = EventCast::row(owner, 4, 1, &owner.org_id, HOUR);
    let old_id = cast.insert(&old).await;
    let recent_id = cast.insert(&recent).await;
    let both = (vec![recent_id, old_id], 2);

    assert_eq!(cast.ids(owner, json!({})).await, (vec![recent_id], 1));
    let from = rfc3339(now_ms() - 26 * HOUR);
    assert_eq!(
        cast.ids(owner, json!({ "from_timestamp": from })).await,
        both
    );
    let to = rfc3339(now_ms() - 2 * HOUR);
    assert_eq!(
        cast.ids(owner, json!({ "to_timestamp": to })).await,
        (vec![old_id], 1)
    );
    // Both bounds are inclusive, to the millisecond.
    let at = rfc3339(old.created_at);
    let exact = json!({ "from_timestamp": at, "to_timestamp": at });
    assert_eq!(cast.ids(owner, exact).await, (vec![old_id], 1));
    let after = json!({ "from_timestamp": rfc3339(old.created_at + 1), "to_timestamp": rfc3339(recent.created_at - 1) });
    assert_eq!(cast.ids(owner, after).await, (vec![], 0));
    // Any offset: the same instant written in UTC+02:00.
    let shifted =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(old.created_at) * 1_000_000)
            .unwrap()
            .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap())
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
    let body = json!({ "from_timestamp": shifted, "to_timestamp": shifted });
    assert_eq!(cast.ids(owner, body).await, (vec![old_id], 1));
}

#[tokio::test]
async fn pages_go_newest_first_by_time_then_id_and_total_counts_every_match() {
    let cast = EventCast::new().await;
    let owner = &cast.owner;
    let base = now_ms() - MINUTE;
    let mut ids = Vec::new();
    for n in 0..25 {
        // Each later insert is older, so time and id order disagree; the first two share a
        // timestamp, where the higher id comes first.
        let mut row = EventCast::row(owner, 0, 0, &cast.workspace, 0);
        row.created_at = base - (n.max(1) - 1) * 1000;
        ids.push(cast.insert(&row).await);
    }
    let mut newest = ids.clone();
    newest.swap(0, 1);
    let page = |skip: i64, take: i64| json!({ "skip": skip, "take": take });
    let answer = cast.query(owner, page(20, 10)).await;
    assert_eq!(
        (answer.body["skip"].clone(), answer.body["take"].clone()),
        (json!(20), json!(10))
    );
    assert_eq!(
        cast.ids(owner, page(0, 10)).await,
        (newest[..10].to_vec(), 25)
    );
    assert_eq!(
        cast.ids(owner, page(10, 10)).await,
        (newest[10..20].to_vec(), 25)
    );
    assert_eq!(
        cast.ids(owner, page(20, 10)).await,
        (newest[20..].to_vec(), 25)
    );
    assert_eq!(cast.ids(owner, page(25, 10)).await, (vec![], 25));
    assert_eq!(
        cast.ids(owner, json!({})).await,
        (newest[..20].to_vec(), 25)
    );
    assert_eq!(cast.ids(owner, page(0, 100)).await, (newest.clone(), 25));
    assert_eq!(cast.ids(owner, page(24, 1)).await, (vec![newest[24]], 25));
}

#[tokio::test]
async fn out_of_range_values_malformed_timestamps_and_ids_and_unknown_indices_answer_400_naming_the_field(
) {
    let cast = EventCast::new().await;
    let owner = &cast.owner;
    let cases = [
        (json!({"take": 0}), "take must be an integer from 1 to 100"),
        (
            json!({"take": 101}),
            "take must be an integer from 1 to 100",
        ),
        (
            json!({"take": "5"}),
            "take must be an integer from 1 to 100",
        ),
        (
            json!({"take": 2.5}),
            "take must be an integer from 1 to 100",
        ),
        (json!({"skip": -1}), "skip must be an integer of at least 0"),
        (
            json!({"skip": 1e20}),
            "skip must be an integer of at least 0",
        ),
        (
            json!({"skip": "x"}),
            "skip must be an integer of at least 0",
        ),
        (
            json!({"context": 14}),
            "context must be an integer from 0 to 13",
        ),
        (
            json!({"context": -1}),
            "context must be an integer from 0 to 13",
        ),
        (json!({"event": 3}), "event must be an integer from 0 to 2"),
        (
            json!({"event": "created"}),
            "event must be an integer from 0 to 2",
        ),
        (
            json!({"from_timestamp": "yesterday"}),
            "from_timestamp must be an RFC 3339 timestamp",
        ),
        (
            json!({"from_timestamp": "2026-12-01"}),
            "from_timestamp must be an RFC 3339 timestamp",
        ),
        (
            json!({"to_timestamp": 1_700_000_000}),
            "to_timestamp must be an RFC 3339 timestamp",
        ),
        (json!({"contextId": "42"}), "contextId must be a UUID"),
        (json!({"userId": "not-a-uuid"}), "userId must be a UUID"),
        (json!({"workspaceId": 7}), "workspaceId must be a UUID"),
        (json!({"showUnread": "yes"}), "showUnread must be a boolean"),
    ];
    for (body, message) in cases {
        let answer = cast.query(owner, body.clone()).await;
        assert_error(&answer, 400, message, "INVALID_FIELD");
    }
    // The edges are in range.
    for body in [
        json!({"take": 1}),
        json!({"take": 100}),
        json!({"skip": 0}),
        json!({"skip": i64::MAX}),
        json!({"context": 13}),
        json!({"event": 2}),
    ] {
        assert_eq!(cast.ids(owner, body).await, (vec![], 0));
    }
    // The token first: a bad body without a valid token is 401.
    let answer = cast
        .app
        .post("/systemevent", None, json!({"take": 0}))
        .await;
    assert_unauthorized(&answer);
    let answer = cast
        .app
        .post("/systemevent", Some("nope"), json!({"take": 0}))
        .await;
    assert_unauthorized(&answer);
    // A body that is not JSON is ours too.
    let request = cast
        .app
        .client
        .post(cast.app.url("/systemevent"))
        .bearer_auth(&owner.access_token)
        .header("content-type", "application/json")
        .body("{");
    let answer = crate::support::app::TestApp::send(request).await;
    assert_error(
        &answer,
        400,
        "Request body is not valid JSON",
        "INVALID_JSON",
    );
    // No body at all is the default query.
    let answer = cast
        .app
        .request(
            reqwest::Method::POST,
            "/systemevent",
            Some(&owner.access_token),
            None,
        )
        .await;
    let empty = json!({"success": true, "events": [], "total": 0, "skip": 0, "take": 20});
    assert_answer(&answer, 200, &empty);
}

/// The two halves meet: a change made through the API is what the query answers, with its
/// actor's names, its JSON data as a string, and a fresh event unread until it is marked.
#[tokio::test]
async fn a_workspace_created_through_the_api_is_the_newest_event_its_owner_reads() {
    let app = crate::support::app::spawn_app().await;
    let owner = app.register_verified("ann@example.com").await;
    let created = app.create_workspace(&owner.access_token, "Design").await;
    assert_eq!(created.status, 201, "{}", created.body);
    let workspace = created.body["workspace"]["id"].as_str().unwrap().to_owned();

    let query = |body: Value| {
        let request = app
            .client
            .post(app.url("/systemevent"))
            .bearer_auth(&owner.access_token)
            .json(&body);
        crate::support::app::TestApp::send(request)
    };
    let answer = query(json!({ "context": 0, "take": 1 })).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let event = &answer.body["events"][0];
    let id = event["id"].as_i64().expect("an integer id");
    let data = json!({ "id": workspace, "name": "Design", "orgId": owner.org_id });
    let expected = json!({
        "success": true,
        "events": [{
            "id": id,
            "timestamp": event["timestamp"],
            "contextId": workspace,
            "context": "workspace",
            "event": "created",
            "orgId": owner.org_id,
            "userId": owner.user_id,
            "userName": format!("{} {}", owner.first_name, owner.last_name),
            "userEmail": owner.email,
            "workspaceId": workspace,
            // A JSON string; its content is compared parsed, below.
            "jsonData": event["jsonData"],
            "showUnread": true,
        }],
        "total": 1,
        "skip": 0,
        "take": 1,
    });
    assert_answer(&answer, 200, &expected);
    let stamp = event["timestamp"].as_str().unwrap();
    assert!(stamp.ends_with('Z') || stamp.contains('+'), "{stamp}");
    // The string holds exactly the workspace's public fields.
    let stored: Value = serde_json::from_str(event["jsonData"].as_str().unwrap()).unwrap();
    assert_eq!(stored, data);

    // Marked read, it leaves the unread view and shows as read.
    let marked = app
        .post(
            "/systemevent/read",
            Some(&owner.access_token),
            json!({ "id": id }),
        )
        .await;
    assert_answer(&marked, 200, &json!({ "success": true }));
    let unread = query(json!({ "context": 0, "showUnread": true })).await;
    assert_eq!(unread.body["total"], 0, "{}", unread.body);
    let again = query(json!({ "context": 0, "take": 1 })).await;
    assert_eq!(
        again.body["events"][0]["showUnread"], false,
        "{}",
        again.body
    );
}
