//! WebAuthn (contract section 14): the relying party and its ceremonies, run by webauthn-rs.
//! Nothing here parses CBOR or COSE or checks a signature: `webauthn-rs-core` does all of it
//! (attestation, client data, origin, rp id hash, flags, signature, counter).
//!
//! The ceremonies' states are serialized to JSON for the store (`passkey_challenges`), never
//! kept in memory: several instances may serve one user, and any of them must be able to finish
//! what another started. The policies are set per ceremony, which webauthn-rs's `Webauthn`
//! wrapper does not allow:
//! - registration asks for user verification (`required`), so every passkey proved once that it
//!   verifies its user (a PIN, a biometric) and can later sign in alone; `residentKey:
//!   preferred`; ES256, RS256 and EdDSA;
//! - authentication as a second factor asks for user presence and *prefers* verification: the
//!   password was the other factor;
//! - signing in with a passkey alone (`/auth/passkey/*`) names no credential (the authenticator
//!   offers its discoverable ones) and *requires* verification: the passkey is both factors.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use url::Url;
use uuid::Uuid;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential, RegisterPublicKeyCredential};
use webauthn_rs_core::proto::{
    AuthenticationState, COSEAlgorithm, CredProtect, Credential, CredentialProtectionPolicy,
    RegistrationState, RequestRegistrationExtensions, UserVerificationPolicy,
};
use webauthn_rs_core::WebauthnCore;

/// A ceremony's challenge lives this long (the `timeout` its options give the browser too).
pub const CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;

/// The relying party: this server as WebAuthn sees it.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    core: WebauthnCore,
    /// The host of `--public-url`.
    pub id: String,
    /// The origin of `--public-url` (`https://work.example.com`, a port when not the default).
    pub origin: String,
    /// `--mfa-issuer`.
    pub name: String,
}

/// A registration started: what the browser needs, and what the server keeps.
#[derive(Debug)]
pub struct RegistrationStart {
    /// `PublicKeyCredentialCreationOptions`, as `navigator.credentials.create` takes them
    /// under `publicKey` (binary fields base64url without padding).
    pub options: Value,
    /// The challenge, base64url without padding.
    pub challenge: String,
    /// The state `finish_registration` needs, as JSON.
    pub state: String,
}

/// An authentication started.
#[derive(Debug)]
pub struct AuthenticationStart {
    /// `PublicKeyCredentialRequestOptions`.
    pub options: Value,
    pub challenge: String,
    pub state: String,
}

/// A verified assertion: the credential that signed it, as it must be stored now.
#[derive(Debug)]
pub struct Asserted {
    pub credential_id: Vec<u8>,
    /// The counter the authenticator reported (0: it keeps none).
    pub counter: u32,
    pub backed_up: bool,
    pub user_verified: bool,
    /// The passkey with its counter and backup state updated.
    pub passkey: Passkey,
}

impl RelyingParty {
    /// The relying party of `public_url` (its host is the id, its origin the origin), named
    /// `name`. None for a URL without a host.
    pub fn new(public_url: &str, name: &str) -> Option<RelyingParty> {
        let url = Url::parse(public_url).ok()?;
        let id = url.host_str()?.to_owned();
        let origin = url.origin().ascii_serialization();
        let origin_url = Url::parse(&origin).ok()?;
        let timeout = Duration::from_millis(CHALLENGE_TTL_MS.unsigned_abs());
        let core = WebauthnCore::new_unsafe_experts_only(
            name,
            &id,
            vec![origin_url],
            timeout,
            Some(false),
            Some(false),
        );
        Some(RelyingParty {
            core,
            id,
            origin,
            name: name.to_owned(),
        })
    }

    /// Starts registering a passkey for the user `user_id` (`user_name`, their e-mail), whose
    /// credentials `existing` the authenticator must not register again.
    pub fn start_registration(
        &self,
        user_id: Uuid,
        user_name: &str,
        display_name: &str,
        existing: &[Passkey],
    ) -> Option<RegistrationStart> {
        let exclude = existing.iter().map(|p| p.cred_id().clone()).collect();
        let extensions = RequestRegistrationExtensions {
            // Asks the authenticator to keep the credential behind user verification; not
            // enforced, as many authenticators fail the ceremony when they cannot (webauthn-rs's
            // own passkey registration does the same).
            cred_protect: Some(CredProtect {
                credential_protection_policy: CredentialProtectionPolicy::UserVerificationRequired,
                enforce_credential_protection_policy: Some(false),
            }),
            uvm: Some(true),
            cred_props: Some(true),
            min_pin_length: None,
            hmac_create_secret: None,
        };
        let builder = self
            .core
            .new_challenge_register_builder(user_id.as_bytes(), user_name, display_name)
            .ok()?
            .credential_algorithms(vec![
                COSEAlgorithm::ES256,
                COSEAlgorithm::RS256,
                COSEAlgorithm::EDDSA,
            ])
            .require_resident_key(false)
            .user_verification_policy(UserVerificationPolicy::Required)
            .reject_synchronised_authenticators(false)
            .exclude_credentials(Some(exclude))
            .extensions(Some(extensions));
        let (ccr, state) = self.core.generate_challenge_register(builder).ok()?;
        let challenge = URL_SAFE_NO_PAD.encode(ccr.public_key.challenge.as_slice());
        let mut options = serde_json::to_value(&ccr.public_key).ok()?;
        // A discoverable credential is welcome (it can sign in without a password later), not
        // required: webauthn-rs only says `required` or `discouraged`. The browser reads this;
        // the verification does not depend on it.
        if let Some(selection) = options
            .get_mut("authenticatorSelection")
            .and_then(Value::as_object_mut)
        {
            selection.insert("residentKey".into(), "preferred".into());
            selection.insert("requireResidentKey".into(), false.into());
        }
        let state = serde_json::to_string(&state).ok()?;
        Some(RegistrationStart {
            options,
            challenge,
            state,
        })
    }

    /// The passkey `credential` registers, when it answers the registration `state` (its
    /// challenge, this origin and rp id, user presence and verification, a valid attestation
    /// of an allowed algorithm); None otherwise.
    pub fn finish_registration(
        &self,
        credential: &RegisterPublicKeyCredential,
        state: &str,
    ) -> Option<Passkey> {
        let state: RegistrationState = serde_json::from_str(state).ok()?;
        match self.core.register_credential(credential, &state, None) {
            Ok(mut registered) => {
                // What the browser says the authenticator is reached by: a hint for the
                // options of later authentications (webauthn-rs keeps none without attestation).
                registered.transports = credential.response.transports.clone();
                Some(Passkey::from(registered))
            }
            Err(error) => {
                tracing::info!(%error, "a passkey registration was refused");
                None
            }
        }
    }

    /// Starts an authentication as a second factor with one of `passkeys`.
    pub fn start_authentication(&self, passkeys: &[Passkey]) -> Option<AuthenticationStart> {
        let credentials = passkeys.iter().cloned().map(Into::into).collect();
        self.start_assertion(credentials, UserVerificationPolicy::Preferred)
    }

    /// Starts a sign-in with a passkey alone: no credential named (a discoverable one answers),
    /// user verification required.
    pub fn start_sign_in(&self) -> Option<AuthenticationStart> {
        self.start_assertion(Vec::new(), UserVerificationPolicy::Required)
    }

    /// An authentication ceremony: `credentials` allowed (none: any discoverable one), user
    /// verification as `policy` says.
    fn start_assertion(
        &self,
        credentials: Vec<Credential>,
        policy: UserVerificationPolicy,
    ) -> Option<AuthenticationStart> {
        let builder = self
            .core
            .new_challenge_authenticate_builder(credentials, Some(policy))
            .ok()?
            .allow_backup_eligible_upgrade(true);
        let (rcr, state) = self.core.generate_challenge_authenticate(builder).ok()?;
        let challenge = URL_SAFE_NO_PAD.encode(rcr.public_key.challenge.as_slice());
        let options = serde_json::to_value(&rcr.public_key).ok()?;
        let state = serde_json::to_string(&state).ok()?;
        Some(AuthenticationStart {
            options,
            challenge,
            state,
        })
    }

    /// Verifies the assertion `credential` against the authentication `state`, with the
    /// user's passkeys as they are stored now (`passkeys`: their counters are the ones to beat,
    /// not those of when the challenge was made). None when anything is wrong, a counter that
    /// did not increase included.
    pub fn finish_authentication(
        &self,
        credential: &PublicKeyCredential,
        state: &str,
        passkeys: &[Passkey],
    ) -> Option<Asserted> {
        let mut state: AuthenticationState = serde_json::from_str(state).ok()?;
        state.set_allowed_credentials(passkeys.iter().cloned().map(Into::into).collect());
        let result = match self.core.authenticate_credential(credential, &state) {
            Ok(result) => result,
            Err(error) => {
                tracing::info!(%error, "a passkey assertion was refused");
                return None;
            }
        };
        let mut passkey = passkeys
            .iter()
            .find(|p| p.cred_id() == result.cred_id())?
            .clone();
        passkey.update_credential(&result);
        Some(Asserted {
            credential_id: result.cred_id().to_vec(),
            counter: result.counter(),
            backed_up: result.backup_state(),
            user_verified: result.user_verified(),
            passkey,
        })
    }
}

/// The challenge (base64url) a credential's client data answers, to find the ceremony it
/// belongs to; None when the client data is not JSON with a challenge. webauthn-rs checks the
/// challenge again against the state found.
pub fn challenge_of(client_data_json: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ClientData {
        challenge: String,
    }
    let data: ClientData = serde_json::from_slice(client_data_json).ok()?;
    challenge_text(&data.challenge)
}

/// Longer than any challenge this server makes (32 bytes: 43 characters).
const MAX_CHALLENGE_CHARS: usize = 128;

/// A challenge as a client gives it (base64url; the padding browsers leave out is removed), or
/// None when it cannot be one of ours: empty, too long, or with a character base64url has not.
/// Nothing else reaches the store (PostgreSQL's `text` refuses a NUL: a 500 for bad input).
pub fn challenge_text(raw: &str) -> Option<String> {
    let challenge = raw.trim().trim_end_matches('=');
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    (!challenge.is_empty()
        && challenge.len() <= MAX_CHALLENGE_CHARS
        && challenge.bytes().all(base64url))
    .then(|| challenge.to_owned())
}

#[cfg(test)]
mod tests {
    use super::RelyingParty;

    #[test]
    fn the_relying_party_is_the_public_urls_host_and_origin() {
        let rp = RelyingParty::new("https://work.example.com/console/", "Acme").unwrap();
        assert_eq!(rp.id, "work.example.com");
        assert_eq!(rp.origin, "https://work.example.com");
        assert_eq!(rp.name, "Acme");
        let local = RelyingParty::new("http://localhost:8080", "Workspaces").unwrap();
        assert_eq!(local.id, "localhost");
        assert_eq!(local.origin, "http://localhost:8080");
        assert!(RelyingParty::new("not a url", "x").is_none());
    }

    #[test]
    fn a_challenge_is_base64url_and_short_or_none() {
        use super::{challenge_of, challenge_text};
        assert_eq!(challenge_text(" abc-_09= ").as_deref(), Some("abc-_09"));
        for refused in [
            "",
            "=",
            "a\u{0}b",
            "a b",
            "a+b",
            "a/b",
            "é",
            &"a".repeat(129),
        ] {
            assert_eq!(challenge_text(refused), None, "{refused:?}");
        }
        let data = br#"{"type":"webauthn.get","challenge":"a\u0000b"}"#;
        assert_eq!(challenge_of(data), None);
        let data = br#"{"type":"webauthn.get","challenge":"abc"}"#;
        assert_eq!(challenge_of(data).as_deref(), Some("abc"));
    }

    #[test]
    fn sign_in_options_name_no_credential_and_require_user_verification() {
        let rp = RelyingParty::new("https://work.example.com", "Acme").unwrap();
        let start = rp.start_sign_in().unwrap();
        assert_eq!(start.options["challenge"], start.challenge.as_str());
        assert_eq!(start.options["rpId"], "work.example.com");
        assert_eq!(start.options["userVerification"], "required");
        let allowed = start.options["allowCredentials"].as_array();
        assert!(allowed.is_none_or(Vec::is_empty), "{}", start.options);
    }

    #[test]
    fn registration_options_prefer_a_resident_key_and_offer_three_algorithms() {
        let rp = RelyingParty::new("https://work.example.com", "Acme").unwrap();
        let start = rp
            .start_registration(uuid::Uuid::nil(), "ann@example.com", "Ann", &[])
            .unwrap();
        let options = &start.options;
        assert_eq!(options["challenge"], start.challenge.as_str());
        assert_eq!(options["rp"]["id"], "work.example.com");
        assert_eq!(options["rp"]["name"], "Acme");
        assert_eq!(
            options["authenticatorSelection"]["residentKey"],
            "preferred"
        );
        assert_eq!(
            options["authenticatorSelection"]["userVerification"],
            "required"
        );
        let algs: Vec<i64> = options["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["alg"].as_i64().unwrap())
            .collect();
        assert_eq!(algs, [-7, -257, -8]);
        assert!(!start.challenge.contains('='));
    }
}
