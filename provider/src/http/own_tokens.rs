//! Verifying tokens this provider issued, where the provider itself accepts them: access
//! tokens at UserInfo and introspection, ID tokens as `id_token_hint`.

use crate::protocol::claims::{AccessTokenClaims, TokenStanding};
use crate::protocol::error::OAuthError;
use crate::protocol::grants::token_exchange::Presented;
use crate::state::AppState;

/// Why a presented token is not one of our access tokens.
#[derive(Debug, PartialEq, Eq)]
pub enum NotOurAccessToken {
    /// Not signed by our keys for our issuer (or not a JWT at all).
    Invalid,
    /// Signed by us, but `typ` is not `at+jwt` (an ID token, RFC 9068 §4).
    NotAnAccessToken,
}

/// Verifies an access token we issued: signature by our keys, our issuer, `typ` `at+jwt`
/// (RFC 9068 §4; media-type names compare case-insensitively, `application/` may be spelled
/// out). Any audience; expiry is left to the caller (UserInfo refuses, introspection answers
/// inactive).
pub fn verify_own_access_token(
    state: &AppState,
    token: &str,
) -> Result<AccessTokenClaims, NotOurAccessToken> {
    let mut validation = keys::Validation::new(keys::SigningAlg::RS256.jwt_algorithm());
    validation.set_issuer(&[state.issuer.as_str()]);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let data = state
        .published()
        .keys
        .verify::<AccessTokenClaims>(token, &validation)
        .map_err(|_| NotOurAccessToken::Invalid)?;
    let typ = data.header.typ.as_deref().unwrap_or_default();
    if typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt") {
        Ok(data.claims)
    } else {
        Err(NotOurAccessToken::NotAnAccessToken)
    }
}

/// Verifies an ID token we issued to `client_id` (signature, issuer, audience; expiry does not
/// matter) and returns its claims: `id_token_hint` at authorization and at logout.
pub fn verify_own_id_token(
    state: &AppState,
    client_id: Option<&str>,
    token: &str,
) -> Option<serde_json::Value> {
    let mut validation = keys::Validation::new(keys::SigningAlg::RS256.jwt_algorithm());
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[state.issuer.as_str()]);
    match client_id {
        Some(client_id) => validation.set_audience(&[client_id]),
        None => validation.validate_aud = false,
    }
    let data = state
        .published()
        .keys
        .verify::<serde_json::Value>(token, &validation)
        .ok()?;
    // RFC 8725 §3.11 / RFC 9068 §4: an access token (typ at+jwt) is never an ID token.
    let typ = data.header.typ.as_deref().unwrap_or("JWT");
    typ.eq_ignore_ascii_case("JWT").then_some(data.claims)
}

/// What the store says of an access token whose signature verified: revoked (deny-list), its
/// client deleted, or valid.
pub async fn standing(
    state: &AppState,
    claims: &AccessTokenClaims,
) -> Result<TokenStanding, crate::store::Error> {
    Ok(
        if state
            .store
            .grants
            .is_access_token_denied(&claims.jti)
            .await?
        {
            TokenStanding::Revoked
        } else if state.client(&claims.client_id).await?.is_none() {
            TokenStanding::ClientDeleted
        } else {
            TokenStanding::Valid
        },
    )
}

/// Verifies a token presented for exchange: ours (signature, issuer, `at+jwt`), not revoked,
/// its client still registered; with the grant it was recorded under. The outer error is the
/// store's; the inner one is the RFC 8693 §2.2.2 refusal (`invalid_request`).
pub async fn presented_for_exchange(
    state: &AppState,
    token: &str,
    which: &'static str,
) -> Result<Result<Presented, OAuthError>, crate::store::Error> {
    let unacceptable = |description| Ok(Err(OAuthError::invalid_request(description)));
    let Ok(claims) = verify_own_access_token(state, token) else {
        return unacceptable(match which {
            "subject_token" => "subject_token is not an access token issued by this provider",
            _ => "actor_token is not an access token issued by this provider",
        });
    };
    if standing(state, &claims).await? != TokenStanding::Valid {
        return unacceptable(match which {
            "subject_token" => "subject_token was revoked",
            _ => "actor_token was revoked",
        });
    }
    let grant_id = state.store.grants.access_token_grant(&claims.jti).await?;
    Ok(Ok(Presented { claims, grant_id }))
}
