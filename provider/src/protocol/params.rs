//! Request parameters as they arrive (query string or form body), with RFC 6749 §3.1 rules:
//! a parameter must not appear twice, and an empty value counts as absent.

use crate::protocol::error::OAuthError;

/// The decoded `name=value` pairs of a query string or `application/x-www-form-urlencoded` body.
#[derive(Clone, Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` bytes (`+` is a space, `%XX` escapes).
    pub fn parse(raw: &[u8]) -> Self {
        Params(form_urlencoded::parse(raw).into_owned().collect())
    }

    /// Builds from pairs (tests, stored requests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Params(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The single value of `name`: `Ok(None)` when absent or empty, `invalid_request` when
    /// repeated (RFC 6749 §3.1 "MUST NOT be included more than once").
    pub fn single(&self, name: &'static str) -> Result<Option<&str>, OAuthError> {
        let mut values = self
            .0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(duplicate(name));
        }
        Ok(first.filter(|value| !value.is_empty()))
    }

    /// Like [`Params::single`] but absent is an `invalid_request` naming the parameter.
    pub fn required(&self, name: &'static str, missing: &'static str) -> Result<&str, OAuthError> {
        self.single(name)?
            .ok_or(OAuthError::invalid_request(missing))
    }

    /// Every non-empty value of a parameter that may repeat (RFC 8707 `resource`), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Every pair, in the order received (to store a pushed request as sent).
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// True when the parameter is present (even empty).
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }
}

/// `invalid_request` for a repeated parameter. The descriptions are fixed strings, so the
/// common names are spelled out; anything else gets a generic sentence.
fn duplicate(name: &str) -> OAuthError {
    OAuthError::invalid_request(match name {
        "client_id" => "client_id must not be repeated",
        "redirect_uri" => "redirect_uri must not be repeated",
        "response_type" => "response_type must not be repeated",
        "scope" => "scope must not be repeated",
        "state" => "state must not be repeated",
        "nonce" => "nonce must not be repeated",
        "code_challenge" => "code_challenge must not be repeated",
        "code_challenge_method" => "code_challenge_method must not be repeated",
        "grant_type" => "grant_type must not be repeated",
        "code" => "code must not be repeated",
        "code_verifier" => "code_verifier must not be repeated",
        "refresh_token" => "refresh_token must not be repeated",
        "client_secret" => "client_secret must not be repeated",
        "prompt" => "prompt must not be repeated",
        "resource" => "only one resource parameter is supported",
        _ => "a parameter was repeated (RFC 6749 §3.1)",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_required_and_duplicates() {
        let params = Params::parse(b"a=1&b=&c=x+y%21&d=1&d=2");
        assert_eq!(params.single("a").unwrap(), Some("1"));
        assert_eq!(params.single("b").unwrap(), None, "empty counts as absent");
        assert_eq!(params.single("c").unwrap(), Some("x y!"));
        assert_eq!(params.single("missing").unwrap(), None);
        assert_eq!(
            params.single("d").unwrap_err().code,
            crate::protocol::ErrorCode::InvalidRequest
        );
        assert!(params.required("missing", "missing is required").is_err());
        assert!(params.contains("b"));
    }
}
