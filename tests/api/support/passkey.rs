//! A software authenticator for the passkey tests: an ES256 (P-256) key that answers WebAuthn
//! ceremonies as a browser and an authenticator together would, with "none" attestation, and
//! that a test can make lie (another origin, another rp id, a counter, missing flags). Test
//! code only: the server verifies with webauthn-rs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ciborium::value::Value as Cbor;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::accounts::Account;
use crate::support::app::TestApp;
use crate::support::client::Answer;

/// Authenticator data flags.
pub const UP: u8 = 0x01;
pub const UV: u8 = 0x04;
pub const BE: u8 = 0x08;
pub const BS: u8 = 0x10;
const AT: u8 = 0x40;

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the client claims: the origin it ran in and the rp id it hashed.
#[derive(Debug, Clone)]
pub struct Claim {
    pub origin: String,
    pub rp_id: String,
}

#[derive(Clone)]
pub struct SoftPasskey {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// The signature counter: the registration reports it, each assertion first adds `step`.
    pub counter: u32,
    /// How much the counter grows per assertion (0: an authenticator that keeps none).
    pub step: u32,
    /// Flags of every answer besides AT: UP | UV by default.
    pub flags: u8,
}

impl Default for SoftPasskey {
    fn default() -> Self {
        SoftPasskey::new()
    }
}

impl SoftPasskey {
    pub fn new() -> SoftPasskey {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let credential_id: [u8; 16] = rand::random();
        SoftPasskey {
            key,
            credential_id: credential_id.to_vec(),
            counter: 1,
            step: 1,
            flags: UP | UV,
        }
    }

    /// A credential whose counter stays 0.
    pub fn without_counter() -> SoftPasskey {
        SoftPasskey {
            counter: 0,
            step: 0,
            ..SoftPasskey::new()
        }
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        let data = json!({
            "type": kind,
            "challenge": challenge,
            "origin": origin,
            "crossOrigin": false,
        });
        serde_json::to_vec(&data).unwrap()
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let key = Cbor::Map(vec![
            (Cbor::Integer(1.into()), Cbor::Integer(2.into())),
            (Cbor::Integer(3.into()), Cbor::Integer((-7).into())),
            (Cbor::Integer((-1).into()), Cbor::Integer(1.into())),
            (
                Cbor::Integer((-2).into()),
                Cbor::Bytes(point.x().unwrap().to_vec()),
            ),
            (
                Cbor::Integer((-3).into()),
                Cbor::Bytes(point.y().unwrap().to_vec()),
            ),
        ]);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&key, &mut out).unwrap();
        out
    }

    fn auth_data(&self, rp_id: &str, flags: u8, counter: u32) -> Vec<u8> {
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&counter.to_be_bytes());
        data
    }

    /// The answer to a registration of `challenge`, as `navigator.credentials.create` gives it
    /// in JSON.
    pub fn register(&self, challenge: &str, claim: &Claim) -> Value {
        let client_data = Self::client_data("webauthn.create", challenge, &claim.origin);
        let mut auth_data = self.auth_data(&claim.rp_id, self.flags | AT, self.counter);
        auth_data.extend_from_slice(&[0; 16]);
        let id_len = u16::try_from(self.credential_id.len()).unwrap();
        auth_data.extend_from_slice(&id_len.to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&self.cose_key());
        let attestation = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        let mut attestation_object = Vec::new();
        ciborium::ser::into_writer(&attestation, &mut attestation_object).unwrap();
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&attestation_object),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
    }

    /// The answer to an authentication of `challenge`, as `navigator.credentials.get` gives it
    /// in JSON, its counter `step` past the last one.
    pub fn assert(&mut self, challenge: &str, claim: &Claim) -> Value {
        self.counter += self.step;
        let client_data = Self::client_data("webauthn.get", challenge, &claim.origin);
        let auth_data = self.auth_data(&claim.rp_id, self.flags, self.counter);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.to_der().as_bytes()),
            },
            "clientExtensionResults": {},
        })
    }

    /// [`SoftPasskey::assert`] as a discoverable credential answers a sign-in: with the user
    /// handle it stored at registration (`user_handle`; not signed, as in WebAuthn).
    pub fn assert_as(&mut self, challenge: &str, claim: &Claim, user_handle: &[u8]) -> Value {
        let mut credential = self.assert(challenge, claim);
        credential["response"]["userHandle"] = json!(b64(user_handle));
        credential
    }
}

/// The user handle a passkey of `account` stores: its user id's 16 bytes.
pub fn user_handle(account: &Account) -> Vec<u8> {
    uuid::Uuid::parse_str(&account.user_id)
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// What `POST /mfa/setup` with `PASSKEY` answered: the challenge and what a browser of the
/// right origin claims.
#[derive(Debug)]
pub struct Setup {
    pub challenge: String,
    pub claim: Claim,
    pub answer: Answer,
}

impl TestApp {
    /// `POST /mfa/setup` with `PASSKEY` from `account`'s session; asserts the 200.
    pub async fn passkey_setup(&self, account: &Account) -> Setup {
        let answer = self
            .post(
                "/mfa/setup",
                Some(&account.access_token),
                json!({ "mfaType": "PASSKEY" }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let data = &answer.body["data"];
        Setup {
            challenge: data["challenge"].as_str().unwrap().to_owned(),
            claim: Claim {
                origin: data["origin"].as_str().unwrap().to_owned(),
                rp_id: data["rpID"].as_str().unwrap().to_owned(),
            },
            answer,
        }
    }

    /// `POST /mfa/passkey/complete-registration` with `body`.
    pub async fn complete_registration(&self, account: &Account, body: Value) -> Answer {
        self.post(
            "/mfa/passkey/complete-registration",
            Some(&account.access_token),
            body,
        )
        .await
    }

    /// Registers `passkey` for `account` from its (verified, or MFA-less) session, named
    /// `name`; asserts the 200. Returns what a browser of the right origin claims.
    pub async fn register_passkey(
        &self,
        account: &Account,
        passkey: &SoftPasskey,
        name: &str,
    ) -> Claim {
        let setup = self.passkey_setup(account).await;
        let credential = passkey.register(&setup.challenge, &setup.claim);
        let body = json!({ "credential": credential, "challenge": setup.challenge, "name": name });
        let done = self.complete_registration(account, body).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        setup.claim
    }

    /// `POST /mfa/passkey/auth-options` from `session`; asserts the 200, returns the challenge.
    pub async fn passkey_auth_options(&self, session: &Account) -> String {
        let options = self
            .request(
                reqwest::Method::POST,
                "/mfa/passkey/auth-options",
                Some(&session.access_token),
                None,
            )
            .await;
        assert_eq!(options.status, StatusCode::OK, "{}", options.body);
        options.body["data"]["challenge"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `POST /auth/passkey/options` (public, no body); asserts the 200, returns the challenge.
    pub async fn passkey_sign_in_options(&self) -> String {
        let options = self
            .request(reqwest::Method::POST, "/auth/passkey/options", None, None)
            .await;
        assert_eq!(options.status, StatusCode::OK, "{}", options.body);
        options.body["data"]["challenge"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `POST /auth/passkey/verify` with a passkey's assertion.
    pub async fn passkey_sign_in(&self, credential: Value) -> Answer {
        self.post(
            "/auth/passkey/verify",
            None,
            json!({ "credential": credential }),
        )
        .await
    }

    /// `verify-login` with a passkey's assertion.
    pub async fn verify_login_with_passkey(&self, session: &Account, credential: Value) -> Answer {
        self.post(
            "/mfa/verify-login",
            Some(&session.access_token),
            json!({ "mfaType": "PASSKEY", "credential": credential }),
        )
        .await
    }
}
