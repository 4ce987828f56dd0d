//! Nine attacks on the flow, each played for real against the running servers and expected to
//! be refused for one specific reason. A refusal for another reason does not count.

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::Error;
use crate::api::{self, ApiCall, ApiResponse};
use crate::jwt;
use crate::oidc::OidcClient;
use crate::oidc::authorize::{AuthorizeOptions, PendingAuthorization};
use crate::oidc::callback::AuthorizationCode;
use crate::oidc::token::{AccessToken, IdToken};
use crate::pkce::CodeVerifier;
use crate::timeline::{Exchange, Lane, Outcome, Timeline};
use crate::walkthrough::Verdict;
use crate::walkthrough::browser::{Browser, Landing, User};

/// The attack scenarios of `--attacks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attack {
    /// Redeem a stolen code without the right PKCE verifier.
    WrongPkceVerifier,
    /// Redeem the same code twice.
    ReusedAuthorizationCode,
    /// Ask the provider to send the code to an unregistered redirect URI.
    UnregisteredRedirectUri,
    /// Change a claim of a valid access token.
    TamperedAccessToken,
    /// Use an access token after its `exp`.
    ExpiredAccessToken,
    /// Present an unsigned token (`alg: none`).
    AlgNone,
    /// Present the ID token as an access token.
    IdTokenAsAccessToken,
    /// Write with a token that has only `api:read`.
    InsufficientScope,
    /// Use a refresh token again after it was rotated.
    RefreshTokenReuse,
    /// `--flow resource`: send API B a token made for API A.
    TokenForAnotherApi,
    /// `--flow resource`: ask for a token for an unregistered resource.
    UnregisteredResource,
    /// `--flow resource`: replay a captured client assertion.
    ReplayedClientAssertion,
    /// `--flow dpop`: replay a captured DPoP proof.
    ReplayedDpopProof,
    /// `--flow dpop`: use a DPoP-bound token without its key.
    DpopTokenWithoutKey,
    /// `--flow token-exchange`: an exchange the policy forbids.
    ForbiddenExchange,
}

impl Attack {
    /// Every scenario, in the order shown.
    pub const ALL: [Attack; 9] = [
        Attack::WrongPkceVerifier,
        Attack::ReusedAuthorizationCode,
        Attack::UnregisteredRedirectUri,
        Attack::TamperedAccessToken,
        Attack::ExpiredAccessToken,
        Attack::AlgNone,
        Attack::IdTokenAsAccessToken,
        Attack::InsufficientScope,
        Attack::RefreshTokenReuse,
    ];

    /// Heading.
    pub fn title(self) -> &'static str {
        match self {
            Attack::WrongPkceVerifier => "A stolen code without the PKCE verifier",
            Attack::ReusedAuthorizationCode => "Replaying an authorization code",
            Attack::UnregisteredRedirectUri => "Sending the code to an unregistered redirect_uri",
            Attack::TamperedAccessToken => "A tampered access token",
            Attack::ExpiredAccessToken => "An expired access token",
            Attack::AlgNone => "An unsigned token (alg none)",
            Attack::IdTokenAsAccessToken => "The ID token used as an access token",
            Attack::InsufficientScope => "Writing with a read-only token",
            Attack::RefreshTokenReuse => "Reusing a rotated refresh token",
            Attack::TokenForAnotherApi => "A token for API A sent to API B",
            Attack::UnregisteredResource => "A token for an API that is not registered",
            Attack::ReplayedClientAssertion => "Replaying a client assertion",
            Attack::ReplayedDpopProof => "Replaying a DPoP proof",
            Attack::DpopTokenWithoutKey => "A DPoP-bound token without its key",
            Attack::ForbiddenExchange => "A token exchange the policy forbids",
        }
    }

    /// What the attacker does and which defence stops it.
    pub fn intro(self) -> &'static str {
        match self {
            Attack::WrongPkceVerifier => {
                "An attacker who intercepted a code (a malicious app on the same device, a log, a Referer) \
                tries to redeem it. Without the code_verifier whose hash was sent in the authorization request the \
                provider must refuse with invalid_grant (RFC 7636 §4.6)."
            }
            Attack::ReusedAuthorizationCode => {
                "Codes are one-time. A second redemption means the code leaked, so the provider refuses \
                it with invalid_grant and revokes the tokens already issued from it (RFC 6749 §4.1.2, §10.5)."
            }
            Attack::UnregisteredRedirectUri => {
                "The attacker builds an authorization request for the real client but with their own \
                redirect_uri. The provider compares it exactly with the registered ones and, since it cannot trust it, \
                shows an error page instead of redirecting (RFC 6749 §4.1.2.1, §10.6; RFC 9700 §4.1)."
            }
            Attack::TamperedAccessToken => {
                "The attacker edits the payload of a valid access token (here: sub) and keeps the \
                signature. The resource server verifies the signature over header and payload, so it answers 401 \
                invalid_token (RFC 6750 §3.1, RFC 9068 §4)."
            }
            Attack::ExpiredAccessToken => {
                "A token used after exp must be refused (RFC 9068 §4, RFC 7519 §4.1.4). A real expired \
                token would need waiting, so the walkthrough verifies the real access token against the provider's JWKS \
                with the clock moved past exp, as the resource server would then."
            }
            Attack::AlgNone => {
                "The attacker sends a token with header alg none and no signature (RFC 7519 §6). A verifier that \
                trusted the header's alg would accept it; ours has an allow-list of asymmetric algorithms (RFC 8725 §3.1)."
            }
            Attack::IdTokenAsAccessToken => {
                "An ID token is signed by the same provider with the same keys, but it is meant for \
                the client, not the API. Access tokens carry typ at+jwt, ID tokens do not, so the resource server refuses \
                it (RFC 9068 §4, RFC 8725 §3.11)."
            }
            Attack::InsufficientScope => {
                "A token granted only openid api:read tries to write a note. The token is valid, so \
                the answer is 403 insufficient_scope naming the missing scope (RFC 6750 §3.1)."
            }
            Attack::RefreshTokenReuse => {
                "Refresh tokens rotate. If a spent one comes back, either the client or an attacker has \
                a copy; the provider cannot tell which, so it refuses with invalid_grant and revokes the whole family: \
                even the newest refresh token stops working (RFC 9700 §4.14.2, OAuth 2.1 §4.3.1)."
            }
            Attack::TokenForAnotherApi => {
                "Tokens for the second API are valid tokens of the same provider. Sent to the notes API, \
                the audience check refuses it: aud must name this resource (RFC 8707 §2, RFC 9068 §4)."
            }
            Attack::UnregisteredResource => {
                "The client asks for a token for an API the provider has no record of. The provider \
                answers invalid_target and issues nothing (RFC 8707 §2)."
            }
            Attack::ReplayedClientAssertion => {
                "Someone who captured the client's signed assertion sends it again within its minute of \
                validity. The provider remembers every jti until the assertion expires and refuses a second use \
                (RFC 7523 §3)."
            }
            Attack::ReplayedDpopProof => {
                "An attacker who sees a DPoP request (token and proof) replays it. The resource server \
                remembers each proof's jti and refuses it the second time (RFC 9449 §11.1)."
            }
            Attack::DpopTokenWithoutKey => {
                "A stolen DPoP-bound token, without the private key, cannot make proofs; sent as a plain \
                Bearer token it is refused because it carries cnf.jkt (RFC 9449 §7.1)."
            }
            Attack::ForbiddenExchange => {
                "A client that obtained a user's token tries to exchange it for one of its own. Token \
                exchange is a grant like any other: a client not registered for it gets unauthorized_client \
                (RFC 8693 §2.2.2, RFC 6749 §5.2)."
            }
        }
    }
}

/// What the attacks work with.
pub(crate) struct Context<'a> {
    pub(crate) client: &'a OidcClient,
    pub(crate) browser: &'a Browser,
    pub(crate) user: &'a User<'a>,
    pub(crate) resource: &'a str,
    pub(crate) timeline: &'a Timeline,
    pub(crate) access_token: &'a AccessToken,
    pub(crate) id_token: Option<&'a IdToken>,
}

/// Plays one attack and judges the answer.
pub(crate) async fn run(attack: Attack, context: &Context<'_>) -> anyhow::Result<Verdict> {
    match attack {
        Attack::WrongPkceVerifier => wrong_pkce_verifier(context).await,
        Attack::ReusedAuthorizationCode => reused_code(context).await,
        Attack::UnregisteredRedirectUri => unregistered_redirect_uri(context).await,
        Attack::TamperedAccessToken => tampered_access_token(context).await,
        Attack::ExpiredAccessToken => expired_access_token(context).await,
        Attack::AlgNone => alg_none(context).await,
        Attack::IdTokenAsAccessToken => id_token_as_access_token(context).await,
        Attack::InsufficientScope => insufficient_scope(context).await,
        Attack::RefreshTokenReuse => refresh_token_reuse(context).await,
        // Played by their own flows (`walkthrough/flows.rs`).
        Attack::TokenForAnotherApi
        | Attack::UnregisteredResource
        | Attack::ReplayedClientAssertion
        | Attack::ReplayedDpopProof
        | Attack::DpopTokenWithoutKey
        | Attack::ForbiddenExchange => bail!("{} belongs to another --flow", attack.title()),
    }
}

/// A fresh sign-in through the browser (the provider session makes it silent).
async fn fresh_code(
    context: &Context<'_>,
    options: &AuthorizeOptions,
) -> anyhow::Result<(PendingAuthorization, AuthorizationCode)> {
    let (pending, url) = context.client.begin(options, context.timeline);
    match context
        .browser
        .authorize(&url, &pending.redirect_uri, context.user)
        .await?
    {
        Landing::Redirected(location) => {
            let query = location
                .split_once('?')
                .map(|(_, query)| query)
                .unwrap_or_default();
            let code = context
                .client
                .check_callback(&pending.state, query, context.timeline)?;
            Ok((pending, code))
        }
        Landing::Page {
            status, summary, ..
        } => bail!("setting up the attack: the provider answered {status} {summary}"),
    }
}

/// `Refused` when `result` is the OAuth error `expected`, else what happened instead.
fn expect_oauth_error<T>(result: &Result<T, Error>, expected: &str) -> Result<String, String> {
    match result {
        Err(Error::OAuth {
            error,
            description,
            status,
            ..
        }) if error == expected => Ok(format!(
            "HTTP {status} {error}: {}",
            description.as_deref().unwrap_or("(no description)")
        )),
        Err(other) => Err(format!(
            "refused, but not with {expected}: {}",
            other.public_description()
        )),
        Ok(_) => Err("the request succeeded".to_owned()),
    }
}

/// `Refused` when the API answered `status` with `code` and a description containing `hint`.
fn expect_api_refusal(response: &ApiResponse, status: u16, code: &str, hint: &str) -> Verdict {
    let description = response.error_description().unwrap_or_default();
    let right_reason = response.status == status
        && response.error_code() == Some(code)
        && description.to_ascii_lowercase().contains(hint);
    let observed = format!(
        "HTTP {} {}: {}",
        response.status,
        response.error_code().unwrap_or("(no error code)"),
        if description.is_empty() {
            "(no description)"
        } else {
            description
        }
    );
    if right_reason {
        Verdict::Refused(observed)
    } else if response.is_success() {
        Verdict::NotRefused(format!("the resource server accepted it: {observed}"))
    } else {
        Verdict::NotRefused(format!(
            "refused for another reason than expected ({status} {code}, \"{hint}\"): {observed}"
        ))
    }
}

async fn wrong_pkce_verifier(context: &Context<'_>) -> anyhow::Result<Verdict> {
    let (pending, code) = fresh_code(context, &AuthorizeOptions::default()).await?;
    let attacker_verifier = CodeVerifier::generate();
    let result = context
        .client
        .redeem_code(
            &code,
            &attacker_verifier,
            &pending.redirect_uri,
            context.timeline,
        )
        .await;
    Ok(match expect_oauth_error(&result, "invalid_grant") {
        Ok(observed) => Verdict::Refused(format!(
            "{observed} (SHA-256 of the attacker's verifier ≠ the code_challenge)"
        )),
        Err(instead) => Verdict::NotRefused(instead),
    })
}

async fn reused_code(context: &Context<'_>) -> anyhow::Result<Verdict> {
    let (pending, code) = fresh_code(context, &AuthorizeOptions::default()).await?;
    let first = context
        .client
        .redeem_code(
            &code,
            &pending.verifier,
            &pending.redirect_uri,
            context.timeline,
        )
        .await
        .context("the first redemption must succeed")?;
    let second = context
        .client
        .redeem_code(
            &code,
            &pending.verifier,
            &pending.redirect_uri,
            context.timeline,
        )
        .await;
    let replay = match expect_oauth_error(&second, "invalid_grant") {
        Ok(observed) => observed,
        Err(instead) => return Ok(Verdict::NotRefused(instead)),
    };
    // The tokens of the first redemption are revoked: its refresh token no longer works.
    let Some(refresh_token) = &first.refresh_token else {
        return Ok(Verdict::NotRefused(format!(
            "{replay}, but no refresh token to show the revocation"
        )));
    };
    let after = context
        .client
        .refresh_tokens(refresh_token, None, context.timeline)
        .await;
    Ok(match expect_oauth_error(&after, "invalid_grant") {
        Ok(revoked) => Verdict::Refused(format!(
            "replay: {replay}; and the refresh token issued from the code is revoked: {revoked}"
        )),
        Err(instead) => Verdict::NotRefused(format!(
            "{replay}, but the tokens were not revoked: {instead}"
        )),
    })
}

async fn unregistered_redirect_uri(context: &Context<'_>) -> anyhow::Result<Verdict> {
    const ATTACKER: &str = "http://127.0.0.1:9/attacker/callback";
    let options = AuthorizeOptions {
        redirect_uri: Some(ATTACKER.to_owned()),
        ..AuthorizeOptions::default()
    };
    let (pending, url) = context.client.begin(&options, context.timeline);
    Ok(
        match context
            .browser
            .authorize(&url, &pending.redirect_uri, context.user)
            .await?
        {
            Landing::Page {
                status,
                has_location: false,
                summary,
            } if status == 400 => Verdict::Refused(format!(
                "HTTP {status}, {summary}, no Location header: the code never goes to {ATTACKER}"
            )),
            Landing::Page {
                status,
                summary,
                has_location,
            } => Verdict::NotRefused(format!(
                "expected a 400 error page without redirect, got HTTP {status} {summary} (Location: {has_location})"
            )),
            Landing::Redirected(location) => Verdict::NotRefused(format!(
                "the provider redirected to {}",
                crate::timeline::mask::location(&location)
            )),
        },
    )
}

/// Replaces the payload's `sub` and keeps header and signature.
fn tamper(token: &str) -> anyhow::Result<String> {
    let mut parts = token.splitn(3, '.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        bail!("the access token is not a JWT");
    };
    let mut claims = jwt::decode_part(payload).context("the access token payload is not JSON")?;
    claims["sub"] = Value::String("attacker".into());
    let forged = jwt::encode_part(serde_json::to_vec(&claims)?);
    Ok(format!("{header}.{forged}.{signature}"))
}

async fn call_api_with(
    context: &Context<'_>,
    token: &str,
    call: &ApiCall,
    title: &str,
    explanation: &str,
) -> anyhow::Result<ApiResponse> {
    Ok(api::call_explained(
        context.client.http(),
        context.resource,
        token,
        call,
        title,
        explanation,
        context.timeline,
    )
    .await?)
}

async fn tampered_access_token(context: &Context<'_>) -> anyhow::Result<Verdict> {
    let forged = tamper(context.access_token.expose())?;
    let response = call_api_with(
        context,
        &forged,
        &ApiCall::Me,
        "GET /api/me with sub changed to \"attacker\"",
        "The attacker sends the edited token. The signature was made over the original header and payload, so it no longer verifies.",
    )
    .await?;
    Ok(expect_api_refusal(
        &response,
        401,
        "invalid_token",
        "signature",
    ))
}

async fn expired_access_token(context: &Context<'_>) -> anyhow::Result<Verdict> {
    // The resource server's leeway for clock skew.
    let leeway = resource::DEFAULT_LEEWAY.as_secs();
    let claims =
        crate::jwt::decode(context.access_token.expose()).context("the access token is a JWT")?;
    let exp = claims
        .payload
        .get("exp")
        .and_then(Value::as_u64)
        .context("the access token has no exp")?;
    let moved_clock = exp + 2 * leeway;
    // The resource crate's own verifier, pointed at the same issuer and audience as the API,
    // asked what it would answer when its clock reads exp + 60 s.
    let verifier = resource::Verifier::new(resource::VerifierConfig::new(
        context.client.issuer(),
        resource::demo::DEFAULT_AUDIENCE,
    ))
    .await
    .context("a resource verifier for the provider")?;
    let now_verdict = verifier.verify(context.access_token.expose()).await;
    let later_verdict = verifier
        .verify_at(context.access_token.expose(), moved_clock)
        .await;
    let refused = now_verdict.is_ok() && later_verdict.is_err();
    let note = Exchange::note(Lane::Resource, "Verify the access token with the clock past exp")
        .explain(
            "The resource crate's Verifier checks the same token twice: now, and as if its clock read exp + 60 s. \
             The signature is fine both times; the time is not.",
            "RFC 9068 §4, RFC 7519 §4.1.4",
        )
        .with_note(format!("now: {}", if now_verdict.is_ok() { "accepted" } else { "refused" }))
        .with_note(match &later_verdict {
            Ok(_) => format!("at exp + {} s: accepted", moved_clock - exp),
            Err(error) => format!("at exp + {} s (leeway {leeway} s): refused, {}", moved_clock - exp, error.description()),
        })
        .with_outcome(if refused { Outcome::Refused } else { Outcome::Ok });
    context.timeline.record(note);
    Ok(match later_verdict {
        Err(error) if refused => Verdict::Refused(format!(
            "exp passed {} s ago (more than the {leeway} s leeway): the resource server answers 401 {} \"{}\". \
             Clients refresh before exp instead",
            moved_clock - exp,
            error.code().as_str().unwrap_or("invalid_token"),
            error.description()
        )),
        _ => Verdict::NotRefused("the verifier did not refuse the token after exp".into()),
    })
}

async fn alg_none(context: &Context<'_>) -> anyhow::Result<Verdict> {
    let token = context.access_token.expose();
    let payload = token
        .split('.')
        .nth(1)
        .context("the access token is not a JWT")?;
    let header = jwt::encode_part(br#"{"alg":"none","typ":"at+jwt"}"#);
    let unsigned = format!("{header}.{payload}.");
    let response = call_api_with(
        context,
        &unsigned,
        &ApiCall::Me,
        "GET /api/me with alg none, no signature",
        "The attacker sends the real claims under a header that says alg none, with an empty signature part.",
    )
    .await?;
    Ok(expect_api_refusal(
        &response,
        401,
        "invalid_token",
        "algorithm",
    ))
}

async fn id_token_as_access_token(context: &Context<'_>) -> anyhow::Result<Verdict> {
    let id_token = context.id_token.context("no ID token to misuse")?;
    let response = call_api_with(
        context,
        id_token.expose(),
        &ApiCall::Me,
        "GET /api/me with the ID token as Bearer",
        "The ID token is validly signed by the provider, but its typ is JWT, not at+jwt, and its aud is the client.",
    )
    .await?;
    Ok(expect_api_refusal(&response, 401, "invalid_token", "typ"))
}

async fn insufficient_scope(context: &Context<'_>) -> anyhow::Result<Verdict> {
    let options = AuthorizeOptions {
        scope: Some("openid api:read".to_owned()),
        ..AuthorizeOptions::default()
    };
    let (pending, code) = fresh_code(context, &options).await?;
    let tokens = context
        .client
        .redeem_code(
            &code,
            &pending.verifier,
            &pending.redirect_uri,
            context.timeline,
        )
        .await
        .context("getting a read-only token")?;
    let response = call_api_with(
        context,
        tokens.access_token.expose(),
        &ApiCall::CreateNote("should not be written".into()),
        "POST /api/notes with scope openid api:read",
        "The token is valid but was granted only openid api:read; writing needs api:write.",
    )
    .await?;
    let mut verdict = expect_api_refusal(&response, 403, "insufficient_scope", "");
    if let Verdict::Refused(observed) = &verdict
        && response.challenge.scope.as_deref() != Some("api:write")
    {
        verdict = Verdict::NotRefused(format!(
            "{observed}, but the challenge does not name scope=\"api:write\""
        ));
    }
    Ok(verdict)
}

async fn refresh_token_reuse(context: &Context<'_>) -> anyhow::Result<Verdict> {
    let (pending, code) = fresh_code(context, &AuthorizeOptions::default()).await?;
    let tokens = context
        .client
        .redeem_code(
            &code,
            &pending.verifier,
            &pending.redirect_uri,
            context.timeline,
        )
        .await
        .context("getting a refresh token")?;
    let first = tokens
        .refresh_token
        .context("no refresh token (offline_access)")?;
    let rotated = context
        .client
        .refresh_tokens(&first, None, context.timeline)
        .await
        .context("the first refresh must succeed")?;
    let newest = rotated
        .refresh_token
        .context("the refresh did not rotate the refresh token")?;
    let reuse = context
        .client
        .refresh_tokens(&first, None, context.timeline)
        .await;
    let reuse = match expect_oauth_error(&reuse, "invalid_grant") {
        Ok(observed) => observed,
        Err(instead) => {
            return Ok(Verdict::NotRefused(format!(
                "reusing the spent refresh token: {instead}"
            )));
        }
    };
    let family = context
        .client
        .refresh_tokens(&newest, None, context.timeline)
        .await;
    Ok(match expect_oauth_error(&family, "invalid_grant") {
        Ok(observed) => Verdict::Refused(format!(
            "reuse: {reuse}; and the newest refresh token is revoked too: {observed}"
        )),
        Err(instead) => Verdict::NotRefused(format!(
            "{reuse}, but the family was not revoked: {instead}"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_keeps_header_and_signature() {
        let token = format!(
            "{}.{}.sig",
            jwt::encode_part(br#"{"alg":"RS256"}"#),
            jwt::encode_part(br#"{"sub":"alice","scope":"api:read"}"#)
        );
        let forged = tamper(&token).unwrap();
        let decoded = jwt::decode(&forged).unwrap();
        assert_eq!(decoded.claim_str("sub"), Some("attacker"));
        assert_eq!(decoded.claim_str("scope"), Some("api:read"));
        assert!(forged.starts_with(token.split('.').next().unwrap()));
        assert!(forged.ends_with(".sig"));
    }

    #[test]
    fn every_attack_has_a_title_and_an_intro() {
        for attack in Attack::ALL {
            assert!(!attack.title().is_empty());
            assert!(attack.intro().contains("RFC"), "{attack:?}");
        }
    }
}
