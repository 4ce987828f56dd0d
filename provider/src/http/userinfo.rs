//! OIDC Core §5.3 UserInfo endpoint, protected by our own access tokens (RFC 6750).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use openapi::document::tags;
use openapi::responses::{BearerUnauthorized, InsufficientScope, ServerError};
use openapi::{ErrorBody, UserInfo, UserInfoForm};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use keys::jwe::{ContentEncryption, KeyManagement};

use crate::Error;
use crate::http::client_keys::encryption_key;
use crate::http::dpop;
use crate::http::error::BearerError;
use crate::http::extractors::BearerToken;
use crate::http::own_tokens::{NotOurAccessToken, standing, verify_own_access_token};
use crate::http::paths;
use crate::http::responses::{cross_origin_api, no_store};
use crate::protocol::claims::{UserProfile, check_userinfo_access, userinfo_claims};
use crate::protocol::client::RegisteredClient;
use crate::protocol::types::Subject;
use crate::protocol::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::telemetry::FLOW;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_userinfo, post_userinfo))
        .layer(cross_origin_api())
}

/// Claims about the signed-in user.
///
/// OIDC Core §5.3 with an RFC 6750 §2.1 `Authorization: Bearer` access token that carries the
/// `openid` scope (a user's token: client_credentials tokens have no user). Use Swagger UI's
/// *Authorize* with the oauth2 scheme to get one.
#[utoipa::path(
    get,
    path = paths::USERINFO,
    tag = tags::USERINFO,
    security(("access_token" = []), ("oauth2" = ["openid"])),
    responses(
        (status = 200, description = USERINFO_OK, content(
            (UserInfo = "application/json"),
            (String = "application/jwt", example = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2ln"),
        ), headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = USERINFO_BAD_REQUEST, body = ErrorBody, headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"userinfo\", error=\"invalid_request\", error_description=\"…\"`"),
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = BearerUnauthorized),
        (status = 403, response = InsufficientScope),
        (status = 500, response = ServerError),
    ),
)]
async fn get_userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    BearerToken(token, dpop): BearerToken,
) -> Result<Response, BearerError> {
    userinfo(&state, &token, dpop.then_some((&headers, "GET"))).await
}

/// Claims about the signed-in user (form-encoded token).
///
/// OIDC Core §5.3 by POST: the access token in the `Authorization: Bearer` header, or as
/// `access_token` in a form body (RFC 6750 §2.2), never both.
#[utoipa::path(
    post,
    path = paths::USERINFO,
    tag = tags::USERINFO,
    request_body(content = Option<UserInfoForm>, content_type = "application/x-www-form-urlencoded", example = json!({})),
    security(("access_token" = []), ("oauth2" = ["openid"]), ()),
    responses(
        (status = 200, description = USERINFO_OK, content(
            (UserInfo = "application/json"),
            (String = "application/jwt", example = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2ln"),
        ), headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = USERINFO_BAD_REQUEST, body = ErrorBody, headers(
            ("WWW-Authenticate" = String, description = "`Bearer realm=\"userinfo\", error=\"invalid_request\", error_description=\"…\"`"),
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = BearerUnauthorized),
        (status = 403, response = InsufficientScope),
        (status = 500, response = ServerError),
    ),
)]
async fn post_userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    BearerToken(token, dpop): BearerToken,
) -> Result<Response, BearerError> {
    userinfo(&state, &token, dpop.then_some((&headers, "POST"))).await
}

const USERINFO_OK: &str = "The claims the token's scopes release: JSON, or (OIDC Core \
    §5.3.2) `application/jwt` for a client that registered `userinfo_signed_response_alg` (a JWT \
    signed by the provider, with `iss` and `aud`) or `userinfo_encrypted_response_alg` (a JWE to \
    the client's key, nesting the signed JWT when both are set).";

const USERINFO_BAD_REQUEST: &str = "RFC 6750 §3.1 `invalid_request`: a malformed \
    `Authorization` header, two `Authorization` headers, a scheme other than Bearer, a repeated \
    `access_token`, or the token sent in two places.";

/// `GET|POST /userinfo`.
/// `dpop`: the request used the DPoP scheme (its headers and method, for the proof).
async fn userinfo(
    state: &AppState,
    token: &str,
    dpop: Option<(&HeaderMap, &str)>,
) -> Result<Response, BearerError> {
    let invalid = |description| BearerError::OAuth(OAuthError::invalid_token(description));
    let claims = verify_own_access_token(state, token).map_err(|problem| match problem {
        NotOurAccessToken::NotAnAccessToken => {
            invalid("the token is not an access token (typ at+jwt, RFC 9068 §4)")
        }
        NotOurAccessToken::Invalid => invalid("the access token is invalid or expired"),
    })?;
    tracing::Span::current().record("client_id", claims.client_id.as_str());
    // RFC 9449 §7: a bound token only with a proof of its key, a DPoP request only with a
    // bound token.
    match (&claims.cnf, dpop) {
        (None, None) => {}
        (Some(_), None) => {
            return Err(BearerError::Dpop(OAuthError::invalid_token(
                "this access token is bound to a DPoP key: send it with Authorization: DPoP and a proof",
            )));
        }
        (None, Some(_)) => {
            return Err(invalid(
                "this access token is not DPoP-bound: send it as Bearer",
            ));
        }
        (Some(cnf), Some((headers, method))) => {
            let proof = dpop::check(state, headers, method, paths::USERINFO, Some(token))
                .await
                .map_err(BearerError::Dpop)?
                .ok_or(BearerError::Dpop(OAuthError::new(
                    ErrorCode::InvalidDpopProof,
                    "the DPoP header with a proof is missing",
                )))?;
            if proof.jkt != cnf.jkt {
                return Err(BearerError::Dpop(OAuthError::new(
                    ErrorCode::InvalidDpopProof,
                    "the DPoP proof is made with another key than the token is bound to",
                )));
            }
        }
    }
    let standing = standing(state, &claims).await?;
    let scope =
        check_userinfo_access(&claims, standing, state.now()).map_err(BearerError::OAuth)?;
    let user = state
        .store
        .users
        .user_by_subject(&Subject(claims.sub.clone()))
        .await?
        .filter(|user| !user.disabled)
        .ok_or_else(|| invalid("the user of this token no longer exists or is disabled"))?;
    let profile = UserProfile {
        subject: user.subject,
        username: user.username,
        name: user.name,
        email: user.email,
        email_verified: user.email_verified,
    };
    let released = userinfo_claims(&profile, &scope);
    tracing::info!(target: FLOW, "userinfo: token verified offline (signature, iss, exp, not revoked); released {:?} for scope \"{scope}\" (OIDC Core §5.4)",
        released.keys().collect::<Vec<_>>());
    let client = state.client(claims.client_id.as_str()).await?;
    let signed = client
        .as_ref()
        .and_then(|client| client.metadata.userinfo_signed_response_alg);
    let encrypted = client
        .as_ref()
        .and_then(RegisteredClient::userinfo_encryption);
    let mut response = match (client, signed.is_some() || encrypted.is_some()) {
        (Some(client), true) => {
            let jwt = protected_userinfo(state, &client, released, signed, encrypted).await?;
            ([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response()
        }
        _ => Json(released).into_response(),
    };
    no_store(&mut response);
    Ok(response)
}

/// OIDC Core §5.3.2: UserInfo as a JWT signed by the provider (with `iss` and `aud`), then
/// encrypted to the client's key (nested, `cty: JWT`), or only one of the two.
async fn protected_userinfo(
    state: &AppState,
    client: &RegisteredClient,
    mut released: serde_json::Map<String, serde_json::Value>,
    signed: Option<keys::SigningAlg>,
    encrypted: Option<(KeyManagement, ContentEncryption)>,
) -> Result<String, BearerError> {
    let (payload, content_type) = match signed {
        Some(alg) => {
            released.insert("iss".into(), state.issuer.as_str().into());
            released.insert("aud".into(), client.client_id.as_str().into());
            let published = state.published();
            let key = published.keys.active(alg).ok_or_else(|| {
                Error::internal(
                    "signing UserInfo",
                    format!("no active {} key", alg.as_str()),
                )
            })?;
            let jwt = key
                .sign("JWT", &released)
                .map_err(|error| Error::internal("signing UserInfo", error))?;
            (jwt.into_bytes(), Some("JWT"))
        }
        None => (
            serde_json::to_vec(&released)
                .map_err(|error| Error::internal("serialising UserInfo", error))?,
            None,
        ),
    };
    let Some((alg, enc)) = encrypted else {
        tracing::info!(target: FLOW, "userinfo: answered as a signed JWT (application/jwt, OIDC Core §5.3.2)");
        return String::from_utf8(payload)
            .map_err(|error| Error::internal("signing UserInfo", error).into());
    };
    let key = encryption_key(state, client, alg).await.map_err(|_| {
        BearerError::OAuth(OAuthError::invalid_request(
            "UserInfo cannot be encrypted: the client's registered keys hold no usable encryption key",
        ))
    })?;
    let jwe = keys::jwe::encrypt(&payload, content_type, &key, alg, enc)
        .map_err(|error| Error::internal("encrypting UserInfo", error))?;
    tracing::info!(target: FLOW, "userinfo: answered {}encrypted to the client's key ({}, {}; OIDC Core §5.3.2)",
        if signed.is_some() { "signed, then " } else { "" }, alg.as_str(), enc.as_str());
    Ok(jwe)
}

#[cfg(test)]
mod tests {
    use crate::protocol::claims::{UserProfile, userinfo_claims};
    use crate::protocol::scope::ScopeSet;
    use crate::protocol::types::Subject;

    /// Every claim UserInfo can release is documented in `UserInfo`.
    #[test]
    fn released_claims_are_documented() {
        let profile = UserProfile {
            subject: Subject("sub".into()),
            username: "alice".into(),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            email_verified: true,
        };
        let scope = ScopeSet::parse("openid profile email").unwrap();
        let claims = serde_json::Value::Object(userinfo_claims(&profile, &scope));
        crate::http::docs::assert_documented(&claims, "UserInfo");
    }
}
