//! The HTTP audit of any issuer: metadata (RFC 8414 / OIDC Discovery), JWKS, the pages'
//! headers, and probes of the authorization endpoint that show what it really accepts.

use std::time::Duration;

use reqwest::header::{self, HeaderMap};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{DoctorArgs, Finding, Report, Severity, is_loopback_http};

/// The redirect URI of the probe client the doctor registers (never visited: nothing listens
/// on `.invalid`, RFC 6761 §6.4).
const PROBE_REDIRECT: &str = "https://doctor.invalid/callback";

/// Audits the issuer at `issuer_url`.
pub async fn audit_issuer(issuer_url: &str, args: &DoctorArgs) -> Report {
    let mut audit = Audit {
        findings: Vec::new(),
        http: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(args.timeout))
            .user_agent("provider-doctor")
            .build()
            .unwrap_or_default(),
    };
    audit.run(issuer_url.trim_end_matches('/'), args).await;
    Report {
        subject: issuer_url.to_owned(),
        findings: audit.findings,
    }
}

struct Audit {
    findings: Vec<Finding>,
    http: Client,
}

/// Where a probe of `/authorize` ended.
#[derive(Debug)]
enum Outcome {
    /// An error page (4xx).
    Refused,
    /// A redirect to the client: its `Location`.
    ToClient(url::Url),
    /// The provider went on (its login page, or a redirect within the provider).
    Proceeds,
    /// No answer, or a 5xx.
    Failed(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Refused => write!(f, "an error page"),
            Outcome::ToClient(target) => write!(f, "a redirect to {target}"),
            Outcome::Proceeds => write!(f, "on to the sign-in"),
            Outcome::Failed(reason) => write!(f, "no usable answer: {reason}"),
        }
    }
}

impl Audit {
    fn add(
        &mut self,
        severity: Severity,
        check: &'static str,
        rfc: &'static str,
        message: impl Into<String>,
    ) {
        self.findings
            .push(Finding::new(severity, check, rfc, message));
    }

    async fn get_json(&self, url: &str) -> Result<(HeaderMap, Value), String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|error| error.to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|error| error.to_string())?;
        if status != StatusCode::OK {
            return Err(format!("{url} answered {status}"));
        }
        let value = serde_json::from_str(&body).map_err(|_| format!("{url} is not JSON"))?;
        Ok((headers, value))
    }

    async fn run(&mut self, issuer: &str, args: &DoctorArgs) {
        let Ok(issuer_url) = url::Url::parse(issuer) else {
            self.add(
                Severity::High,
                "metadata.fetch",
                "RFC 8414 §3",
                format!("{issuer} is not a URL"),
            );
            return;
        };
        // Metadata: OIDC Discovery first, then RFC 8414.
        let mut metadata = None;
        for suffix in [
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ] {
            match self.get_json(&format!("{issuer}{suffix}")).await {
                Ok((_, value)) => {
                    metadata = Some(value);
                    break;
                }
                Err(error) => tracing::debug!("doctor: {error}"),
            }
        }
        let Some(metadata) = metadata else {
            self.add(Severity::High, "metadata.fetch", "RFC 8414 §3", "no metadata at /.well-known/openid-configuration or /.well-known/oauth-authorization-server");
            return;
        };
        let text = |name: &str| {
            metadata
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let list = |name: &str| -> Option<Vec<String>> {
            metadata.get(name).and_then(Value::as_array).map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
        };
        match text("issuer") {
            Some(found) if found == issuer => self.add(Severity::Ok, "metadata.issuer", "RFC 8414 §3.3", "issuer equals the URL the metadata was fetched from"),
            found => self.add(Severity::High, "metadata.issuer", "RFC 8414 §3.3", format!("issuer {found:?} differs from {issuer}: clients must refuse this metadata (mix-up defence)")),
        }
        self.https(&issuer_url, &metadata);
        // PKCE and removed grants, as advertised.
        match list("code_challenge_methods_supported") {
            Some(methods) if methods.iter().any(|method| method == "S256") => {
                if methods.iter().any(|method| method == "plain") {
                    self.add(Severity::Low, "pkce.advertised", "RFC 9700 §2.1.1", "code_challenge_methods_supported lists plain; advertise S256 only");
                } else {
                    self.add(Severity::Ok, "pkce.advertised", "RFC 9700 §2.1.1", "code_challenge_methods_supported is [S256]");
                }
            }
            _ => self.add(Severity::Medium, "pkce.advertised", "RFC 9700 §2.1.1", "code_challenge_methods_supported does not list S256: clients cannot tell PKCE is supported"),
        }
        let response_types = list("response_types_supported").unwrap_or_default();
        let has_part = |part: &str| -> Vec<&String> {
            response_types
                .iter()
                .filter(|kind| kind.split(' ').any(|item| item == part))
                .collect()
        };
        let access_tokens = has_part("token");
        let id_tokens = has_part("id_token");
        if !access_tokens.is_empty() {
            self.add(Severity::High, "grants.implicit", "RFC 9700 §2.1.2", format!("response_types_supported offers {access_tokens:?}: access tokens in the front channel leak and cannot be sender-constrained; use code with PKCE"));
        } else if !id_tokens.is_empty() {
            self.add(Severity::Low, "grants.implicit", "RFC 9700 §2.1.2", format!("response_types_supported offers {id_tokens:?}: ID tokens in the front channel (OIDC implicit/hybrid; no access token there); OAuth 2.1 clients need only code"));
        } else {
            self.add(
                Severity::Ok,
                "grants.implicit",
                "RFC 9700 §2.1.2",
                "only response types without tokens (code)",
            );
        }
        let grants = list("grant_types_supported").unwrap_or_default();
        if grants.iter().any(|item| item == "password") {
            self.add(Severity::High, "grants.password", "RFC 9700 §2.4", "grant_types_supported offers password: remove it (the client sees the user's password)");
        } else {
            self.add(
                Severity::Ok,
                "grants.password",
                "RFC 9700 §2.4",
                "the password grant is not offered",
            );
        }
        if grants.iter().any(|item| item == "implicit") {
            let severity = if access_tokens.is_empty() {
                Severity::Low
            } else {
                Severity::High
            };
            self.add(
                severity,
                "grants.implicit_grant",
                "RFC 9700 §2.1.2",
                "grant_types_supported lists implicit",
            );
        } else {
            self.add(
                Severity::Ok,
                "grants.implicit_grant",
                "RFC 9700 §2.1.2",
                "the implicit grant is not offered",
            );
        }
        if metadata.get("authorization_response_iss_parameter_supported")
            == Some(&Value::Bool(true))
        {
            self.add(
                Severity::Ok,
                "iss.advertised",
                "RFC 9207 §3",
                "authorization_response_iss_parameter_supported is true",
            );
        } else {
            self.add(Severity::Medium, "iss.advertised", "RFC 9207 §3", "authorization responses do not promise iss: clients talking to several issuers are open to mix-up attacks");
        }
        // Signing algorithms.
        for field in [
            "id_token_signing_alg_values_supported",
            "token_endpoint_auth_signing_alg_values_supported",
            "request_object_signing_alg_values_supported",
            "userinfo_signing_alg_values_supported",
        ] {
            let Some(algs) = list(field) else { continue };
            if algs.iter().any(|alg| alg == "none") {
                self.add(
                    Severity::High,
                    "algorithms.none",
                    "RFC 8725 §3.1",
                    format!("{field} lists none: unsigned JWTs must never be accepted"),
                );
            } else if field == "id_token_signing_alg_values_supported"
                && algs.iter().any(|alg| alg.starts_with("HS"))
            {
                self.add(Severity::Low, "algorithms.hmac", "OIDC Core §10.1", format!("{field} lists HMAC ({algs:?}): ID tokens signed with the client's secret cannot be checked by anyone else"));
            }
        }
        if !self
            .findings
            .iter()
            .any(|finding| finding.check == "algorithms.none")
        {
            let algs = list("id_token_signing_alg_values_supported").unwrap_or_default();
            self.add(
                Severity::Ok,
                "algorithms.none",
                "RFC 8725 §3.1",
                format!(
                    "no algorithm list offers none (ID tokens: {})",
                    algs.join(", ")
                ),
            );
        }
        if let Some(jwks_uri) = text("jwks_uri") {
            self.jwks(&jwks_uri).await;
        }
        let Some(authorize) = text("authorization_endpoint") else {
            self.add(
                Severity::Info,
                "probes",
                "RFC 8414 §2",
                "no authorization_endpoint: only the token endpoint is audited",
            );
            return;
        };
        self.page_headers(&authorize, issuer_url.scheme() == "https")
            .await;
        let registered = match (&args.client_id, &args.redirect_uri) {
            (Some(client_id), Some(redirect_uri)) => {
                Some((client_id.clone(), redirect_uri.clone(), None))
            }
            _ => match text("registration_endpoint") {
                Some(endpoint) => self.register_probe_client(&endpoint).await,
                None => None,
            },
        };
        match &registered {
            Some((client_id, redirect_uri, _)) => self.probe_authorize(issuer, &authorize, client_id, redirect_uri).await,
            None => self.add(Severity::Info, "probes", "RFC 9700 §2.1", "no client to probe /authorize with (no open registration): pass --client-id and --redirect-uri to probe PKCE, redirect matching and iss"),
        }
        if let (Some(client_id), Some(secret), Some(token)) =
            (&args.client_id, &args.client_secret, text("token_endpoint"))
        {
            self.token_lifetime(&token, client_id, secret, args.resource.as_deref())
                .await;
        }
        self.add(Severity::Info, "refresh.rotation", "RFC 9700 §2.2.2", "refresh-token rotation cannot be observed without a signed-in user; check the provider's documentation (provider doctor without a URL checks this provider's configuration)");
        if let Some((_, _, Some((uri, token)))) = registered {
            let deleted = self.http.delete(&uri).bearer_auth(&token).send().await;
            if !deleted.is_ok_and(|response| response.status().is_success()) {
                self.add(
                    Severity::Info,
                    "probes.cleanup",
                    "RFC 7592 §2.3",
                    format!("the probe client could not be deleted at {uri}"),
                );
            }
        }
    }

    /// https for the issuer and every endpoint (loopback http is information).
    fn https(&mut self, issuer: &url::Url, metadata: &Value) {
        let mut plain = Vec::new();
        let mut loopback = Vec::new();
        for (name, value) in metadata.as_object().into_iter().flatten() {
            let is_url = name == "issuer" || name == "jwks_uri" || name.ends_with("_endpoint");
            let Some(url) = value
                .as_str()
                .filter(|_| is_url)
                .and_then(|raw| url::Url::parse(raw).ok())
            else {
                continue;
            };
            if url.scheme() == "https" {
                continue;
            }
            if is_loopback_http(&url) {
                loopback.push(name.clone());
            } else {
                plain.push(name.clone());
            }
        }
        if !plain.is_empty() {
            self.add(
                Severity::High,
                "https",
                "RFC 6749 §3.1",
                format!("plain http off loopback: {}", plain.join(", ")),
            );
        } else if !loopback.is_empty() || is_loopback_http(issuer) {
            self.add(
                Severity::Info,
                "https",
                "RFC 6749 §3.1",
                "plain http on loopback (a local test issuer): fine here, never in production",
            );
        } else {
            self.add(
                Severity::Ok,
                "https",
                "RFC 6749 §3.1",
                "the issuer and every endpoint use https",
            );
        }
    }

    async fn jwks(&mut self, jwks_uri: &str) {
        let (headers, jwks) = match self.get_json(jwks_uri).await {
            Ok(answer) => answer,
            Err(error) => {
                self.add(
                    Severity::High,
                    "jwks.fetch",
                    "RFC 8414 §2",
                    format!("the JWKS could not be read: {error}"),
                );
                return;
            }
        };
        let cache = headers
            .get(header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if cache.contains("max-age") && !cache.contains("no-store") {
            self.add(
                Severity::Ok,
                "jwks.cache",
                "OIDC Core §10.1.1",
                format!("JWKS Cache-Control: {cache}"),
            );
        } else {
            self.add(Severity::Low, "jwks.cache", "OIDC Core §10.1.1", format!("JWKS Cache-Control is {cache:?}: give it a max-age so verifiers cache keys between rotations"));
        }
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let private: Vec<String> = keys
            .iter()
            .filter_map(|key| {
                ["d", "p", "q", "dp", "dq", "qi", "k"]
                    .iter()
                    .find(|member| key.get(**member).is_some())
                    .map(|member| {
                        format!(
                            "{} has {member}",
                            key.get("kid").and_then(Value::as_str).unwrap_or("a key")
                        )
                    })
            })
            .collect();
        if !private.is_empty() {
            self.add(
                Severity::High,
                "jwks.private",
                "RFC 7517 §5",
                format!(
                    "the JWKS publishes private or symmetric key material: {}",
                    private.join("; ")
                ),
            );
        } else if keys.is_empty() {
            self.add(
                Severity::High,
                "jwks.private",
                "RFC 7517 §5",
                "the JWKS holds no keys",
            );
        } else {
            self.add(
                Severity::Ok,
                "jwks.private",
                "RFC 7517 §5",
                format!("{} public keys, no private members", keys.len()),
            );
        }
        if keys.iter().any(|key| key.get("kid").is_none()) {
            self.add(
                Severity::Low,
                "jwks.kid",
                "OIDC Core §10.1",
                "a key has no kid: verifiers cannot pick keys during rotation",
            );
        }
    }

    /// Headers of the authorization endpoint's page: CORS must be off, framing refused.
    async fn page_headers(&mut self, authorize: &str, https: bool) {
        let response = match self
            .http
            .get(authorize)
            .header(header::ORIGIN, "https://doctor-probe.invalid")
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                self.add(
                    Severity::High,
                    "pages.fetch",
                    "RFC 6749 §3.1",
                    format!("{authorize} did not answer: {error}"),
                );
                return;
            }
        };
        let headers = response.headers();
        let value = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_ascii_lowercase)
        };
        match value("access-control-allow-origin") {
            Some(origin) => self.add(Severity::Medium, "cors.authorize", "RFC 6749 §3.1", format!("/authorize answers another origin's script (Access-Control-Allow-Origin: {origin}); it is a page for top-level navigation only")),
            None => self.add(Severity::Ok, "cors.authorize", "RFC 6749 §3.1", "/authorize is not readable cross-origin (no Access-Control-Allow-Origin)"),
        }
        let framing = value("x-frame-options")
            .is_some_and(|option| option == "deny" || option == "sameorigin")
            || value("content-security-policy")
                .is_some_and(|policy| policy.contains("frame-ancestors"));
        if framing {
            self.add(
                Severity::Ok,
                "headers.framing",
                "RFC 6749 §10.13",
                "pages refuse to be framed (clickjacking)",
            );
        } else {
            self.add(Severity::Medium, "headers.framing", "RFC 6749 §10.13", "pages can be framed by any site: send X-Frame-Options: DENY or CSP frame-ancestors 'none' (clickjacking of login and consent)");
        }
        match value("referrer-policy") {
            Some(policy) if policy.contains("no-referrer") || policy.contains("origin") => self
                .add(
                    Severity::Ok,
                    "headers.referrer",
                    "RFC 9700 §4.2.4",
                    format!("Referrer-Policy: {policy}"),
                ),
            _ => self.add(
                Severity::Low,
                "headers.referrer",
                "RFC 9700 §4.2.4",
                "no Referrer-Policy: URLs with codes or state can leak through Referer",
            ),
        }
        if value("x-content-type-options").as_deref() == Some("nosniff") {
            self.add(
                Severity::Ok,
                "headers.nosniff",
                "-",
                "X-Content-Type-Options: nosniff",
            );
        } else {
            self.add(
                Severity::Low,
                "headers.nosniff",
                "-",
                "no X-Content-Type-Options: nosniff",
            );
        }
        if https {
            if value("strict-transport-security").is_some() {
                self.add(
                    Severity::Ok,
                    "headers.hsts",
                    "RFC 6797 §5",
                    "Strict-Transport-Security is set",
                );
            } else {
                self.add(
                    Severity::Low,
                    "headers.hsts",
                    "RFC 6797 §5",
                    "no Strict-Transport-Security on an https issuer",
                );
            }
        }
    }

    /// RFC 7591: a public web client whose redirect URI nothing serves; `None` when refused.
    async fn register_probe_client(
        &mut self,
        endpoint: &str,
    ) -> Option<(String, String, Option<(String, String)>)> {
        let body = json!({
            "client_name": "provider doctor probe",
            "redirect_uris": [PROBE_REDIRECT],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "scope": "openid",
        });
        let response = self.http.post(endpoint).json(&body).send().await.ok()?;
        if response.status() != StatusCode::CREATED {
            self.add(Severity::Info, "probes", "RFC 7591 §3", format!("registration of a probe client answered {}: pass --client-id and --redirect-uri to probe /authorize", response.status()));
            return None;
        }
        let client: Value = response.json().await.ok()?;
        let client_id = client.get("client_id")?.as_str()?.to_owned();
        let management = match (
            client
                .get("registration_client_uri")
                .and_then(Value::as_str),
            client
                .get("registration_access_token")
                .and_then(Value::as_str),
        ) {
            (Some(uri), Some(token)) => Some((uri.to_owned(), token.to_owned())),
            _ => None,
        };
        Some((client_id, PROBE_REDIRECT.to_owned(), management))
    }

    async fn authorize_once(
        &self,
        authorize: &str,
        provider_origin: &str,
        pairs: &[(&str, &str)],
    ) -> Outcome {
        let Ok(mut url) = url::Url::parse(authorize) else {
            return Outcome::Failed("authorization_endpoint is not a URL".into());
        };
        url.query_pairs_mut().extend_pairs(pairs);
        let response = match self.http.get(url).send().await {
            Ok(response) => response,
            Err(error) => return Outcome::Failed(error.to_string()),
        };
        let status = response.status();
        if status.is_server_error() {
            return Outcome::Failed(format!("status {status}"));
        }
        if status.is_client_error() {
            return Outcome::Refused;
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(location) if status.is_redirection() => {
                match url::Url::parse(authorize).and_then(|base| base.join(&location)) {
                    Ok(target) if target.origin().ascii_serialization() != provider_origin => {
                        Outcome::ToClient(target)
                    }
                    Ok(_) => Outcome::Proceeds,
                    Err(_) => Outcome::Failed(format!("unparsable Location {location}")),
                }
            }
            _ => Outcome::Proceeds,
        }
    }

    async fn probe(&self, authorize: &str, origin: &str, pairs: Vec<(&str, String)>) -> Outcome {
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        self.authorize_once(authorize, origin, &borrowed).await
    }

    /// The probes: a baseline, then each rule broken once.
    async fn probe_authorize(
        &mut self,
        issuer: &str,
        authorize: &str,
        client_id: &str,
        redirect_uri: &str,
    ) {
        let origin = url::Url::parse(authorize)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default();
        let verifier = "doctor-verifier-doctor-verifier-doctor-verifier-0123";
        let challenge = keys::b64url(Sha256::digest(verifier.as_bytes()));
        let base: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "openid"),
            ("state", "doctor-state"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        let with = |changes: &[(&'static str, Option<&'static str>)]| -> Vec<(&str, String)> {
            let mut pairs: Vec<(&str, String)> = base
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned()))
                .collect();
            for (name, value) in changes {
                pairs.retain(|(key, _)| key != name);
                if let Some(value) = value {
                    pairs.push((name, (*value).to_owned()));
                }
            }
            pairs
        };
        let baseline = self.probe(authorize, &origin, with(&[])).await;
        if !matches!(baseline, Outcome::Proceeds) {
            self.add(Severity::Info, "probes", "RFC 6749 §4.1.1", format!("a valid request for {client_id} did not proceed ({baseline}); the probes would prove nothing"));
            return;
        }
        let refused = |outcome: &Outcome| match outcome {
            Outcome::Refused => true,
            Outcome::ToClient(target) => target.query_pairs().any(|(name, _)| name == "error"),
            _ => false,
        };
        let outcome = self
            .probe(
                authorize,
                &origin,
                with(&[("code_challenge", None), ("code_challenge_method", None)]),
            )
            .await;
        if refused(&outcome) {
            self.add(
                Severity::Ok,
                "pkce.required",
                "RFC 9700 §2.1.1",
                "a request without code_challenge is refused",
            );
        } else {
            self.add(Severity::High, "pkce.required", "RFC 9700 §2.1.1", format!("a request without code_challenge went on ({outcome}): require PKCE for every client"));
        }
        let outcome = self
            .probe(
                authorize,
                &origin,
                with(&[
                    (
                        "code_challenge",
                        Some("doctor-plain-challenge-doctor-plain-challenge-0"),
                    ),
                    ("code_challenge_method", Some("plain")),
                ]),
            )
            .await;
        if refused(&outcome) {
            self.add(
                Severity::Ok,
                "pkce.plain",
                "RFC 9700 §2.1.1",
                "code_challenge_method=plain is refused",
            );
        } else {
            self.add(Severity::Medium, "pkce.plain", "RFC 9700 §2.1.1", "code_challenge_method=plain is accepted: a leaked authorization request gives away the verifier");
        }
        let mut loose = Vec::new();
        for variant in [
            format!("{redirect_uri}/doctor"),
            format!("{redirect_uri}?doctor=1"),
            redirect_uri.replacen("://", "://doctor.", 1),
        ] {
            let mut pairs = with(&[("redirect_uri", None)]);
            pairs.push(("redirect_uri", variant.clone()));
            match self.probe(authorize, &origin, pairs).await {
                // Sent to the look-alike, or on to the login page (which would end there).
                Outcome::ToClient(target) if target.as_str().starts_with(variant.as_str()) => {
                    loose.push(variant)
                }
                Outcome::Proceeds => loose.push(variant),
                _ => {}
            }
        }
        if loose.is_empty() {
            self.add(Severity::Ok, "redirect.exact", "RFC 9700 §2.1", "redirect URIs that only resemble the registered one are refused (path, query and host variants)");
        } else {
            self.add(
                Severity::High,
                "redirect.exact",
                "RFC 9700 §2.1",
                format!("accepted unregistered redirect URIs {loose:?}: compare by exact string"),
            );
        }
        let outcome = self
            .probe(
                authorize,
                &origin,
                with(&[("response_type", Some("token"))]),
            )
            .await;
        let leaked = matches!(&outcome, Outcome::ToClient(target) if target.fragment().is_some_and(|fragment| fragment.contains("access_token")));
        if refused(&outcome) && !leaked {
            self.add(
                Severity::Ok,
                "grants.implicit_probe",
                "RFC 9700 §2.1.2",
                "response_type=token is refused",
            );
        } else {
            self.add(
                Severity::High,
                "grants.implicit_probe",
                "RFC 9700 §2.1.2",
                format!("response_type=token was not refused ({outcome})"),
            );
        }
        match self.probe(authorize, &origin, with(&[("code_challenge_method", Some("S512"))])).await {
            Outcome::ToClient(target) => {
                let iss = target.query_pairs().find(|(name, _)| name == "iss").map(|(_, value)| value.into_owned());
                if iss.as_deref() == Some(issuer) {
                    self.add(Severity::Ok, "iss.response", "RFC 9207 §2", "error responses carry iss");
                } else {
                    self.add(Severity::Medium, "iss.response", "RFC 9207 §2", format!("the error redirect carries iss {iss:?}, not {issuer}"));
                }
            }
            outcome => self.add(Severity::Info, "iss.response", "RFC 9207 §2", format!("errors for this client are not redirected ({outcome}), so iss could not be observed without a sign-in")),
        }
    }

    async fn token_lifetime(
        &mut self,
        token: &str,
        client_id: &str,
        secret: &str,
        resource: Option<&str>,
    ) {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(resource) = resource {
            form.push(("resource", resource));
        }
        let response = self
            .http
            .post(token)
            .basic_auth(client_id, Some(secret))
            .form(&form)
            .send()
            .await;
        let body: Option<Value> = match response {
            Ok(response) if response.status() == StatusCode::OK => response.json().await.ok(),
            Ok(response) => {
                self.add(
                    Severity::Info,
                    "lifetime.access_token",
                    "RFC 6819 §5.1.5.3",
                    format!(
                        "client_credentials answered {}: lifetime not checked",
                        response.status()
                    ),
                );
                return;
            }
            Err(error) => {
                self.add(
                    Severity::Info,
                    "lifetime.access_token",
                    "RFC 6819 §5.1.5.3",
                    format!("the token endpoint did not answer: {error}"),
                );
                return;
            }
        };
        let expires_in = body
            .as_ref()
            .and_then(|body| body.get("expires_in"))
            .and_then(Value::as_u64);
        match expires_in {
            Some(secs) if secs <= 3600 => self.add(
                Severity::Ok,
                "lifetime.access_token",
                "RFC 6819 §5.1.5.3",
                format!("access tokens live {secs} s"),
            ),
            Some(secs) => self.add(
                Severity::Medium,
                "lifetime.access_token",
                "RFC 6819 §5.1.5.3",
                format!("access tokens live {secs} s: keep them at or under an hour"),
            ),
            None => self.add(
                Severity::Low,
                "lifetime.access_token",
                "RFC 6749 §5.1",
                "the token response has no expires_in",
            ),
        }
    }
}
