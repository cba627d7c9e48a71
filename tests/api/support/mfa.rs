//! What the MFA tests share: TOTP codes computed here from the base32 secret the server shows
//! (RFC 6238 written again, independently of the server's code), enrolment, pending logins and
//! the `/mfa/*` error envelope.

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha1::Sha1;

use crate::support::accounts::{Account, PASSWORD};
use crate::support::app::TestApp;
use crate::support::client::Answer;
use crate::support::clock::now_ms;

/// The current TOTP time step (30 s).
pub fn step_now() -> i64 {
    now_ms() / 30_000
}

/// The current step, after waiting out its last 3 seconds if need be: a code computed now is
/// still of this step when the server checks it.
pub async fn steady_step() -> i64 {
    let into_step = now_ms() % 30_000;
    if into_step > 27_000 {
        tokio::time::sleep(std::time::Duration::from_millis(
            (30_100 - into_step) as u64,
        ))
        .await;
    }
    step_now()
}

/// What the server answered to the TOTP code of `secret` `offset` steps from the step the test
/// reads just before sending it, with that step, when the step is still the same once the
/// answer is back: the server reads the same clock, so it checked the code in that step too.
/// None when the request straddled a step boundary: the server may have read either step, so
/// the answer says nothing about drift (a code two steps ahead of the first step is one step
/// ahead of the next), and the caller starts that check again from a clean slate.
pub async fn within_one_step(
    secret: &str,
    offset: i64,
    send: impl AsyncFnOnce(String) -> Answer,
) -> Option<(i64, Answer)> {
    let step = step_now();
    let answer = send(totp(secret, step + offset)).await;
    (step_now() == step).then_some((step, answer))
}

/// Forgets the step `user_id`'s TOTP codes were last spent at, as if they enrolled long ago (so
/// a test can present codes of any recent step without waiting for time to pass).
pub async fn forget_spent_steps(app: &TestApp, user_id: &str) {
    app.execute(
        "UPDATE mfa_methods SET last_step = -1 WHERE user_id = $1",
        &[user_id],
    )
    .await;
}

/// RFC 4648 base32 (upper case, no padding) to bytes.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let value = ALPHABET
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("{text:?} is not base32"));
        bits = (bits << 5) | value as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// The 6-digit TOTP code of `secret` (base32) for time step `step`: HOTP (RFC 4226) with
/// HMAC-SHA-1 over the big-endian counter, dynamic truncation.
pub fn totp(secret: &str, step: i64) -> String {
    let key = base32_decode(secret);
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).unwrap();
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes(digest[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

/// An `/mfa/*` error, whole: the documented `error` text plus our envelope.
pub fn mfa_error(message: &str, code: &str) -> Value {
    json!({ "success": false, "error": message, "message": message, "error_code": code })
}

/// What `POST /mfa/setup` for TOTP gave.
pub struct Totp {
    pub secret: String,
    pub backup_codes: Vec<String>,
    /// The step whose code `verify-setup` spent.
    pub enrolled_step: i64,
}

impl Totp {
    /// A code the server has not seen yet: the step after the newest one spent, which is
    /// within the one step of drift it accepts (call it at most once per step).
    pub fn fresh_code(&self, spent_until: i64) -> String {
        totp(&self.secret, spent_until.max(step_now()) + 1)
    }
}

/// The subject of the e-mail carrying the code a pending session's enrolment needs.
pub const SETUP_CODE_SUBJECT: &str = "Your code to set up two-step sign-in";

/// The code on the `Setup code: ` line of `mail`.
pub fn email_code_of(mail: &workspaces::mail::OutgoingEmail) -> String {
    mail.body
        .lines()
        .find_map(|line| line.strip_prefix("Setup code: "))
        .unwrap_or_else(|| panic!("the e-mail carries no setup code: {}", mail.body))
        .to_owned()
}

/// The 200 of `verify-setup`.
pub fn setup_verified() -> Value {
    json!({ "success": true, "message": "MFA setup verified and enabled" })
}

impl TestApp {
    pub async fn mfa_post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.post(path, Some(token), body).await
    }

    /// Enrols TOTP for `account` from its session: setup, then verify-setup with the current
    /// code (and, from a pending session, the code setup e-mailed). That session is then
    /// verified.
    pub async fn enrol_totp(&self, account: &Account) -> Totp {
        let mails_before = self.mailer.to(&account.email).len();
        let setup = self
            .mfa_post(
                "/mfa/setup",
                &account.access_token,
                json!({ "mfaType": "GOOGLE_AUTH" }),
            )
            .await;
        assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
        let secret = setup.body["data"]["secret"].as_str().unwrap().to_owned();
        let backup_codes = setup.body["data"]["backupCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        // No need to wait for a steady step: the server takes a code of this step for the rest
        // of it and all of the next (one step of drift), and records the step the code is of.
        let step = step_now();
        let mut body = json!({ "mfaType": "GOOGLE_AUTH", "code": totp(&secret, step) });
        let mails = self.mailer.to(&account.email);
        if let Some(mail) = mails[mails_before..]
            .iter()
            .find(|mail| mail.subject == SETUP_CODE_SUBJECT)
        {
            body["emailCode"] = json!(email_code_of(mail));
        }
        let verified = self
            .mfa_post("/mfa/verify-setup", &account.access_token, body)
            .await;
        assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
        assert_eq!(verified.body, setup_verified());
        Totp {
            secret,
            backup_codes,
            enrolled_step: step,
        }
    }

    /// `owner` (OWNER or ADMINISTRATORS) makes their organization enforce MFA; asserts the 200.
    pub async fn enforce_mfa(&self, owner: &Account) {
        let body = json!({ "enforced": true });
        let on = self
            .mfa_post("/mfa/organization/enforce", &owner.access_token, body)
            .await;
        assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    }

    /// A password login that must answer `mfaRequired: true` (a pending session).
    pub async fn log_in_pending(&self, account: &Account) -> Account {
        let answer = self.login(&account.email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body["mfaRequired"], json!(true), "{}", answer.body);
        Account {
            access_token: answer.str("accessToken"),
            refresh_token: answer.str("refreshToken"),
            token_id: answer.str("tokenId"),
            ..account.clone()
        }
    }

    /// `verify-login` with a TOTP or backup code.
    pub async fn verify_login(&self, pending: &Account, code: &str) -> Answer {
        self.mfa_post(
            "/mfa/verify-login",
            &pending.access_token,
            json!({ "mfaType": "GOOGLE_AUTH", "code": code }),
        )
        .await
    }
}

#[test]
fn the_test_totp_matches_rfc_6238() {
    // RFC 6238 Appendix B, SHA-1, the 8-digit values' last 6 digits; the secret is the ASCII of
    // "12345678901234567890" in base32.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_eq!(totp(secret, 59 / 30), "287082");
    assert_eq!(totp(secret, 1_111_111_109 / 30), "081804");
    assert_eq!(totp(secret, 1_234_567_890 / 30), "005924");
    assert_eq!(totp(secret, 20_000_000_000 / 30), "353130");
}
