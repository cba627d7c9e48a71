//! Races the contract's "last one stays" rules must survive: the last workspace ADMIN, the last
//! organization OWNER. Each round sends two requests that overlap for certain ([`at_once`]) and
//! checks that exactly one succeeds, the other gets its documented refusal, and the database
//! keeps the invariant.
//!
//! On SQLite one writer thread runs every write of a server one after another, so in one server
//! process these races are decided before they start: they prove the rule only on PostgreSQL
//! (`TEST_DATABASE_URL`), and on SQLite only that the serial outcome is right. `instances_race.rs`
//! races two server processes, which is a real race on SQLite too.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::accounts::{Account, Verification};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, unauthorized_body};
use crate::support::at_once::{at_once, Side};
use crate::support::cast::{active_admins, add_member, create, last_admin_body, role_of, Cast};
use crate::support::client::Answer;
use crate::support::org_cast::{
    active_owners, db_deleted_at, db_role, forbidden_body, last_owner_body, member_json, ok,
    org_path, with_empty_data,
};

/// The one of two answers that is `status`, and the other: (index of the first, it, the other).
#[track_caller]
fn one_of(answers: [Answer; 2], status: StatusCode, round: usize) -> (usize, Answer, Answer) {
    let [a, b] = answers;
    match (a.status == status, b.status == status) {
        (true, false) => (0, a, b),
        (false, true) => (1, b, a),
        _ => panic!("round {round}: expected exactly one {status}, got {a:?} and {b:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demoting_one_of_two_admins_while_removing_the_other_leaves_exactly_one_admin() {
    let app = spawn_app().await;
    let cast = Cast::seed(&app).await;
    let (a, b) = (Side::new(&app.address), Side::new(&app.address));
    let token = &cast.owner.access_token;

    for round in 0..10 {
        // Two ADMIN members: the manager (creator) and the admin. The owner, ADMIN of every
        // workspace without being a member, demotes the one and removes the other at once.
        let workspace = create(&app, &cast.manager, &format!("Race {round}")).await;
        add_member(&app, &cast.manager, &workspace, &cast.admin, "ADMIN").await;
        let members = format!("/workspace/{workspace}/users");
        let demote = a.request(
            Method::PUT,
            &format!("{members}/{}", cast.manager.user_id),
            token,
            Some(json!({ "role": "WRITE" })),
        );
        let remove = b.request(
            Method::DELETE,
            &format!("{members}/{}", cast.admin.user_id),
            token,
            None,
        );

        let (demoted, removed) = at_once((&a, demote), (&b, remove)).await;

        let (won, success, refusal) = one_of([demoted, removed], StatusCode::OK, round);
        assert_answer(&success, StatusCode::OK, &json!({ "success": true }));
        assert_answer(&refusal, StatusCode::BAD_REQUEST, &last_admin_body());
        let (manager, admin) = (
            role_of(&app, &workspace, &cast.manager).await,
            role_of(&app, &workspace, &cast.admin).await,
        );
        if won == 0 {
            assert_eq!(
                (manager, admin),
                (vec!["WRITE".into()], vec!["ADMIN".into()])
            );
        } else {
            assert_eq!((manager, admin), (vec!["ADMIN".into()], vec![]));
        }
        assert_eq!(active_admins(&app, &workspace).await, 1, "round {round}");
    }
}

/// Two OWNERs of a new organization: the first registered it, the second was made by them.
async fn two_owners(app: &TestApp, round: usize) -> (Account, Account) {
    let first = app
        .register_verified(&format!("first{round}@example.com"))
        .await;
    let email = format!("second{round}@example.com");
    let second = app
        .member(&first, &email, 255, Verification::Verified)
        .await;
    (first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_owners_demoting_each_other_through_organization_users_leave_exactly_one_owner() {
    let app = spawn_app().await;
    let (a, b) = (Side::new(&app.address), Side::new(&app.address));
    // The loser of the race is no OWNER any more by the time its own request is checked: it may
    // not change an OWNER (or, checked in the other order, would remove the last one).
    let refusals = [
        with_empty_data(forbidden_body("Insufficient permissions to update users")),
        with_empty_data(last_owner_body()),
    ];

    for round in 0..10 {
        let (first, second) = two_owners(&app, round).await;
        let to_administrators = Some(json!({ "orgRole": 254 }));
        let by_first = a.request(
            Method::PUT,
            &org_path(&second, ""),
            &first.access_token,
            to_administrators.clone(),
        );
        let by_second = b.request(
            Method::PUT,
            &org_path(&first, ""),
            &second.access_token,
            to_administrators,
        );

        let answers = at_once((&a, by_first), (&b, by_second)).await;

        let (won, success, refusal) = one_of([answers.0, answers.1], StatusCode::OK, round);
        let (winner, loser) = if won == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let updated = json!({
            "success": true,
            "data": member_json(loser, 254),
            "message": "User updated successfully",
        });
        assert_answer(&success, StatusCode::OK, &updated);
        assert_eq!(refusal.status, StatusCode::FORBIDDEN, "round {round}");
        assert!(
            refusals.contains(&refusal.body),
            "round {round}: {refusal:?}"
        );
        assert_eq!(active_owners(&app, &first.org_id).await, 1, "round {round}");
        assert_eq!(db_role(&app, &winner.user_id).await, 255, "round {round}");
        assert_eq!(db_role(&app, &loser.user_id).await, 254, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_owners_deleting_each_other_at_once_leave_exactly_one_owner() {
    let app = spawn_app().await;
    let (a, b) = (Side::new(&app.address), Side::new(&app.address));
    // The loser is deleted by the time its own request is checked: its session is revoked (401)
    // or, past authentication already, it is no active user who may delete anyone (403); the
    // last-owner refusal would be the other order of the same checks.
    let refusals = [
        (StatusCode::UNAUTHORIZED, unauthorized_body()),
        (
            StatusCode::FORBIDDEN,
            forbidden_body("Insufficient permissions to delete users"),
        ),
        (StatusCode::FORBIDDEN, last_owner_body()),
    ];

    for round in 0..10 {
        let (first, second) = two_owners(&app, round).await;
        let by_first = a.request(
            Method::DELETE,
            &org_path(&second, ""),
            &first.access_token,
            None,
        );
        let by_second = b.request(
            Method::DELETE,
            &org_path(&first, ""),
            &second.access_token,
            None,
        );

        let answers = at_once((&a, by_first), (&b, by_second)).await;

        let (won, success, refusal) = one_of([answers.0, answers.1], StatusCode::OK, round);
        let (winner, loser) = if won == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        assert_answer(&success, StatusCode::OK, &ok("User deleted successfully"));
        let refused = (refusal.status, refusal.body.clone());
        assert!(refusals.contains(&refused), "round {round}: {refusal:?}");
        assert_eq!(active_owners(&app, &first.org_id).await, 1, "round {round}");
        assert_eq!(
            db_deleted_at(&app, &winner.user_id).await,
            -1,
            "round {round}"
        );
        assert!(
            db_deleted_at(&app, &loser.user_id).await > 0,
            "round {round}"
        );
        let live = "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
        assert_eq!(app.count(live, &[&loser.user_id]).await, 0, "round {round}");
    }
}
