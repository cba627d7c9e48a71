//! POST|DELETE /systemevent/read and the older POST|DELETE /systemevent/{id}/read (contract
//! section 7): per user, idempotent, foreign and invisible ids skipped, every refusal.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::accounts::{Account, Verification};
use crate::support::assertions::{
    assert_answer, assert_error, assert_unauthorized, not_validated_body,
};
use crate::support::client::Answer;
use crate::support::event_cast::{EventCast, MINUTE};

fn ok() -> Value {
    json!({ "success": true })
}

async fn mark(cast: &EventCast, method: Method, by: &Account, body: Value) -> Answer {
    let token = Some(by.access_token.as_str());
    cast.app
        .request(method, "/systemevent/read", token, Some(body))
        .await
}

async fn mark_one(cast: &EventCast, method: Method, by: &Account, id: &str) -> Answer {
    let path = format!("/systemevent/{id}/read");
    cast.app
        .request(method, &path, Some(&by.access_token), None)
        .await
}

/// The ids `user` has marked read, in the database.
async fn read_by(cast: &EventCast, user: &Account) -> Vec<String> {
    let sql = "SELECT CAST(event_id AS TEXT) FROM system_event_reads WHERE user_id = $1 \
               ORDER BY event_id";
    cast.app.strings(sql, &[&user.user_id]).await
}

/// Events: a in the workspace (by the owner), b by the manager, c in the other organization.
async fn events(cast: &EventCast) -> (i64, i64, i64) {
    let mut a = EventCast::row(&cast.owner, 0, 1, &cast.workspace, 3 * MINUTE);
    a.workspace = Some(cast.workspace.clone());
    let b = EventCast::row(&cast.manager, 3, 1, &cast.manager.user_id, 2 * MINUTE);
    let c = EventCast::row(&cast.stranger, 4, 1, &cast.stranger.org_id, MINUTE);
    (
        cast.insert(&a).await,
        cast.insert(&b).await,
        cast.insert(&c).await,
    )
}

/// `showUnread` of each event `by` sees, newest first.
async fn unread_flags(cast: &EventCast, by: &Account, body: Value) -> Vec<(i64, bool)> {
    let answer = cast.query(by, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["showUnread"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn marks_are_per_user_idempotent_and_skip_what_the_caller_cannot_see() {
    let cast = EventCast::new().await;
    let (a, b, c) = events(&cast).await;
    let (owner, member) = (&cast.owner, &cast.member);

    assert_answer(
        &mark(&cast, Method::POST, member, json!({"id": a})).await,
        200,
        &ok(),
    );
    assert_eq!(read_by(&cast, member).await, [a.to_string()]);
    // Again: nothing changes.
    assert_answer(
        &mark(&cast, Method::POST, member, json!({"id": a})).await,
        200,
        &ok(),
    );
    assert_eq!(read_by(&cast, member).await, [a.to_string()]);
    // Only for the caller: the owner still has it unread.
    assert_eq!(unread_flags(&cast, member, json!({})).await, [(a, false)]);
    assert_eq!(
        unread_flags(&cast, owner, json!({})).await,
        [(b, true), (a, true)]
    );
    assert_eq!(read_by(&cast, owner).await, Vec::<String>::new());

    // b is the manager's (out of the member's sight), c another organization's, the last
    // unknown: all skipped without a word.
    let body = json!({"ids": [b, c, a, 999_999]});
    assert_answer(&mark(&cast, Method::POST, member, body).await, 200, &ok());
    assert_eq!(read_by(&cast, member).await, [a.to_string()]);
    let body = json!({"ids": [b, c]});
    assert_answer(&mark(&cast, Method::POST, owner, body).await, 200, &ok());
    assert_eq!(read_by(&cast, owner).await, [b.to_string()]);
    let stranger = &cast.stranger;
    let body = json!({"id": c, "ids": [a, b]});
    assert_answer(&mark(&cast, Method::POST, stranger, body).await, 200, &ok());
    assert_eq!(read_by(&cast, stranger).await, [c.to_string()]);

    // showUnread: true leaves out what the caller has read.
    assert_eq!(
        unread_flags(&cast, owner, json!({"showUnread": true})).await,
        [(a, true)]
    );
    assert_eq!(
        cast.ids(owner, json!({"showUnread": true})).await,
        (vec![a], 1)
    );
    assert_eq!(
        cast.ids(member, json!({"showUnread": true})).await,
        (vec![], 0)
    );

    // Unread again, with a JSON body on DELETE; twice is the same.
    for _ in 0..2 {
        let answer = mark(&cast, Method::DELETE, owner, json!({"ids": [b, c]})).await;
        assert_answer(&answer, 200, &ok());
        assert_eq!(read_by(&cast, owner).await, Vec::<String>::new());
    }
    assert_eq!(read_by(&cast, stranger).await, [c.to_string()]);
    assert_eq!(
        unread_flags(&cast, owner, json!({"showUnread": true})).await,
        [(b, true), (a, true)]
    );
}

#[tokio::test]
async fn the_older_one_event_path_marks_read_and_unread_too() {
    let cast = EventCast::new().await;
    let (a, _, c) = events(&cast).await;
    let member = &cast.member;
    for _ in 0..2 {
        let answer = mark_one(&cast, Method::POST, member, &a.to_string()).await;
        assert_answer(&answer, 200, &ok());
        assert_eq!(read_by(&cast, member).await, [a.to_string()]);
    }
    let answer = mark_one(&cast, Method::POST, member, &c.to_string()).await;
    assert_answer(&answer, 200, &ok());
    assert_eq!(read_by(&cast, member).await, [a.to_string()]);
    for _ in 0..2 {
        let answer = mark_one(&cast, Method::DELETE, member, &a.to_string()).await;
        assert_answer(&answer, 200, &ok());
        assert_eq!(read_by(&cast, member).await, Vec::<String>::new());
    }
    for bad in ["abc", "0", "-1", "1.5"] {
        for method in [Method::POST, Method::DELETE] {
            let answer = mark_one(&cast, method, member, bad).await;
            assert_error(
                &answer,
                400,
                "At least one valid event id is required",
                "EVENT_ID_REQUIRED",
            );
        }
    }
    let answer = cast
        .app
        .request(Method::POST, &format!("/systemevent/{a}/read"), None, None)
        .await;
    assert_unauthorized(&answer);
}

#[tokio::test]
async fn a_body_without_an_integer_id_or_with_too_many_answers_400_after_the_token_and_before_validation(
) {
    let cast = EventCast::new().await;
    let (a, _, _) = events(&cast).await;
    let owner = &cast.owner;
    let required = "At least one valid event id is required";
    for method in [Method::POST, Method::DELETE] {
        for body in [
            json!({}),
            json!({"id": "1"}),
            json!({"id": null}),
            json!({"id": 0}),
            json!({"ids": []}),
            json!({"ids": ["1", 1.5, null, -3]}),
            json!({"ids": 5}),
            json!({"ids": {"id": 1}}),
        ] {
            let answer = mark(&cast, method.clone(), owner, body).await;
            assert_error(&answer, 400, required, "EVENT_ID_REQUIRED");
        }
        // No body at all (the client sends none when it has nothing to say).
        let answer = cast
            .app
            .request(
                method.clone(),
                "/systemevent/read",
                Some(&owner.access_token),
                None,
            )
            .await;
        assert_error(&answer, 400, required, "EVENT_ID_REQUIRED");
        let many: Vec<i64> = (1..=1001).collect();
        let answer = mark(&cast, method.clone(), owner, json!({"ids": many})).await;
        assert_error(
            &answer,
            400,
            "At most 1000 event ids at once",
            "TOO_MANY_EVENT_IDS",
        );
        // 1,000 is fine.
        let answer = mark(&cast, method.clone(), owner, json!({"ids": many[..1000]})).await;
        assert_answer(&answer, 200, &ok());
        // The token first.
        let answer = cast
            .app
            .request(method.clone(), "/systemevent/read", None, Some(json!({})))
            .await;
        assert_unauthorized(&answer);
    }
    assert_eq!(read_by(&cast, owner).await, Vec::<String>::new());

    // A caller who has not verified their e-mail may read events but not mark them; a bad body
    // is still answered first.
    let unverified = cast
        .app
        .member(owner, "new@example.com", 0, Verification::Unverified)
        .await;
    let answer = mark(&cast, Method::POST, &unverified, json!({})).await;
    assert_error(&answer, 400, required, "EVENT_ID_REQUIRED");
    let answer = mark(&cast, Method::POST, &unverified, json!({"id": a})).await;
    assert_answer(&answer, 400, &not_validated_body());
    let answer = mark_one(&cast, Method::DELETE, &unverified, &a.to_string()).await;
    assert_answer(&answer, 400, &not_validated_body());
    assert_eq!(cast.ids(&unverified, json!({})).await, (vec![], 0));
    assert_eq!(
        cast.app
            .count("SELECT COUNT(*) FROM system_event_reads", &[])
            .await,
        0
    );
}
