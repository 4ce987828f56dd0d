//! The walkthrough's other flows (`--flow resource|dpop|token-exchange`): tokens for several
//! APIs (RFC 8707) with a client that authenticates with a key (RFC 7523), tokens bound to a
//! key (RFC 9449), and an API calling the next one on the user's behalf (RFC 8693). Each step
//! names its RFC section, and each flow ends with its attacks, played for real and expected to
//! be refused for one specific reason.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use keys::dpop::ProofRequest;
use keys::{SigningAlg, SigningKey};
use serde_json::{Value, json};

use crate::http::{RawResponse, send};
use crate::jwt;
use crate::oidc::OidcClient;
use crate::timeline::{Exchange, Lane, Outcome, Timeline, TokenView, unix_now};
use crate::walkthrough::browser::{Browser, User};
use crate::walkthrough::{Attack, Kind, Tour, Verdict};

/// The demo notes API's resource indicator (the `aud` of its tokens), wherever it listens.
pub const NOTES_API: &str = "http://127.0.0.1:8081";
/// The second demo resource: tokens signed ES256.
pub const ES256_API: &str = "urn:demo:api:es256";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How a request authenticates its client.
enum ClientAuth<'a> {
    /// HTTP Basic.
    Basic(&'a str, &'a str),
    /// `client_id` and `client_secret` in the body.
    Post(&'a str, &'a str),
    /// An RFC 7523 client assertion.
    Assertion(&'a str),
}

/// A form POST to the provider's token endpoint, recorded in the timeline.
struct TokenCall<'a> {
    title: &'a str,
    explanation: &'a str,
    spec: &'a str,
    params: Vec<(&'a str, String)>,
    auth: ClientAuth<'a>,
    dpop: Option<String>,
}

async fn token_call(
    client: &OidcClient,
    timeline: &Timeline,
    call: TokenCall<'_>,
) -> anyhow::Result<RawResponse> {
    let url = client.discovery().token_endpoint.clone();
    let mut exchange = Exchange::request(Lane::Client, Lane::Provider, call.title, "POST", &url)
        .explain(call.explanation, call.spec);
    let mut pairs: Vec<(String, String)> = call
        .params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    let mut request = client.http().post(&url);
    match call.auth {
        ClientAuth::Basic(id, secret) => {
            exchange = exchange.header("Authorization", &format!("Basic {id}:{secret}"));
            request = request.basic_auth(id, Some(secret));
        }
        ClientAuth::Post(id, secret) => {
            pairs.push(("client_id".into(), id.to_owned()));
            pairs.push(("client_secret".into(), secret.to_owned()));
        }
        ClientAuth::Assertion(assertion) => {
            pairs.push(("client_assertion_type".into(), ASSERTION_TYPE.to_owned()));
            pairs.push(("client_assertion".into(), assertion.to_owned()));
        }
    }
    for (name, value) in &pairs {
        exchange = exchange.field(name, value);
    }
    if let Some(proof) = &call.dpop {
        exchange = exchange.header("DPoP", proof);
        request = request.header("DPoP", proof);
    }
    let response = send(request.form(&pairs), "token request").await?;
    let token = serde_json::from_str::<Value>(&response.body)
        .ok()
        .and_then(|body| body["access_token"].as_str().map(str::to_owned));
    timeline.record(
        exchange
            .respond(
                response.status,
                response.shown_headers(),
                response.summary(),
            )
            .with_token(token.and_then(|token| {
                TokenView::decode("Access token", &token, "signed by the provider")
            })),
    );
    Ok(response)
}

/// GET `path` of the resource server with `authorization` (and a DPoP proof), recorded.
async fn api_call(
    client: &OidcClient,
    timeline: &Timeline,
    resource: &str,
    title: &str,
    explanation: &str,
    authorization: &str,
    dpop: Option<&str>,
) -> anyhow::Result<RawResponse> {
    let url = format!("{}/api/me", resource.trim_end_matches('/'));
    let mut exchange = Exchange::request(Lane::Client, Lane::Resource, title, "GET", &url)
        .header("Authorization", authorization)
        .explain(explanation, "RFC 6750 §2.1, RFC 9449 §7, RFC 9068 §4");
    let mut request = client
        .http()
        .get(&url)
        .header("authorization", authorization);
    if let Some(proof) = dpop {
        exchange = exchange.header("DPoP", proof);
        request = request.header("DPoP", proof);
    }
    let response = send(request, "calling the resource server").await?;
    timeline.record(exchange.respond(
        response.status,
        response.shown_headers(),
        response.summary(),
    ));
    Ok(response)
}

fn access_token_of(response: &RawResponse) -> anyhow::Result<(String, Value)> {
    if !response.is_success() {
        bail!(
            "the provider answered {}: {}",
            response.status,
            response.body
        );
    }
    let body: Value =
        serde_json::from_str(&response.body).context("the token response is not JSON")?;
    let token = body["access_token"]
        .as_str()
        .context("no access_token in the token response")?
        .to_owned();
    Ok((token, body))
}

fn claims_of(token: &str) -> Value {
    jwt::decode(token).map_or(Value::Null, |decoded| decoded.payload)
}

fn header_of(token: &str) -> Value {
    jwt::decode(token).map_or(Value::Null, |decoded| decoded.header)
}

fn oauth_error(response: &RawResponse) -> String {
    serde_json::from_str::<Value>(&response.body)
        .ok()
        .and_then(|body| body["error"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn random_id() -> String {
    jwt::encode_part(rand::random::<[u8; 16]>())
}

/// The verdict of an attack expected to end with `status` and `error` (in the body or the
/// `WWW-Authenticate` challenge).
fn refused_with(response: &RawResponse, status: u16, error: &str, reason: &str) -> Verdict {
    let challenge = response
        .header("www-authenticate")
        .unwrap_or_default()
        .to_owned();
    if response.status == status && (oauth_error(response) == error || challenge.contains(error)) {
        Verdict::Refused(reason.to_owned())
    } else {
        Verdict::NotRefused(format!(
            "expected {status} {error}, got {} {} {challenge}",
            response.status,
            oauth_error(response)
        ))
    }
}

async fn attack(
    tour: &mut Tour<'_>,
    which: Attack,
    play: impl AsyncFnOnce() -> anyhow::Result<Verdict>,
) -> anyhow::Result<()> {
    let label = tour.begin(Kind::Attack(which), which.title(), which.intro())?;
    let verdict = match play().await {
        Ok(verdict) => verdict,
        Err(error) => Verdict::Failed(format!("{error:#}")),
    };
    tour.end(label, Kind::Attack(which), which.title(), verdict)
        .await
}

/// `--flow resource`: a machine client that authenticates with its key (private_key_jwt)
/// asks for one token per API (RFC 8707).
pub async fn resource_flow(
    tour: &mut Tour<'_>,
    client: &OidcClient,
    resource: &str,
) -> anyhow::Result<()> {
    let timeline = Arc::clone(&tour.timeline);
    let key = SigningKey::generate(SigningAlg::ES256).context("generating the client's key")?;
    let client_id = tour
        .step(
            "Register a client that authenticates with a key",
            "Instead of a shared secret, the client keeps a private key and registers only its public half (jwks). \
             It will prove who it is by signing a short-lived JWT for each request (private_key_jwt).",
            async |_| {
                let url = client
                    .discovery()
                    .registration_endpoint
                    .clone()
                    .context("the provider offers no registration endpoint")?;
                let metadata = json!({
                    "client_name": "Walkthrough machine client",
                    "grant_types": ["client_credentials"],
                    "scope": "api:read api:write",
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": {"keys": [key.public_jwk()]},
                });
                let exchange = Exchange::request(Lane::Client, Lane::Provider, "Dynamic registration", "POST", &url)
                    .field("token_endpoint_auth_method", "private_key_jwt")
                    .field("jwks", &format!("{{\"keys\": [public {} key, kid {}]}}", key.alg().as_str(), key.kid().as_str()))
                    .explain("RFC 7591 registration with the public key inline.", "RFC 7591 §2, OIDC Registration §2, RFC 7523 §2.2");
                let response = send(client.http().post(&url).json(&metadata), "registering a client").await?;
                timeline.record(exchange.respond(response.status, response.shown_headers(), response.summary()));
                if response.status != 201 {
                    bail!("registration answered {}: {}", response.status, response.body);
                }
                let body: Value = serde_json::from_str(&response.body)?;
                let id = body["client_id"].as_str().context("no client_id")?.to_owned();
                Ok((id, Verdict::Passed))
            },
        )
        .await?;
    let token_url = client.discovery().token_endpoint.clone();
    let assertion = |jti: &str| {
        let now = unix_now();
        key.sign(
            "JWT",
            &json!({"iss": client_id, "sub": client_id, "aud": token_url, "jti": jti, "iat": now, "exp": now + 60}),
        )
    };
    let mut tokens = Vec::new();
    for (target, title, intro) in [
        (
            NOTES_API,
            "A token for the notes API (resource indicator)",
            "The client names the API it wants to call (resource). The token's aud is exactly that API, its scope only \
             what that API accepts, and it is signed with the algorithm registered for the API (RS256 here).",
        ),
        (
            ES256_API,
            "A token for the second API",
            "Same client, another resource: this API is registered with ES256, so its tokens are ES256 JWTs with \
             aud urn:demo:api:es256. One token per API: a token never opens every API at once.",
        ),
    ] {
        let token = tour
            .step(title, intro, async |_| {
                let jti = random_id();
                let signed = assertion(&jti).context("signing the client assertion")?;
                let response = token_call(
                    client,
                    &timeline,
                    TokenCall {
                        title: "Token request (client_credentials, private_key_jwt)",
                        explanation: "The client authenticates with client_assertion: a JWT it signed with its private key (iss = sub = client_id, aud = the token endpoint, a fresh jti, 60 s).",
                        spec: "RFC 6749 §4.4, RFC 8707 §2, RFC 7523 §2.2",
                        params: vec![
                            ("grant_type", "client_credentials".into()),
                            ("scope", "api:read".into()),
                            ("resource", target.into()),
                        ],
                        auth: ClientAuth::Assertion(&signed),
                        dpop: None,
                    },
                )
                .await?;
                let (token, _) = access_token_of(&response)?;
                let aud = claims_of(&token)["aud"].clone();
                let alg = header_of(&token)["alg"].clone();
                tour_note(&timeline, &format!("aud = {aud}, alg = {alg}"));
                if aud != json!(target) {
                    bail!("the token's aud is {aud}, not {target}");
                }
                Ok(((token, signed), Verdict::Passed))
            })
            .await?;
        tokens.push(token);
    }
    let notes_token = tokens[0].0.clone();
    let es256_token = tokens[1].0.clone();
    let used_assertion = tokens[1].1.clone();
    tour.step(
        "Call the notes API with its token",
        "The API checks the signature with the provider's keys, and that aud names it.",
        async |_| {
            let response = api_call(
                client,
                &timeline,
                resource,
                "GET /api/me",
                "The token made for this API.",
                &format!("Bearer {notes_token}"),
                None,
            )
            .await?;
            if response.is_success() {
                Ok(((), Verdict::Passed))
            } else {
                bail!("the API answered {}", response.status)
            }
        },
    )
    .await?;
    attack(tour, Attack::TokenForAnotherApi, async || {
        let response = api_call(
            client,
            &timeline,
            resource,
            "GET /api/me with the other API's token",
            "A valid token, signed by the provider, but its aud is urn:demo:api:es256.",
            &format!("Bearer {es256_token}"),
            None,
        )
        .await?;
        Ok(refused_with(
            &response,
            401,
            "invalid_token",
            "aud does not name this API: a token for API A does not open API B",
        ))
    })
    .await?;
    attack(tour, Attack::UnregisteredResource, async || {
        let signed = assertion(&random_id())?;
        let response = token_call(
            client,
            &timeline,
            TokenCall {
                title: "Token request for an API that is not registered",
                explanation: "The client names a resource the provider does not know.",
                spec: "RFC 8707 §2",
                params: vec![
                    ("grant_type", "client_credentials".into()),
                    ("resource", "https://evil.example/api".into()),
                ],
                auth: ClientAuth::Assertion(&signed),
                dpop: None,
            },
        )
        .await?;
        Ok(refused_with(
            &response,
            400,
            "invalid_target",
            "invalid_target: only registered resource servers get tokens",
        ))
    })
    .await?;
    attack(tour, Attack::ReplayedClientAssertion, async || {
        let response = token_call(
            client,
            &timeline,
            TokenCall {
                title: "Token request with a captured client assertion",
                explanation: "An attacker who captured the client's last assertion sends it again.",
                spec: "RFC 7523 §3",
                params: vec![
                    ("grant_type", "client_credentials".into()),
                    ("scope", "api:read".into()),
                ],
                auth: ClientAuth::Assertion(&used_assertion),
                dpop: None,
            },
        )
        .await?;
        Ok(refused_with(
            &response,
            401,
            "invalid_client",
            "invalid_client: each assertion's jti is accepted once",
        ))
    })
    .await
}

fn tour_note(timeline: &Timeline, line: &str) {
    timeline.record(Exchange::note(Lane::Client, "Look at the token").with_note(line.to_owned()));
}

/// `--flow dpop`: the client binds its token to a key it holds (RFC 9449).
pub async fn dpop_flow(
    tour: &mut Tour<'_>,
    client: &OidcClient,
    resource: &str,
) -> anyhow::Result<()> {
    let timeline = Arc::clone(&tour.timeline);
    let token_url = client.discovery().token_endpoint.clone();
    let api_url = format!("{}/api/me", resource.trim_end_matches('/'));
    let key = tour
        .step(
            "Make a key pair for DPoP",
            "The client generates a key pair that never leaves it. Each request will carry a DPoP proof: a JWT signed \
             with this key, naming the method and URL, with the public key in its header.",
            async |_| {
                let key = SigningKey::generate(SigningAlg::ES256).context("generating the DPoP key")?;
                timeline.record(
                    Exchange::note(Lane::Client, "A key for DPoP")
                        .explain("Its RFC 7638 thumbprint (jkt) is what tokens will be bound to.", "RFC 9449 §4, RFC 7638")
                        .with_note(format!("jkt = {}", key.jkt())),
                );
                Ok((key, Verdict::Passed))
            },
        )
        .await?;
    let proof = |method: &str, url: &str, token: Option<&str>, nonce: Option<&str>| {
        key.dpop_proof(&ProofRequest {
            method,
            url,
            access_token: token,
            nonce,
            jti: &random_id(),
            iat: unix_now(),
        })
    };
    let token = tour
        .step(
            "Ask for a DPoP-bound token",
            "The token request carries a DPoP proof (htm POST, htu the token endpoint). The provider binds the access \
             token to the proof's key: token_type DPoP, and cnf.jkt inside the token.",
            async |_| {
                let mut nonce: Option<String> = None;
                for _ in 0..2 {
                    let response = token_call(client, &timeline, TokenCall {
                        title: "Token request with a DPoP proof",
                        explanation: "client_credentials as demo-service, plus the DPoP header.",
                        spec: "RFC 9449 §5",
                        params: vec![("grant_type", "client_credentials".into()), ("scope", "api:read".into())],
                        auth: ClientAuth::Basic("demo-service", "demo-service-secret"),
                        dpop: Some(proof("POST", &token_url, None, nonce.as_deref())?),
                    }).await?;
                    if response.status == 400 && oauth_error(&response) == "use_dpop_nonce" {
                        nonce = response.header("dpop-nonce").map(str::to_owned);
                        continue;
                    }
                    let (token, body) = access_token_of(&response)?;
                    let jkt = claims_of(&token)["cnf"]["jkt"].clone();
                    tour_note(&timeline, &format!("token_type = {}, cnf.jkt = {jkt}", body["token_type"]));
                    if jkt != json!(key.jkt()) {
                        bail!("the token is not bound to the key");
                    }
                    return Ok((token, Verdict::Passed));
                }
                bail!("the provider kept asking for a nonce")
            },
        )
        .await?;
    let first_proof = proof("GET", &api_url, Some(&token), None)?;
    tour.step(
        "Call the API with the token and a fresh proof",
        "The scheme is DPoP, not Bearer. The proof names GET and the API's URL, and ath, the hash of this token. The \
         API checks the proof's signature, that its key is the token's cnf.jkt, and that the proof is new.",
        async |_| {
            let response = api_call(client, &timeline, resource, "GET /api/me (DPoP)", "Authorization: DPoP plus the proof.", &format!("DPoP {token}"), Some(&first_proof)).await?;
            if response.is_success() {
                Ok(((), Verdict::Passed))
            } else {
                bail!("the API answered {}: {}", response.status, response.header("www-authenticate").unwrap_or_default())
            }
        },
    )
    .await?;
    attack(tour, Attack::ReplayedDpopProof, async || {
        let response = api_call(
            client,
            &timeline,
            resource,
            "GET /api/me with a captured proof",
            "The attacker replays the request it saw, proof and all.",
            &format!("DPoP {token}"),
            Some(&first_proof),
        )
        .await?;
        Ok(refused_with(
            &response,
            401,
            "invalid_dpop_proof",
            "invalid_dpop_proof: each proof's jti is accepted once",
        ))
    })
    .await?;
    attack(tour, Attack::DpopTokenWithoutKey, async || {
        let response = api_call(
            client,
            &timeline,
            resource,
            "GET /api/me with the stolen token alone",
            "The attacker has the token but not the private key, so it sends it as a Bearer token.",
            &format!("Bearer {token}"),
            None,
        )
        .await?;
        Ok(refused_with(
            &response,
            401,
            "invalid_token",
            "the token is bound to a key (cnf.jkt): without a proof of that key it is useless",
        ))
    })
    .await
}

/// `--flow token-exchange`: alice signs in to the web app; the notes API, which received her
/// token, exchanges it for a narrower one for the next service, naming itself as the actor.
pub async fn token_exchange_flow(
    tour: &mut Tour<'_>,
    client: &OidcClient,
    browser: &Browser,
    user: &User<'_>,
) -> anyhow::Result<()> {
    let timeline = Arc::clone(&tour.timeline);
    let signed_in = super::sign_in_steps(tour, client, browser, user).await?;
    let alice_token = signed_in.tokens.access_token.expose().to_owned();
    let api_token = tour
        .step(
            "The notes API gets a token of its own",
            "The API (client demo-api, a resource server) will name itself as the actor of the exchange, so it first \
             gets its own token with client_credentials.",
            async |_| {
                let response = token_call(client, &timeline, TokenCall {
                    title: "Token request (client_credentials, as demo-api)",
                    explanation: "demo-api authenticates with its secret in the body (its registered method).",
                    spec: "RFC 6749 §4.4",
                    params: vec![("grant_type", "client_credentials".into()), ("scope", "api:read".into())],
                    auth: ClientAuth::Post("demo-api", "demo-api-secret"),
                    dpop: None,
                }).await?;
                Ok((access_token_of(&response)?.0, Verdict::Passed))
            },
        )
        .await?;
    tour.step(
        "Exchange alice's token for the next service",
        "The API received alice's token and must call another service for her. It trades her token (subject_token) \
         for a new one: same sub, scope only narrowed, aud the next service, and act naming the API as the actor.",
        async |_| {
            let response = token_call(client, &timeline, TokenCall {
                title: "Token exchange",
                explanation: "subject_token: alice's access token; actor_token: the API's own; resource: the next service.",
                spec: "RFC 8693 §2.1, §4.1",
                params: vec![
                    ("grant_type", TOKEN_EXCHANGE.into()),
                    ("subject_token", alice_token.clone()),
                    ("subject_token_type", ACCESS_TOKEN_TYPE.into()),
                    ("actor_token", api_token.clone()),
                    ("actor_token_type", ACCESS_TOKEN_TYPE.into()),
                    ("scope", "api:read".into()),
                    ("resource", ES256_API.into()),
                ],
                auth: ClientAuth::Post("demo-api", "demo-api-secret"),
                dpop: None,
            }).await?;
            let (token, _) = access_token_of(&response)?;
            let claims = claims_of(&token);
            tour_note(&timeline, &format!("sub = {}, act = {}, aud = {}, scope = {}", claims["sub"], claims["act"], claims["aud"], claims["scope"]));
            if claims["act"]["sub"] != json!("demo-api") {
                bail!("the new token does not name the API as its actor");
            }
            Ok(((), Verdict::Passed))
        },
    )
    .await?;
    attack(tour, Attack::ForbiddenExchange, async || {
        let response = token_call(client, &timeline, TokenCall {
            title: "Token exchange by a client the policy does not allow",
            explanation: "demo-service got hold of alice's token and tries to turn it into a token of its own.",
            spec: "RFC 8693 §2.2.2",
            params: vec![
                ("grant_type", TOKEN_EXCHANGE.into()),
                ("subject_token", alice_token.clone()),
                ("subject_token_type", ACCESS_TOKEN_TYPE.into()),
            ],
            auth: ClientAuth::Basic("demo-service", "demo-service-secret"),
            dpop: None,
        }).await?;
        let verdict = refused_with(&response, 400, "unauthorized_client", "unauthorized_client: this client may not exchange tokens");
        timeline.record(Exchange::note(Lane::Client, "The policy").with_outcome(if matches!(verdict, Verdict::Refused(_)) { Outcome::Ok } else { Outcome::Failed }).with_note("Token exchange is granted per client; demo-service is registered for client_credentials only."));
        Ok(verdict)
    })
    .await
}
