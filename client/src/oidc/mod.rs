//! The OpenID Connect relying party: discovery, the authorization request, the callback, the
//! code exchange with ID token validation, UserInfo, refresh and RP-initiated logout.
//!
//! [`OidcClient`] holds what one provider taught us (discovery document, JWKS) and our
//! registration; every method that talks HTTP records the exchange in a
//! [`Timeline`].

pub mod authorize;
pub mod callback;
pub mod discovery;
pub mod id_token;
pub mod jwks;
pub mod logout_token;
pub mod token;

use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use openapi::DiscoveryDocument;
use serde_json::Value;

use crate::Error;
use crate::http::send;
use crate::oidc::authorize::{AuthorizeOptions, PendingAuthorization, authorization_url};
use crate::oidc::callback::{
    AuthorizationCode, CallbackExpectations, CallbackParams, validate_callback,
};
use crate::oidc::id_token::{
    DEFAULT_LEEWAY_SECS, Expectations, IdTokenClaims, NonceCheck, ValidatedIdToken,
};
use crate::oidc::jwks::{ACCEPTED_ALGORITHMS, Jwks, SignatureError};
use crate::oidc::token::{AccessToken, ClientRegistration, IdToken, RefreshToken, TokenSet};
use crate::pkce::CodeVerifier;
use crate::state::State;
use crate::timeline::{Exchange, Lane, Outcome, Timeline, TokenView, unix_now};

/// At most one JWKS refetch for an unknown `kid` per this interval, so a stream of tokens with
/// made-up `kid`s cannot make us hammer the provider.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// The result of a successful sign-in: tokens plus the validated ID token.
#[derive(Debug)]
pub struct SignedIn {
    /// The token response.
    pub tokens: TokenSet,
    /// The ID token, validated.
    pub id_token: ValidatedIdToken,
}

/// The result of a successful refresh.
#[derive(Debug)]
pub struct Refreshed {
    /// The token response (with the rotated refresh token).
    pub tokens: TokenSet,
    /// The new ID token, validated, when the provider sent one.
    pub id_token: Option<ValidatedIdToken>,
}

/// A relying party bound to one provider.
pub struct OidcClient {
    http: reqwest::Client,
    registration: ClientRegistration,
    discovery: DiscoveryDocument,
    jwks: RwLock<(Jwks, Instant)>,
    leeway_secs: i64,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.discovery.issuer)
            .field("client_id", &self.registration.client_id)
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    /// Fetches discovery and the JWKS (both recorded in `timeline`).
    pub async fn discover(
        http: reqwest::Client,
        issuer: &str,
        registration: ClientRegistration,
        timeline: &Timeline,
    ) -> Result<OidcClient, Error> {
        jsonwebtoken_provider();
        let (document, exchange) = discovery::fetch(&http, issuer).await;
        timeline.record(exchange);
        let discovery = document?;
        let jwks = fetch_jwks(&http, &discovery.jwks_uri, timeline).await?;
        Ok(OidcClient {
            http,
            registration,
            discovery,
            jwks: RwLock::new((jwks, Instant::now())),
            leeway_secs: DEFAULT_LEEWAY_SECS,
        })
    }

    /// The discovery document.
    pub fn discovery(&self) -> &DiscoveryDocument {
        &self.discovery
    }

    /// The provider's issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.discovery.issuer
    }

    /// Our registration.
    pub fn registration(&self) -> &ClientRegistration {
        &self.registration
    }

    /// The back-channel HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A copy of the current JWKS.
    pub fn jwks(&self) -> Jwks {
        self.jwks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// Whether the provider advertises RP-initiated logout.
    pub fn supports_logout(&self) -> bool {
        self.discovery.end_session_endpoint.is_some()
    }

    /// Starts a sign-in: generates PKCE, state and nonce, records the preparation, and returns
    /// what to keep plus the URL to send the browser to.
    pub fn begin(
        &self,
        options: &AuthorizeOptions,
        timeline: &Timeline,
    ) -> (PendingAuthorization, String) {
        let redirect_uri = options
            .redirect_uri
            .as_deref()
            .unwrap_or(&self.registration.redirect_uri);
        let scope = options.scope.as_deref().unwrap_or(&self.registration.scope);
        let pending = PendingAuthorization::generate(redirect_uri, scope);
        let challenge = pending.verifier.challenge();
        timeline.record(pending.preparation_note(&challenge));
        let url = authorization_url(
            &self.discovery.authorization_endpoint,
            &self.registration.client_id,
            &pending,
            &challenge,
            options.prompt.as_deref(),
        );
        (pending, url)
    }

    /// Checks the callback's query against the state of this browser's sign-in (and `iss`),
    /// recording the checks.
    pub fn check_callback(
        &self,
        state: &State,
        query: &str,
        timeline: &Timeline,
    ) -> Result<AuthorizationCode, Error> {
        let expectations = CallbackExpectations {
            state,
            issuer: self.issuer(),
            iss_required: self
                .discovery
                .authorization_response_iss_parameter_supported,
        };
        let result = CallbackParams::parse(query)
            .and_then(|params| validate_callback(params, &expectations));
        let note = Exchange::note(Lane::Client, "Check the authorization response").explain(
            "The client accepts the code only if state equals the value in this browser's session \
             (so the sign-in was started here) and iss names our provider (no mix-up).",
            "RFC 6749 §4.1.2, §10.12, RFC 9207 §2.4",
        );
        let note = match &result {
            Ok(_) => note
                .with_note("✓ state equals the value stored in this browser's session")
                .with_note(format!("✓ iss equals {}", self.issuer())),
            Err(error) => note
                .with_note(format!("✗ refused: {error}"))
                .with_outcome(Outcome::Refused),
        };
        timeline.record(note);
        Ok(result?)
    }

    /// Trades the code for tokens and validates the ID token (nonce, at_hash, ...).
    pub async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        pending: PendingAuthorization,
        timeline: &Timeline,
    ) -> Result<SignedIn, Error> {
        let tokens = self
            .redeem_code(code, &pending.verifier, &pending.redirect_uri, timeline)
            .await?;
        let validated = self
            .validate_token_response(&tokens, &pending.nonce, timeline)
            .await?;
        Ok(SignedIn {
            tokens,
            id_token: validated,
        })
    }

    /// Validates the ID token of a code exchange's response (with the sign-in's nonce and the
    /// response's access token for `at_hash`), recording the checks.
    pub async fn validate_token_response(
        &self,
        tokens: &TokenSet,
        nonce: &crate::state::Nonce,
        timeline: &Timeline,
    ) -> Result<ValidatedIdToken, Error> {
        let id_token = tokens.id_token.as_ref().ok_or_else(|| {
            Error::protocol(
                "exchanging the authorization code",
                "no id_token although openid was requested (OIDC Core §3.1.3.3)",
            )
        })?;
        self.validate_id_token_recorded(
            id_token,
            NonceCheck::Expect(nonce),
            &tokens.access_token,
            timeline,
        )
        .await
    }

    /// The bare token request of the code exchange, with any verifier and redirect URI (the
    /// walkthrough's attacks use it with wrong ones). Records the exchange.
    pub async fn redeem_code(
        &self,
        code: &AuthorizationCode,
        verifier: &CodeVerifier,
        redirect_uri: &str,
        timeline: &Timeline,
    ) -> Result<TokenSet, Error> {
        let (result, exchange) = token::exchange_code(
            &self.http,
            &self.discovery.token_endpoint,
            &self.registration,
            code,
            verifier,
            redirect_uri,
        )
        .await;
        let exchange = match &result {
            Ok(tokens) => self.with_token_views(exchange, tokens),
            Err(_) => exchange,
        };
        timeline.record(exchange);
        result
    }

    /// Refreshes and validates the new ID token against the sign-in's (OIDC Core §12.2).
    pub async fn refresh(
        &self,
        refresh_token: &RefreshToken,
        previous: &IdTokenClaims,
        timeline: &Timeline,
    ) -> Result<Refreshed, Error> {
        let tokens = self.refresh_tokens(refresh_token, None, timeline).await?;
        let id_token = match &tokens.id_token {
            Some(id_token) => Some(
                self.validate_id_token_recorded(
                    id_token,
                    NonceCheck::Refresh { previous },
                    &tokens.access_token,
                    timeline,
                )
                .await?,
            ),
            None => None,
        };
        Ok(Refreshed { tokens, id_token })
    }

    /// The bare refresh request (the walkthrough replays spent refresh tokens with it).
    pub async fn refresh_tokens(
        &self,
        refresh_token: &RefreshToken,
        scope: Option<&str>,
        timeline: &Timeline,
    ) -> Result<TokenSet, Error> {
        let (result, exchange) = token::refresh(
            &self.http,
            &self.discovery.token_endpoint,
            &self.registration,
            refresh_token,
            scope,
        )
        .await;
        let exchange = match &result {
            Ok(tokens) => self.with_token_views(exchange, tokens),
            Err(_) => exchange,
        };
        timeline.record(exchange);
        result
    }

    /// Adds the decoded access and ID tokens to a token response exchange.
    fn with_token_views(&self, exchange: Exchange, tokens: &TokenSet) -> Exchange {
        let exchange = exchange.with_token(self.access_token_view(tokens.access_token.expose()));
        match &tokens.id_token {
            Some(id_token) => exchange.with_token(self.id_token_view(id_token.expose())),
            None => exchange,
        }
    }

    /// Validates an ID token, refetching the JWKS once if its `kid` is unknown (the provider
    /// may have rotated keys since we last looked).
    pub async fn validate_id_token(
        &self,
        id_token: &IdToken,
        nonce: NonceCheck<'_>,
        access_token: Option<&AccessToken>,
        timeline: &Timeline,
    ) -> Result<ValidatedIdToken, Error> {
        let validate = |now: i64| {
            let jwks = self.jwks();
            let expectations = Expectations {
                issuer: self.issuer(),
                client_id: &self.registration.client_id,
                nonce,
                access_token: access_token.map(AccessToken::expose),
                now,
                leeway_secs: self.leeway_secs,
                algorithms: &ACCEPTED_ALGORITHMS,
            };
            id_token::validate(id_token.expose(), &jwks, &expectations)
        };
        match validate(unix_now()) {
            Err(id_token::IdTokenError::Signature(SignatureError::UnknownKid(_)))
                if self.may_refetch_jwks() =>
            {
                let jwks = fetch_jwks(&self.http, &self.discovery.jwks_uri, timeline).await?;
                *self.jwks.write().unwrap_or_else(PoisonError::into_inner) = (jwks, Instant::now());
                Ok(validate(unix_now())?)
            }
            other => Ok(other?),
        }
    }

    async fn validate_id_token_recorded(
        &self,
        id_token: &IdToken,
        nonce: NonceCheck<'_>,
        access_token: &AccessToken,
        timeline: &Timeline,
    ) -> Result<ValidatedIdToken, Error> {
        let result = self
            .validate_id_token(id_token, nonce, Some(access_token), timeline)
            .await;
        let mut note = Exchange::note(Lane::Client, "Validate the ID token").explain(
            "The client checks the ID token before believing a word of it: the signature against the \
             provider's JWKS, then iss, aud/azp, exp/iat, nonce and at_hash.",
            "OIDC Core §3.1.3.7, §3.1.3.8",
        );
        match &result {
            Ok(validated) => {
                for check in &validated.checks {
                    note = note.with_note(format!("✓ {check}"));
                }
            }
            Err(error) => {
                note = note
                    .with_note(format!("✗ {}", error.public_description()))
                    .with_outcome(Outcome::Refused);
            }
        }
        timeline.record(note);
        result
    }

    fn may_refetch_jwks(&self) -> bool {
        let fetched_at = self.jwks.read().unwrap_or_else(PoisonError::into_inner).1;
        fetched_at.elapsed() >= JWKS_REFETCH_INTERVAL
    }

    /// Back-Channel Logout §2.6: validates a logout token POSTed by the provider, refetching
    /// the JWKS once if its `kid` is unknown.
    pub async fn validate_logout_token(
        &self,
        token: &str,
        timeline: &Timeline,
    ) -> Result<logout_token::LogoutClaims, logout_token::LogoutTokenError> {
        let validate = || {
            logout_token::validate(
                token,
                &self.jwks(),
                self.issuer(),
                &self.registration.client_id,
                &ACCEPTED_ALGORITHMS,
                unix_now(),
                self.leeway_secs,
            )
        };
        match validate() {
            Err(logout_token::LogoutTokenError::Signature(SignatureError::UnknownKid(_)))
                if self.may_refetch_jwks() =>
            {
                if let Ok(jwks) = fetch_jwks(&self.http, &self.discovery.jwks_uri, timeline).await {
                    *self.jwks.write().unwrap_or_else(PoisonError::into_inner) =
                        (jwks, Instant::now());
                }
                validate()
            }
            other => other,
        }
    }

    /// A logout token decoded for display, with its signature checked against the JWKS.
    pub fn logout_token_view(&self, token: &str) -> Option<TokenView> {
        let signature = match self.jwks().verify(token, &ACCEPTED_ALGORITHMS) {
            Ok(verified) => format!(
                "valid ({:?}, kid {}) against the provider's JWKS",
                verified.alg, verified.kid
            ),
            Err(error) => format!("not valid: {error}"),
        };
        TokenView::decode("Logout token (Back-Channel Logout §2.4)", token, signature)
    }

    /// The access token decoded for display, with its signature checked against the JWKS.
    ///
    /// A client must treat access tokens as opaque (RFC 9068 §6): this is for learning only.
    pub fn access_token_view(&self, token: &str) -> Option<TokenView> {
        let signature = match self.jwks().verify(token, &ACCEPTED_ALGORITHMS) {
            Ok(verified) => format!(
                "valid ({:?}, kid {}); shown for learning: the client treats access tokens as opaque, the resource server verifies them",
                verified.alg, verified.kid
            ),
            Err(error) => format!("not valid: {error}"),
        };
        TokenView::decode("Access token (RFC 9068 JWT)", token, signature)
    }

    /// The ID token decoded for display, with its signature checked against the JWKS.
    pub fn id_token_view(&self, token: &str) -> Option<TokenView> {
        let signature = match self.jwks().verify(token, &ACCEPTED_ALGORITHMS) {
            Ok(verified) => format!(
                "valid ({:?}, kid {}) against the provider's JWKS",
                verified.alg, verified.kid
            ),
            Err(error) => format!("not valid: {error}"),
        };
        TokenView::decode("ID token", token, signature)
    }

    /// OIDC Core §5.3: the UserInfo endpoint. The answer's `sub` must equal the ID token's
    /// (§5.3.2), or the response may belong to someone else.
    pub async fn userinfo(
        &self,
        access_token: &AccessToken,
        expected_sub: &str,
        timeline: &Timeline,
    ) -> Result<Value, Error> {
        const CONTEXT: &str = "calling UserInfo";
        let endpoint = self
            .discovery
            .userinfo_endpoint
            .as_deref()
            .ok_or_else(|| Error::protocol(CONTEXT, "the provider has no userinfo_endpoint"))?;
        let authorization = format!("Bearer {}", access_token.expose());
        let exchange = Exchange::request(Lane::Client, Lane::Provider, "UserInfo", "GET", endpoint)
            .header("Authorization", &authorization)
            .explain(
                "With the access token the client asks the provider for the user's profile claims \
                 (name, email, ...), which this provider keeps out of the ID token.",
                "OIDC Core §5.3, RFC 6750 §2.1",
            );
        let response = send(
            self.http
                .get(endpoint)
                .header(reqwest::header::AUTHORIZATION, authorization),
            CONTEXT,
        )
        .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                timeline.record(exchange.with_outcome(Outcome::Failed));
                return Err(error);
            }
        };
        let exchange = exchange.respond(
            response.status,
            response.shown_headers(),
            response.summary(),
        );
        if !response.is_success() {
            timeline.record(exchange);
            return Err(bearer_error(&response, CONTEXT));
        }
        let claims: Value = match response.json(CONTEXT) {
            Ok(claims) => claims,
            Err(error) => {
                timeline.record(exchange.with_outcome(Outcome::Failed));
                return Err(error);
            }
        };
        if claims.get("sub").and_then(Value::as_str) != Some(expected_sub) {
            timeline.record(
                exchange
                    .with_outcome(Outcome::Failed)
                    .with_note("✗ sub differs from the ID token's"),
            );
            return Err(Error::protocol(
                CONTEXT,
                "the UserInfo sub differs from the ID token's (OIDC Core §5.3.2)",
            ));
        }
        timeline.record(exchange.with_note("✓ sub equals the ID token's sub (OIDC Core §5.3.2)"));
        Ok(claims)
    }

    /// OpenID Connect RP-Initiated Logout 1.0 §2: the URL to send the browser to, when the
    /// provider advertises an `end_session_endpoint`.
    pub fn end_session_url(&self, id_token: &IdToken, state: &State) -> Option<String> {
        let endpoint = self.discovery.end_session_endpoint.as_deref()?;
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        pairs
            .append_pair("id_token_hint", id_token.expose())
            .append_pair("client_id", &self.registration.client_id)
            .append_pair("state", state.as_str());
        if let Some(post_logout) = &self.registration.post_logout_redirect_uri {
            pairs.append_pair("post_logout_redirect_uri", post_logout);
        }
        let separator = if endpoint.contains('?') { '&' } else { '?' };
        Some(format!("{endpoint}{separator}{}", pairs.finish()))
    }
}

/// Reads an RFC 6750 §3 answer (`WWW-Authenticate: Bearer error="…"`) into [`Error::OAuth`].
pub fn bearer_error(response: &crate::http::RawResponse, context: &'static str) -> Error {
    let challenge =
        crate::api::BearerChallenge::parse(response.header("www-authenticate").unwrap_or_default());
    match challenge.error {
        Some(error) => Error::OAuth {
            context,
            status: response.status,
            error,
            description: challenge.error_description,
        },
        None => response.oauth_error(context),
    }
}

/// Fetches the JWKS (RFC 7517) and records it.
async fn fetch_jwks(
    http: &reqwest::Client,
    jwks_uri: &str,
    timeline: &Timeline,
) -> Result<Jwks, Error> {
    const CONTEXT: &str = "fetching the JWKS";
    let exchange = Exchange::request(Lane::Client, Lane::Provider, "JWKS", "GET", jwks_uri).explain(
        "The client downloads the provider's public signing keys once and caches them; it verifies ID \
         token signatures offline with them and refetches only when a token names an unknown kid.",
        "RFC 7517 §5, OIDC Core §10.1.1",
    );
    let response = match send(http.get(jwks_uri), CONTEXT).await {
        Ok(response) => response,
        Err(error) => {
            timeline.record(exchange.with_outcome(Outcome::Failed));
            return Err(error);
        }
    };
    let exchange = exchange.respond(
        response.status,
        response.shown_headers(),
        response.summary(),
    );
    if !response.is_success() {
        timeline.record(exchange);
        return Err(Error::protocol(
            CONTEXT,
            format!("HTTP {}", response.status),
        ));
    }
    match response.json::<JwkSet>(CONTEXT) {
        Ok(set) => {
            let jwks = Jwks::new(set);
            timeline.record(exchange.with_note(format!("keys: {}", jwks.kids().join(", "))));
            Ok(jwks)
        }
        Err(error) => {
            timeline.record(exchange.with_outcome(Outcome::Failed));
            Err(error)
        }
    }
}

/// jsonwebtoken needs its crypto provider chosen once per process (ECOSYSTEM.md §2e).
fn jsonwebtoken_provider() {
    // An Err only means a provider is installed already, which is what we want.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}
