//! OpenID Connect RP-Initiated Logout 1.0: which client asks, where to return, and whether the
//! request can be trusted without asking the user.

use crate::protocol::client::RegisteredClient;
use crate::protocol::error::OAuthError;
use crate::protocol::types::{ClientId, Subject};

/// What the `id_token_hint` said, once verified (signature ours; expiry irrelevant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutHint {
    /// The user the ID token was for.
    pub subject: Subject,
    /// The client it was issued to (`aud`).
    pub client_id: ClientId,
}

/// The decision for an end-session request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutDecision {
    /// Where to send the browser afterwards (already validated), with `state` appended.
    pub redirect: Option<String>,
    /// End the session at once: the hint names the signed-in user, so the request comes from a
    /// client the user was signed in to. Otherwise the user confirms first (§2 / §6 CSRF note).
    pub trusted: bool,
}

/// RP-Initiated Logout §2-3: validates the parameters.
///
/// `client` is the client named by the hint's `aud` or by `client_id` (which must agree).
pub fn decide_logout(
    hint: Option<&LogoutHint>,
    client_id_param: Option<&str>,
    client: Option<&RegisteredClient>,
    post_logout_redirect_uri: Option<&str>,
    state: Option<&str>,
    session_subject: Option<&Subject>,
) -> Result<LogoutDecision, OAuthError> {
    if let (Some(hint), Some(client_id)) = (hint, client_id_param)
        && hint.client_id.as_str() != client_id
    {
        return Err(OAuthError::invalid_request(
            "client_id does not match the audience of id_token_hint",
        ));
    }
    let redirect = match post_logout_redirect_uri {
        None => None,
        Some(uri) => {
            let client = client.ok_or(OAuthError::invalid_request(
                "post_logout_redirect_uri needs id_token_hint or client_id to identify the client",
            ))?;
            if !client
                .metadata
                .post_logout_redirect_uris
                .iter()
                .any(|registered| registered == uri)
            {
                return Err(OAuthError::invalid_request(
                    "post_logout_redirect_uri is not registered for this client",
                ));
            }
            let mut url = url::Url::parse(uri).map_err(|_| {
                OAuthError::invalid_request("post_logout_redirect_uri is not a URI")
            })?;
            if let Some(state) = state {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url.to_string())
        }
    };
    let trusted = match (hint, session_subject) {
        (Some(hint), Some(subject)) => hint.subject == *subject,
        // No session: nothing to end, nothing to protect.
        (_, None) => true,
        (None, Some(_)) => false,
    };
    Ok(LogoutDecision { redirect, trusted })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client;

    #[test]
    fn logout_table() {
        let mut web = client("demo-web", Some("s"));
        web.metadata.post_logout_redirect_uris = vec!["https://app.example.com/".into()];
        let alice = Subject("alice".into());
        let bob = Subject("bob".into());
        let hint = LogoutHint {
            subject: alice.clone(),
            client_id: web.client_id.clone(),
        };
        let back = Some("https://app.example.com/");
        let ok = decide_logout(
            Some(&hint),
            None,
            Some(&web),
            back,
            Some("xyz"),
            Some(&alice),
        )
        .unwrap();
        assert_eq!(
            ok.redirect.as_deref(),
            Some("https://app.example.com/?state=xyz")
        );
        assert!(ok.trusted);
        assert!(
            !decide_logout(Some(&hint), None, Some(&web), back, None, Some(&bob))
                .unwrap()
                .trusted
        );
        assert!(
            !decide_logout(None, Some("demo-web"), Some(&web), back, None, Some(&alice))
                .unwrap()
                .trusted
        );
        assert!(
            decide_logout(None, None, None, None, None, None)
                .unwrap()
                .trusted
        );
        assert!(
            decide_logout(
                Some(&hint),
                None,
                Some(&web),
                Some("https://evil.example/"),
                None,
                Some(&alice)
            )
            .is_err()
        );
        assert!(decide_logout(None, None, None, back, None, Some(&alice)).is_err());
        assert!(
            decide_logout(
                Some(&hint),
                Some("other"),
                Some(&web),
                back,
                None,
                Some(&alice)
            )
            .is_err()
        );
    }
}
