//! GET /user/profile (contract section 4).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Account, TestApp};
use crate::sessions::assert_unauthorized;

fn owner_profile(account: &Account, validated: bool, is_business: bool) -> Value {
    json!({
        "success": true,
        "data": {
            "id": account.user_id,
            "name": "Ann",
            "lastName": "Lee",
            "email": account.email,
            "orgId": account.org_id,
            "orgRole": 255,
            "orgRoleDescription": "OWNER",
            "orgRoles": [0, 1, 2, 254, 255],
            "validated": validated,
            "mfaRequired": false,
            "isBusiness": is_business,
        }
    })
}

#[tokio::test]
async fn a_fresh_owner_sees_their_whole_profile_not_yet_validated() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;

    let answer = app.get("/user/profile", Some(&account.access_token)).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, owner_profile(&account, false, true));
}

#[tokio::test]
async fn the_profile_shows_validated_once_the_email_is_verified() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    app.verify("ann@example.com").await;

    let answer = app.get("/user/profile", Some(&account.access_token)).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, owner_profile(&account, true, true));
}

#[tokio::test]
async fn the_profile_shows_the_email_as_registered_and_a_personal_account() {
    let app = spawn_app().await;
    let mut body = TestApp::registration_body("Ann.Lee@Example.com");
    body["isBusiness"] = json!(false);
    let registered = app.post("/user/register", None, body).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let account = Account {
        email: "Ann.Lee@Example.com".to_owned(),
        user_id: registered.body["user"]["id"].as_str().unwrap().to_owned(),
        org_id: registered.body["user"]["orgId"]
            .as_str()
            .unwrap()
            .to_owned(),
        access_token: registered.str("accessToken"),
        refresh_token: registered.str("refreshToken"),
        token_id: registered.str("tokenId"),
        verification_token_id: registered.str("verificationTokenId"),
    };

    let answer = app.get("/user/profile", Some(&account.access_token)).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, owner_profile(&account, false, false));
}

#[tokio::test]
async fn the_profile_answers_401_without_a_token() {
    let app = spawn_app().await;
    app.register("ann@example.com").await;

    assert_unauthorized(&app.get("/user/profile", None).await);
}

#[tokio::test]
async fn the_profile_answers_401_once_the_user_is_deleted() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    app.execute(
        "UPDATE users SET deleted_at = 1 WHERE id = $1",
        &[&account.user_id],
    )
    .await;

    assert_unauthorized(&app.get("/user/profile", Some(&account.access_token)).await);
}
