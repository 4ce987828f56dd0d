//! RFC 6749 §4.1.1 / OIDC Core §3.1.2 authorization requests, validated in two stages, and the
//! decision what the user must do next (log in, consent, or nothing).
//!
//! Stage one ([`validate_client_redirect`]) checks `client_id` and `redirect_uri`. Until both
//! are valid, errors must be shown to the user and never redirected (RFC 6749 §4.1.2.1).
//! Stage two ([`validate_authorize`]) checks everything else; its errors go back to the client
//! as an error response on the now-trusted redirect URI.

use serde::{Deserialize, Serialize};

use crate::protocol::claims::ACR_MFA;
use crate::protocol::client::{GrantType, RegisteredClient};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::pkce::CodeChallenge;
use crate::protocol::redirect_uri::{RedirectUri, is_registered_redirect_uri};
use crate::protocol::resource::{Registry, Resources};
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{ClientId, Issuer, Subject, UnixTime};

const MAX_STATE_LEN: usize = 2048;
const MAX_NONCE_LEN: usize = 512;

/// OIDC Core §3.1.2.1 `prompt` values we honour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// `none`: no UI at all; fail with `login_required` / `consent_required` instead.
    pub none: bool,
    /// `login`: re-authenticate even with a live session.
    pub login: bool,
    /// `consent`: ask for consent even if it was given before.
    pub consent: bool,
}

impl Prompt {
    /// Parses the space-separated list. `none` combined with anything is `invalid_request`.
    pub fn parse(raw: Option<&str>) -> Result<Self, OAuthError> {
        let mut prompt = Prompt::default();
        let mut count = 0;
        for value in raw.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
            count += 1;
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                // OIDC Core lists it; with one account per browser session it changes nothing.
                "select_account" => {}
                _ => {
                    return Err(OAuthError::invalid_request(
                        "prompt has a value this provider does not support",
                    ));
                }
            }
        }
        if prompt.none && count > 1 {
            return Err(OAuthError::invalid_request(
                "prompt=none must not be combined with other values",
            ));
        }
        Ok(prompt)
    }
}

/// A fully validated authorization request, kept while the user logs in and consents.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The requesting client.
    pub client_id: ClientId,
    /// The validated redirect URI, which the token request must repeat.
    pub redirect_uri: RedirectUri,
    /// Requested scope (a subset of the client's allowed scope).
    pub scope: ScopeSet,
    /// Opaque client state, echoed back.
    pub state: Option<String>,
    /// OIDC nonce, bound into the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: CodeChallenge,
    /// Parsed `prompt`.
    pub prompt: Prompt,
    /// `max_age` in seconds: re-authenticate when the session is older.
    pub max_age: Option<u64>,
    /// `login_hint`, used to pre-fill the user name.
    pub login_hint: Option<String>,
    /// The `sub` of a valid `id_token_hint`.
    pub id_token_hint_sub: Option<Subject>,
    /// The resources (RFC 8707 `resource`, repeatable; else the client's default) the user is
    /// asked to grant access to. Stored as `audience`, its name before the registry.
    #[serde(rename = "audience")]
    pub resources: Resources,
    /// RFC 9449 §10: the code is bound to this DPoP key (its RFC 7638 thumbprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// OIDC Core §3.1.2.1 `acr_values` (else the client's `default_acr_values`): `2` asks for a
    /// sign-in with a second factor (step-up).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
}

impl AuthorizationRequest {
    /// The request asks for a second factor (`acr_values` holds [`ACR_MFA`]).
    pub fn wants_mfa(&self) -> bool {
        self.acr_values.iter().any(|value| value == ACR_MFA)
    }
}

/// Stage one: the client and redirect URI. `client` is what the store found for `client_id`.
///
/// Every error here must be rendered to the user, never redirected.
pub fn validate_client_redirect(
    params: &Params,
    client: Option<&RegisteredClient>,
) -> Result<RedirectUri, OAuthError> {
    params.required("client_id", "client_id is missing")?;
    let client = client.ok_or(OAuthError::new(
        ErrorCode::InvalidClient,
        "client_id does not name a registered client",
    ))?;
    let raw = params.required(
        "redirect_uri",
        "redirect_uri is missing; OpenID Connect requires it on every authorization request",
    )?;
    let redirect_uri = RedirectUri::parse(raw)?;
    if !is_registered_redirect_uri(
        &client.metadata.redirect_uris,
        &redirect_uri,
        client.loopback_rule(),
    ) {
        return Err(OAuthError::invalid_request(
            "redirect_uri is not registered for this client (exact match required)",
        ));
    }
    Ok(redirect_uri)
}

/// How an authorization request reached the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestSource {
    /// In the browser's query string or form body.
    Direct,
    /// A signed request object (RFC 9101) passed by value, verified: its claims are the
    /// parameters.
    Object,
    /// Pushed by the authenticated client first (RFC 9126), or being pushed now.
    Pushed,
}

/// Stage two: everything else (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1, RFC 8707,
/// RFC 9126 §6).
///
/// `verify_id_token_hint` checks a presented `id_token_hint` (signature by us, audience this
/// client; expiry does not matter) and returns its subject.
pub fn validate_authorize(
    params: &Params,
    client: &RegisteredClient,
    registry: &Registry,
    redirect_uri: RedirectUri,
    source: RequestSource,
    verify_id_token_hint: impl FnOnce(&str) -> Result<Subject, OAuthError>,
) -> Result<AuthorizationRequest, OAuthError> {
    if client.metadata.require_pushed_authorization_requests && source != RequestSource::Pushed {
        return Err(OAuthError::invalid_request(
            "this client must push its authorization requests (RFC 9126 §6)",
        ));
    }
    if params.contains("request") {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported; send plain parameters or use PAR",
        ));
    }
    // A pushed request was held to this when it was pushed (`/par` checks it).
    if client.metadata.require_signed_request_object && source == RequestSource::Direct {
        return Err(OAuthError::invalid_request(
            "this client must send its authorization requests as signed request objects (RFC 9101 §10.5)",
        ));
    }
    match params.single("response_type")? {
        None => return Err(OAuthError::invalid_request("response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported (OAuth 2.1 removed the implicit flow)",
            ));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for the authorization code grant",
        ));
    }
    match params.single("response_mode")? {
        None | Some("query") => {}
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "only response_mode=query is supported",
            ));
        }
    }
    let scope = ScopeSet::parse(params.single("scope")?.unwrap_or_default())?;
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "scope is missing; request at least openid",
        ));
    }
    if !scope.is_subset_of(client.allowed_scope()) {
        return Err(OAuthError::invalid_scope(
            "scope includes a scope this client may not request",
        ));
    }
    let code_challenge = CodeChallenge::parse(
        params.single("code_challenge")?,
        params.single("code_challenge_method")?,
    )?;
    let state = bounded(params.single("state")?, MAX_STATE_LEN, "state is too long")?;
    let nonce = bounded(params.single("nonce")?, MAX_NONCE_LEN, "nonce is too long")?;
    let prompt = Prompt::parse(params.single("prompt")?)?;
    let max_age = params
        .single("max_age")?
        .map(|raw| {
            raw.parse::<u64>()
                .map_err(|_| OAuthError::invalid_request("max_age must be a non-negative integer"))
        })
        .transpose()?;
    let login_hint = bounded(params.single("login_hint")?, 256, "login_hint is too long")?;
    let id_token_hint_sub = params
        .single("id_token_hint")?
        .map(verify_id_token_hint)
        .transpose()?;
    let resources = registry.authorize(client, &params.all("resource"))?;
    let acr_values = match bounded(params.single("acr_values")?, 256, "acr_values is too long")? {
        Some(values) => values.split_whitespace().map(str::to_owned).collect(),
        None => client.metadata.default_acr_values.clone(),
    };
    let dpop_jkt = params
        .single("dpop_jkt")?
        .map(|jkt| {
            is_jkt(jkt)
                .then(|| jkt.to_owned())
                .ok_or(OAuthError::invalid_request(
                    "dpop_jkt must be a base64url SHA-256 JWK thumbprint (RFC 9449 §10)",
                ))
        })
        .transpose()?;
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        scope,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
        id_token_hint_sub,
        resources,
        dpop_jkt,
        acr_values,
    })
}

/// RFC 9449 `dpop_jkt`: an RFC 7638 SHA-256 thumbprint, base64url (43 characters).
pub fn is_jkt(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

fn bounded(
    value: Option<&str>,
    max: usize,
    too_long: &'static str,
) -> Result<Option<String>, OAuthError> {
    match value {
        Some(value) if value.len() > max => Err(OAuthError::invalid_request(too_long)),
        other => Ok(other.map(str::to_owned)),
    }
}

/// The signed-in user as the authorization endpoint sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// The user.
    pub subject: Subject,
    /// OIDC Core §2 `auth_time`: when the user last entered credentials.
    pub auth_time: UnixTime,
    /// Back-Channel Logout §2.1 `sid`: the SSO session (absent for grants made without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// OIDC Core §2 / RFC 8176 `amr`: how the user signed in (`pwd`; `otp` and `mfa` after a
    /// second factor).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// What has already happened in this authorization interaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InteractionProgress {
    /// The user entered credentials during this interaction.
    pub logged_in: bool,
    /// The user pressed Allow during this interaction.
    pub consented: bool,
}

/// What the authorization endpoint must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Show the login form.
    Login,
    /// Show the consent page for this user.
    Consent(Authentication),
    /// Issue the code now.
    IssueCode(Authentication),
}

/// OIDC Core §3.1.2.3-4: decides between login, consent and issuing the code.
///
/// - Login is needed without a session, with `prompt=login`, when the session is older than
///   `max_age`, when `id_token_hint` names another user, or when `acr_values` asks for a
///   second factor the session did not use (step-up; a user without one signs in with the
///   password again and the ID token says `acr` 1). With `prompt=none` that is
///   `login_required` instead.
/// - Consent is needed with `prompt=consent`, or when the requested scope is not covered: by a
///   remembered consent, or (first-party clients) implicitly for everything but
///   `offline_access`, which OIDC Core §11 wants explicitly consented. With `prompt=none` that is
///   `consent_required`.
pub fn next_step(
    request: &AuthorizationRequest,
    client: &RegisteredClient,
    session: Option<&Authentication>,
    remembered_consent: Option<&ScopeSet>,
    progress: InteractionProgress,
    now: UnixTime,
) -> Result<NextStep, OAuthError> {
    let must_login = match session {
        None => true,
        Some(_) if progress.logged_in => false,
        Some(auth) => {
            request.prompt.login
                || request
                    .max_age
                    .is_some_and(|max_age| is_session_too_old(auth, max_age, now))
                || request
                    .id_token_hint_sub
                    .as_ref()
                    .is_some_and(|hint| *hint != auth.subject)
                // Step-up: a second factor is asked for and this session has none.
                || (request.wants_mfa() && !auth.amr.iter().any(|method| method == "mfa"))
        }
    };
    let authentication = match (must_login, session) {
        (false, Some(auth)) => auth.clone(),
        _ if request.prompt.none => {
            return Err(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user is not signed in and prompt=none forbids asking",
            ));
        }
        _ => return Ok(NextStep::Login),
    };
    let covered = remembered_consent.is_some_and(|granted| request.scope.is_subset_of(granted))
        || (client.metadata.first_party && !request.scope.contains("offline_access"));
    let must_consent = !progress.consented && (request.prompt.consent || !covered);
    if must_consent {
        if request.prompt.none {
            return Err(OAuthError::new(
                ErrorCode::ConsentRequired,
                "consent is needed and prompt=none forbids asking",
            ));
        }
        return Ok(NextStep::Consent(authentication));
    }
    Ok(NextStep::IssueCode(authentication))
}

/// OIDC Core §3.1.2.1 `max_age`: re-authenticate when more than `max_age` seconds have passed
/// since the user authenticated. `max_age=0` always forces a login (the OpenID Connect working
/// group reads it as `prompt=login`); with whole-second clocks `elapsed > 0` would miss logins
/// made in the same second.
pub fn is_session_too_old(auth: &Authentication, max_age: u64, now: UnixTime) -> bool {
    let elapsed = now.0.saturating_sub(auth.auth_time.0);
    max_age == 0 || elapsed > i64::try_from(max_age).unwrap_or(i64::MAX)
}

/// RFC 6749 §4.1.2 / RFC 9207: the success response URL: `code`, `state` and `iss` added to the
/// redirect URI's query, keeping any query it was registered with.
pub fn success_redirect(
    redirect_uri: &RedirectUri,
    code: &str,
    state: Option<&str>,
    issuer: &Issuer,
) -> String {
    with_query(
        redirect_uri,
        &[
            ("code", Some(code)),
            ("state", state),
            ("iss", Some(issuer.as_str())),
        ],
    )
}

/// RFC 6749 §4.1.2.1 / RFC 9207: the error response URL.
pub fn error_redirect(
    redirect_uri: &RedirectUri,
    error: &OAuthError,
    state: Option<&str>,
    issuer: &Issuer,
) -> String {
    with_query(
        redirect_uri,
        &[
            ("error", Some(error.code.as_str())),
            ("error_description", Some(error.description)),
            ("state", state),
            ("iss", Some(issuer.as_str())),
        ],
    )
}

fn with_query(redirect_uri: &RedirectUri, pairs: &[(&str, Option<&str>)]) -> String {
    match url::Url::parse(redirect_uri.as_str()) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (name, value) in pairs {
                    if let Some(value) = value {
                        query.append_pair(name, value);
                    }
                }
            }
            url.to_string()
        }
        // RedirectUri::parse already proved the URI parses; keep it unchanged if not.
        Err(_) => redirect_uri.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client::tests::client;
    use crate::protocol::resource::tests::sample_registry;

    /// Parameter changes applied to the base request: `None` removes the parameter.
    type Changes = &'static [(&'static str, Option<&'static str>)];

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("client_id", "demo-web"),
            ("redirect_uri", "https://app.example.com/callback"),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "af0ifjsldkj"),
            ("nonce", "n-0S6_WzA2Mj"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
    }

    fn with(changes: &[(&'static str, Option<&'static str>)]) -> Params {
        let mut pairs = base();
        for (name, value) in changes {
            pairs.retain(|(key, _)| key != name);
            if let Some(value) = value {
                pairs.push((name, value));
            }
        }
        Params::from_pairs(pairs)
    }

    fn no_hint(_: &str) -> Result<Subject, OAuthError> {
        Err(OAuthError::invalid_request("id_token_hint is not valid"))
    }

    fn validate(params: &Params) -> Result<AuthorizationRequest, OAuthError> {
        let client = client("demo-web", Some("secret"));
        let redirect = validate_client_redirect(params, Some(&client))?;
        validate_authorize(
            params,
            &client,
            &sample_registry(),
            redirect,
            RequestSource::Direct,
            no_hint,
        )
    }

    #[test]
    fn clients_that_must_sign_are_refused_plain_requests() {
        let mut client = client("demo-web", Some("secret"));
        client.metadata.require_signed_request_object = true;
        let params = with(&[]);
        let redirect = validate_client_redirect(&params, Some(&client)).unwrap();
        let outcome = |source| {
            validate_authorize(
                &params,
                &client,
                &sample_registry(),
                redirect.clone(),
                source,
                no_hint,
            )
            .map(|_| ())
            .map_err(|error| error.code)
        };
        assert_eq!(
            outcome(RequestSource::Direct),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(outcome(RequestSource::Object), Ok(()));
        // `/par` held the pushed request to the rule when it was pushed.
        assert_eq!(outcome(RequestSource::Pushed), Ok(()));
    }

    #[test]
    fn clients_that_must_push_are_refused_direct_requests() {
        let mut client = client("demo-web", Some("secret"));
        client.metadata.require_pushed_authorization_requests = true;
        let params = with(&[]);
        let redirect = validate_client_redirect(&params, Some(&client)).unwrap();
        let direct = validate_authorize(
            &params,
            &client,
            &sample_registry(),
            redirect.clone(),
            RequestSource::Direct,
            no_hint,
        )
        .unwrap_err();
        assert_eq!(direct.code, ErrorCode::InvalidRequest);
        assert!(
            validate_authorize(
                &params,
                &client,
                &sample_registry(),
                redirect,
                RequestSource::Pushed,
                no_hint
            )
            .is_ok()
        );
    }

    #[test]
    fn valid_request() {
        let request = validate(&with(&[])).unwrap();
        assert_eq!(request.scope.to_string(), "openid profile");
        assert_eq!(request.state.as_deref(), Some("af0ifjsldkj"));
        assert_eq!(request.resources, Resources::one("http://127.0.0.1:8081"));
        let several = [
            ("resource", Some("https://api.example.com")),
            ("resource", Some("http://127.0.0.1:8081")),
        ];
        let params = Params::from_pairs(
            base()
                .into_iter()
                .chain(several.iter().map(|(k, v)| (*k, v.unwrap()))),
        );
        assert_eq!(
            validate(&params).unwrap().resources.to_string(),
            "https://api.example.com http://127.0.0.1:8081",
            "RFC 8707 §2.1: several resources, in order"
        );
    }

    #[test]
    fn stage_one_errors_are_not_redirectable() {
        let client = client("demo-web", Some("secret"));
        let cases: &[(Changes, Option<&RegisteredClient>)] = &[
            (&[("client_id", None)], Some(&client)),
            (&[], None),
            (&[("redirect_uri", None)], Some(&client)),
            (
                &[("redirect_uri", Some("https://evil.example.com/callback"))],
                Some(&client),
            ),
            (
                &[("redirect_uri", Some("https://app.example.com/callback#x"))],
                Some(&client),
            ),
        ];
        for (changes, registered) in cases {
            assert!(
                validate_client_redirect(&with(changes), *registered).is_err(),
                "{changes:?}"
            );
        }
        let duplicated = Params::from_pairs(
            base()
                .into_iter()
                .chain([("redirect_uri", "https://app.example.com/callback")]),
        );
        assert!(validate_client_redirect(&duplicated, Some(&client)).is_err());
    }

    #[test]
    fn stage_two_error_table() {
        use ErrorCode::*;
        let cases: &[(Changes, ErrorCode)] = &[
            (&[("response_type", None)], InvalidRequest),
            (&[("response_type", Some("token"))], UnsupportedResponseType),
            (
                &[("response_type", Some("code id_token"))],
                UnsupportedResponseType,
            ),
            (&[("scope", Some("openid admin"))], InvalidScope),
            (&[("scope", Some("openid api:write"))], InvalidScope),
            (&[("scope", None)], InvalidScope),
            (&[("code_challenge", None)], InvalidRequest),
            (&[("code_challenge_method", Some("plain"))], InvalidRequest),
            (&[("code_challenge_method", None)], InvalidRequest),
            (&[("prompt", Some("none login"))], InvalidRequest),
            (&[("prompt", Some("bogus"))], InvalidRequest),
            (&[("max_age", Some("-1"))], InvalidRequest),
            (&[("max_age", Some("ten"))], InvalidRequest),
            (&[("response_mode", Some("fragment"))], InvalidRequest),
            (&[("request", Some("eyJ..."))], RequestNotSupported),
            (
                &[("resource", Some("https://other.example"))],
                InvalidTarget,
            ),
            (&[("id_token_hint", Some("garbage"))], InvalidRequest),
        ];
        for (changes, expected) in cases {
            let got = validate(&with(changes)).map(|_| ()).map_err(|err| err.code);
            assert_eq!(got, Err(*expected), "{changes:?}");
        }
        let duplicated_scope = Params::from_pairs(base().into_iter().chain([("scope", "openid")]));
        assert_eq!(
            validate(&duplicated_scope).unwrap_err().code,
            InvalidRequest
        );
        // Unknown parameters are ignored (RFC 6749 §3.1).
        assert!(validate(&with(&[("unknown_param", Some("x"))])).is_ok());
    }

    fn auth(subject: &str, auth_time: i64) -> Authentication {
        Authentication {
            amr: Vec::new(),
            subject: Subject(subject.into()),
            auth_time: UnixTime(auth_time),
            sid: None,
        }
    }

    #[test]
    fn next_step_table() {
        let first_party = client("demo-web", Some("secret"));
        let mut third_party = first_party.clone();
        third_party.metadata.first_party = false;
        let now = UnixTime(10_000);
        let alice = auth("u-alice", 9_000);
        let offline = ScopeSet::parse("openid offline_access").unwrap();
        let openid = ScopeSet::parse("openid").unwrap();
        let fresh = InteractionProgress::default();
        let after_login = InteractionProgress {
            logged_in: true,
            consented: false,
        };
        let after_consent = InteractionProgress {
            logged_in: true,
            consented: true,
        };
        struct Case<'a> {
            changes: &'a [(&'static str, Option<&'static str>)],
            client: &'a RegisteredClient,
            session: Option<&'a Authentication>,
            consent: Option<&'a ScopeSet>,
            progress: InteractionProgress,
            expected: Result<NextStep, ErrorCode>,
        }
        let cases = [
            Case {
                changes: &[],
                client: &first_party,
                session: None,
                consent: None,
                progress: fresh,
                expected: Ok(NextStep::Login),
            },
            Case {
                changes: &[],
                client: &first_party,
                session: Some(&alice),
                consent: None,
                progress: fresh,
                expected: Ok(NextStep::IssueCode(alice.clone())),
            },
            Case {
                changes: &[("prompt", Some("none"))],
                client: &first_party,
                session: None,
                consent: None,
                progress: fresh,
                expected: Err(ErrorCode::LoginRequired),
            },
            Case {
                changes: &[("prompt", Some("none"))],
                client: &first_party,
                session: Some(&alice),
                consent: None,
                progress: fresh,
                expected: Ok(NextStep::IssueCode(alice.clone())),
            },
            Case {
                changes: &[("prompt", Some("login"))],
                client: &first_party,
                session: Some(&alice),
                consent: None,
                progress: fresh,
                expected: Ok(NextStep::Login),
            },
            Case {
                changes: &[("prompt", Some("login"))],
                client: &first_party,
                session: Some(&alice),
                consent: None,
                progress: after_login,
                expected: Ok(NextStep::IssueCode(alice.clone())),
            },
            Case {
                changes: &[("max_age", Some("500"))],
                client: &first_party,
                session: Some(&alice),
                consent: None,
                progress: fresh,
                expected: Ok(NextStep::Login),
            },
            Case {
                changes: &[("max_age", Some("5000"))],
                client: &first_party,
                session: Some(&alice),
                consent: None,
                progress: fresh,
                expected: Ok(NextStep::IssueCode(alice.clone())),
            },
            Case {
                changes: &[("prompt", Some("consent"))],
                client: &first_party,
                session: Some(&alice),
                consent: None,
                progress: fresh,
                expected: Ok(NextStep::Consent(alice.clone())),
            },
            Case {
                changes: &[("prompt", Some("consent"))],
                client: &first_party,
                session: Some(&alice),
                consent: None,
                progress: after_consent,
                expected: Ok(NextStep::IssueCode(alice.clone())),
            },
            Case {
                changes: &[("scope", Some("openid offline_access"))],
                client: &first_party,
                session: Some(&alice),
                consent: None,
                progress: fresh,
                expected: Ok(NextStep::Consent(alice.clone())),
            },
            Case {
                changes: &[("scope", Some("openid offline_access"))],
                client: &first_party,
                session: Some(&alice),
                consent: Some(&offline),
                progress: fresh,
                expected: Ok(NextStep::IssueCode(alice.clone())),
            },
            Case {
                changes: &[],
                client: &third_party,
                session: Some(&alice),
                consent: None,
                progress: fresh,
                expected: Ok(NextStep::Consent(alice.clone())),
            },
            Case {
                changes: &[],
                client: &third_party,
                session: Some(&alice),
                consent: Some(&openid),
                progress: fresh,
                expected: Ok(NextStep::Consent(alice.clone())),
            },
            Case {
                changes: &[("scope", Some("openid"))],
                client: &third_party,
                session: Some(&alice),
                consent: Some(&openid),
                progress: fresh,
                expected: Ok(NextStep::IssueCode(alice.clone())),
            },
            Case {
                changes: &[("prompt", Some("none"))],
                client: &third_party,
                session: Some(&alice),
                consent: None,
                progress: fresh,
                expected: Err(ErrorCode::ConsentRequired),
            },
        ];
        for (index, case) in cases.iter().enumerate() {
            let params = with(case.changes);
            let redirect = validate_client_redirect(&params, Some(case.client)).unwrap();
            let request = validate_authorize(
                &params,
                case.client,
                &sample_registry(),
                redirect,
                RequestSource::Direct,
                no_hint,
            )
            .unwrap();
            let got = next_step(
                &request,
                case.client,
                case.session,
                case.consent,
                case.progress,
                now,
            )
            .map_err(|err| err.code);
            assert_eq!(got, case.expected, "case {index}: {:?}", case.changes);
        }
    }

    #[test]
    fn max_age_zero_always_forces_login() {
        let auth = Authentication {
            amr: Vec::new(),
            subject: Subject("u".into()),
            auth_time: UnixTime(100),
            sid: None,
        };
        let cases = [
            (0, 100, true),
            (0, 101, true),
            (10, 110, false),
            (10, 111, true),
            (10, 100, false),
        ];
        for (max_age, now, expected) in cases {
            assert_eq!(
                is_session_too_old(&auth, max_age, UnixTime(now)),
                expected,
                "max_age {max_age} now {now}"
            );
        }
    }

    #[test]
    fn id_token_hint_for_another_user_forces_login() {
        let client = client("demo-web", Some("secret"));
        let params = with(&[("id_token_hint", Some("hint")), ("prompt", Some("none"))]);
        let redirect = validate_client_redirect(&params, Some(&client)).unwrap();
        let request = validate_authorize(
            &params,
            &client,
            &sample_registry(),
            redirect,
            RequestSource::Direct,
            |_| Ok(Subject("u-bob".into())),
        )
        .unwrap();
        let alice = auth("u-alice", 9_000);
        let got = next_step(
            &request,
            &client,
            Some(&alice),
            None,
            InteractionProgress::default(),
            UnixTime(10_000),
        );
        assert_eq!(got.unwrap_err().code, ErrorCode::LoginRequired);
    }

    #[test]
    fn redirects_carry_iss_and_state_and_keep_registered_query() {
        let issuer = Issuer::parse("https://id.example.com", false).unwrap();
        let redirect = RedirectUri::parse("https://app.example.com/cb?tenant=a").unwrap();
        let ok = success_redirect(&redirect, "abc", Some("s 1"), &issuer);
        assert_eq!(
            ok,
            "https://app.example.com/cb?tenant=a&code=abc&state=s+1&iss=https%3A%2F%2Fid.example.com"
        );
        let err = error_redirect(
            &redirect,
            &OAuthError::new(ErrorCode::AccessDenied, "denied"),
            None,
            &issuer,
        );
        assert_eq!(
            err,
            "https://app.example.com/cb?tenant=a&error=access_denied&error_description=denied&iss=https%3A%2F%2Fid.example.com"
        );
    }
}
