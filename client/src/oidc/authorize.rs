//! RFC 6749 §4.1.1 authorization request: what the client puts in the URL it sends the browser
//! to, and what it keeps for later.

use crate::pkce::{CHALLENGE_METHOD, CodeChallenge, CodeVerifier};
use crate::state::{Nonce, State};
use crate::timeline::{Exchange, Lane, mask, unix_now};

/// What the client remembers between sending the browser away and the callback: kept
/// server-side in the browser's session, never sent to the browser.
#[derive(Debug)]
pub struct PendingAuthorization {
    /// Sent in the request; must come back unchanged.
    pub state: State,
    /// Sent in the request; must come back inside the ID token.
    pub nonce: Nonce,
    /// The PKCE secret; only its hash was sent.
    pub verifier: CodeVerifier,
    /// The redirect URI of the request (the token request must repeat it).
    pub redirect_uri: String,
    /// The scope asked for.
    pub scope: String,
    /// When the request was made (pending sign-ins older than ten minutes are dropped).
    pub created_at: i64,
}

/// Per-request choices that differ from the registration's defaults.
#[derive(Clone, Debug, Default)]
pub struct AuthorizeOptions {
    /// Scope to request instead of the registration's default.
    pub scope: Option<String>,
    /// Redirect URI to use instead of the registration's (only for the walkthrough's
    /// "unregistered redirect_uri" attack).
    pub redirect_uri: Option<String>,
    /// OIDC Core §3.1.2.1 `prompt` (`login`, `consent`, `none`).
    pub prompt: Option<String>,
}

impl PendingAuthorization {
    /// Fresh `state`, `nonce` and PKCE verifier for one sign-in.
    pub fn generate(redirect_uri: &str, scope: &str) -> PendingAuthorization {
        PendingAuthorization {
            state: State::generate(),
            nonce: Nonce::generate(),
            verifier: CodeVerifier::generate(),
            redirect_uri: redirect_uri.to_owned(),
            scope: scope.to_owned(),
            created_at: unix_now(),
        }
    }

    /// The note that explains the values just generated (the verifier itself stays hidden).
    pub fn preparation_note(&self, challenge: &CodeChallenge) -> Exchange {
        Exchange::note(Lane::Client, "Prepare the sign-in: PKCE, state, nonce")
            .explain(
                "Before sending the browser away the client invents three random values and keeps them \
                 in the browser's session on the server: a PKCE code_verifier (only its SHA-256 hash \
                 leaves), a state (comes back on the redirect) and a nonce (comes back inside the ID token).",
                "RFC 7636 §4.1-4.2, RFC 6749 §10.12, OIDC Core §3.1.2.1",
            )
            .with_note(format!("code_verifier = {}", mask::secret(self.verifier.expose())))
            .with_note(format!(
                "code_challenge = BASE64URL(SHA256(code_verifier)) = {}",
                challenge.as_str()
            ))
            .with_note(format!("state = {}", self.state.as_str()))
            .with_note(format!("nonce = {}", self.nonce.as_str()))
    }
}

/// Builds the authorization URL (RFC 6749 §4.1.1 + RFC 7636 §4.3 + OIDC Core §3.1.2.1).
pub fn authorization_url(
    authorization_endpoint: &str,
    client_id: &str,
    pending: &PendingAuthorization,
    challenge: &CodeChallenge,
    prompt: Option<&str>,
) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    pairs
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &pending.redirect_uri)
        .append_pair("scope", &pending.scope)
        .append_pair("state", pending.state.as_str())
        .append_pair("nonce", pending.nonce.as_str())
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", CHALLENGE_METHOD);
    if let Some(prompt) = prompt {
        pairs.append_pair("prompt", prompt);
    }
    let separator = if authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{authorization_endpoint}{separator}{}", pairs.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_carries_the_challenge_never_the_verifier() {
        let pending =
            PendingAuthorization::generate("http://127.0.0.1:8082/callback", "openid profile");
        let challenge = pending.verifier.challenge();
        let url = authorization_url(
            "http://127.0.0.1:8080/authorize",
            "demo-web",
            &pending,
            &challenge,
            None,
        );
        let parsed = url::Url::parse(&url).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("demo-web"));
        assert_eq!(get("redirect_uri"), Some("http://127.0.0.1:8082/callback"));
        assert_eq!(get("scope"), Some("openid profile"));
        assert_eq!(get("state"), Some(pending.state.as_str()));
        assert_eq!(get("nonce"), Some(pending.nonce.as_str()));
        assert_eq!(get("code_challenge"), Some(challenge.as_str()));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("prompt"), None);
        assert!(!url.contains(pending.verifier.expose()));
    }

    #[test]
    fn preparation_note_hides_the_verifier() {
        let pending = PendingAuthorization::generate("http://x/cb", "openid");
        let note = pending.preparation_note(&pending.verifier.challenge());
        assert!(
            note.notes
                .iter()
                .all(|line| !line.contains(pending.verifier.expose()))
        );
    }
}
