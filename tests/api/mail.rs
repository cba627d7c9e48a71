//! E-mail through SMTP, as configured with `--smtp-url`.

use std::time::Duration;

use workspaces::mail::{Mailer, SmtpMailer, VERIFICATION};

use crate::support::fake_smtp::FakeSmtp;

#[tokio::test]
async fn the_smtp_mailer_delivers_the_verification_email() {
    let smtp = FakeSmtp::start().await;
    let mailer = SmtpMailer::new(&smtp.url(), "Workspaces <no-reply@example.com>").unwrap();

    let email = VERIFICATION.to(
        "ann@example.com",
        None,
        "TOKEN123",
        Some("https://app.example.com/"),
    );
    mailer.send(email).await.unwrap();

    let mut received = smtp.received();
    for _ in 0..100 {
        if !received.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        received = smtp.received();
    }
    let data = received.first().expect("one message");
    assert!(
        data.contains("From: Workspaces <no-reply@example.com>"),
        "{data}"
    );
    assert!(data.contains("To: ann@example.com"), "{data}");
    assert!(
        data.contains("Subject: Verify your e-mail address"),
        "{data}"
    );
    assert!(data.contains("Verification token: TOKEN123"), "{data}");
    assert!(
        data.contains("https://app.example.com/console/verify#token=TOKEN123"),
        "{data}"
    );
}
