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
pub const VERIFICATION: TokenEmail = TokenEmail {
    subject: "Verify your e-mail address",
    why: "Please confirm your e-mail address to activate your account.",
    token_label: "Verification token",
    page: "verify",
    fine_print: "The token is valid for 24 hours. If you did not sign up, ignore this message.",
};

/// The invitation of a user an administrator added to an organization (`POST
/// /organization/users` with `sendInvite`, and its resend): the same token as a verification
/// (`Verification token:`, for `POST /user/verify-email`, which also sets the password), living
/// `--invitation-days`; see [`invitation`].
const INVITATION: TokenEmail = TokenEmail {
    subject: "You are invited to a workspace organization",
    why: "An administrator of your organization made an account for you with this address. \
          Confirm the address and choose your password to start.",
    token_label: "Verification token",
    page: "verify",
    fine_print: "",
};

/// The invitation message (see [`INVITATION`]), valid `days`. It greets no one by name: the
/// name is the administrator's typing and the address is not proved yet.
pub fn invitation(to: &str, token: &str, public_url: Option<&str>, days: i64) -> OutgoingEmail {
    let fine_print = format!(
        "The invitation is valid for {days} day{} and works once. If you do not expect it, \
         ignore this message.",
        if days == 1 { "" } else { "s" }
    );
    INVITATION.compose(to, None, token, public_url, &fine_print)
}

/// An activation link (`POST /links`): an invitation to register a new organization. It greets
/// the invitee by the name an instance administrator gave, and carries the whole link (its id
/// and token are in the fragment, as `POST /user/activate` takes them).
pub fn activation_link(to: &str, name: Option<&str>, url: &str, days: i64) -> OutgoingEmail {
    let greeting = match name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    };
    let plural = if days == 1 { "" } else { "s" };
    OutgoingEmail {
        to: to.to_owned(),
        subject: "Your invitation to create an organization".to_owned(),
        body: format!(
            "{greeting}\n\nAn administrator of this server invited you to create your \
             organization on it. Open this link to register with this address:\n\n\
             Activation link: {url}\n\nThe link is valid for {days} day{plural} and works \
             once. If you do not expect it, ignore this message.\n"
        ),
    }
}

/// The password-reset message. Its `Password reset token:` line is what a client passes to
/// `POST /user/reset-password`; with a public URL configured there is a link as well.
pub const PASSWORD_RESET: TokenEmail = TokenEmail {
    subject: "Reset your password",
    why: "A password reset was requested for your account.",
    token_label: "Password reset token",
    page: "reset-password",
    fine_print: "The token is valid for 1 hour and works once. Resetting signs you out \
                 everywhere. If you did not ask for this, ignore this message: your password \
                 stays unchanged.",
};

/// The activation of magic-link MFA (`POST /mfa/setup` with `MAGIC_LINK`). Its token goes to
/// `POST /mfa/magic-link/activate`.
pub const MAGIC_LINK_ACTIVATION: TokenEmail = TokenEmail {
    subject: "Activate sign-in links",
    why: "You asked to confirm sign-ins with a link sent to this address.",
    token_label: "Activation token",
    page: "mfa-activate",
    fine_print: "The token is valid for 10 minutes and works once. If you did not ask for \
                 this, ignore this message and change your password.",
};

/// A sign-in link for a pending session (`POST /mfa/magic-link/send`). Its token goes to
/// `POST /mfa/verify-login` from the session that asked for it.
pub const MAGIC_LINK_LOGIN: TokenEmail = TokenEmail {
    subject: "Your sign-in link",
    why: "Someone signed in to your account with your password and asked for this link to \
          complete the sign-in.",
    token_label: "Sign-in token",
    page: "magic-link",
    fine_print: "The token is valid for 10 minutes, works once, and only for the sign-in that \
                 asked for it. If this was not you, do not use it: change your password.",
};

/// The code that proves the mailbox when a pending session enrolls a second factor
/// (`POST /mfa/setup` from a session that has only passed the password). It goes to
/// `POST /mfa/verify-setup` as `emailCode`; there is no page to open.
pub const MFA_SETUP_CODE: TokenEmail = TokenEmail {
    subject: "Your code to set up two-step sign-in",
    why: "Someone signed in to your account with your password and is setting up a second \
          sign-in step. Enter this code with the code of the authenticator app to finish.",
    token_label: "Setup code",
    page: "",
    fine_print: "The code is valid for 10 minutes and works once. If this was not you, do not \
                 give it to anyone: change your password.",
};

/// What changed in a user's second factors, for [`mfa_changed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaChange {
    /// A method was enabled: an authenticator app (`GOOGLE_AUTH`) or sign-in links.
    Enabled(&'static str),
    Disabled(&'static str),
    /// Every method and backup code was removed (by the user, or an administrator).
    Reset,
    /// A backup code was used to sign in.
    BackupCodeUsed,
    /// A passkey was added to the account.
    PasskeyAdded,
    /// A passkey was removed from the account.
    PasskeyRemoved,
}

impl MfaChange {
    fn sentence(self) -> String {
        match self {
            MfaChange::Enabled(method) => format!("{} was turned on.", method_name(method)),
            MfaChange::Disabled(method) => format!("{} was turned off.", method_name(method)),
            MfaChange::Reset => "Every second sign-in step and backup code of your account was \
                                 removed."
                .to_owned(),
            MfaChange::BackupCodeUsed => {
                "A backup code was used to sign in. Each code works once.".to_owned()
            }
            MfaChange::PasskeyAdded => "A passkey was added to your account.".to_owned(),
            MfaChange::PasskeyRemoved => "A passkey was removed from your account.".to_owned(),
        }
    }
}

fn method_name(method: &str) -> &'static str {
    match method {
        "GOOGLE_AUTH" => "Signing in with an authenticator app",
        "MAGIC_LINK" => "Signing in with a link sent by e-mail",
        "PASSKEY" => "Signing in with a passkey",
        _ => "A second sign-in step",
    }
}

/// The notice of an MFA change, to the account's address: whoever made the change, the owner
/// learns of it. It greets no one by name and carries no token or link, so it is safe to send
/// to any address the account has.
pub fn mfa_changed(to: &str, change: MfaChange) -> OutgoingEmail {
    OutgoingEmail {
        to: to.to_owned(),
        subject: "A sign-in method of your account changed".to_owned(),
        body: format!(
            "Hello,\n\nA sign-in method of your account changed: {}\n\nIf this was not you, \
             change your password now, sign out your other sessions, and ask an administrator \
             of your organization to reset your second sign-in steps.\n",
            change.sentence()
        ),
    }
}

/// A message that carries a token: a greeting, why it was sent, the token on a line of its own
/// (clients and tests read it by its label), a link to the web app when its URL is known, and
/// the fine print.
pub struct TokenEmail {
    subject: &'static str,
    why: &'static str,
    token_label: &'static str,
    /// The console page that takes the token (`{public_url}/console/{page}#token=...`, contract
    /// sections 11 and 16); empty for a code that is typed, not opened. The token goes in the
    /// fragment, which browsers never send: not to this server's logs, nor a proxy's, nor in a
    /// `Referer` header.
    page: &'static str,
    fine_print: &'static str,
}

impl TokenEmail {
    /// The message to `to`, carrying `token`, greeting `first_name` when there is one.
    ///
    /// A name is whatever whoever made the account typed, so it is only for a recipient who has
    /// proved the address is theirs: otherwise anyone could send a stranger a message from this
    /// server with words of their choosing in it (`Hello Visit http://evil.example now`).
    /// Callers pass `None` for an address that is not verified.
    pub fn to(
        &self,
        to: &str,
        first_name: Option<&str>,
        token: &str,
        public_url: Option<&str>,
    ) -> OutgoingEmail {
        self.compose(to, first_name, token, public_url, self.fine_print)
    }

    /// [`TokenEmail::to`] with fine print of the caller's (that names a configured lifetime).
    fn compose(
        &self,
        to: &str,
        first_name: Option<&str>,
        token: &str,
        public_url: Option<&str>,
        fine_print: &str,
    ) -> OutgoingEmail {
        let greeting = match first_name {
            Some(name) => format!("Hello {name},"),
            None => "Hello,".to_owned(),
        };
        let mut body = format!(
            "{greeting}\n\n{}\n\n{}: {token}\n",
            self.why, self.token_label
        );
        if let Some(base) = public_url.filter(|_| !self.page.is_empty()) {
            body.push_str(&format!(
                "\nOr open: {}/console/{}#token={token}\n",
                base.trim_end_matches('/'),
                self.page
            ));
        }
        body.push_str(&format!("\n{fine_print}\n"));
        OutgoingEmail {
            to: to.to_owned(),
            subject: self.subject.to_owned(),
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        MAGIC_LINK_ACTIVATION, MAGIC_LINK_LOGIN, MFA_SETUP_CODE, PASSWORD_RESET, VERIFICATION,
    };

    /// Every e-mailed link opens the console page of contract section 16 with the token in the
    /// fragment, never in a path or query a server or proxy would log.
    #[test]
    fn links_open_console_pages_with_the_token_in_the_fragment() {
        let base = Some("https://work.example.com/");
        for (email, page) in [
            (&VERIFICATION, "verify"),
            (&PASSWORD_RESET, "reset-password"),
            (&MAGIC_LINK_ACTIVATION, "mfa-activate"),
            (&MAGIC_LINK_LOGIN, "magic-link"),
        ] {
            let body = email.to("ann@example.com", None, "T0KEN", base).body;
            let link = format!("Or open: https://work.example.com/console/{page}#token=T0KEN");
            assert!(body.lines().any(|line| line == link), "{body}");
            assert!(!body.contains('?'), "{body}");
        }
        // A code to type has no page; without a public URL there is no link at all.
        let code = MFA_SETUP_CODE
            .to("ann@example.com", None, "123456", base)
            .body;
        assert!(!code.contains("Or open"), "{code}");
        let bare = VERIFICATION.to("ann@example.com", None, "T0KEN", None).body;
        assert!(!bare.contains("Or open"), "{bare}");
    }
}
