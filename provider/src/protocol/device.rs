//! RFC 8628 device authorization: user codes, the stored device grant and the verification
//! step. Polling the token endpoint is the `device_code` grant (`protocol/grants/device_code.rs`).

use serde::{Deserialize, Serialize};

use crate::protocol::authorize::{Authentication, InteractionProgress, NextStep};
use crate::protocol::resource::Resources;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{ClientId, UnixTime};

/// RFC 8628 §6.1: consonants only (no vowels, so no words; no 0/O, 1/I lookalikes).
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Device codes live ten minutes (RFC 8628 §3.2 `expires_in`).
pub const DEVICE_CODE_LIFETIME_SECS: u64 = 600;
/// Initial polling interval (RFC 8628 §3.2 default 5 s).
pub const POLL_INTERVAL_SECS: u64 = 5;

/// An 8-letter user code, shown as `BDWP-HQPK`, from caller-supplied random bytes.
///
/// 20^8 ≈ 2^34.6 codes; with rate-limited entry and a 10-minute life, guessing is hopeless.
/// Every code is equally likely: a 64-bit number below the largest multiple of 20^8 is written
/// in base 20 (rejection sampling; a byte taken modulo 20 would favour the first 16 letters).
/// The 32 bytes are four candidates; all four are rejected with probability below 10^-35.
pub fn user_code_from_random(bytes: [u8; 32]) -> String {
    const CODES: u64 = 20u64.pow(8);
    let limit = u64::MAX - u64::MAX % CODES;
    let candidates = bytes.chunks_exact(8).map(|chunk| {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        u64::from_le_bytes(word)
    });
    let mut chosen = 0;
    for candidate in candidates {
        chosen = candidate;
        if candidate < limit {
            break;
        }
    }
    let mut number = chosen % CODES;
    let mut letters = [0u8; 8];
    for letter in letters.iter_mut().rev() {
        *letter = USER_CODE_ALPHABET[usize::try_from(number % 20).unwrap_or(0)];
        number /= 20;
    }
    let letters = String::from_utf8_lossy(&letters).into_owned();
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// Normalises what a user typed: case, spaces and dashes do not matter (RFC 8628 §6.1).
/// Returns `None` when it cannot be a user code.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let letters: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = letters.len() == 8 && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then(|| format!("{}-{}", &letters[..4], &letters[4..]))
}

/// Where the user is with a device request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved.
    Approved(Authentication),
    /// The user denied.
    Denied,
}

/// A device authorization as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceGrant {
    /// The device's client.
    pub client_id: ClientId,
    /// The user code shown on the device.
    pub user_code: String,
    /// Requested scope.
    pub scope: ScopeSet,
    /// The resources requested (RFC 8707), stored in the `audience` column.
    pub resources: Resources,
    /// Status.
    pub status: DeviceStatus,
    /// Current polling interval.
    pub interval_secs: u64,
    /// Last poll.
    pub last_poll_at: Option<UnixTime>,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// RFC 8628 §3.3: the user signs in (or uses the live session), then always confirms: the
/// device is elsewhere, so an existing consent is not enough to hand it tokens.
pub fn next_device_step(
    session: Option<&Authentication>,
    progress: InteractionProgress,
) -> NextStep {
    match session {
        None => NextStep::Login,
        Some(authentication) if !progress.consented => NextStep::Consent(authentication.clone()),
        Some(authentication) => NextStep::IssueCode(authentication.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::types::Subject;

    #[test]
    fn user_codes_are_uniform_base_20_numbers() {
        let mut bytes = [0u8; 32];
        assert_eq!(
            user_code_from_random(bytes),
            "BBBB-BBBB",
            "zero is the first code"
        );
        bytes[0] = 1;
        assert_eq!(user_code_from_random(bytes), "BBBB-BBBC");
        bytes[0] = 20;
        assert_eq!(
            user_code_from_random(bytes),
            "BBBB-BBCB",
            "20 carries to the next letter"
        );
        // The last code: 20^8 - 1.
        bytes[..8].copy_from_slice(&(20u64.pow(8) - 1).to_le_bytes());
        assert_eq!(user_code_from_random(bytes), "ZZZZ-ZZZZ");
        // A candidate in the biased tail is rejected for the next one.
        bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        bytes[8] = 2;
        assert_eq!(user_code_from_random(bytes), "BBBB-BBBD");
        // Every letter position sees every letter equally often over a full cycle of a digit.
        let mut counts = [[0u32; 20]; 8];
        for value in 0..20u64.pow(2) {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&(value * 20u64.pow(6) + value).to_le_bytes());
            for (position, letter) in user_code_from_random(bytes)
                .replace('-', "")
                .bytes()
                .enumerate()
            {
                let index = USER_CODE_ALPHABET
                    .iter()
                    .position(|&b| b == letter)
                    .unwrap();
                counts[position][index] += 1;
            }
        }
        for position in [0, 1, 6, 7] {
            assert!(
                counts[position].iter().all(|&count| count == 20),
                "{position}: {:?}",
                counts[position]
            );
        }
    }

    #[test]
    fn user_codes_are_unambiguous_and_normalised() {
        let code = user_code_from_random([7; 32]);
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(
            code.bytes()
                .filter(|b| *b != b'-')
                .all(|b| USER_CODE_ALPHABET.contains(&b))
        );
        assert_eq!(
            normalize_user_code(&code.to_lowercase()),
            Some(code.clone())
        );
        assert_eq!(normalize_user_code("bdwp hqpk"), Some("BDWP-HQPK".into()));
        assert_eq!(normalize_user_code("BDWPHQPK"), Some("BDWP-HQPK".into()));
        assert_eq!(normalize_user_code("BDWP-HQP"), None);
        assert_eq!(
            normalize_user_code("BDWP-HQPA"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(normalize_user_code(""), None);
    }

    #[test]
    fn device_steps() {
        let alice = Authentication {
            amr: Vec::new(),
            subject: Subject("u".into()),
            auth_time: UnixTime(5),
            sid: None,
        };
        let fresh = InteractionProgress::default();
        let consented = InteractionProgress {
            logged_in: true,
            consented: true,
        };
        assert_eq!(next_device_step(None, fresh), NextStep::Login);
        assert_eq!(
            next_device_step(Some(&alice), fresh),
            NextStep::Consent(alice.clone())
        );
        assert_eq!(
            next_device_step(Some(&alice), consented),
            NextStep::IssueCode(alice.clone())
        );
    }
}
