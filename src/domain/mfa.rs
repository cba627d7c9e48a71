//! The second factors a user can enrol (contract section 8).

/// A method of the second factor, as `mfaType` names it on the wire and `mfa_methods.method`
/// stores it. `PASSKEY` is a documented type this service does not offer yet: it parses as
/// [`MfaType::Passkey`] so that routes answer "Invalid MFA type specified" for it and
/// `GET /mfa/methods` can list it as unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MfaMethod {
    /// TOTP (RFC 6238), as authenticator apps such as Google Authenticator compute it.
    GoogleAuth,
    /// A single-use link (a token) by e-mail.
    MagicLink,
}

/// Every `mfaType` the contract names, offered or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaType {
    Method(MfaMethod),
    /// WebAuthn: comes in a later issue.
    Passkey,
}

impl MfaMethod {
    /// The methods this service offers, in the order `GET /mfa/methods` lists them.
    pub const ALL: [MfaMethod; 2] = [MfaMethod::GoogleAuth, MfaMethod::MagicLink];

    pub fn as_str(self) -> &'static str {
        match self {
            MfaMethod::GoogleAuth => "GOOGLE_AUTH",
            MfaMethod::MagicLink => "MAGIC_LINK",
        }
    }

    pub fn parse(text: &str) -> Option<MfaMethod> {
        match MfaType::parse(text)? {
            MfaType::Method(method) => Some(method),
            MfaType::Passkey => None,
        }
    }
}

impl MfaType {
    /// The wire name exactly (the contract's values are upper case; nothing else is one).
    pub fn parse(text: &str) -> Option<MfaType> {
        match text {
            "GOOGLE_AUTH" => Some(MfaType::Method(MfaMethod::GoogleAuth)),
            "MAGIC_LINK" => Some(MfaType::Method(MfaMethod::MagicLink)),
            "PASSKEY" => Some(MfaType::Passkey),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MfaMethod, MfaType};

    #[test]
    fn wire_names_round_trip_and_passkey_is_no_method_yet() {
        for method in MfaMethod::ALL {
            assert_eq!(MfaMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(MfaType::parse("PASSKEY"), Some(MfaType::Passkey));
        assert_eq!(MfaMethod::parse("PASSKEY"), None);
        assert_eq!(MfaMethod::parse("google_auth"), None);
        assert_eq!(MfaMethod::parse(""), None);
    }
}
