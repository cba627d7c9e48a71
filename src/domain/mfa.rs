//! The second factors a user can enrol (contract sections 8 and 14).

/// The most passkeys a user may keep: each is loaded by every passkey setup, `auth-options`,
/// `verify-login` and `GET /mfa/passkeys`, so what a user can make the server store and read
/// is bounded.
pub const MAX_PASSKEYS_PER_USER: i64 = 20;

/// A method of the second factor, as `mfaType` names it on the wire and `mfa_methods.method`
/// stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MfaMethod {
    /// TOTP (RFC 6238), as authenticator apps such as Google Authenticator compute it.
    GoogleAuth,
    /// A single-use link (a token) by e-mail.
    MagicLink,
    /// WebAuthn credentials (passkeys, security keys): the method is on while the user keeps at
    /// least one and has not switched it off.
    Passkey,
}

impl MfaMethod {
    /// Every method, in the order `GET /mfa/methods` lists them.
    pub const ALL: [MfaMethod; 3] = [
        MfaMethod::GoogleAuth,
        MfaMethod::MagicLink,
        MfaMethod::Passkey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MfaMethod::GoogleAuth => "GOOGLE_AUTH",
            MfaMethod::MagicLink => "MAGIC_LINK",
            MfaMethod::Passkey => "PASSKEY",
        }
    }

    /// The wire name exactly (the contract's values are upper case; nothing else is one).
    pub fn parse(text: &str) -> Option<MfaMethod> {
        MfaMethod::ALL
            .into_iter()
            .find(|method| method.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::MfaMethod;

    #[test]
    fn wire_names_round_trip_exactly() {
        for method in MfaMethod::ALL {
            assert_eq!(MfaMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(MfaMethod::parse("PASSKEY"), Some(MfaMethod::Passkey));
        assert_eq!(MfaMethod::parse("google_auth"), None);
        assert_eq!(MfaMethod::parse("passkey"), None);
        assert_eq!(MfaMethod::parse(""), None);
    }
}
