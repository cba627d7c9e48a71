//! Single-use backup codes: 10 per enrolment, each 10 characters of Crockford's base32 (50
//! random bits), shown as `xxxxx-xxxxx`, stored only as hashes.

use rand::Rng as _;

/// Crockford's base32 in lower case: digits and letters without i, l, o and u, which read as
/// 1, 1, 0 and v (or spell words).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
pub const COUNT: usize = 10;
/// Characters of a code, without its dash.
pub const LENGTH: usize = 10;

/// Ten distinct fresh codes in their display form, `xxxxx-xxxxx`.
pub fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    let mut codes: Vec<String> = Vec::with_capacity(COUNT);
    while codes.len() < COUNT {
        let chars: String = (0..LENGTH)
            .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
            .collect();
        let code = format!("{}-{}", &chars[..LENGTH / 2], &chars[LENGTH / 2..]);
        // A repeat (1 in 2^50 per pair) would make one code of two.
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// What a user typed, as the 10 lower-case characters its hash is made of: case ignored,
/// dashes and whitespace anywhere ignored, Crockford's look-alikes read as meant (`i`, `l` as
/// `1`; `o` as `0`). None unless exactly 10 characters of the alphabet remain.
pub fn normalize(input: &str) -> Option<String> {
    let mut normalized = String::with_capacity(LENGTH);
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let c = match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || normalized.len() == LENGTH {
            return None;
        }
        normalized.push(c);
    }
    (normalized.len() == LENGTH).then_some(normalized)
}

/// What the database keeps of a normalized code: its SHA-256. A fast hash is enough: a code
/// carries 50 random bits and guessing is rate limited (5 failed verifications per 15 minutes
/// per user), and a stolen table yields only hashes of codes, each good once.
pub fn hash(normalized: &str) -> Vec<u8> {
    crate::auth::hash_token(normalized)
}

#[cfg(test)]
mod tests {
    use super::{generate, hash, normalize, ALPHABET, COUNT, LENGTH};

    #[test]
    fn ten_distinct_codes_in_the_display_form() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut distinct = codes.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), COUNT);
        assert_ne!(codes, generate());
        for code in &codes {
            assert_eq!(code.len(), LENGTH + 1, "{code}");
            assert_eq!(&code[5..6], "-", "{code}");
            let chars = code.replace('-', "");
            assert!(chars.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
        }
    }

    #[test]
    fn typed_forms_normalize_to_the_same_hash() {
        for code in generate() {
            let normalized = normalize(&code).unwrap();
            assert_eq!(normalized, code.replace('-', ""));
            assert_eq!(normalize(&normalized).as_ref(), Some(&normalized));
            let typed = format!(" {} ", code.to_uppercase().replace('-', " - "));
            assert_eq!(
                hash(&normalize(&typed).unwrap()),
                hash(&normalized),
                "{typed}"
            );
        }
        assert_eq!(normalize("O1IL0-abcde").as_deref(), Some("01110abcde"));
        assert_eq!(normalize("01110-ABCDE").as_deref(), Some("01110abcde"));
        assert_eq!(hash("01110abcde").len(), 32);
        assert_ne!(hash("01110abcde"), hash("01110abcdf"));
    }

    #[test]
    fn anything_but_ten_characters_of_the_alphabet_is_refused() {
        for bad in [
            "",
            "abcde",
            "abcde-fghj",
            "abcde-fghjkm",
            "abcde-fghju",
            "abcde-fghj!",
            "abcde_fghjk",
            "abcde-fghjé",
            "ａbcde-fghjk",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
