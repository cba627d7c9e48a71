//! The documented 500 of each account-lifecycle route (issue 24): activation links, their public
//! check, the activation, and the quota. Each meets a fault in its own statement, answers its
//! message whole, changes nothing, and works once the fault is gone.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::accounts::{Account, PASSWORD};
use crate::support::app::{spawn_app_with, TestApp};
use crate::support::assertions::error_body;
use crate::support::faults::{answers_its_500_then_works, Call, Fault};

const JWT_SECRET: &str = "an operator's signing key, kept in a file, not in the database";

async fn app_with_admin() -> (TestApp, Account) {
    let app = spawn_app_with(|config| config.jwt_secret = Some(JWT_SECRET.to_owned())).await;
    let admin = app.register_verified("admin@example.com").await;
    let sql = "UPDATE users SET instance_admin = TRUE WHERE id = $1";
    app.execute(sql, &[&admin.user_id]).await;
    (app, admin)
}

/// A pending link for `email`: its id and token.
async fn link(app: &TestApp, admin: &Account, email: &str) -> (String, String) {
    let created = app
        .post(
            "/links",
            Some(&admin.access_token),
            json!({ "email": email }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let url = created.body["link"]["activationLink"].as_str().unwrap();
    let token = url.split_once("&token=").unwrap().1.to_owned();
    (
        created.body["link"]["id"].as_str().unwrap().to_owned(),
        token,
    )
}

fn failed(message: &str) -> serde_json::Value {
    error_body(message, "INTERNAL_ERROR")
}

#[tokio::test]
async fn the_link_routes_answer_their_500_then_work() {
    let (app, admin) = app_with_admin().await;
    let (id, token) = link(&app, &admin, "zoe@example.com").await;
    let path = format!("/links/{id}");

    let create = Call::new(
        Method::POST,
        "/links",
        Some(&admin),
        json!({ "email": "bob@example.com" }),
    );
    let fault = Fault::Write("activation_links", "INSERT");
    answers_its_500_then_works(
        &app,
        fault,
        &create,
        &failed("Failed to create link"),
        StatusCode::CREATED,
    )
    .await;

    let list = Call::bare(Method::GET, "/links", &admin);
    let fault = Fault::Read("activation_links", "description");
    answers_its_500_then_works(
        &app,
        fault,
        &list,
        &failed("Failed to fetch links"),
        StatusCode::OK,
    )
    .await;

    let update = Call::new(
        Method::PUT,
        &path,
        Some(&admin),
        json!({ "description": "pilot" }),
    );
    let fault = Fault::Write("activation_links", "UPDATE");
    answers_its_500_then_works(
        &app,
        fault,
        &update,
        &failed("Failed to update link"),
        StatusCode::OK,
    )
    .await;

    // The public check: no token of a session, so no control route to try.
    let check = Call::new(
        Method::GET,
        format!("{path}?token={token}"),
        None,
        json!(null),
    )
    .without_body();
    let fault = Fault::Read("activation_links", "activated_at");
    answers_its_500_then_works(
        &app,
        fault,
        &check,
        &failed("Failed to check link"),
        StatusCode::OK,
    )
    .await;

    let body = json!({
        "uid": id, "token": token,
        "registrationInfo": {"email": "zoe@example.com", "password": PASSWORD,
                             "firstName": "Zoe", "lastName": "Park"},
    });
    let activate = Call::new(Method::POST, "/user/activate", None, body);
    let fault = Fault::Write("activation_links", "UPDATE");
    answers_its_500_then_works(
        &app,
        fault,
        &activate,
        &failed("Activation failed"),
        StatusCode::CREATED,
    )
    .await;

    let (other, _) = link(&app, &admin, "bob@example.com").await;
    let delete = Call::bare(Method::DELETE, format!("/links/{other}"), &admin);
    let fault = Fault::Write("activation_links", "DELETE");
    answers_its_500_then_works(
        &app,
        fault,
        &delete,
        &failed("Failed to delete link"),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn the_quota_answers_its_500_then_works() {
    let (app, admin) = app_with_admin().await;
    // Reading the workspaces fails; the profile (the control) does not read them.
    let quota = Call::bare(Method::GET, "/user/quota", &admin).control("/user/profile");
    let fault = Fault::Read("workspaces", "deleted_at");
    answers_its_500_then_works(
        &app,
        fault,
        &quota,
        &failed("Internal server error"),
        StatusCode::OK,
    )
    .await;
}
