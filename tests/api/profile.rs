//! GET /user/profile (contract section 4), and how this protected route treats missing,
//! tampered, expired and wrongly typed access tokens (contract section 1).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::accounts::Account;
use crate::support::app::{spawn_app, TestApp};
use crate::support::assertions::assert_unauthorized;
use crate::support::clock::now_ms;
use crate::support::sessions::{claims_of, profile, works};

/// The whole profile of the OWNER that `TestApp::registration_body` creates.
fn owner_profile(id: &str, email: &str, org_id: &str, validated: bool, is_business: bool) -> Value {
    json!({
        "success": true,
        "data": {
            "id": id,
            "name": "Ann",
            "lastName": "Lee",
            "email": email,
            "orgId": org_id,
            "orgRole": 255,
            "orgRoleDescription": "OWNER",
            "orgRoles": [0, 1, 2, 254, 255],
            "validated": validated,
            "mfaRequired": false,
            "isBusiness": is_business,
            "instanceAdmin": false,
        }
    })
}

fn profile_of(account: &Account, validated: bool) -> Value {
    owner_profile(
        &account.user_id,
        &account.email,
        &account.org_id,
        validated,
        true,
    )
}

#[tokio::test]
async fn a_fresh_owner_sees_their_whole_profile_not_yet_validated() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;

    let answer = profile(&app, &account.access_token).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, profile_of(&account, false));
}

#[tokio::test]
async fn the_profile_shows_validated_once_the_email_is_verified() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    app.verify("ann@example.com").await;
    // Verifying ended the registration's session.
    let account = app.log_in(&account).await;

    let answer = profile(&app, &account.access_token).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, profile_of(&account, true));
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
    let user = &registered.body["user"];
    let (id, org_id) = (
        user["id"].as_str().unwrap(),
        user["orgId"].as_str().unwrap(),
    );

    let answer = profile(&app, &registered.str("accessToken")).await;

    assert_eq!(answer.status, StatusCode::OK);
    let expected = owner_profile(id, "Ann.Lee@Example.com", org_id, false, false);
    assert_eq!(answer.body, expected);
}

#[tokio::test]
async fn the_profile_answers_401_once_the_user_is_deleted() {
    let app = spawn_app().await;
    let account = app.register_verified("ann@example.com").await;
    let sql = "UPDATE users SET deleted_at = 1 WHERE id = $1";
    assert_eq!(app.execute(sql, &[&account.user_id]).await, 1);

    assert_unauthorized(&profile(&app, &account.access_token).await);
}

async fn jwt_secret(app: &TestApp) -> String {
    let secrets = app
        .strings("SELECT value FROM settings WHERE key = 'jwt_secret'", &[])
        .await;
    assert_eq!(secrets.len(), 1);
    secrets[0].clone()
}

/// Signs `claims` with the server's own HS256 key.
async fn sign(app: &TestApp, claims: &Value) -> String {
    let key = EncodingKey::from_secret(jwt_secret(app).await.as_bytes());
    encode(&Header::default(), claims, &key).unwrap()
}

#[tokio::test]
async fn a_token_signed_with_the_server_key_is_accepted_so_the_cases_below_are_meaningful() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let mut claims = claims_of(&account.access_token);
    claims["iat"] = json!(now_ms() / 1000 - 5);

    let token = sign(&app, &claims).await;

    assert_ne!(token, account.access_token);
    assert!(works(&app, &token).await);
}

#[tokio::test]
async fn the_profile_answers_401_without_a_token_or_with_a_garbage_one() {
    let app = spawn_app().await;
    assert_unauthorized(&app.get("/user/profile", None).await);
    assert_unauthorized(&profile(&app, "garbage").await);
    let request = app
        .client
        .get(app.url("/user/profile"))
        .header("authorization", "Basic YTpi");
    assert_unauthorized(&TestApp::send(request).await);
}

#[tokio::test]
async fn a_token_with_one_signature_character_changed_answers_401() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let (unsigned, signature) = account.access_token.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{unsigned}.{first}{}", &signature[1..]);

    assert_unauthorized(&profile(&app, &tampered).await);
    assert!(works(&app, &account.access_token).await);
}

#[tokio::test]
async fn a_token_with_alg_none_answers_401() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = account.access_token.split('.').nth(1).unwrap();

    assert_unauthorized(&profile(&app, &format!("{header}.{payload}.")).await);
    assert_unauthorized(&profile(&app, &format!("{header}.{payload}")).await);
}

#[tokio::test]
async fn an_expired_token_signed_with_the_server_key_answers_401() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let mut claims = claims_of(&account.access_token);
    let now = now_ms() / 1000;
    claims["iat"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);

    assert_unauthorized(&profile(&app, &sign(&app, &claims).await).await);
}

#[tokio::test]
async fn a_refresh_type_token_signed_with_the_server_key_answers_401() {
    let app = spawn_app().await;
    let account = app.register("ann@example.com").await;
    let mut claims = claims_of(&account.access_token);
    claims["type"] = json!("refresh");

    assert_unauthorized(&profile(&app, &sign(&app, &claims).await).await);
}
