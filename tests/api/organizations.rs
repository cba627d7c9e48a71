//! GET and PUT /organization/{orgId} (contract section 5): every status for every role, the
//! whole answer, what a write stores, and concurrent partial updates.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, unauthorized_body, Account, Answer, TestApp};

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

fn assert_answer(answer: &Answer, status: StatusCode, body: Value) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body, body);
}

/// A verified account moved into `owner`'s organization with organization role `role`.
async fn member_with_role(app: &TestApp, owner: &Account, email: &str, role: i64) -> Account {
    let member = app.register_verified(email).await;
    let sql = "UPDATE users SET org_id = $1 WHERE id = $2";
    assert_eq!(app.execute(sql, &[&owner.org_id, &member.user_id]).await, 1);
    let sql = format!("UPDATE users SET org_role = {role} WHERE id = $1");
    assert_eq!(app.execute(&sql, &[&member.user_id]).await, 1);
    member
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

#[tokio::test]
async fn an_owner_reads_their_organization() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let answer = get_org(&app, &owner.access_token, &owner.org_id).await;

    assert_answer(&answer, StatusCode::OK, read_ok(acme(&owner.org_id)));
}

#[tokio::test]
async fn every_role_of_the_organization_reads_it_even_unverified() {
    let app = spawn_app().await;
    let owner = app.register("owner@example.com").await;
    for (i, role) in [0, 1, 2, 254].into_iter().enumerate() {
        let member = member_with_role(&app, &owner, &format!("m{i}@example.com"), role).await;

        let answer = get_org(&app, &member.access_token, &owner.org_id).await;

        assert_answer(&answer, StatusCode::OK, read_ok(acme(&owner.org_id)));
    }
    let answer = get_org(&app, &owner.access_token, &owner.org_id).await;
    assert_answer(&answer, StatusCode::OK, read_ok(acme(&owner.org_id)));
}

#[tokio::test]
async fn reading_another_organization_or_a_malformed_id_answers_403() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let other = app.register_verified("other@example.com").await;
    let unknown = Uuid::now_v7().to_string();

    for id in [other.org_id.as_str(), unknown.as_str(), "not-a-uuid", "123"] {
        let answer = get_org(&app, &owner.access_token, id).await;
        assert_answer(&answer, StatusCode::FORBIDDEN, view_denied());
    }
}

#[tokio::test]
async fn the_organization_id_matches_in_any_letter_case() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;

    let answer = get_org(&app, &owner.access_token, &owner.org_id.to_uppercase()).await;

    assert_answer(&answer, StatusCode::OK, read_ok(acme(&owner.org_id)));
}

#[tokio::test]
async fn a_deleted_organization_answers_404_on_read_and_update() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let sql = "UPDATE organizations SET deleted_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[&owner.org_id]).await, 1);

    let read = get_org(&app, &owner.access_token, &owner.org_id).await;
    assert_answer(&read, StatusCode::NOT_FOUND, not_found());

    let update = put_org(
        &app,
        &owner.access_token,
        &owner.org_id,
        json!({"city": "Paris"}),
    )
    .await;
    assert_answer(&update, StatusCode::NOT_FOUND, not_found());
    assert_eq!(stored(&app, &owner.org_id).await, row(ACME_ROW));
}

#[tokio::test]
async fn both_routes_answer_401_without_a_valid_token() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let path = format!("/organization/{}", owner.org_id);

    for token in [None, Some("garbage")] {
        let read = app.request(Method::GET, &path, token, None).await;
        assert_answer(&read, StatusCode::UNAUTHORIZED, unauthorized_body());
        let body = Some(json!({ "city": "Paris" }));
        let update = app.request(Method::PUT, &path, token, body).await;
        assert_answer(&update, StatusCode::UNAUTHORIZED, unauthorized_body());
    }
    assert_eq!(stored(&app, &owner.org_id).await, row(ACME_ROW));
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

    let answer = put_org(&app, &owner.access_token, &owner.org_id, body).await;

    let expected = acme_with(
        &owner.org_id,
        json!({
            "name": "Acme Corp", "address1": "1 Main St", "address2": "Suite 2", "city": "Paris",
            "zipcode": "75001", "phone": "+33 1 23 45 67 89", "state": "IDF", "country": "FR",
            "website": "https://acme.example", "is_business": false, "mfaEnforced": true,
        }),
    );
    assert_answer(&answer, StatusCode::OK, updated_ok(expected.clone()));
    assert_eq!(
        stored(&app, &owner.org_id).await,
        row(
            "Acme Corp|1 Main St|Suite 2|Paris|75001|+33 1 23 45 67 89|IDF|FR|\
             https://acme.example|personal|mfa"
        )
    );
    let read = get_org(&app, &owner.access_token, &owner.org_id).await;
    assert_answer(&read, StatusCode::OK, read_ok(expected));
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
    assert_answer(&answer, StatusCode::OK, updated_ok(expected));
    assert_eq!(
        stored(&app, &owner.org_id).await,
        row("Acme|<null>|<null>|<null>|<null>|123|<null>|<null>|<null>|business|no-mfa")
    );
}

#[tokio::test]
async fn an_administrator_may_update_the_organization() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let admin = member_with_role(&app, &owner, "admin@example.com", 254).await;

    let answer = put_org(
        &app,
        &admin.access_token,
        &owner.org_id,
        json!({ "country": "DE" }),
    )
    .await;

    let expected = acme_with(&owner.org_id, json!({ "country": "DE" }));
    assert_answer(&answer, StatusCode::OK, updated_ok(expected));
    assert_eq!(
        stored(&app, &owner.org_id).await,
        row("Acme|<null>|<null>|<null>|<null>|<null>|<null>|DE|<null>|business|no-mfa")
    );
}

#[tokio::test]
async fn roles_below_administrators_answer_403_and_change_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    for (i, role) in [0, 1, 2].into_iter().enumerate() {
        let member = member_with_role(&app, &owner, &format!("m{i}@example.com"), role).await;

        let answer = put_org(
            &app,
            &member.access_token,
            &owner.org_id,
            json!({ "name": "Mine" }),
        )
        .await;

        assert_answer(&answer, StatusCode::FORBIDDEN, edit_denied());
    }
    assert_eq!(stored(&app, &owner.org_id).await, row(ACME_ROW));
}

#[tokio::test]
async fn an_owner_of_another_organization_answers_403_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let other = app.register_verified("other@example.com").await;

    for id in [owner.org_id.as_str(), "not-a-uuid"] {
        let answer = put_org(&app, &other.access_token, id, json!({ "name": "Taken" })).await;
        assert_answer(&answer, StatusCode::FORBIDDEN, edit_denied());
    }
    assert_eq!(stored(&app, &owner.org_id).await, row(ACME_ROW));
    assert_eq!(stored(&app, &other.org_id).await, row(ACME_ROW));
}

#[tokio::test]
async fn an_unverified_owner_answers_400_not_validated() {
    let app = spawn_app().await;
    let owner = app.register("owner@example.com").await;

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
        org_error(
            "User not found or account is not validated",
            "USER_NOT_VALIDATED",
        ),
    );
    assert_eq!(stored(&app, &owner.org_id).await, row(ACME_ROW));
}

#[tokio::test]
async fn a_body_without_an_updatable_field_answers_400_no_valid_fields() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let path = format!("/organization/{}", owner.org_id);
    let no_fields = org_error("No valid fields to update", "NO_VALID_FIELDS");

    let bodies = [
        Some(json!({})),
        Some(json!({ "domain": "x.example", "isBusiness": true, "reposDisabled": true })),
        None,
    ];
    for body in bodies {
        let answer = app
            .request(Method::PUT, &path, Some(&owner.access_token), body)
            .await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, no_fields.clone());
    }
    assert_eq!(stored(&app, &owner.org_id).await, row(ACME_ROW));
}

#[tokio::test]
async fn a_bad_value_answers_400_naming_its_field_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
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
    for (body, message) in cases {
        let answer = put_org(&app, &owner.access_token, &owner.org_id, body).await;
        assert_answer(&answer, StatusCode::BAD_REQUEST, invalid(message));
    }
    assert_eq!(stored(&app, &owner.org_id).await, row(ACME_ROW));

    let longest = json!({ "name": "é".repeat(200), "website": "w".repeat(2048) });
    let answer = put_org(&app, &owner.access_token, &owner.org_id, longest).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn a_malformed_or_non_json_body_answers_with_null_data() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
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
        org_error("Request body is not valid JSON", "INVALID_JSON"),
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
        org_error(
            "Content-Type must be application/json",
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    );
    assert_eq!(stored(&app, &owner.org_id).await, row(ACME_ROW));
}

#[tokio::test]
async fn concurrent_partial_updates_of_different_fields_both_survive() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let admin = member_with_role(&app, &owner, "admin@example.com", 254).await;

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
