//! Outgoing e-mail. SMTP when configured; otherwise the message is written to the log, which is
//! how an embedded install without a mail server still lets its users verify their address.

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, email: OutgoingEmail) -> anyhow::Result<()>;
}

/// Writes each message to the log at info level (the development and embedded default).
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: OutgoingEmail) -> anyhow::Result<()> {
        tracing::info!(to = %email.to, subject = %email.subject, body = %email.body, "e-mail (no SMTP configured)");
        Ok(())
    }
}

/// Sends through an SMTP relay: `smtp://host:25`, `smtps://user:pass@host:465`, or
/// `smtp://user:pass@host:587?tls=required` (lettre's URL format).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(smtp_url: &str, from: &str) -> anyhow::Result<SmtpMailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|_| anyhow::anyhow!("invalid --smtp-url"))?
            .build();
        let from = from
            .parse()
            .map_err(|_| anyhow::anyhow!("invalid --mail-from address"))?;
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: OutgoingEmail) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(email.to.parse()?)
            .subject(email.subject)
            .body(email.body)?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// The verification message. Its `Verification token:` line is what a client passes to
/// `POST /user/verify-email`; with a public URL configured there is a link as well.
pub fn verification_email(
    to: &str,
    first_name: &str,
    token: &str,
    public_url: Option<&str>,
) -> OutgoingEmail {
    let mut body = format!(
        "Hello {first_name},\n\nPlease confirm your e-mail address to activate your account.\n\n\
         Verification token: {token}\n"
    );
    if let Some(base) = public_url {
        body.push_str(&format!(
            "\nOr open: {}/verify-email?token={token}\n",
            base.trim_end_matches('/')
        ));
    }
    body.push_str(
        "\nThe token is valid for 24 hours. If you did not sign up, ignore this message.\n",
    );
    OutgoingEmail {
        to: to.to_owned(),
        subject: "Verify your e-mail address".to_owned(),
        body,
    }
}

/// The password-reset message. Its `Password reset token:` line is what a client passes to
/// `POST /user/reset-password`; with a public URL configured there is a link as well.
pub fn password_reset_email(
    to: &str,
    first_name: &str,
    token: &str,
    public_url: Option<&str>,
) -> OutgoingEmail {
    let mut body = format!(
        "Hello {first_name},\n\nA password reset was requested for your account.\n\n\
         Password reset token: {token}\n"
    );
    if let Some(base) = public_url {
        body.push_str(&format!(
            "\nOr open: {}/reset-password?token={token}\n",
            base.trim_end_matches('/')
        ));
    }
    body.push_str(
        "\nThe token is valid for 1 hour and works once. Resetting signs you out everywhere. \
         If you did not ask for this, ignore this message: your password stays unchanged.\n",
    );
    OutgoingEmail {
        to: to.to_owned(),
        subject: "Reset your password".to_owned(),
        body,
    }
}
