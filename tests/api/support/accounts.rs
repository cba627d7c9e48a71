//! People for the tests: registering, verifying, logging in, and members made with an
//! organization role; the shared password and names.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::app::TestApp;
use crate::support::client::Answer;

pub const PASSWORD: &str = "Secret123";

/// The names of every user made with `TestApp::member` (registrations are named Ann Lee).
pub const MEMBER_FIRST_NAME: &str = "Mia";
pub const MEMBER_LAST_NAME: &str = "Stone";

/// Names that read other than they look (issue 15): a right-to-left override, a zero-width space,
/// a line separator and a paragraph separator, each between letters, where trimming cannot take
/// it away. Every field that holds a name refuses them.
pub fn names_with_hidden_characters() -> Vec<String> {
    ['\u{202E}', '\u{200B}', '\u{2028}', '\u{2029}']
        .iter()
        .map(|c| format!("Ann{c}Lee"))
        .collect()
}

/// A first name that would be an advertisement in a greeting.
pub const PHISHING_NAME: &str = "Visit http://evil.example now";

/// The whole body of a verification e-mail carrying `token`, without a public URL: it greets no
/// one by name, since the address is not verified yet.
pub fn verification_email_body(token: &str) -> String {
    format!(
        "Hello,\n\nPlease confirm your e-mail address to activate your account.\n\n\
         Verification token: {token}\n\n\
         The token is valid for 24 hours. If you did not sign up, ignore this message.\n"
    )
}

/// The whole body of an invitation e-mail (an organization added the user) carrying `token`,
/// valid `days`, without a public URL: it greets no one by name either.
pub fn invitation_email_body(token: &str, days: i64) -> String {
    format!(
        "Hello,\n\nAn administrator of your organization made an account for you with this \
         address. Confirm the address and choose your password to start.\n\n\
         Verification token: {token}\n\n\
         The invitation is valid for {days} days and works once. If you do not expect it, \
         ignore this message.\n"
    )
}

/// What a registration or an organization-user creation produced, for use in later requests.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub user_id: String,
    pub org_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub token_id: String,
    /// Empty for users created through `POST /organization/users`.
    pub verification_token_id: String,
}

/// Whether an account made by `TestApp::member` has verified its e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Verified,
    Unverified,
}

impl TestApp {
    pub fn registration_body(email: &str) -> Value {
        json!({
            "email": email,
            "password": PASSWORD,
            "firstName": "Ann",
            "lastName": "Lee",
            "companyName": "Acme",
            "isBusiness": true,
        })
    }

    /// Registers an account (not yet verified): the OWNER of a new organization.
    pub async fn register(&self, email: &str) -> Account {
        let answer = self
            .post("/user/register", None, Self::registration_body(email))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        Account {
            email: email.to_owned(),
            first_name: "Ann".to_owned(),
            last_name: "Lee".to_owned(),
            user_id: answer.body["user"]["id"].as_str().unwrap().to_owned(),
            org_id: answer.body["user"]["orgId"].as_str().unwrap().to_owned(),
            access_token: answer.str("accessToken"),
            refresh_token: answer.str("refreshToken"),
            token_id: answer.str("tokenId"),
            verification_token_id: answer.str("verificationTokenId"),
        }
    }

    /// Verifies the account's e-mail with the token from its last verification e-mail.
    pub async fn verify(&self, email: &str) {
        let token = self.mailer.last_verification_token(email);
        let answer = self
            .post("/user/verify-email", None, json!({ "token": token }))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }

    /// Registers and verifies an account: an organization OWNER ready to write, logged in again
    /// after verifying (verifying ends the registration's session).
    pub async fn register_verified(&self, email: &str) -> Account {
        let account = self.register(email).await;
        self.verify(email).await;
        self.log_in(&account).await
    }

    /// The one way to make an actor with an organization role: a logged-in user of `by`'s
    /// organization with role `role`, named Mia Stone, created by `by` through
    /// `POST /organization/users` (so `by` must be verified and allowed to grant `role`; an
    /// OWNER grants every role) and, when `Verified`, verified through its invitation e-mail.
    pub async fn member(
        &self,
        by: &Account,
        email: &str,
        role: i64,
        verification: Verification,
    ) -> Account {
        let body = json!({
            "email": email,
            "password": PASSWORD,
            "firstName": MEMBER_FIRST_NAME,
            "lastName": MEMBER_LAST_NAME,
            "orgRole": role,
        });
        let created = self
            .post("/organization/users", Some(&by.access_token), body)
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        if verification == Verification::Verified {
            self.verify(email).await;
        }
        let account = Account {
            email: email.to_owned(),
            first_name: MEMBER_FIRST_NAME.to_owned(),
            last_name: MEMBER_LAST_NAME.to_owned(),
            user_id: created.body["data"]["id"].as_str().unwrap().to_owned(),
            org_id: by.org_id.clone(),
            access_token: String::new(),
            refresh_token: String::new(),
            token_id: String::new(),
            verification_token_id: String::new(),
        };
        self.log_in(&account).await
    }

    /// Logs `account` in with the shared password: the same person with a new session's tokens
    /// (its ids as the login answers them).
    pub async fn log_in(&self, account: &Account) -> Account {
        let answer = self.login(&account.email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        Account {
            user_id: answer.body["user"]["id"].as_str().unwrap().to_owned(),
            org_id: answer.body["user"]["orgId"].as_str().unwrap().to_owned(),
            access_token: answer.str("accessToken"),
            refresh_token: answer.str("refreshToken"),
            token_id: answer.str("tokenId"),
            ..account.clone()
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.post(
            "/user/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }
}
