//! Asking for a password reset and reading the e-mail it sends, for the password-reset tests
//! and for any test that needs a reset token.

use reqwest::StatusCode;
use serde_json::{json, Value};
use workspaces::mail::OutgoingEmail;

use crate::support::app::TestApp;
use crate::support::assertions::assert_answer;
use crate::support::client::Answer;

pub const TOKEN_LINE: &str = "Password reset token: ";

pub fn requested() -> Value {
    json!({
        "success": true,
        "message": "If an account exists for this email, a password reset email has been sent",
    })
}

pub async fn request_reset(app: &TestApp, email: &str) -> Answer {
    app.post(
        "/user/request-reset-password",
        None,
        json!({ "email": email }),
    )
    .await
}

/// The reset e-mails sent to `address` so far.
pub fn reset_emails(app: &TestApp, address: &str) -> Vec<String> {
    app.mailer
        .all()
        .into_iter()
        .filter(|mail| is_reset_to(mail, address))
        .map(|mail| mail.body)
        .collect()
}

fn is_reset_to(mail: &OutgoingEmail, address: &str) -> bool {
    mail.to == address && mail.body.contains(TOKEN_LINE)
}

/// Waits for the `n`-th reset e-mail to `address` (it is sent after the answer, from a task of
/// its own) and returns its body.
pub async fn nth_reset_email(app: &TestApp, address: &str, n: usize) -> String {
    let what = format!("reset e-mail number {n} to {address}");
    let arrived =
        |sent: &[OutgoingEmail]| sent.iter().filter(|m| is_reset_to(m, address)).count() >= n;
    app.mailer.wait_for(&what, arrived).await;
    reset_emails(app, address).swap_remove(n - 1)
}

pub fn token_of(body: &str) -> String {
    body.lines()
        .find_map(|line| line.strip_prefix(TOKEN_LINE))
        .expect("the e-mail carries a reset token")
        .to_owned()
}

/// Requests a reset for `email` and returns the token from the e-mail it produces.
pub async fn reset_token(app: &TestApp, email: &str) -> String {
    let before = reset_emails(app, email).len();
    assert_answer(
        &request_reset(app, email).await,
        StatusCode::OK,
        &requested(),
    );
    token_of(&nth_reset_email(app, email, before + 1).await)
}
