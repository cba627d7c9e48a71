//! TOTP (RFC 6238 over HOTP, RFC 4226): HMAC-SHA-1, 6 digits, 30-second steps, as every
//! authenticator app implements it.
//!
//! Built on RustCrypto's `hmac` and `sha1` (already in the dependency tree through `sqlx`) rather
//! than `totp-rs`: the algorithm is twenty lines, and `totp-rs` would bring its own base32, QR and
//! URL handling that we need in a specific shape (the secret encrypted at rest, the QR code drawn
//! by `qr`), plus a second copy of several crates.

use std::fmt;

use hmac::{Hmac, Mac as _};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rand::RngCore as _;
use sha1::Sha1;
use subtle::ConstantTimeEq as _;

/// 160 bits, the length RFC 4226 recommends and the HMAC-SHA-1 block fits.
pub const SECRET_BYTES: usize = 20;
/// One step lasts 30 s.
pub const STEP_MS: i64 = 30_000;
pub const DIGITS: usize = 6;

/// A TOTP shared secret. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; SECRET_BYTES]);

impl TotpSecret {
    /// A fresh secret from the operating system's CSPRNG.
    pub fn generate() -> TotpSecret {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// A secret from its raw bytes (as decrypted from the database); None unless exactly 20.
    pub fn from_bytes(bytes: &[u8]) -> Option<TotpSecret> {
        Some(TotpSecret(bytes.try_into().ok()?))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32, upper case, without padding (32 characters): what authenticator apps
    /// take when the secret is typed in.
    pub fn base32(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        // 20 bytes are 160 bits, exactly 32 groups of 5: no partial group, no padding.
        let mut out = String::with_capacity(SECRET_BYTES * 8 / 5);
        for chunk in self.0.chunks(5) {
            let group = chunk
                .iter()
                .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
            for shift in (0..8).rev() {
                out.push(char::from(ALPHABET[((group >> (shift * 5)) & 31) as usize]));
            }
        }
        out
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded (spaces
/// as `%20`, as the Key Uri Format asks, never `+`; `:` and `@` too, so neither can be read as
/// the label's separator).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The Key Uri Format (`otpauth://totp/ISSUER:ACCOUNT?secret=...`) that authenticator apps read
/// from the QR code: the issuer both in the label and as a parameter, as Google's format
/// recommends, and the algorithm, digits and period spelt out.
pub fn otpauth_url(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = utf8_percent_encode(issuer, COMPONENT);
    let account = utf8_percent_encode(account, COMPONENT);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={}",
        secret.base32(),
        STEP_MS / 1000
    )
}

/// The RFC 6238 counter at a Unix time in milliseconds: whole 30-second steps since the epoch.
pub fn step_at(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(STEP_MS)
}

/// The 6-digit code (zero padded) of a step: HOTP (RFC 4226) with the step as counter. A
/// negative step (before 1970) is taken as its 64-bit two's complement, as an unsigned counter.
pub fn code_at(secret: &TotpSecret, step: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(&secret.0).expect("HMAC takes keys of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 section 5.3).
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(DIGITS as u32),
        width = DIGITS
    )
}

/// The step, among the previous, the current and the next one at `unix_ms` (one step of clock
/// drift either way), whose code is `code`; None for any other code.
///
/// Accepted input: six ASCII digits, with surrounding whitespace trimmed and spaces inside
/// ignored (apps show `123 456`, and a pasted code may keep the space). Anything else (another
/// length, other characters) is None. Every candidate is compared, in constant time, so the
/// answer's timing does not tell which step matched; when two steps share the code (a 1 in 10^6
/// chance), the latest is answered.
///
/// A code works once: the caller stores the step answered here and accepts a later code only for
/// a step greater than the last one used, in the same conditional write (the store's SQL), so
/// neither a replay nor two concurrent requests with one code get in twice.
pub fn matching_step(secret: &TotpSecret, code: &str, unix_ms: i64) -> Option<i64> {
    let code: Vec<u8> = code.trim().bytes().filter(|&byte| byte != b' ').collect();
    if code.len() != DIGITS || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let now = step_at(unix_ms);
    let mut matched = None;
    for step in [now.checked_sub(1), Some(now), now.checked_add(1)]
        .into_iter()
        .flatten()
    {
        if bool::from(code_at(secret, step).as_bytes().ct_eq(&code)) {
            matched = Some(step);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::{code_at, matching_step, otpauth_url, step_at, TotpSecret, STEP_MS};

    /// The secret of RFC 4226 Appendix D and RFC 6238 Appendix B (SHA-1).
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn hotp_vectors_of_rfc_4226() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(code_at(&rfc_secret(), counter as i64), *code, "{counter}");
        }
    }

    #[test]
    fn totp_vectors_of_rfc_6238_as_six_digits() {
        // Appendix B's 8-digit SHA-1 values, mod 10^6.
        for (seconds, eight_digits, step) in [
            (59, "94287082", 0x1),
            (1_111_111_109, "07081804", 0x23523EC),
            (1_111_111_111, "14050471", 0x23523ED),
            (1_234_567_890, "89005924", 0x273EF07),
            (2_000_000_000, "69279037", 0x3F940AA),
            (20_000_000_000, "65353130", 0x27BC86AA),
        ] {
            let unix_ms = seconds * 1000;
            assert_eq!(step_at(unix_ms), step, "{seconds}");
            assert_eq!(code_at(&rfc_secret(), step), eight_digits[2..], "{seconds}");
            assert_eq!(
                matching_step(&rfc_secret(), &eight_digits[2..], unix_ms),
                Some(step)
            );
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_either_way_two_are_not() {
        let secret = TotpSecret::generate();
        let now_ms = 1_700_000_012_345;
        let now = step_at(now_ms);
        for drift in [-1, 0, 1] {
            let code = code_at(&secret, now + drift);
            assert_eq!(matching_step(&secret, &code, now_ms), Some(now + drift));
        }
        for drift in [-2, 2] {
            let code = code_at(&secret, now + drift);
            // Unless it happens to equal a code inside the window (1 in about 330,000).
            let inside = (-1..=1).any(|d| code_at(&secret, now + d) == code);
            assert_eq!(matching_step(&secret, &code, now_ms).is_some(), inside);
        }
        // The RFC secret at 59 s: steps 0..=2 are in the window, 3 (969429) is not.
        assert_eq!(matching_step(&rfc_secret(), "969429", 59_000), None);
        assert_eq!(matching_step(&rfc_secret(), "359152", 59_000), Some(2));
        assert_eq!(matching_step(&rfc_secret(), "755224", 59_000), Some(0));
        // Step boundaries: 30 s are one step; before 1970 the steps go on downwards.
        assert_eq!(step_at(STEP_MS - 1), 0);
        assert_eq!(step_at(STEP_MS), 1);
        assert_eq!(step_at(-1), -1);
    }

    #[test]
    fn malformed_codes_are_refused_and_spaces_forgiven() {
        let secret = rfc_secret();
        let at = 59_000;
        for accepted in ["287082", " 287082\n", "287 082", "\t287 082 "] {
            assert_eq!(
                matching_step(&secret, accepted, at),
                Some(1),
                "{accepted:?}"
            );
        }
        for refused in [
            "",
            "28708",
            "2870822",
            "28708a",
            "287-082",
            "２８７０８２",
            "+87082",
            "-87082",
            "287082x",
            "0x1234",
        ] {
            assert_eq!(matching_step(&secret, refused, at), None, "{refused:?}");
        }
        // The extremes of i64 do not overflow.
        let code = code_at(&secret, step_at(i64::MAX));
        assert!(matching_step(&secret, &code, i64::MAX).is_some());
        let code = code_at(&secret, step_at(i64::MIN));
        assert!(matching_step(&secret, &code, i64::MIN).is_some());
    }

    #[test]
    fn secrets_base32_and_the_otpauth_url() {
        let secret = rfc_secret();
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            TotpSecret::from_bytes(&[0xff; 20]).unwrap().base32(),
            "7".repeat(32)
        );
        assert_eq!(TotpSecret::from_bytes(&[0; 19]), None);
        assert_eq!(TotpSecret::from_bytes(&[0; 21]), None);
        let fresh = TotpSecret::generate();
        assert_ne!(fresh, TotpSecret::generate());
        assert_eq!(
            TotpSecret::from_bytes(fresh.as_bytes()),
            Some(fresh.clone())
        );
        assert_eq!(format!("{fresh:?}"), "TotpSecret(<redacted>)");
        assert_eq!(
            otpauth_url(&secret, "Acme Corp", "ann+mfa@example.com"),
            "otpauth://totp/Acme%20Corp:ann%2Bmfa%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Corp\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            otpauth_url(&secret, "Work:spaces&co", "é@x.org"),
            "otpauth://totp/Work%3Aspaces%26co:%C3%A9%40x.org\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Work%3Aspaces%26co\
             &algorithm=SHA1&digits=6&period=30"
        );
    }
}
