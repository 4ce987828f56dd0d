//! The back channel: token requests with each client authentication method, UserInfo, and
//! JWT verification against the published JWKS with jsonwebtoken (not the provider's `keys`).

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Header, Validation};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{ClientAuth, Flow, Reply, Rp, TestProvider, basic_header, encode, owned};

/// A token endpoint success, with the raw JSON kept for wire-level asserts.
#[derive(Clone, Debug)]
pub struct Tokens {
    /// `access_token`.
    pub access_token: String,
    /// `id_token`, when issued.
    pub id_token: Option<String>,
    /// `refresh_token`, when issued.
    pub refresh_token: Option<String>,
    /// The whole response.
    pub json: Value,
}

impl Tokens {
    /// Reads a 200 token response (panics with the body otherwise).
    pub fn from_reply(reply: &Reply) -> Tokens {
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "token response: {}",
            reply.text
        );
        let json = reply.json();
        let text = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_owned);
        Tokens {
            access_token: text("access_token").expect("access_token in the token response"),
            id_token: text("id_token"),
            refresh_token: text("refresh_token"),
            json,
        }
    }
}

impl TestProvider {
    /// POSTs a form to `/token` as `rp` (its authentication method applied).
    pub async fn token_request(&self, rp: &Rp, params: &[(&str, &str)]) -> Reply {
        let mut pairs = owned(params);
        let mut basic = None;
        match rp.auth {
            ClientAuth::Basic => basic = Some((rp.client_id, rp.secret.unwrap_or_default())),
            ClientAuth::Post => {
                pairs.push(("client_id".into(), rp.client_id.into()));
                pairs.push(("client_secret".into(), rp.secret.unwrap_or_default().into()));
            }
            ClientAuth::None => pairs.push(("client_id".into(), rp.client_id.into())),
        }
        self.raw_token_request(basic, &pairs).await
    }

    /// POSTs a form to `/token`, with optional HTTP Basic credentials (RFC 6749 §2.3.1
    /// form-encodes both halves before base64).
    pub async fn raw_token_request(
        &self,
        basic: Option<(&str, &str)>,
        pairs: &[(String, String)],
    ) -> Reply {
        let mut request = self
            .http
            .post(self.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(pairs));
        if let Some((id, secret)) = basic {
            request = request.header("authorization", basic_header(id, secret));
        }
        Reply::read(request.send().await.expect("POST /token")).await
    }

    /// Redeems a code as `rp` (RFC 6749 §4.1.3 + RFC 7636 §4.5).
    pub async fn exchange_code(&self, rp: &Rp, flow: &Flow) -> Reply {
        self.token_request(
            rp,
            &[
                ("grant_type", "authorization_code"),
                ("code", &flow.code),
                ("redirect_uri", &flow.redirect_uri),
                ("code_verifier", &flow.verifier),
            ],
        )
        .await
    }

    /// Code flow plus exchange, asserting success.
    pub async fn tokens(
        &self,
        browser: &reqwest::Client,
        rp: &Rp,
        scope: &str,
        extra: &[(&str, Option<&str>)],
    ) -> (Flow, Tokens) {
        let flow = self.code_flow(browser, rp, scope, extra).await;
        let tokens = Tokens::from_reply(&self.exchange_code(rp, &flow).await);
        (flow, tokens)
    }

    /// A refresh request (RFC 6749 §6), with an optional narrower `scope`.
    pub async fn refresh(&self, rp: &Rp, refresh_token: &str, scope: Option<&str>) -> Reply {
        let mut params = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        self.token_request(rp, &params).await
    }

    /// `GET /userinfo` with `Authorization: Bearer`.
    pub async fn userinfo(&self, access_token: &str) -> Reply {
        let response = self
            .http
            .get(self.url("/userinfo"))
            .header("authorization", format!("Bearer {access_token}"))
            .send()
            .await
            .expect("GET /userinfo");
        Reply::read(response).await
    }

    /// The published JWKS, parsed by jsonwebtoken.
    pub async fn jwks(&self) -> JwkSet {
        let reply = self.get(&self.http, &self.url("/jwks")).await;
        assert_eq!(reply.status, StatusCode::OK);
        serde_json::from_str(&reply.text).expect("JWKS parses as RFC 7517")
    }

    /// Verifies a JWT against the published JWKS (kid lookup, signature, `iss`, `aud`, `exp`)
    /// and returns its header and claims.
    pub async fn verify_jwt(&self, token: &str, audience: &str) -> (Header, Value) {
        let header = jsonwebtoken::decode_header(token).expect("JWS header");
        let kid = header.kid.clone().expect("the header names its key (kid)");
        let jwks = self.jwks().await;
        let jwk = jwks.find(&kid).expect("kid is in the JWKS");
        let key = DecodingKey::from_jwk(jwk).expect("JWK is a usable public key");
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .unwrap_or_else(|err| panic!("JWT does not verify: {err}"));
        (data.header, data.claims)
    }
}

/// The claims of a JWT without verifying anything (for tokens the RP does not own).
pub fn unverified_claims(token: &str) -> Value {
    let payload = token
        .split('.')
        .nth(1)
        .expect("a compact JWS has three parts");
    let bytes = URL_SAFE_NO_PAD.decode(payload).expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

/// `aud` as a list (RFC 7519 §4.1.3 allows a string or an array).
pub fn audiences(claims: &Value) -> Vec<String> {
    match &claims["aud"] {
        Value::String(aud) => vec![aud.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().expect("aud strings").to_owned())
            .collect(),
        other => panic!("aud missing or malformed: {other}"),
    }
}

/// A space-delimited scope as a set (RFC 6749 §3.3: order does not matter).
pub fn scope_set(scope: &str) -> BTreeSet<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
