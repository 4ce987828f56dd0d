//! Reading a compact JWT (RFC 7519) *for display*: split it at the dots and base64url-decode the
//! header and payload. This verifies nothing; [`crate::oidc::jwks`] checks signatures.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The readable parts of a compact JWS.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedJwt {
    /// The JOSE header (`alg`, `typ`, `kid`, ...).
    pub header: Value,
    /// The claims.
    pub payload: Value,
    /// Length of the base64url signature part (0 for an unsigned `alg: none` token).
    pub signature_len: usize,
}

impl DecodedJwt {
    /// A string claim of the payload.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.payload.get(name).and_then(Value::as_str)
    }

    /// A numeric claim of the payload (e.g. `exp`).
    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.payload.get(name).and_then(Value::as_i64)
    }

    /// A string member of the header (e.g. `alg`, `kid`, `typ`).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }
}

/// Decodes one base64url part into JSON.
pub fn decode_part(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Base64url without padding, as JWS uses (RFC 7515 §2).
pub fn encode_part(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Splits and decodes a compact JWS; `None` when it is not one.
pub fn decode(token: &str) -> Option<DecodedJwt> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(DecodedJwt {
        header: decode_part(header)?,
        payload: decode_part(payload)?,
        signature_len: signature.len(),
    })
}

/// Pretty JSON for pages and the console.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_rfc7519_example() {
        // RFC 7519 §3.1 example (HS256), used here only for its shape.
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let decoded = decode(token).unwrap();
        assert_eq!(decoded.header_str("alg"), Some("HS256"));
        assert_eq!(decoded.claim_str("iss"), Some("joe"));
        assert_eq!(decoded.claim_i64("exp"), Some(1_300_819_380));
        assert_eq!(decoded.signature_len, 43);
    }

    #[test]
    fn refuses_what_is_not_a_compact_jws() {
        for input in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.x",
            "e30.!!.x",
            "bm90IGpzb24.e30.x",
        ] {
            assert!(decode(input).is_none(), "{input:?}");
        }
        assert!(decode("e30.e30.").is_some());
    }
}
