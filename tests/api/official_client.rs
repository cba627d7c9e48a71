//! The official client's account-lifecycle calls (issue 24: `preVerifyEmail`, `getLinks`,
//! `createLink`, `updateLink`, `deleteLink`, `getLink`, `userActivate`, `userDeactivate`,
//! `getUserQuota`), sent as the client sends them:
//! its bodies, no body and no `Content-Type` where it has nothing to send (`userDeactivate`,
//! `deleteLink`), the token of `getLink` in the query string, every `getLinks` parameter in the
//! query (given, or empty as a form builds them), and the stale `Authorization` header it keeps
//! sending on public routes (contract section 1). Each call must answer what its method reads.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::accounts::PASSWORD;
use crate::support::app::{spawn_app_with, TestApp};
use crate::support::client::Answer;

const JWT_SECRET: &str = "an operator's signing key, kept in a file, not in the database";

/// A request with no body at all, as the client sends `userDeactivate` and `deleteLink`.
async fn bare(app: &TestApp, method: Method, path: &str, token: &str) -> Answer {
    let request = app.client.request(method, app.url(path)).bearer_auth(token);
    let built = request.try_clone().unwrap().build().unwrap();
    assert!(built.body().is_none() && !built.headers().contains_key(CONTENT_TYPE));
    TestApp::send(request).await
}

/// A public call carrying the stale bearer token the client keeps after a logout.
async fn public(
    app: &TestApp,
    method: Method,
    path: &str,
    stale: &str,
    body: Option<Value>,
) -> Answer {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(stale);
    if let Some(body) = body {
        request = request.json(&body);
    }
    TestApp::send(request).await
}

#[tokio::test]
async fn the_clients_lifecycle_calls_work_as_it_sends_them() {
    let app = spawn_app_with(|config| {
        config.jwt_secret = Some(JWT_SECRET.to_owned());
        config.public_url = Some("https://work.example.com".to_owned());
    })
    .await;
    let admin = app.register_verified("admin@example.com").await;
    let sql = "UPDATE users SET instance_admin = TRUE WHERE id = $1";
    app.execute(sql, &[&admin.user_id]).await;
    let stale = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvbGQifQ.c3RhbGU";

    // preVerifyEmail: {token}, on a public route, with a stale Authorization header.
    app.register("new@example.com").await;
    let token = app.mailer.last_verification_token("new@example.com");
    let checked = public(
        &app,
        Method::POST,
        "/user/pre-verify-email",
        stale,
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(
        checked.body,
        json!({"success": true, "message": "Token is valid", "authMethod": "LOCAL", "hasPassword": true})
    );

    // createLink: {email, name, description}.
    let body = json!({"email": "zoe@example.com", "name": "Zoe", "description": "pilot"});
    let created = app.post("/links", Some(&admin.access_token), body).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let link = created.body["link"].clone();
    let id = link["id"].as_str().unwrap().to_owned();
    let fragment = link["activationLink"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_owned();
    let link_token = fragment.split_once("&token=").unwrap().1.to_owned();

    // getLinks: every parameter given, then every one empty, then none.
    let full = "/links?from=2020-01-01T00:00:00Z&to=2999-01-01T00:00:00Z&take=10&skip=0&status=pending&text=zoe";
    for path in [full, "/links?from=&to=&take=&skip=&status=&text=", "/links"] {
        let listed = app.get(path, Some(&admin.access_token)).await;
        assert_eq!(listed.status.as_u16(), 200, "{path}: {}", listed.body);
        assert_eq!(listed.body["links"][0]["id"], json!(id), "{path}");
        assert_eq!(listed.body["total"], json!(1), "{path}");
    }

    // updateLink: {description} and {email}.
    let path = format!("/links/{id}");
    let put = |body: Value| app.request(Method::PUT, &path, Some(&admin.access_token), Some(body));
    let updated = put(json!({"description": "pilot, week 2"})).await;
    assert_eq!(updated.body["link"]["description"], json!("pilot, week 2"));
    let updated = put(json!({"email": "zoe@bakery.example"})).await;
    assert_eq!(updated.body["link"]["email"], json!("zoe@bakery.example"));

    // getLink: the token in the query string, a stale header beside it.
    let got = public(
        &app,
        Method::GET,
        &format!("/links/{id}?token={link_token}"),
        stale,
        None,
    )
    .await;
    assert_eq!(
        got.body,
        json!({"success": true, "uuid": id, "email": "zoe@bakery.example", "activatedAt": null})
    );

    // userActivate: {uid, token, registrationInfo}.
    let info = json!({"email": "zoe@bakery.example", "password": PASSWORD, "firstName": "Zoe",
                      "lastName": "Park", "companyName": "Bakery", "isBusiness": true,
                      "deviceInfo": {"deviceName": "Zoe's laptop"}});
    let body = json!({"uid": id, "token": link_token, "registrationInfo": info});
    let activated = public(&app, Method::POST, "/user/activate", stale, Some(body)).await;
    assert_eq!(activated.status.as_u16(), 201, "{}", activated.body);
    let zoe_token = activated.str("accessToken");

    // deleteLink: no body, no Content-Type (a second link, the first is spent).
    let second = app
        .post(
            "/links",
            Some(&admin.access_token),
            json!({"email": "bob@example.com"}),
        )
        .await;
    let second_id = second.body["link"]["id"].as_str().unwrap().to_owned();
    let deleted = bare(
        &app,
        Method::DELETE,
        &format!("/links/{second_id}"),
        &admin.access_token,
    )
    .await;
    assert_eq!(
        deleted.body,
        json!({"success": true, "message": "Link deleted successfully"})
    );

    // getUserQuota: a GET with the new owner's token.
    let quota = app.get("/user/quota", Some(&zoe_token)).await;
    assert_eq!(quota.status.as_u16(), 200, "{}", quota.body);
    let usage = &quota.body["quotaUsage"];
    assert_eq!(usage[0]["capability"]["code"], json!("WORKSPACES"));
    assert_eq!(
        usage[0]["usage"],
        json!({"current": 0, "max": -1, "percentage": 0})
    );
    assert_eq!(
        usage[1]["usage"],
        json!({"current": 1, "max": -1, "percentage": 0})
    );

    // userDeactivate: no body, no Content-Type, from a fresh session. Zoe is her organization's
    // last owner: refused as such, so the call was read and answered.
    let refused = bare(&app, Method::POST, "/user/deactivate", &zoe_token).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.body);
    assert_eq!(refused.body["error_code"], json!("LAST_OWNER"));
    let member = app
        .member(
            &admin,
            "mia@example.com",
            0,
            crate::support::accounts::Verification::Verified,
        )
        .await;
    let deactivated = bare(&app, Method::POST, "/user/deactivate", &member.access_token).await;
    assert_eq!(
        deactivated.body,
        json!({"success": true, "message": "Account deactivated successfully"})
    );
}
