//! RFC 6749 §3.2 token endpoint requests: the code exchange (§4.1.3 + RFC 7636 §4.5) and the
//! refresh (§6), with client authentication (§2.3).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::Error;
use crate::http::{RawResponse, send};
use crate::oidc::callback::AuthorizationCode;
use crate::pkce::CodeVerifier;
use crate::timeline::{Exchange, Lane};

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// # Security
        /// `Debug` prints `[redacted]`; there is no `Display`.
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps the value.
            pub fn new(value: String) -> Self {
                $name(value)
            }

            /// The value, for the one place it must be sent.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}([redacted])", stringify!($name))
            }
        }
    };
}

secret_string!(
    /// RFC 6749 §2.3.1 client password (`client_secret`).
    ClientSecret
);
secret_string!(
    /// RFC 6749 §1.4 access token (an RFC 9068 JWT from our provider, opaque to the client).
    AccessToken
);
secret_string!(
    /// RFC 6749 §1.5 refresh token: rotates at every use.
    RefreshToken
);
secret_string!(
    /// OIDC Core §2 ID token (also sent back as `id_token_hint` at logout).
    IdToken
);

/// How this client is registered at the provider.
#[derive(Clone, Debug)]
pub struct ClientRegistration {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` for confidential clients; `None` for public clients (then the
    /// `client_id` goes in the body and PKCE is the only proof of possession).
    pub client_secret: Option<ClientSecret>,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// The registered post-logout redirect URI.
    pub post_logout_redirect_uri: Option<String>,
    /// The scope requested by default.
    pub scope: String,
}

/// RFC 6749 §5.1 successful token response.
#[derive(Clone, Debug)]
pub struct TokenSet {
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: Option<u64>,
    /// The granted scope.
    pub scope: Option<String>,
    /// The ID token (OIDC).
    pub id_token: Option<IdToken>,
    /// The refresh token, when `offline_access` was granted.
    pub refresh_token: Option<RefreshToken>,
}

#[derive(Deserialize)]
struct TokenResponseBody {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
    scope: Option<String>,
    id_token: Option<String>,
    refresh_token: Option<String>,
}

/// RFC 6749 §2.3.1: `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`.
///
/// The form-encoding step is easy to forget; without it a secret containing `:` or `%` breaks.
pub fn basic_authorization(client_id: &str, secret: &ClientSecret) -> String {
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret.expose()));
    format!("Basic {}", STANDARD.encode(credentials))
}

/// A token request being built: form fields plus client authentication, recorded as it goes.
pub(crate) struct TokenRequest<'a> {
    registration: &'a ClientRegistration,
    form: Vec<(&'static str, String)>,
    exchange: Exchange,
}

impl<'a> TokenRequest<'a> {
    fn new(registration: &'a ClientRegistration, endpoint: &str, title: &str) -> Self {
        TokenRequest {
            registration,
            form: Vec::new(),
            exchange: Exchange::request(Lane::Client, Lane::Provider, title, "POST", endpoint),
        }
    }

    fn field(mut self, name: &'static str, value: &str) -> Self {
        self.exchange = self.exchange.field(name, value);
        self.form.push((name, value.to_owned()));
        self
    }

    /// Sends it; returns the raw response and the exchange (not yet recorded).
    async fn send(
        self,
        http: &reqwest::Client,
        endpoint: &str,
        context: &'static str,
    ) -> (Result<RawResponse, Error>, Exchange) {
        let mut form = self.form;
        let mut exchange = self.exchange;
        let mut request = http.post(endpoint);
        match &self.registration.client_secret {
            Some(secret) => {
                let header = basic_authorization(&self.registration.client_id, secret);
                exchange = exchange.header("Authorization", &header);
                request = request.header(reqwest::header::AUTHORIZATION, header);
            }
            None => {
                // A public client identifies itself in the body (RFC 6749 §2.3, §3.2.1).
                exchange = exchange.field("client_id", &self.registration.client_id);
                form.push(("client_id", self.registration.client_id.clone()));
            }
        }
        let response = send(request.form(&form), context).await;
        (response, exchange)
    }
}

/// The code exchange: `grant_type=authorization_code` with the PKCE verifier.
pub(crate) async fn exchange_code(
    http: &reqwest::Client,
    endpoint: &str,
    registration: &ClientRegistration,
    code: &AuthorizationCode,
    verifier: &CodeVerifier,
    redirect_uri: &str,
) -> (Result<TokenSet, Error>, Exchange) {
    const CONTEXT: &str = "exchanging the authorization code";
    let (response, exchange) =
        TokenRequest::new(registration, endpoint, "Token request: code → tokens")
            .field("grant_type", "authorization_code")
            .field("code", code.expose())
            .field("redirect_uri", redirect_uri)
            .field("code_verifier", verifier.expose())
            .send(http, endpoint, CONTEXT)
            .await;
    let exchange = exchange.explain(
        "The client trades the one-time code for tokens over the back channel. It proves who it is \
         (client_secret_basic) and that it started this sign-in (the PKCE code_verifier whose hash \
         the provider saw in the authorization request).",
        "RFC 6749 §4.1.3, RFC 7636 §4.5, OIDC Core §3.1.3.1",
    );
    finish(response, exchange, CONTEXT)
}

/// The refresh: `grant_type=refresh_token` (RFC 6749 §6).
pub(crate) async fn refresh(
    http: &reqwest::Client,
    endpoint: &str,
    registration: &ClientRegistration,
    refresh_token: &RefreshToken,
    scope: Option<&str>,
) -> (Result<TokenSet, Error>, Exchange) {
    const CONTEXT: &str = "refreshing the tokens";
    let mut request = TokenRequest::new(registration, endpoint, "Token request: refresh")
        .field("grant_type", "refresh_token")
        .field("refresh_token", refresh_token.expose());
    if let Some(scope) = scope {
        request = request.field("scope", scope);
    }
    let (response, exchange) = request.send(http, endpoint, CONTEXT).await;
    let exchange = exchange.explain(
        "The client uses its refresh token for fresh tokens without the user. The provider rotates \
         it: the old refresh token is now spent, and presenting it again revokes the whole family.",
        "RFC 6749 §6, RFC 9700 §4.14.2, OIDC Core §12",
    );
    finish(response, exchange, CONTEXT)
}

fn finish(
    response: Result<RawResponse, Error>,
    exchange: Exchange,
    context: &'static str,
) -> (Result<TokenSet, Error>, Exchange) {
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            let exchange = exchange
                .with_note(format!("no response: {}", error.public_description()))
                .with_outcome(crate::timeline::Outcome::Failed);
            return (Err(error), exchange);
        }
    };
    let exchange = exchange.respond(
        response.status,
        response.shown_headers(),
        response.summary(),
    );
    if !response.is_success() {
        return (Err(response.oauth_error(context)), exchange);
    }
    let parsed = response
        .json::<TokenResponseBody>(context)
        .and_then(|body| {
            if !body.token_type.eq_ignore_ascii_case("bearer") {
                return Err(Error::protocol(
                    context,
                    format!("token_type {:?} is not Bearer", body.token_type),
                ));
            }
            Ok(TokenSet {
                access_token: AccessToken(body.access_token),
                token_type: body.token_type,
                expires_in: body.expires_in,
                scope: body.scope,
                id_token: body.id_token.map(IdToken),
                refresh_token: body.refresh_token.map(RefreshToken),
            })
        });
    (parsed, exchange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authorization_form_encodes_first() {
        // demo-web:demo-web-secret
        assert_eq!(
            basic_authorization("demo-web", &ClientSecret::new("demo-web-secret".into())),
            "Basic ZGVtby13ZWI6ZGVtby13ZWItc2VjcmV0"
        );
        // "a:b" / "p%w d" become "a%3Ab" / "p%25w+d" before base64 (RFC 6749 §2.3.1).
        let header = basic_authorization("a:b", &ClientSecret::new("p%w d".into()));
        let decoded = STANDARD
            .decode(header.trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(decoded, b"a%3Ab:p%25w+d");
    }

    #[test]
    fn secrets_have_redacted_debug() {
        assert_eq!(
            format!("{:?}", ClientSecret::new("x".into())),
            "ClientSecret([redacted])"
        );
        assert_eq!(
            format!("{:?}", RefreshToken::new("x".into())),
            "RefreshToken([redacted])"
        );
    }
}
