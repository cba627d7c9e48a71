//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): a secret `whsec_` + base64
//! of 32 random bytes, and `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>`
//! where the key is the secret's decoded bytes; during a rotation's overlap one `v1,` signature
//! per secret, separated by a space. Written on `hmac` and `sha2` (already dependencies): the
//! `standardwebhooks` crate would add its own base64 and time stack for these few lines.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of a webhook secret.
const PREFIX: &str = "whsec_";

/// A new secret's key bytes (32 random bytes).
pub fn new_key() -> [u8; 32] {
    let mut key = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// The secret as shown to the administrator once: `whsec_` + base64 of the key.
pub fn secret_text(key: &[u8]) -> String {
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` value for `keys` (the current key first): `v1,<sig>` each, separated
/// by spaces.
pub fn signature(keys: &[&[u8]], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| {
            // HMAC takes a key of any length.
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_as_the_reference_libraries_do() {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[&key], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn two_keys_give_two_signatures_and_secrets_are_whsec_base64_of_32_bytes() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        let both = signature(&[&a, &b], "1", 2, b"{}");
        let parts: Vec<_> = both.split(' ').collect();
        assert_eq!(
            parts,
            [
                signature(&[&a], "1", 2, b"{}"),
                signature(&[&b], "1", 2, b"{}")
            ]
        );
        let text = secret_text(&a);
        assert!(text.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&text[6..]).unwrap(), a);
    }
}
