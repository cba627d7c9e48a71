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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    use super::{verification_email, Mailer, SmtpMailer};

    /// A minimal SMTP server: accepts one message and returns its DATA section.
    async fn fake_smtp(listener: TcpListener) -> String {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
        let mut data = String::new();
        let mut in_data = false;
        while let Some(line) = lines.next_line().await.unwrap() {
            if in_data {
                if line == "." {
                    in_data = false;
                    write.write_all(b"250 queued\r\n").await.unwrap();
                } else {
                    data.push_str(&line);
                    data.push('\n');
                }
                continue;
            }
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250 fake\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                }
                _ => b"250 ok\r\n",
            };
            write.write_all(reply).await.unwrap();
        }
        data
    }

    #[tokio::test]
    async fn smtp_mailer_delivers_the_verification_email() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(fake_smtp(listener));
        let mailer = SmtpMailer::new(
            &format!("smtp://127.0.0.1:{port}"),
            "Workspaces <no-reply@example.com>",
        )
        .unwrap();

        let email = verification_email(
            "ann@example.com",
            "Ann",
            "TOKEN123",
            Some("https://app.example.com/"),
        );
        mailer.send(email).await.unwrap();
        drop(mailer);

        let data = tokio::time::timeout(std::time::Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
        // Undo quoted-printable: soft line breaks and the escaped '='.
        let data = data.replace("=\n", "").replace("=3D", "=");
        assert!(data.contains("To: ann@example.com"), "{data}");
        assert!(
            data.contains("Subject: Verify your e-mail address"),
            "{data}"
        );
        assert!(data.contains("Verification token: TOKEN123"), "{data}");
        assert!(
            data.contains("https://app.example.com/verify-email?token=TOKEN123"),
            "{data}"
        );
    }
}
