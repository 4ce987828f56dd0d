//! Compact JWS serialisation (RFC 7515 §7.1) over a ready key pair.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::{Error, SigningKey};

/// base64url without padding (RFC 7515 §2), the encoding of every JOSE part.
pub fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` on any invalid input.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

/// Builds `b64(header).b64(claims)`, signs it with the cached key pair and appends the signature.
pub(crate) fn sign_compact(
    key: &SigningKey,
    typ: &str,
    claims: &impl Serialize,
) -> Result<String, Error> {
    let header = serde_json::to_vec(&Header {
        alg: key.alg().as_str(),
        kid: key.kid().as_str(),
        typ,
    })?;
    let payload = serde_json::to_vec(claims)?;
    let mut token = String::with_capacity(64 + payload.len() * 4 / 3 + 360);
    URL_SAFE_NO_PAD.encode_string(header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);
    let signature = key.sign_bytes(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}
