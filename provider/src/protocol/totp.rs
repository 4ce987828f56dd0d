//! RFC 6238 TOTP as a second factor: codes (SHA-1, 6 digits, 30 s, as authenticator apps
//! expect; one step of skew either way), the `otpauth://` enrolment URI, and the single-use
//! recovery codes. Replay (§5.2: a code is accepted once) is the store's job: it keeps the last
//! step used and accepts only a later one.

use totp_rs::{Algorithm, Builder, Totp};

use crate::protocol::types::UnixTime;

/// Bytes of a TOTP secret (RFC 4226 §4 recommends 160 bits).
pub const SECRET_LEN: usize = 20;
/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// A TOTP for `secret`, named `account` at `issuer` in the authenticator app.
fn totp(secret: &[u8], account: &str, issuer: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(issuer.replace(':', "_")))
        .build()
        .ok()
}

/// The 30-second step `code` is valid in at `now` (±1 step), if any. Anything but six digits
/// (spaces allowed) is no code.
pub fn check(secret: &[u8], code: &str, now: UnixTime) -> Option<u64> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 6 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now.0).ok()?;
    totp(secret, "", "")?.check(&digits, now)
}

/// The code for `secret` at `now` (tests and the demo narration only).
pub fn code_at(secret: &[u8], now: UnixTime) -> Option<String> {
    let now = u64::try_from(now.0).ok()?;
    Some(totp(secret, "", "")?.generate(now).to_string())
}

/// The `otpauth://totp/...` URI the QR code carries (Key Uri Format).
pub fn otpauth_uri(secret: &[u8], account: &str, issuer: &str) -> Option<String> {
    totp(secret, account, issuer)?.to_url().ok()
}

/// The secret as base32 (the key a user types in by hand), in groups of four.
pub fn manual_key(secret: &[u8]) -> String {
    let text = totp_rs::Secret::new(secret.to_vec().into_boxed_slice()).to_base32();
    text.as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A recovery code from random bytes: ten lower-case base32 letters and digits as
/// `xxxxx-xxxxx` (50 bits; they are single-use and throttled like passwords).
pub fn recovery_code(random: &[u8; 32]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let letters: String = random[..10]
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(byte & 31)]))
        .collect();
    format!("{}-{}", &letters[..5], &letters[5..])
}

/// A typed recovery code as stored (lower case, no spaces or dashes); `None` when it cannot be
/// one.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == 10 && code.chars().all(|c| c.is_ascii_alphanumeric())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 secret "12345678901234567890"; the RFC lists 8-digit
    /// codes, whose last six digits are the 6-digit codes.
    #[test]
    fn rfc_6238_appendix_b_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                code_at(secret, UnixTime(time)).unwrap(),
                &eight[2..],
                "{time}"
            );
            let step = u64::try_from(time).unwrap() / 30;
            assert_eq!(check(secret, &eight[2..], UnixTime(time)), Some(step));
        }
    }

    #[test]
    fn skew_is_one_step_and_garbage_is_no_code() {
        let secret = b"12345678901234567890";
        let code = code_at(secret, UnixTime(1_000_000_000)).unwrap();
        assert!(check(secret, &code, UnixTime(1_000_000_029)).is_some());
        assert!(
            check(secret, &code, UnixTime(1_000_000_030)).is_some(),
            "one step late"
        );
        assert!(
            check(secret, &code, UnixTime(1_000_000_090)).is_none(),
            "three steps late"
        );
        for garbage in ["", "12345", "1234567", "abcdef", "12 34 5x"] {
            assert!(
                check(secret, garbage, UnixTime(1_000_000_000)).is_none(),
                "{garbage}"
            );
        }
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(check(secret, &spaced, UnixTime(1_000_000_000)).is_some());
    }

    #[test]
    fn enrolment_uri_and_key() {
        let secret = [7u8; SECRET_LEN];
        let uri = otpauth_uri(&secret, "alice", "OpenID Provider").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains("secret=") && uri.contains("alice"), "{uri}");
        assert_eq!(manual_key(&secret).replace(' ', "").len(), 32);
    }

    #[test]
    fn recovery_codes_round_trip() {
        let code = recovery_code(&[200; 32]);
        assert_eq!(code.len(), 11);
        assert_eq!(
            normalize_recovery_code(&code.to_uppercase()),
            Some(code.replace('-', ""))
        );
        assert_eq!(normalize_recovery_code("short"), None);
    }
}
