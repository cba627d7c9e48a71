//! How a session signed in (contract sections 9 and 12), as `GET /sessions` shows it and
//! `sessions.login_method` stores it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    /// A password of the account's own (or a registration).
    Local,
    Google,
    Microsoft,
    Github,
    /// A generic OpenID Connect provider.
    Oidc,
    /// A passkey alone, with user verification (`POST /auth/passkey/verify`).
    Passkey,
}

impl LoginMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Local => "LOCAL",
            LoginMethod::Google => "GOOGLE",
            LoginMethod::Microsoft => "MICROSOFT",
            LoginMethod::Github => "GITHUB",
            LoginMethod::Oidc => "OIDC",
            LoginMethod::Passkey => "PASSKEY",
        }
    }

    /// The stored text; an unknown one reads as `Local` (every session before providers).
    pub fn parse(text: &str) -> LoginMethod {
        match text {
            "GOOGLE" => LoginMethod::Google,
            "MICROSOFT" => LoginMethod::Microsoft,
            "GITHUB" => LoginMethod::Github,
            "OIDC" => LoginMethod::Oidc,
            "PASSKEY" => LoginMethod::Passkey,
            _ => LoginMethod::Local,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LoginMethod;

    #[test]
    fn every_method_reads_back_as_stored() {
        use LoginMethod::*;
        for method in [Local, Google, Microsoft, Github, Oidc, Passkey] {
            assert_eq!(LoginMethod::parse(method.as_str()), method);
        }
    }
}
