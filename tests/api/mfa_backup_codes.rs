//! Backup codes (contract section 8): 80 random bits each, shown as `xxxx-xxxx-xxxx-xxxx`, and
//! stored as an HMAC under a server key, so a copy of `mfa_backup_codes` alone gives neither the
//! codes nor a plain hash to search. Codes of the earlier form (10 characters, stored as a plain
//! SHA-256) keep working until the user's next setup.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::app::spawn_app;
use crate::support::assertions::assert_answer;
use crate::support::database::hex;
use crate::support::mfa::mfa_error;

/// Crockford's base32 in lower case, as the server draws codes from it.
const ALPHABET: &str = "0123456789abcdefghjkmnpqrstvwxyz";

fn invalid_code() -> Value {
    mfa_error("Invalid verification code", "INVALID_MFA_CODE")
}

fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Asserts that `stored` (the table's rows as text, bytes as hex) holds none of `codes`, in any
/// of the forms a user types them: neither as text, nor as the hex of their bytes, nor as their
/// plain SHA-256.
#[track_caller]
fn assert_holds_none_of(stored: &str, codes: &[String]) {
    let stored = stored.to_lowercase();
    for code in codes {
        let normalized = code.replace('-', "");
        for form in [code.as_str(), &normalized, &code.to_uppercase()] {
            assert!(!stored.contains(&sha256_hex(form)), "{form}: {stored}");
            assert!(!stored.contains(&form.to_lowercase()), "{form}: {stored}");
            assert!(!stored.contains(&hex(form.as_bytes())), "{form}: {stored}");
        }
    }
}

#[tokio::test]
async fn codes_are_sixteen_characters_and_the_table_holds_only_their_keyed_hashes() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    let enrolled = app.enrol_totp(&owner).await;

    assert_eq!(enrolled.backup_codes.len(), 10);
    for code in &enrolled.backup_codes {
        // 16 characters of a 32-symbol alphabet: 80 bits, in four groups of four.
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.matches('-').count(), 3, "{code}");
        let groups: Vec<&str> = code.split('-').collect();
        assert!(groups.iter().all(|group| group.len() == 4), "{code}");
        assert!(
            code.replace('-', "").chars().all(|c| ALPHABET.contains(c)),
            "{code}"
        );
    }

    // Each row is a 32-byte hash that is not the SHA-256 of the code, in any of its forms, and
    // the code itself is nowhere in the table, as text or as the hex of its bytes.
    let sql = "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND NOT pending \
               AND LENGTH(code_hash) = 32";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 10);
    let stored = app.dump("mfa_backup_codes").await.join("\n");
    assert_holds_none_of(&stored, &enrolled.backup_codes);

    // A code still signs in, once.
    let code = &enrolled.backup_codes[2];
    let pending = app.log_in_pending(&owner).await;
    let verified = app.verify_login(&pending, code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let used = "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NOT NULL";
    assert_eq!(app.count(used, &[&owner.user_id]).await, 1);
    let again = app.log_in_pending(&owner).await;
    let reused = app.verify_login(&again, code).await;
    assert_answer(&reused, StatusCode::BAD_REQUEST, &invalid_code());
    // Typed loosely (case, spaces for dashes, look-alikes of the alphabet), another one works.
    let other = enrolled.backup_codes[5].to_uppercase().replace('-', " ");
    let other = other.replace('1', "l").replace('0', "O");
    let verified = app.verify_login(&again, &other).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(app.count(used, &[&owner.user_id]).await, 2);

    // A setup again shows ten new codes, kept pending until its `verify-setup`: hashed too.
    let setup = app
        .mfa_post(
            "/mfa/setup",
            &owner.access_token,
            json!({ "mfaType": "GOOGLE_AUTH" }),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let pending_codes: Vec<String> = setup.body["data"]["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    let sql = "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND pending \
               AND LENGTH(code_hash) = 32";
    assert_eq!(app.count(sql, &[&owner.user_id]).await, 10);
    let stored = app.dump("mfa_backup_codes").await.join("\n");
    assert_holds_none_of(&stored, &enrolled.backup_codes);
    assert_holds_none_of(&stored, &pending_codes);
}

#[tokio::test]
async fn a_code_of_the_earlier_ten_character_form_still_works_once() {
    let app = spawn_app().await;
    let owner = app.register_verified("owner@example.com").await;
    app.enrol_totp(&owner).await;
    // A row as the server wrote it before codes were 80 bits: the plain SHA-256 of the code's
    // 10 characters, active.
    let legacy = "abcde-fghjk";
    let digest = sha256_hex("abcdefghjk");
    let literal = if app.is_sqlite() {
        format!("X'{digest}'")
    } else {
        format!("'\\x{digest}'::bytea")
    };
    let sql = format!(
        "INSERT INTO mfa_backup_codes (user_id, code_hash, pending) VALUES ($1, {literal}, FALSE)"
    );
    assert_eq!(app.execute(&sql, &[&owner.user_id]).await, 1);

    let pending = app.log_in_pending(&owner).await;
    let verified = app
        .verify_login(&pending, &legacy.to_uppercase().replace('-', " "))
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let sql = format!(
        "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NOT NULL \
         AND code_hash = {literal}"
    );
    assert_eq!(app.count(&sql, &[&owner.user_id]).await, 1);

    let again = app.log_in_pending(&owner).await;
    let reused = app.verify_login(&again, legacy).await;
    assert_answer(&reused, StatusCode::BAD_REQUEST, &invalid_code());
}
