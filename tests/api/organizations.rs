//! GET and PUT /organization/{orgId} (contract section 5): every status for every role, the
//! whole answer, what a write stores, and concurrent partial updates.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::accounts::names_with_hidden_characters;
use crate::support::accounts::Verification::{Unverified, Verified};
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::{assert_answer, unauthorized_body};
use crate::support::client::Answer;
use crate::support::clock::now_ms;

const UPDATED: &str = "Organization updated successfully";

/// An error of these routes: the envelope plus `"data": null`.
fn org_error(message: &str, code: &str) -> Value {
    json!({ "success": false, "data": null, "message": message, "error_code": code })
}

fn view_denied() -> Value {
    org_error(
        "Access denied: you can only view your own organization",
        "FORBIDDEN",
    )
}

fn edit_denied() -> Value {
    org_error(
        "Insufficient permissions: only OWNER and ADMINISTRATOR roles can modify organization",
        "INSUFFICIENT_PERMISSIONS",
    )
}

fn not_found() -> Value {
    org_error("Organization not found", "ORGANIZATION_NOT_FOUND")
}

fn invalid(message: &str) -> Value {
    org_error(message, "INVALID_FIELD")
}

/// The organization `TestApp::registration_body` creates, as GET shows it.
fn acme(org_id: &str) -> Value {
    json!({
        "id": org_id,
        "name": "Acme",
        "domain": null,
        "address1": null,
        "address2": null,
        "city": null,
        "zipcode": null,
        "phone": null,
        "state": null,
        "country": null,
        "deletedAt": null,
        "reposDisabled": false,
        "website": null,
        "is_business": true,
        "mfaEnforced": false,
    })
}

/// `acme` with some fields replaced.
fn acme_with(org_id: &str, changes: Value) -> Value {
    let mut org = acme(org_id);
    for (key, value) in changes.as_object().unwrap() {
        org[key] = value.clone();
    }
    org
}

fn read_ok(org: Value) -> Value {
    json!({ "success": true, "data": org })
}

fn updated_ok(org: Value) -> Value {
    json!({ "success": true, "data": org, "message": UPDATED })
}

async fn get_org(app: &TestApp, token: &str, org_id: &str) -> Answer {
    app.get(&format!("/organization/{org_id}"), Some(token))
        .await
}

async fn put_org(app: &TestApp, token: &str, org_id: &str, body: Value) -> Answer {
    let path = format!("/organization/{org_id}");
    app.request(Method::PUT, &path, Some(token), Some(body))
        .await
}

/// The stored organization row, every field the routes touch, NULL shown as "<null>".
async fn stored(app: &TestApp, org_id: &str) -> Vec<String> {
    let sql = "SELECT name || '|' || COALESCE(address1, '<null>') || '|' || \
               COALESCE(address2, '<null>') || '|' || COALESCE(city, '<null>') || '|' || \
               COALESCE(zipcode, '<null>') || '|' || COALESCE(phone, '<null>') || '|' || \
               COALESCE(state, '<null>') || '|' || COALESCE(country, '<null>') || '|' || \
               COALESCE(website, '<null>') || '|' || \
               CASE WHEN is_business THEN 'business' ELSE 'personal' END || '|' || \
               CASE WHEN mfa_enforced THEN 'mfa' ELSE 'no-mfa' END \
               FROM organizations WHERE id = $1";
    app.strings(sql, &[org_id]).await
}

fn row(fields: &str) -> Vec<String> {
    vec![fields.to_owned()]
}

const ACME_ROW: &str =
    "Acme|<null>|<null>|<null>|<null>|<null>|<null>|<null>|<null>|business|no-mfa";

async fn updated_at(app: &TestApp, org_id: &str) -> i64 {
    let sql = "SELECT updated_at FROM organizations WHERE id = $1";
    app.count(sql, &[org_id]).await
}

/// Sets the organization's `updated_at` to 1 (1970), so that any later write to the row shows.
async fn backdate(app: &TestApp, org_id: &str) {
    let sql = "UPDATE organizations SET updated_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[org_id]).await, 1);
}

/// The organization is as registered and was not written since `backdate`.
async fn assert_untouched(app: &TestApp, org_id: &str) {
    assert_eq!(stored(app, org_id).await, row(ACME_ROW));
    assert_eq!(
        updated_at(app, org_id).await,
        1,
        "a refused update wrote updated_at"
    );
}

/// `updated_at` is the time of the update that just happened.
async fn assert_just_updated(app: &TestApp, org_id: &str) {
    let updated_at = updated_at(app, org_id).await;
    assert!(
        (now_ms() - updated_at).abs() < 60_000,
        "updated_at {updated_at} is not now"
    );
}

#[tokio::test]
async fn an_owner_reads_their_organization() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let answer = get_org(&app, &owner.access_token, &owner.org_id).await;

    assert_answer(&answer, StatusCode::OK, &read_ok(acme(&owner.org_id)));
}

#[tokio::test]
async fn every_role_of_the_organization_reads_it_even_unverified() {
    let app = spawn_app().await;
    // The registered owner, unverified.
    let founder = app.register("founder@example.com").await;
    let answer = get_org(&app, &founder.access_token, &founder.org_id).await;
    assert_answer(&answer, StatusCode::OK, &read_ok(acme(&founder.org_id)));
    // Every role, unverified, among them a second OWNER (made by a verified owner, as only a
    // verified user may create users).
    let owner = app.register_verified("owner@example.com").await;
    for (i, role) in [0, 1, 2, 254, 255].into_iter().enumerate() {
        let email = format!("m{i}@example.com");
        let member = app.member(&owner, &email, role, Unverified).await;

        let answer = get_org(&app, &member.access_token, &owner.org_id).await;

        assert_answer(&answer, StatusCode::OK, &read_ok(acme(&owner.org_id)));
    }
    let sql = "SELECT COUNT(*) FROM users WHERE org_id = $1 AND NOT validated";
    assert_eq!(app.count(sql, &[&owner.org_id]).await, 5);
}

#[tokio::test]
async fn reading_another_organization_or_a_malformed_id_answers_403() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let other = app.register_verified("other@example.com").await;
    let unknown = Uuid::now_v7().to_string();

    for id in [other.org_id.as_str(), unknown.as_str(), "not-a-uuid", "123"] {
        let answer = get_org(&app, &owner.access_token, id).await;
        assert_answer(&answer, StatusCode::FORBIDDEN, &view_denied());
    }
}

#[tokio::test]
async fn the_organization_id_matches_in_any_letter_case() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let answer = get_org(&app, &owner.access_token, &owner.org_id.to_uppercase()).await;

    assert_answer(&answer, StatusCode::OK, &read_ok(acme(&owner.org_id)));
}

#[tokio::test]
async fn a_deleted_organization_answers_404_on_read_and_update() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let sql = "UPDATE organizations SET deleted_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[&owner.org_id]).await, 1);
    backdate(&app, &owner.org_id).await;

    let read = get_org(&app, &owner.access_token, &owner.org_id).await;
    assert_answer(&read, StatusCode::NOT_FOUND, &not_found());

    let update = put_org(
        &app,
        &owner.access_token,
        &owner.org_id,
        json!({"city": "Paris"}),
    )
    .await;
    assert_answer(&update, StatusCode::NOT_FOUND, &not_found());
    assert_untouched(&app, &owner.org_id).await;
}

#[tokio::test]
async fn both_routes_answer_401_without_a_valid_token() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let path = format!("/organization/{}", owner.org_id);
    backdate(&app, &owner.org_id).await;

    for token in [None, Some("garbage")] {
        let read = app.request(Method::GET, &path, token, None).await;
        assert_answer(&read, StatusCode::UNAUTHORIZED, &unauthorized_body());
        let body = Some(json!({ "city": "Paris" }));
        let update = app.request(Method::PUT, &path, token, body).await;
        assert_answer(&update, StatusCode::UNAUTHORIZED, &unauthorized_body());
    }
    assert_untouched(&app, &owner.org_id).await;
}

#[tokio::test]
async fn an_owner_updates_every_field_trimmed_and_the_change_is_stored() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let body = json!({
        "name": "  Acme Corp ", "address1": "1 Main St", "address2": "Suite 2", "city": " Paris ",
        "zipcode": "75001", "phone": "+33 1 23 45 67 89", "state": "IDF", "country": "FR",
        "website": "https://acme.example", "is_business": false, "mfaEnforced": true,
        "domain": "ignored.example", "reposDisabled": true, "id": "ignored",
    });
    backdate(&app, &owner.org_id).await;

    let answer = put_org(&app, &owner.access_token, &owner.org_id, body).await;

    let expected = acme_with(
        &owner.org_id,
        json!({
            "name": "Acme Corp", "address1": "1 Main St", "address2": "Suite 2", "city": "Paris",
            "zipcode": "75001", "phone": "+33 1 23 45 67 89", "state": "IDF", "country": "FR",
            "website": "https://acme.example", "is_business": false, "mfaEnforced": true,
        }),
    );
    assert_answer(&answer, StatusCode::OK, &updated_ok(expected.clone()));
    assert_eq!(
        stored(&app, &owner.org_id).await,
        row(
            "Acme Corp|1 Main St|Suite 2|Paris|75001|+33 1 23 45 67 89|IDF|FR|\
             https://acme.example|personal|mfa"
        )
    );
    assert_just_updated(&app, &owner.org_id).await;
    let read = get_org(&app, &owner.access_token, &owner.org_id).await;
    assert_answer(&read, StatusCode::OK, &read_ok(expected));
}

#[tokio::test]
async fn a_partial_update_leaves_other_fields_and_null_or_blank_clears_one() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let first = json!({ "city": "Paris", "phone": "123", "website": "https://a.example" });
    let answer = put_org(&app, &owner.access_token, &owner.org_id, first).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let answer = put_org(
        &app,
        &owner.access_token,
        &owner.org_id,
        json!({ "city": null, "website": "  " }),
    )
    .await;

    let expected = acme_with(&owner.org_id, json!({ "phone": "123" }));
    assert_answer(&answer, StatusCode::OK, &updated_ok(expected));
    assert_eq!(
        stored(&app, &owner.org_id).await,
        row("Acme|<null>|<null>|<null>|<null>|123|<null>|<null>|<null>|business|no-mfa")
    );
}

#[tokio::test]
async fn an_administrator_may_update_the_organization() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let admin = app.member(&owner, "admin@example.com", 254, Verified).await;

    let answer = put_org(
        &app,
        &admin.access_token,
        &owner.org_id,
        json!({ "country": "DE" }),
    )
    .await;

    let expected = acme_with(&owner.org_id, json!({ "country": "DE" }));
    assert_answer(&answer, StatusCode::OK, &updated_ok(expected));
    assert_eq!(
        stored(&app, &owner.org_id).await,
        row("Acme|<null>|<null>|<null>|<null>|<null>|<null>|DE|<null>|business|no-mfa")
    );
}

#[tokio::test]
async fn roles_below_administrators_answer_403_and_change_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let mut members = Vec::new();
    for (i, role) in [0, 1, 2].into_iter().enumerate() {
        let email = format!("m{i}@example.com");
        members.push(app.member(&owner, &email, role, Verified).await);
    }
    backdate(&app, &owner.org_id).await;
    for member in members {
        let answer = put_org(
            &app,
            &member.access_token,
            &owner.org_id,
            json!({ "name": "Mine" }),
        )
        .await;

        assert_answer(&answer, StatusCode::FORBIDDEN, &edit_denied());
    }
    assert_untouched(&app, &owner.org_id).await;
}

#[tokio::test]
async fn an_owner_of_another_organization_answers_403_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let other = app.register_verified("other@example.com").await;
    backdate(&app, &owner.org_id).await;
    backdate(&app, &other.org_id).await;

    for id in [owner.org_id.as_str(), "not-a-uuid"] {
        let answer = put_org(&app, &other.access_token, id, json!({ "name": "Taken" })).await;
        assert_answer(&answer, StatusCode::FORBIDDEN, &edit_denied());
    }
    assert_untouched(&app, &owner.org_id).await;
    assert_untouched(&app, &other.org_id).await;
}

#[tokio::test]
async fn an_unverified_owner_answers_400_not_validated() {
    let app = spawn_app().await;
    let owner = app.register("owner@example.com").await;
    backdate(&app, &owner.org_id).await;

    let answer = put_org(
        &app,
        &owner.access_token,
        &owner.org_id,
        json!({ "city": "Paris" }),
    )
    .await;

    assert_answer(
        &answer,
        StatusCode::BAD_REQUEST,
        &org_error(
            "User not found or account is not validated",
            "USER_NOT_VALIDATED",
        ),
    );
    assert_untouched(&app, &owner.org_id).await;
}

#[tokio::test]
async fn a_body_without_an_updatable_field_answers_400_no_valid_fields() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let path = format!("/organization/{}", owner.org_id);
    let no_fields = org_error("No valid fields to update", "NO_VALID_FIELDS");
    backdate(&app, &owner.org_id).await;

    let bodies = [
        Some(json!({})),
        Some(json!({ "domain": "x.example", "isBusiness": true, "reposDisabled": true })),
        None,
    ];
    for body in bodies {
        let answer = app
            .request(Method::PUT, &path, Some(&owner.access_token), body)
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &no_fields);
    }
    assert_untouched(&app, &owner.org_id).await;
}

#[tokio::test]
async fn a_bad_value_answers_400_naming_its_field_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    backdate(&app, &owner.org_id).await;
    let cases = [
        (json!({ "name": null }), "name must not be empty"),
        (json!({ "name": "   " }), "name must not be empty"),
        (json!({ "name": 42 }), "name must be a string"),
        (
            json!({ "name": "a".repeat(201) }),
            "name must be at most 200 characters",
        ),
        (json!({ "city": ["Paris"] }), "city must be a string"),
        (json!({ "zipcode": 75001 }), "zipcode must be a string"),
        (
            json!({ "phone": "12\u{0}3" }),
            "phone contains invalid characters",
        ),
        (
            json!({ "address2": "x\ny" }),
            "address2 contains invalid characters",
        ),
        (
            json!({ "website": format!("https://{}", "a".repeat(2041)) }),
            "website must be at most 2048 characters",
        ),
        (
            json!({ "is_business": "true" }),
            "is_business must be a boolean",
        ),
        (json!({ "mfaEnforced": 1 }), "mfaEnforced must be a boolean"),
        (
            json!({ "mfaEnforced": null }),
            "mfaEnforced must be a boolean",
        ),
        // One bad field refuses the whole update, good fields included.
        (
            json!({ "city": "Paris", "state": false }),
            "state must be a string",
        ),
    ];
    let hidden = names_with_hidden_characters().into_iter().flat_map(|text| {
        [
            (json!({ "name": text }), "name contains invalid characters"),
            (json!({ "city": text }), "city contains invalid characters"),
        ]
    });
    for (body, message) in cases.into_iter().chain(hidden) {
        let answer = put_org(&app, &owner.access_token, &owner.org_id, body).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid(message));
    }
    assert_untouched(&app, &owner.org_id).await;

    let (name, website) = ("é".repeat(200), "w".repeat(2048));
    let longest = json!({ "name": name, "website": website });
    let answer = put_org(&app, &owner.access_token, &owner.org_id, longest.clone()).await;
    let expected = acme_with(&owner.org_id, longest);
    assert_answer(&answer, StatusCode::OK, &updated_ok(expected));
    assert_just_updated(&app, &owner.org_id).await;
}

#[tokio::test]
async fn a_malformed_or_non_json_body_answers_with_null_data() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    backdate(&app, &owner.org_id).await;
    let request = app
        .client
        .put(app.url(&format!("/organization/{}", owner.org_id)))
        .bearer_auth(&owner.access_token)
        .header("content-type", "application/json")
        .body("{\"city\": ");

    let answer = TestApp::send(request).await;

    assert_answer(
        &answer,
        StatusCode::BAD_REQUEST,
        &org_error("Request body is not valid JSON", "INVALID_JSON"),
    );

    let request = app
        .client
        .put(app.url(&format!("/organization/{}", owner.org_id)))
        .bearer_auth(&owner.access_token)
        .header("content-type", "text/plain")
        .body("city=Paris");
    let answer = TestApp::send(request).await;
    assert_answer(
        &answer,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        &org_error(
            "Content-Type must be application/json",
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    );
    assert_untouched(&app, &owner.org_id).await;
}

// A real race only on PostgreSQL: on SQLite the server's one writer thread runs these writes
// one after another, so there this checks the serial outcome (instances_race.rs races two
// server processes on one SQLite file).
// This runtime has one thread, which the in-process server shares: the requests interleave
// at their awaits rather than run side by side.
#[tokio::test]
async fn concurrent_partial_updates_of_different_fields_both_survive() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let admin = app.member(&owner, "admin@example.com", 254, Verified).await;

    for round in 0..10 {
        let city = format!("City {round}");
        let phone = format!("Phone {round}");
        let mfa = round % 2 == 0;
        let requests = vec![
            put_org(
                &app,
                &owner.access_token,
                &owner.org_id,
                json!({ "city": city }),
            ),
            put_org(
                &app,
                &admin.access_token,
                &owner.org_id,
                json!({ "phone": phone }),
            ),
            put_org(
                &app,
                &owner.access_token,
                &owner.org_id,
                json!({ "mfaEnforced": mfa }),
            ),
        ];

        let answers = join_all(requests).await;

        for answer in &answers {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        }
        let mfa_text = if mfa { "mfa" } else { "no-mfa" };
        assert_eq!(
            stored(&app, &owner.org_id).await,
            row(&format!(
                "Acme|<null>|<null>|{city}|<null>|{phone}|<null>|<null>|<null>|business|{mfa_text}"
            ))
        );
    }
}
