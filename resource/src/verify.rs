//! The `Verifier`: RFC 9068 §4 access-token validation against the cached JWKS.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, Method, Uri};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;

use crate::bearer::{Scheme, access_token};
use crate::challenge::{Challenge, Rejection};
use crate::claims::{Expectations, RawClaims, check_claims};
use crate::jwks::{Jwks, JwksStatus, Lookup};
use crate::key_store::KeyStore;
use crate::{AccessClaims, Error, VerifierConfig, fetch};

/// Tokens longer than this are refused before any parsing (RFC 9068 tokens are ~1 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Verifies access tokens offline: signature against the issuer's cached JWKS, then the
/// RFC 9068 §4 checks. Cheap to clone (one `Arc`); every clone shares the cache.
///
/// Built with [`Verifier::new`] (discovery and first JWKS fetch now, fails if the issuer is
/// down), [`Verifier::spawn`] (returns at once, loads and keeps retrying in the background) or
/// [`Verifier::from_jwk_set`] (fixed keys, no IO).
///
/// # Security
/// Checks run in this order, each with its own [`Error`] variant: size (≤ 8 KiB) and compact
/// form, `typ` = `at+jwt`, `alg` on the allow-list, `kid` known (one rate-limited refetch),
/// JWK `kty`/`alg` consistent with `alg`, signature, `iss`, `aud`, `exp`, `nbf`/`iat`, then
/// `jti`/`client_id`/`sub` present. Header members `jku`, `x5u`, `jwk` and `x5c` are ignored:
/// keys come only from the configured issuer's JWKS.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway_secs: u64,
    jwks: Arc<Jwks>,
    challenge: Arc<Challenge>,
    dpop: crate::DpopMode,
    public_base: Option<String>,
    seen_proofs: crate::dpop::SeenProofs,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("algorithms", &self.inner.algorithms)
            .field("leeway_secs", &self.inner.leeway_secs)
            .finish_non_exhaustive()
    }
}

/// The JOSE header members we read; everything else (`jku`, `x5u`, `jwk`, `x5c`, ...) is
/// deliberately not even deserialised.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kid: Option<Cow<'a, str>>,
    /// RFC 7515 §4.1.11: extensions we would have to understand; we understand none.
    crit: Option<serde::de::IgnoredAny>,
}

impl Verifier {
    /// Fetches discovery (unless a `jwks_uri` is configured) and the JWKS now, then keeps the
    /// keys fresh in the background. Fails if the issuer cannot be reached.
    pub async fn new(config: VerifierConfig) -> Result<Verifier, Error> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Config("Verifier::new must run within a tokio runtime".into()))?;
        let verifier = Verifier::remote(&config)?;
        verifier.inner.jwks.refresh().await?;
        verifier.inner.jwks.spawn_refresher(&runtime);
        Ok(verifier)
    }

    /// Returns at once and loads the keys in the background, retrying with backoff until the
    /// issuer answers (until then tokens get `503`, and [`Verifier::status`] says `Loading`).
    /// Must be called within a tokio runtime.
    pub fn spawn(config: VerifierConfig) -> Result<Verifier, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config("Verifier::spawn must be called within a tokio runtime".into())
        })?;
        let verifier = Verifier::remote(&config)?;
        verifier.inner.jwks.spawn_refresher(&runtime);
        Ok(verifier)
    }

    /// Verifies with a fixed key set and never fetches: for tests, and for keys distributed
    /// out of band.
    pub fn from_jwk_set(config: VerifierConfig, jwk_set: &JwkSet) -> Result<Verifier, Error> {
        keys::install_crypto_provider();
        config.validate()?;
        let values = jwk_set
            .keys
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Error::Config("the JWK set is not serialisable".into()))?;
        let store = KeyStore::from_jwk_values(&values);
        if store.is_empty() {
            return Err(Error::Config(
                "the JWK set holds no usable signature keys".into(),
            ));
        }
        Ok(Verifier::with_jwks(&config, Jwks::from_store(store)))
    }

    fn remote(config: &VerifierConfig) -> Result<Verifier, Error> {
        keys::install_crypto_provider();
        config.validate()?;
        let http = fetch::http_client(config.http_timeout)?;
        let jwks = Jwks::remote(
            http,
            config.issuer.clone(),
            config.key_location()?,
            config.min_refetch_interval,
        );
        Ok(Verifier::with_jwks(config, jwks))
    }

    fn with_jwks(config: &VerifierConfig, jwks: Jwks) -> Verifier {
        Verifier {
            inner: Arc::new(Inner {
                issuer: config.issuer.clone(),
                audiences: config.audiences.clone(),
                algorithms: config.algorithms.clone(),
                leeway_secs: config.leeway.as_secs(),
                jwks: Arc::new(jwks),
                challenge: Arc::new(Challenge {
                    realm: config.realm_or_default(),
                    resource_metadata: config.resource_metadata(),
                    dpop_required: config.dpop == crate::DpopMode::Required,
                }),
                dpop: config.dpop,
                public_base: config.public_base(),
                seen_proofs: crate::dpop::SeenProofs::default(),
            }),
        }
    }

    /// Verifies a compact-JWS access token and returns its claims (RFC 9068 §4).
    ///
    /// Never logs the token; failures are logged with the `kid` only.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, Error> {
        self.verify_at(token, unix_now()).await
    }

    /// [`Verifier::verify`] as if the clock read `now` (unix seconds).
    ///
    /// For tests and teaching: it shows what a resource server answers at another moment (an
    /// expired token, a token not yet valid) without waiting. Servers call [`Verifier::verify`].
    pub async fn verify_at(&self, token: &str, now: u64) -> Result<AccessClaims, Error> {
        let result = self.verify_inner(token, now).await;
        let outcome = match &result {
            Ok(_) => "valid",
            Err(error) => error.metric_label(),
        };
        metrics::counter!("resource_token_verifications_total", "result" => outcome).increment(1);
        result
    }

    async fn verify_inner(&self, token: &str, now: u64) -> Result<AccessClaims, Error> {
        let parts = split_compact(token).inspect_err(|error| log_rejection(None, error))?;
        let header_json =
            decode_base64url(parts.header).inspect_err(|error| log_rejection(None, error))?;
        let header: JoseHeader<'_> = serde_json::from_slice(&header_json)
            .map_err(|_| Error::Malformed("the header is not a JSON object"))
            .inspect_err(|error| log_rejection(None, error))?;
        let kid = header.kid.as_deref();
        let claims = self
            .verify_parts(&parts, &header, now)
            .await
            .inspect_err(|error| log_rejection(kid, error))?;
        // Only a kid of the issuer's JWKS gets this far, so it is safe to print as text.
        tracing::info!(
            target: "flow",
            jti = %claims.jti,
            client_id = %claims.client_id,
            "resource: signature verified with kid {}; typ, iss, aud, exp accepted (RFC 9068 §4)",
            kid.unwrap_or_default()
        );
        Ok(claims)
    }

    async fn verify_parts(
        &self,
        parts: &CompactParts<'_>,
        header: &JoseHeader<'_>,
        now: u64,
    ) -> Result<AccessClaims, Error> {
        if header.crit.is_some() {
            return Err(Error::Malformed(
                "the header has critical extensions this resource does not understand",
            ));
        }
        // RFC 9068 §4 step 1: the type must be at+jwt, so an ID token (typ JWT) is refused.
        if !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(Error::WrongTokenType);
        }
        let alg = header
            .alg
            .parse::<Algorithm>()
            .ok()
            .filter(|alg| self.inner.algorithms.contains(alg))
            .ok_or(Error::DisallowedAlgorithm)?;
        let kid = header.kid.as_deref().ok_or(Error::UnknownKid)?;
        let key = match self.inner.jwks.lookup(kid).await {
            Lookup::Found(key) => key,
            Lookup::Unknown => return Err(Error::UnknownKid),
            Lookup::NoKeys => return Err(Error::KeysUnavailable),
        };
        if !key.accepts(alg) {
            return Err(Error::KeyAlgorithmMismatch);
        }
        let signature_ok = jsonwebtoken::crypto::verify(
            parts.signature,
            parts.signing_input.as_bytes(),
            &key.decoding_key,
            alg,
        )
        .unwrap_or(false);
        if !signature_ok {
            return Err(Error::InvalidSignature);
        }
        let claims_json = decode_base64url(parts.payload)?;
        let raw: RawClaims<'_> = serde_json::from_slice(&claims_json)
            .map_err(|_| Error::Malformed("the claims are not a valid JWT claims set"))?;
        let expected = Expectations {
            issuer: &self.inner.issuer,
            audiences: &self.inner.audiences,
            leeway_secs: self.inner.leeway_secs,
        };
        check_claims(raw, &expected, now)
    }

    /// Finds the access token in the request (RFC 6750 §2.1, or RFC 9449 §7.1 with a DPoP
    /// proof) and verifies it; the rejection renders the RFC 6750 §3 (or RFC 9449 §7.1)
    /// response with this resource's realm and metadata URL.
    ///
    /// A DPoP-bound token (`cnf.jkt`) passes only with the `DPoP` scheme and a proof of its
    /// key for this `method` and URL; an unbound token only as `Bearer`, and not at all when
    /// [`DpopMode::Required`](crate::DpopMode::Required).
    pub async fn authenticate(
        &self,
        method: &Method,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<AccessClaims, Rejection> {
        let (token, scheme) = access_token(headers, uri).map_err(|error| {
            tracing::info!(
                target: "flow",
                error = %error,
                "resource: no usable access token, answering with a challenge (RFC 6750 §3.1)",
            );
            self.reject(error)
        })?;
        let claims = self
            .verify(token)
            .await
            .map_err(|error| self.reject(error))?;
        let inner = &self.inner;
        match (scheme, &claims.dpop_jkt) {
            (Scheme::Bearer, None) if inner.dpop == crate::DpopMode::Required => Err(self.reject(
                Error::WrongScheme("this resource accepts only DPoP-bound tokens (RFC 9449)"),
            )),
            (Scheme::Bearer, None) => Ok(claims),
            (Scheme::Bearer, Some(_)) => Err(self.reject(Error::WrongScheme(
                "the token is DPoP-bound: send it with Authorization: DPoP and a proof",
            ))),
            (Scheme::Dpop, None) => Err(self.reject(Error::WrongScheme(
                "the token is not DPoP-bound: send it as Bearer",
            ))),
            (Scheme::Dpop, Some(jkt)) => {
                let base = inner.public_base.as_deref().ok_or_else(|| {
                    self.reject(Error::InvalidDpopProof(
                        "this resource server has no public URL configured to check htu",
                    ))
                })?;
                let url = format!("{base}{}", uri.path());
                let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
                crate::dpop::check_proof(
                    &inner.seen_proofs,
                    headers,
                    method.as_str(),
                    &url,
                    token,
                    jkt,
                    now,
                )
                .map_err(|error| {
                    tracing::info!(target: "flow", error = %error, "resource: DPoP proof refused (RFC 9449 §7.1)");
                    self.reject(error)
                })?;
                Ok(claims)
            }
        }
    }

    /// Wraps an error with this resource's challenge parameters (realm, metadata URL).
    pub fn reject(&self, error: Error) -> Rejection {
        Rejection::new(error, Some(Arc::clone(&self.inner.challenge)))
    }

    pub(crate) fn challenge(&self) -> &Arc<Challenge> {
        &self.inner.challenge
    }

    /// Fetches the JWKS now (e.g. on an operator's signal). On failure the cached keys stay in
    /// service and [`Verifier::status`] reports them stale.
    pub async fn refresh(&self) -> Result<usize, Error> {
        self.inner.jwks.refresh().await
    }

    /// Whether keys are loaded, fresh or stale: for `/readyz`.
    pub fn status(&self) -> JwksStatus {
        self.inner.jwks.status()
    }

    /// How many times this verifier has fetched (or tried to fetch) the JWKS; for tests and
    /// metrics. A static key set never fetches.
    pub fn fetch_count(&self) -> u64 {
        self.inner.jwks.fetch_count()
    }

    /// The trusted issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.inner.audiences
    }
}

/// One line per refused token, with the `kid` (attacker-controlled, so printed escaped) but
/// never the token.
fn log_rejection(kid: Option<&str>, error: &Error) {
    // A forged kid can be kilobytes long: log its start only.
    let kid = kid.map(|kid| {
        kid.char_indices()
            .nth(64)
            .map_or(kid, |(end, _)| &kid[..end])
    });
    tracing::info!(
        target: "flow",
        kid = ?kid,
        error = %error,
        "resource: access token rejected, {} (RFC 6750 §3.1)",
        error.code().as_str().unwrap_or("no error code")
    );
}

/// RFC 9068 §4: `typ` is `at+jwt`, or its full media type `application/at+jwt`
/// (RFC 7515 §4.1.9), compared case-insensitively.
fn is_access_token_type(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
}

/// The three parts of a compact JWS (RFC 7515 §7.1), borrowed from the token.
struct CompactParts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    /// `header.payload`: what the signature covers.
    signing_input: &'a str,
}

fn split_compact(token: &str) -> Result<CompactParts<'_>, Error> {
    const NOT_COMPACT: &str = "not a compact JWS (three base64url parts)";
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::TokenTooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Malformed(NOT_COMPACT));
    };
    if header.is_empty() || payload.is_empty() {
        return Err(Error::Malformed(NOT_COMPACT));
    }
    Ok(CompactParts {
        header,
        payload,
        signature,
        signing_input: &token[..header.len() + 1 + payload.len()],
    })
}

fn decode_base64url(part: &str) -> Result<Vec<u8>, Error> {
    keys::b64url_decode(part).ok_or(Error::Malformed("a part is not base64url"))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since_epoch| since_epoch.as_secs())
}

#[cfg(test)]
mod tests;
