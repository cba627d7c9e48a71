//! Activation links and `POST /user/activate` (contract section 13): an instance administrator
//! invites one address to register a new organization; the token is an HMAC of the link's id
//! under a key kept out of the database, checked by `GET /links/{id}` without being spent, and
//! spent once, atomically, by the activation.

use reqwest::Method;
use serde_json::{json, Value};
use workspaces::config::RegistrationPolicy;

use crate::support::accounts::{Account, PASSWORD};
use crate::support::app::{second_instance_with, spawn_app_with, TestApp};
use crate::support::assertions::{assert_answer, assert_unauthorized, error_body};
use crate::support::at_once::{at_once, Side};
use crate::support::client::Answer;
use crate::support::clock::{now_ms, rfc3339};

const PUBLIC_URL: &str = "https://work.example.com";
const JWT_SECRET: &str = "an operator's signing key, kept in a file, not in the database";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A server whose link key comes from a configured JWT secret (so it works on both backends),
/// with a public URL.
async fn links_app() -> TestApp {
    links_app_with(|_| {}).await
}

async fn links_app_with(configure: impl FnOnce(&mut workspaces::config::Config)) -> TestApp {
    spawn_app_with(|config| {
        config.jwt_secret = Some(JWT_SECRET.to_owned());
        config.public_url = Some(PUBLIC_URL.to_owned());
        configure(config);
    })
    .await
}

/// A verified OWNER made an instance administrator (as `workspaces admin grant` does).
async fn administrator(app: &TestApp, email: &str) -> Account {
    let admin = app.register_verified(email).await;
    let sql = "UPDATE users SET instance_admin = TRUE WHERE id = $1";
    assert_eq!(app.execute(sql, &[&admin.user_id]).await, 1);
    admin
}

fn registration_info(email: &str) -> Value {
    json!({
        "email": email, "password": PASSWORD, "firstName": "Zoe", "lastName": "Park",
        "companyName": "Zoe's Bakery",
    })
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> Answer {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

/// Creates a link for `email`; its JSON.
async fn create(app: &TestApp, admin: &Account, email: &str, description: Option<&str>) -> Value {
    let body = json!({"email": email, "name": "Zoe", "description": description});
    let answer = app.post("/links", Some(&admin.access_token), body).await;
    assert_eq!(answer.status.as_u16(), 201, "{}", answer.body);
    answer.body["link"].clone()
}

/// The id and token in a link's `activationLink` fragment.
fn uid_and_token(link: &Value) -> (String, String) {
    let url = link["activationLink"].as_str().unwrap();
    let fragment = url.split_once('#').unwrap().1;
    let (uid, token) = fragment.split_once('&').unwrap();
    (
        uid.strip_prefix("uid=").unwrap().to_owned(),
        token.strip_prefix("token=").unwrap().to_owned(),
    )
}

async fn check(app: &TestApp, uid: &str, token: &str) -> Answer {
    app.get(&format!("/links/{uid}?token={token}"), None).await
}

async fn activate(app: &TestApp, uid: &str, token: &str, email: &str) -> Answer {
    let body = json!({"uid": uid, "token": token, "registrationInfo": registration_info(email)});
    app.post("/user/activate", None, body).await
}

fn invalid_link() -> Value {
    error_body(
        "Invalid or expired activation link",
        "ACTIVATION_LINK_INVALID",
    )
}

fn not_found_or_expired() -> Value {
    error_body("Link not found or expired", "LINK_NOT_FOUND")
}

/// The JSON a link of `admin`'s for `email` has, given its id, token and times.
fn link_json(
    admin: &Account,
    link: &Value,
    email: &str,
    description: Value,
    status: &str,
) -> Value {
    let (uid, token) = uid_and_token(link);
    json!({
        "id": uid,
        "createdAt": link["createdAt"],
        "expiresAt": link["expiresAt"],
        "description": description,
        "email": email,
        "activatedAt": link["activatedAt"],
        "createdBy": admin.user_id,
        "creator": {"email": admin.email, "name": admin.first_name, "lastName": admin.last_name},
        "status": status,
        "activationLink": format!("{PUBLIC_URL}/console/activate#uid={uid}&token={token}"),
    })
}

#[tokio::test]
async fn only_instance_administrators_manage_links() {
    let app = links_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let admin = administrator(&app, "admin@example.com").await;
    let link = create(&app, &admin, "zoe@example.com", None).await;
    let id = link["id"].as_str().unwrap();
    let before = app.snapshot().await;

    let denied = error_body("Insufficient permissions", "INSUFFICIENT_PERMISSIONS");
    let token = Some(owner.access_token.as_str());
    let body = json!({"email": "x@example.com"});
    assert_answer(&app.post("/links", token, body.clone()).await, 403, &denied);
    assert_answer(&app.get("/links", token).await, 403, &denied);
    let path = format!("/links/{id}");
    let changed = put(
        &app,
        &path,
        &owner.access_token,
        json!({"description": "x"}),
    )
    .await;
    assert_answer(&changed, 403, &denied);
    assert_answer(&app.delete(&path, token).await, 403, &denied);
    // Without a token: 401 (the public check of a link is `GET /links/{id}`, below).
    assert_unauthorized(&app.post("/links", None, body).await);
    assert_unauthorized(&app.get("/links", None).await);
    assert_unauthorized(&app.delete(&path, None).await);

    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn an_administrator_creates_a_link_which_is_mailed_stored_without_token_and_logged() {
    let app = links_app().await;
    let admin = administrator(&app, "admin@example.com").await;
    let mark = app.event_mark().await;
    let started = now_ms();

    let body = json!({"email": "Zoe@Example.com", "name": "Zoe", "description": "Bakery"});
    let answer = app.post("/links", Some(&admin.access_token), body).await;

    assert_eq!(answer.status.as_u16(), 201, "{}", answer.body);
    let link = &answer.body["link"];
    let expected = link_json(&admin, link, "Zoe@Example.com", json!("Bakery"), "pending");
    assert_answer(&answer, 201, &json!({"success": true, "link": expected}));
    assert_eq!(link["activatedAt"], Value::Null);
    let expires = link["expiresAt"].as_i64().unwrap();
    assert!((started + 7 * DAY_MS..=now_ms() + 7 * DAY_MS).contains(&expires));
    let created = link["createdAt"].as_str().unwrap();
    assert_eq!(created, rfc3339(expires - 7 * DAY_MS));

    // The e-mail carries the whole link.
    let (uid, token) = uid_and_token(link);
    let mails = app.mailer.to("Zoe@Example.com");
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        "Your invitation to create an organization"
    );
    assert_eq!(
        mails[0].body,
        format!(
            "Hello Zoe,\n\nAn administrator of this server invited you to create your \
             organization on it. Open this link to register with this address:\n\n\
             Activation link: {PUBLIC_URL}/console/activate#uid={uid}&token={token}\n\n\
             The link is valid for 7 days and works once. If you do not expect it, ignore this \
             message.\n"
        )
    );

    // The row holds no token; the event is the administrator's organization's.
    let rows = app.dump("activation_links").await;
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].contains(&token), "{}", rows[0]);
    let data = json!({"activationLink": {"from": null, "to": {
        "id": uid, "email": "Zoe@Example.com", "description": "Bakery", "expiresAt": expires,
        "activatedAt": null,
    }}});
    let event = json!({
        "orgId": admin.org_id, "actorId": admin.user_id, "workspaceId": null, "context": 4,
        "event": 1, "contextId": admin.org_id, "jsonData": data,
    });
    assert_eq!(app.events_since(&mark).await, vec![event]);
}

#[tokio::test]
async fn a_link_is_refused_for_bad_fields_and_for_an_address_with_an_account() {
    let app = links_app().await;
    let admin = administrator(&app, "admin@example.com").await;
    let taken = app.register_verified("taken@example.com").await;
    let before = app.snapshot().await;
    let token = Some(admin.access_token.as_str());

    let cases = [
        (
            json!({}),
            error_body("Missing required field: email", "MISSING_FIELD"),
        ),
        (
            json!({"email": "not-an-address"}),
            error_body("Invalid email address", "INVALID_EMAIL"),
        ),
        (
            json!({"email": "a@example.com", "description": "x".repeat(501)}),
            error_body(
                "description must be at most 500 characters without control characters",
                "INVALID_FIELD",
            ),
        ),
        (
            json!({"email": taken.email}),
            error_body(
                "An account with this email already exists",
                "EMAIL_ALREADY_EXISTS",
            ),
        ),
    ];
    for (body, expected) in cases {
        let answer = app.post("/links", token, body).await;
        assert_answer(&answer, 400, &expected);
    }
    app.assert_unchanged(&before).await;
}

#[tokio::test]
async fn the_public_check_never_spends_a_link_and_activation_registers_a_verified_owner() {
    let app = links_app().await;
    let admin = administrator(&app, "admin@example.com").await;
    let link = create(&app, &admin, "zoe@example.com", None).await;
    let (uid, token) = uid_and_token(&link);

    // Checked as often as one likes: nothing is spent.
    for _ in 0..3 {
        let checked = check(&app, &uid, &token).await;
        let expected = json!({
            "success": true, "uuid": uid, "email": "zoe@example.com", "activatedAt": null,
        });
        assert_answer(&checked, 200, &expected);
    }
    // The token may come in a header instead, to keep it out of URLs.
    let by_header = app
        .client
        .get(app.url(&format!("/links/{uid}")))
        .header("Activation-Token", &token);
    assert_eq!(TestApp::send(by_header).await.status.as_u16(), 200);

    let mark = app.event_mark().await;
    let answer = activate(&app, &uid, &token, "zoe@example.com").await;

    assert_eq!(answer.status.as_u16(), 201, "{}", answer.body);
    let user_id = answer.body["user"]["id"].as_str().unwrap().to_owned();
    let org_id = answer.body["user"]["orgId"].as_str().unwrap().to_owned();
    assert_eq!(
        answer.body["user"],
        json!({"id": user_id, "email": "zoe@example.com", "name": "Zoe", "orgId": org_id,
               "orgRole": 255})
    );
    assert_eq!(answer.body["verificationTokenId"], Value::Null);
    assert!(app.is_validated(&user_id).await);
    // No verification e-mail: the link proved the mailbox. The new owner works at once.
    assert_eq!(app.mailer.to("zoe@example.com").len(), 1);
    let access = answer.str("accessToken");
    let created = app.create_workspace(&access, "Ovens").await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);

    // Spent: checked, it shows when; activated again, it is refused.
    let checked = check(&app, &uid, &token).await;
    let activated_at = checked.body["activatedAt"].clone();
    assert!(activated_at.is_string(), "{}", checked.body);
    let again = activate(&app, &uid, &token, "zoe@example.com").await;
    assert_answer(&again, 400, &invalid_link());

    // Events: the registration's, and the spend told to the administrator's organization.
    let events = app.events_since(&mark).await;
    let kinds: Vec<(Value, Value, Value)> = events
        .iter()
        .map(|e| (e["orgId"].clone(), e["context"].clone(), e["event"].clone()))
        .collect();
    assert_eq!(
        kinds[..3],
        [
            (json!(org_id), json!(4), json!(0)),
            (json!(org_id), json!(3), json!(0)),
            (json!(admin.org_id), json!(4), json!(1)),
        ]
    );
    assert_eq!(events[1]["jsonData"]["validated"], json!(true));
    let spend = &events[2]["jsonData"]["activationLink"];
    assert_eq!(spend["from"]["activatedAt"], Value::Null);
    assert!(spend["to"]["activatedAt"].is_i64(), "{spend}");
    assert_eq!(events[2]["actorId"], json!(user_id));
}

#[tokio::test]
async fn wrong_tokens_mismatched_addresses_expired_and_deleted_links_open_nothing() {
    let app = links_app().await;
    let admin = administrator(&app, "admin@example.com").await;
    let link = create(&app, &admin, "zoe@example.com", None).await;
    let (uid, token) = uid_and_token(&link);
    let other = create(&app, &admin, "other@example.com", None).await;
    let (other_uid, other_token) = uid_and_token(&other);
    let before = app.snapshot().await;

    // Another link's token, a mangled one, an id that is not one.
    for (id, wrong) in [
        (uid.as_str(), other_token.as_str()),
        (other_uid.as_str(), token.as_str()),
        (uid.as_str(), "AAAA"),
        ("not-a-uuid", token.as_str()),
    ] {
        assert_answer(&check(&app, id, wrong).await, 404, &not_found_or_expired());
        let refused = activate(&app, id, wrong, "zoe@example.com").await;
        assert_answer(&refused, 400, &invalid_link());
    }
    assert_answer(
        &app.get(&format!("/links/{uid}"), None).await,
        404,
        &not_found_or_expired(),
    );
    // The right link for another address.
    let mismatch = activate(&app, &uid, &token, "someone@example.com").await;
    let expected = error_body(
        "E-mail does not match the activation link",
        "ACTIVATION_EMAIL_MISMATCH",
    );
    assert_answer(&mismatch, 400, &expected);
    // The address matches ignoring case.
    app.assert_unchanged(&before).await;

    // Expired (the clock moved past it): 404 / 400, and listed as expired.
    let sql = format!(
        "UPDATE activation_links SET expires_at = {} WHERE id = $1",
        now_ms() - 1
    );
    assert_eq!(app.execute(&sql, &[&uid]).await, 1);
    assert_answer(
        &check(&app, &uid, &token).await,
        404,
        &not_found_or_expired(),
    );
    let late = activate(&app, &uid, &token, "zoe@example.com").await;
    assert_answer(&late, 400, &invalid_link());
    let listed = app
        .get("/links?status=expired", Some(&admin.access_token))
        .await;
    assert_eq!(listed.body["total"], json!(1), "{}", listed.body);
    assert_eq!(listed.body["links"][0]["status"], json!("expired"));

    // Deleted: revoked for good.
    let path = format!("/links/{other_uid}");
    let deleted = app.delete(&path, Some(&admin.access_token)).await;
    let message = json!({"success": true, "message": "Link deleted successfully"});
    assert_answer(&deleted, 200, &message);
    let gone = check(&app, &other_uid, &other_token).await;
    assert_answer(&gone, 404, &not_found_or_expired());
    let refused = activate(&app, &other_uid, &other_token, "other@example.com").await;
    assert_answer(&refused, 400, &invalid_link());
    let again = app.delete(&path, Some(&admin.access_token)).await;
    assert_answer(&again, 404, &error_body("Link not found", "LINK_NOT_FOUND"));
    let count =
        "SELECT COUNT(*) FROM users WHERE email IN ('zoe@example.com', 'other@example.com')";
    assert_eq!(app.count(count, &[]).await, 0);
}

#[tokio::test]
async fn an_address_differing_only_in_case_activates() {
    let app = links_app().await;
    let admin = administrator(&app, "admin@example.com").await;
    let link = create(&app, &admin, "Zoe@Example.com", None).await;
    let (uid, token) = uid_and_token(&link);
    let answer = activate(&app, &uid, &token, "zoe@example.com").await;
    assert_eq!(answer.status.as_u16(), 201, "{}", answer.body);
}

#[tokio::test]
async fn links_are_updated_until_activated_and_listed_with_filters() {
    let app = links_app().await;
    let admin = administrator(&app, "admin@example.com").await;
    let first = create(&app, &admin, "ann@example.com", Some("First 50% off")).await;
    let second = create(&app, &admin, "bob@example.com", None).await;
    let third = create(&app, &admin, "cat@example.com", Some("third")).await;
    let token = Some(admin.access_token.as_str());

    // Newest first, all of them.
    let listed = app.get("/links", token).await;
    let ids: Vec<&Value> = listed.body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["id"])
        .collect();
    assert_eq!(ids, [&third["id"], &second["id"], &first["id"]]);
    assert_eq!(
        listed.body["links"][2],
        link_json(
            &admin,
            &first,
            "ann@example.com",
            json!("First 50% off"),
            "pending"
        )
    );
    assert_eq!(
        (
            &listed.body["total"],
            &listed.body["skip"],
            &listed.body["take"]
        ),
        (&json!(3), &json!(0), &json!(20))
    );
    // Paging, text (case-insensitive, `%` literal), status, time.
    let page = app.get("/links?take=1&skip=1", token).await;
    assert_eq!(page.body["links"][0]["id"], second["id"]);
    assert_eq!(
        (&page.body["total"], &page.body["take"]),
        (&json!(3), &json!(1))
    );
    let text = app.get("/links?text=50%25%20OFF", token).await;
    assert_eq!(text.body["total"], json!(1), "{}", text.body);
    let text = app.get("/links?text=BOB", token).await;
    assert_eq!(text.body["links"][0]["id"], second["id"]);
    let none = app.get("/links?text=_", token).await;
    assert_eq!(none.body["total"], json!(0));
    let future = rfc3339(now_ms() + DAY_MS).replace('+', "%2B");
    let later = app.get(&format!("/links?from={future}"), token).await;
    assert_eq!(later.body["total"], json!(0));
    let earlier = app.get(&format!("/links?to={future}"), token).await;
    assert_eq!(earlier.body["total"], json!(3));
    for bad in [
        ("take=0", "take must be an integer from 1 to 100"),
        ("take=101", "take must be an integer from 1 to 100"),
        ("skip=-1", "skip must be an integer of at least 0"),
        (
            "status=new",
            "status must be pending, activated, expired or all",
        ),
        ("from=yesterday", "from must be an RFC 3339 timestamp"),
        ("to=1", "to must be an RFC 3339 timestamp"),
    ] {
        let answer = app.get(&format!("/links?{}", bad.0), token).await;
        assert_answer(&answer, 400, &error_body(bad.1, "INVALID_QUERY"));
    }

    // An update: description, then a new address, which gets the link.
    let path = format!("/links/{}", second["id"].as_str().unwrap());
    let mark = app.event_mark().await;
    let described = put(
        &app,
        &path,
        &admin.access_token,
        json!({"description": "Bob"}),
    )
    .await;
    let expected = link_json(&admin, &second, "bob@example.com", json!("Bob"), "pending");
    assert_answer(&described, 200, &json!({"success": true, "link": expected}));
    let moved = put(
        &app,
        &path,
        &admin.access_token,
        json!({"email": "rob@example.com"}),
    )
    .await;
    assert_eq!(moved.body["link"]["email"], json!("rob@example.com"));
    assert_eq!(app.mailer.to("rob@example.com").len(), 1);
    let cleared = put(
        &app,
        &path,
        &admin.access_token,
        json!({"description": null}),
    )
    .await;
    assert_eq!(cleared.body["link"]["description"], Value::Null);
    assert_eq!(app.events_since(&mark).await.len(), 3);
    let nothing = put(&app, &path, &admin.access_token, json!({})).await;
    assert_answer(
        &nothing,
        400,
        &error_body("No valid fields to update", "NO_VALID_FIELDS"),
    );
    let unknown = put(
        &app,
        "/links/0190a2b4-0000-7000-8000-000000000000",
        &admin.access_token,
        json!({"description": "x"}),
    )
    .await;
    assert_answer(
        &unknown,
        404,
        &error_body("Link not found", "LINK_NOT_FOUND"),
    );

    // Activated: it no longer changes.
    let (uid, link_token) = uid_and_token(&second);
    let done = activate(&app, &uid, &link_token, "rob@example.com").await;
    assert_eq!(done.status.as_u16(), 201, "{}", done.body);
    let before = app.snapshot().await;
    let late = put(
        &app,
        &path,
        &admin.access_token,
        json!({"description": "late"}),
    )
    .await;
    let conflict = error_body("Link has already been activated", "LINK_ALREADY_ACTIVATED");
    assert_answer(&late, 409, &conflict);
    app.assert_unchanged(&before).await;
    let activated = app.get("/links?status=activated", token).await;
    assert_eq!(activated.body["links"][0]["status"], json!("activated"));
    assert!(activated.body["links"][0]["activatedAt"].is_string());
    let pending = app.get("/links?status=pending", token).await;
    assert_eq!(pending.body["total"], json!(2));
}

/// Two activations of one link at the same moment, through two instances: one registers, the
/// other is refused as a spent link (not as a taken address: the spend is what decides).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_activations_of_one_link_give_one_account() {
    let app = links_app().await;
    let admin = administrator(&app, "admin@example.com").await;
    let second = second_instance_with(&app, |config| {
        config.jwt_secret = Some(JWT_SECRET.to_owned());
    })
    .await;
    for round in 0..20 {
        let email = format!("zoe{round}@example.com");
        let link = create(&app, &admin, &email, None).await;
        let (uid, token) = uid_and_token(&link);
        let body =
            json!({"uid": uid, "token": token, "registrationInfo": registration_info(&email)});
        let (a, b) = (Side::new(app.address.clone()), Side::new(second.clone()));
        let request = |side: &Side| {
            let mut request = side.request(Method::POST, "/user/activate", "", Some(body.clone()));
            request.headers_mut().remove("authorization");
            request
        };
        let (first, other) = at_once((&a, request(&a)), (&b, request(&b))).await;
        let mut statuses = [first.status.as_u16(), other.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 400], "{} {}", first.body, other.body);
        let loser = if first.status.as_u16() == 400 {
            &first
        } else {
            &other
        };
        assert_answer(loser, 400, &invalid_link());
        let sql = "SELECT COUNT(*) FROM users WHERE email = $1";
        let sql = sql.replace("$1", &format!("'{email}'"));
        assert_eq!(app.count(&sql, &[]).await, 1);
    }
}

/// The three policies against the three ways in: register, activate, and an organization
/// adding a user (an invitation, which needs no identity provider).
#[tokio::test]
async fn the_policy_matrix() {
    use RegistrationPolicy::{Closed, InviteOnly, Open};
    for (at, policy) in [Open, InviteOnly, Closed].into_iter().enumerate() {
        let app = links_app_with(|config| config.registration = policy).await;
        // Made directly: under invite-only and closed nobody registers.
        let admin = {
            let open = second_instance_with(&app, |config| {
                config.jwt_secret = Some(JWT_SECRET.to_owned());
            })
            .await;
            let registered = TestApp::send(
                app.client
                    .post(format!("{open}/user/register"))
                    .json(&TestApp::registration_body("admin@example.com")),
            )
            .await;
            assert_eq!(registered.status.as_u16(), 201, "{}", registered.body);
            let sql = "UPDATE users SET validated = TRUE, instance_admin = TRUE \
                       WHERE email = 'admin@example.com'";
            app.execute(sql, &[]).await;
            let login = app.login("admin@example.com", PASSWORD).await;
            login.str("accessToken")
        };

        let register = app
            .post(
                "/user/register",
                None,
                TestApp::registration_body("r@example.com"),
            )
            .await;
        let link = app
            .post(
                "/links",
                Some(&admin),
                json!({"email": format!("a{at}@example.com")}),
            )
            .await;
        assert_eq!(link.status.as_u16(), 201, "{}", link.body);
        let (uid, token) = uid_and_token(&link.body["link"]);
        let activated = activate(&app, &uid, &token, &format!("a{at}@example.com")).await;
        let invited = app
            .post(
                "/organization/users",
                Some(&admin),
                json!({"email": "m@example.com", "firstName": "Mia", "lastName": "Roe",
                       "orgRole": 0}),
            )
            .await;

        let statuses = (
            register.status.as_u16(),
            activated.status.as_u16(),
            invited.status.as_u16(),
        );
        match policy {
            Open => assert_eq!(statuses, (201, 201, 201)),
            InviteOnly => {
                assert_eq!(statuses, (403, 201, 201));
                let refused = error_body(
                    "Registration requires an activation link",
                    "REGISTRATION_INVITE_ONLY",
                );
                assert_answer(&register, 403, &refused);
            }
            Closed => {
                assert_eq!(statuses, (403, 403, 201));
                let refused = error_body("Registration is closed", "REGISTRATION_CLOSED");
                assert_answer(&register, 403, &refused);
                assert_answer(&activated, 403, &refused);
                // The refused activation spent nothing.
                let checked = check(&app, &uid, &token).await;
                assert_eq!(checked.body["activatedAt"], Value::Null);
            }
        }
    }
}

/// What a copy of the database is worth (as `stolen_database` shows for sessions): the rows
/// hold no token, and no key the copy holds signs one.
#[tokio::test]
async fn a_copy_of_the_database_opens_no_link() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use hmac::{Hmac, Mac as _};
    use sha2::Sha256;

    // The default configuration: the JWT secret generated and kept in the database.
    let app = spawn_app_with(|config| config.public_url = Some(PUBLIC_URL.to_owned())).await;
    if !app.is_sqlite() {
        // On PostgreSQL, such a server has no key outside the database and makes no links.
        let admin = administrator(&app, "admin@example.com").await;
        let answer = app
            .post(
                "/links",
                Some(&admin.access_token),
                json!({"email": "z@example.com"}),
            )
            .await;
        let expected = error_body(
            "Activation links need a key kept out of the database: start every instance with \
             --jwt-secret-file (or --jwt-secret)",
            "ACTIVATION_LINKS_UNAVAILABLE",
        );
        assert_answer(&answer, 503, &expected);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM activation_links", &[])
                .await,
            0
        );
        return;
    }
    let admin = administrator(&app, "admin@example.com").await;
    let link = create(&app, &admin, "zoe@example.com", None).await;
    let (uid, token) = uid_and_token(&link);

    // The database file holds neither the token nor its bytes.
    let file = std::fs::read(app.sqlite_file().unwrap()).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
    assert!(!file.windows(token.len()).any(|w| w == token.as_bytes()));
    assert!(!file.windows(raw.len()).any(|w| w == raw.as_slice()));
    // Every key the copy holds, used as the server would: no token it makes opens the link.
    let jwt_secret = app
        .strings("SELECT value FROM settings WHERE key = 'jwt_secret'", &[])
        .await
        .remove(0);
    let id = uuid::Uuid::parse_str(&uid).unwrap();
    let sign = |key: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    };
    let derived = {
        let mut mac = Hmac::<Sha256>::new_from_slice(jwt_secret.as_bytes()).unwrap();
        mac.update(b"workspaces activation-link key v1");
        mac.finalize().into_bytes().to_vec()
    };
    for forged in [sign(jwt_secret.as_bytes()), sign(&derived)] {
        assert_ne!(forged, token);
        assert_answer(
            &check(&app, &uid, &forged).await,
            404,
            &not_found_or_expired(),
        );
    }
    assert_eq!(check(&app, &uid, &token).await.status.as_u16(), 200);
    // The key lives beside the database, readable by its owner only.
    let key_file = {
        let mut name = app.sqlite_file().unwrap().as_os_str().to_owned();
        name.push(".link-key");
        std::path::PathBuf::from(name)
    };
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn activation_checks_its_fields_as_register_does() {
    let app = links_app().await;
    let admin = administrator(&app, "admin@example.com").await;
    let link = create(&app, &admin, "zoe@example.com", None).await;
    let (uid, token) = uid_and_token(&link);
    let before = app.snapshot().await;

    let weak = {
        let mut info = registration_info("zoe@example.com");
        info["password"] = json!("short");
        info
    };
    let cases = [
        (
            json!({"token": token, "registrationInfo": registration_info("zoe@example.com")}),
            error_body("Missing required field: uid", "MISSING_FIELD"),
        ),
        (
            json!({"uid": uid, "registrationInfo": registration_info("zoe@example.com")}),
            error_body("Missing required field: token", "MISSING_FIELD"),
        ),
        (
            json!({"uid": uid, "token": token}),
            error_body("Missing required field: registrationInfo", "MISSING_FIELD"),
        ),
        (
            json!({"uid": uid, "token": token, "registrationInfo": {"password": PASSWORD}}),
            error_body("Missing required field: email", "MISSING_FIELD"),
        ),
    ];
    for (body, expected) in cases {
        let answer = app.post("/user/activate", None, body).await;
        assert_answer(&answer, 400, &expected);
    }
    let answer = app
        .post(
            "/user/activate",
            None,
            json!({"uid": uid, "token": token, "registrationInfo": weak}),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 400);
    assert_eq!(answer.body["error_code"], json!("WEAK_PASSWORD"));
    app.assert_unchanged(&before).await;
    // The link still works.
    let done = activate(&app, &uid, &token, "zoe@example.com").await;
    assert_eq!(done.status.as_u16(), 201, "{}", done.body);
}
