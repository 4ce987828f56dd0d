//! Resource servers as records of their own (RFC 8707): which APIs exist, the scopes each
//! accepts, how their access tokens are signed and how long they live; and the rules that turn
//! the `resource` parameters of a request into the audience of one token.
//!
//! - At the authorization endpoint (and PAR, and device authorization) a client may name
//!   several resources (RFC 8707 §2.1); the grant remembers them as [`Resources`].
//! - At the token endpoint each token is for exactly one of them ([`Registry::target`]): the
//!   one the request names, or the grant's first. Its `aud` is that resource, its `scope` the
//!   granted scopes the resource accepts plus the provider's own scopes (`openid`, `profile`,
//!   `email`, `offline_access`: they describe the grant and what UserInfo may read), its
//!   algorithm and lifetime the resource's.
//! - No resource at all (a client without a default): the token is for the provider itself
//!   (`aud` the issuer; UserInfo), signed with the client's access-token algorithm.

use std::collections::BTreeMap;
use std::fmt;

use keys::SigningAlg;
use serde::{Deserialize, Serialize};

use crate::protocol::client::RegisteredClient;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::scope::ScopeSet;

/// The provider's own scopes: a resource server may not claim them, and they stay in an access
/// token whatever its resource (so the same token can still read UserInfo).
pub const PROVIDER_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// At most this many `resource` parameters in one request.
pub const MAX_RESOURCES_PER_REQUEST: usize = 10;

/// A resource indicator is at most this long.
const MAX_INDICATOR_LEN: usize = 512;

/// The longest access-token lifetime a resource may ask for (one day).
pub const MAX_RESOURCE_TOKEN_LIFETIME: u64 = 24 * 3600;

/// A registered resource server (an API that accepts our access tokens).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceServer {
    /// RFC 8707 §2 resource indicator: an absolute URI without fragment; the tokens' `aud`.
    pub identifier: String,
    /// Human-readable name (consent page, `provider resources list`).
    pub name: String,
    /// The scopes this API accepts; a token for it carries only these (and the provider's).
    #[serde(default)]
    pub scopes: ScopeSet,
    /// How its access tokens are signed (the resource server verifies exactly this).
    #[serde(default = "default_alg")]
    pub signing_alg: SigningAlg,
    /// Its access tokens' lifetime in seconds (default: the provider's access-token lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime_secs: Option<u64>,
    /// The client the resource server authenticates as at the introspection endpoint: it may
    /// introspect every token whose `aud` is this resource (RFC 7662 §2.1 leaves the policy to
    /// the server). `None`: it verifies offline only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_client: Option<String>,
}

fn default_alg() -> SigningAlg {
    SigningAlg::RS256
}

impl ResourceServer {
    /// Checks a record before it is stored (config file, `provider resources add`).
    pub fn validate(&self) -> Result<(), String> {
        parse_indicator(&self.identifier)
            .map_err(|error| format!("identifier {:?}: {}", self.identifier, error.description))?;
        if self.name.trim().is_empty() || self.name.len() > 100 {
            return Err("name must have 1 to 100 characters".into());
        }
        if let Some(scope) = self
            .scopes
            .iter()
            .find(|scope| PROVIDER_SCOPES.contains(scope))
        {
            return Err(format!(
                "scope {scope:?} is the provider's own; a resource's scopes are its API's"
            ));
        }
        match self.access_token_lifetime_secs {
            Some(secs) if secs == 0 || secs > MAX_RESOURCE_TOKEN_LIFETIME => Err(format!(
                "access_token_lifetime_secs must be 1 to {MAX_RESOURCE_TOKEN_LIFETIME}"
            )),
            _ => Ok(()),
        }
    }

    /// The part of `scope` a token for this resource carries: the scopes it accepts, plus the
    /// provider's own.
    pub fn narrow(&self, scope: &ScopeSet) -> ScopeSet {
        let provider = ScopeSet::from_tokens(PROVIDER_SCOPES);
        scope.intersection(&self.scopes.union(&provider))
    }
}

/// RFC 8707 §2: "an absolute URI … MUST NOT include a fragment component"; `invalid_target`
/// otherwise.
pub fn parse_indicator(raw: &str) -> Result<&str, OAuthError> {
    let invalid = |description| OAuthError::new(ErrorCode::InvalidTarget, description);
    if raw.len() > MAX_INDICATOR_LEN {
        return Err(invalid("resource is too long"));
    }
    let url = url::Url::parse(raw).map_err(|_| invalid("resource must be an absolute URI"))?;
    if url.fragment().is_some() || raw.contains('#') {
        return Err(invalid(
            "resource must not include a fragment (RFC 8707 §2)",
        ));
    }
    Ok(raw)
}

/// The resources a grant covers, in the order requested (the first is the default for token
/// requests that name none). Empty: tokens for the provider itself.
///
/// Serialises as one space-separated string (resource indicators are URIs, which have no
/// spaces), so a record stored when a grant had one audience reads back as one resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub struct Resources(Vec<String>);

impl Resources {
    /// No resource: tokens for the provider itself.
    pub fn none() -> Self {
        Resources(Vec::new())
    }

    /// One resource.
    pub fn one(identifier: impl Into<String>) -> Self {
        Resources(vec![identifier.into()])
    }

    /// The resources, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The default target of token requests that name no resource.
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    /// True when `identifier` is one of them.
    pub fn contains(&self, identifier: &str) -> bool {
        self.0.iter().any(|resource| resource == identifier)
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Resources {
    fn from(raw: String) -> Self {
        Resources(
            raw.split(' ')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

impl From<Resources> for String {
    fn from(resources: Resources) -> Self {
        resources.0.join(" ")
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// What one access token is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its `aud`: a resource indicator, or the issuer when there is no resource.
    pub audience: String,
    /// How it is signed.
    pub alg: SigningAlg,
    /// Its lifetime in seconds, when the resource sets one.
    pub lifetime_secs: Option<u64>,
    /// The scope it carries.
    pub scope: ScopeSet,
}

/// Every registered resource server, by identifier, and the issuer (the audience of tokens
/// for no resource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    issuer: String,
    resources: BTreeMap<String, ResourceServer>,
}

impl Registry {
    /// A registry of `resources` at `issuer`.
    pub fn new(issuer: &str, resources: impl IntoIterator<Item = ResourceServer>) -> Self {
        Registry {
            issuer: issuer.to_owned(),
            resources: resources
                .into_iter()
                .map(|resource| (resource.identifier.clone(), resource))
                .collect(),
        }
    }

    /// The resource named `identifier`.
    pub fn get(&self, identifier: &str) -> Option<&ResourceServer> {
        self.resources.get(identifier)
    }

    /// Every resource, by identifier.
    pub fn iter(&self) -> impl Iterator<Item = &ResourceServer> {
        self.resources.values()
    }

    /// Every scope some resource accepts.
    pub fn scopes(&self) -> ScopeSet {
        self.resources
            .values()
            .fold(ScopeSet::default(), |all, resource| {
                all.union(&resource.scopes)
            })
    }

    /// The registered resources `client` may obtain tokens for: its default first.
    pub fn allowed_for(&self, client: &RegisteredClient) -> Resources {
        let metadata = &client.metadata;
        let mut allowed: Vec<String> = Vec::new();
        for identifier in metadata
            .default_resource
            .iter()
            .chain(metadata.allowed_resources.iter())
        {
            if self.resources.contains_key(identifier) && !allowed.contains(identifier) {
                allowed.push(identifier.clone());
            }
        }
        Resources(allowed)
    }

    /// The client's default resource, when it is registered.
    fn default_for(&self, client: &RegisteredClient) -> Resources {
        match &client.metadata.default_resource {
            Some(identifier) if self.resources.contains_key(identifier) => {
                Resources::one(identifier.clone())
            }
            _ => Resources::none(),
        }
    }

    /// RFC 8707 §2.1 at the authorization, PAR and device authorization endpoints: every
    /// `resource` must be a registered resource the client may request (`invalid_target`
    /// otherwise); none means the client's default.
    pub fn authorize(
        &self,
        client: &RegisteredClient,
        requested: &[&str],
    ) -> Result<Resources, OAuthError> {
        if requested.is_empty() {
            return Ok(self.default_for(client));
        }
        if requested.len() > MAX_RESOURCES_PER_REQUEST {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "too many resource parameters",
            ));
        }
        let allowed = self.allowed_for(client);
        let mut resources = Vec::with_capacity(requested.len());
        for raw in requested {
            let identifier = parse_indicator(raw)?;
            if !allowed.contains(identifier) {
                return Err(not_allowed(self.resources.contains_key(identifier)));
            }
            if !resources.iter().any(|known: &String| known == identifier) {
                resources.push(identifier.to_owned());
            }
        }
        Ok(Resources(resources))
    }

    /// RFC 8707 §2.2 at the token endpoint for a grant covering `granted`: the token is for
    /// the resource `requested` names (which must be one the grant covers), or the grant's
    /// first; `scope` is narrowed to what that resource accepts.
    pub fn target(
        &self,
        client: &RegisteredClient,
        granted: &Resources,
        requested: Option<&str>,
        scope: &ScopeSet,
    ) -> Result<Target, OAuthError> {
        let identifier = match requested {
            Some(raw) => {
                let identifier = parse_indicator(raw)?;
                if !granted.contains(identifier) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidTarget,
                        "resource is not one this grant was authorized for",
                    ));
                }
                Some(identifier)
            }
            None => granted.first(),
        };
        let Some(identifier) = identifier else {
            return Ok(Target {
                audience: self.issuer.clone(),
                alg: client.access_token_alg(),
                lifetime_secs: None,
                scope: scope.clone(),
            });
        };
        let resource = self.get(identifier).ok_or(OAuthError::new(
            ErrorCode::InvalidTarget,
            "resource is no longer registered at this provider",
        ))?;
        Ok(Target {
            audience: resource.identifier.clone(),
            alg: resource.signing_alg,
            lifetime_secs: resource.access_token_lifetime_secs,
            scope: resource.narrow(scope),
        })
    }

    /// RFC 8707 for grants without an authorization step (client credentials, token
    /// exchange): the token is for `requested` if the client may request it, else for the
    /// client's default.
    pub fn client_target(
        &self,
        client: &RegisteredClient,
        requested: Option<&str>,
        scope: &ScopeSet,
    ) -> Result<Target, OAuthError> {
        let granted = match requested {
            Some(raw) => {
                let identifier = parse_indicator(raw)?;
                if !self.allowed_for(client).contains(identifier) {
                    return Err(not_allowed(self.resources.contains_key(identifier)));
                }
                Resources::one(identifier)
            }
            None => self.default_for(client),
        };
        self.target(client, &granted, None, scope)
    }

    /// RFC 7662 §2.1 policy: `client_id` is the introspection client of the resource `aud`.
    pub fn may_introspect(&self, client_id: &str, audience: &str) -> bool {
        self.get(audience)
            .and_then(|resource| resource.introspection_client.as_deref())
            == Some(client_id)
    }
}

/// RFC 8707 §2.2 at the token endpoint: each token has one audience, so at most one
/// `resource` (`invalid_target` for several; RFC 8707 lets a server refuse that).
pub fn token_resource(params: &Params) -> Result<Option<String>, OAuthError> {
    match params.all("resource").as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(parse_indicator(one)?.to_owned())),
        _ => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "one resource per token request: each access token has a single audience",
        )),
    }
}

fn not_allowed(registered: bool) -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidTarget,
        if registered {
            "resource is not a resource this client may request a token for (RFC 8707)"
        } else {
            "resource is not a resource server registered at this provider (RFC 8707)"
        },
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The resources of the sample clients (`protocol::client::tests::client`): their default
    /// `http://127.0.0.1:8081` and `https://api.example.com` (both `api:read api:write`, RS256),
    /// and `https://other.example`, registered but not theirs.
    pub(crate) fn sample_registry() -> Registry {
        Registry::new(
            "https://issuer.example",
            [
                "http://127.0.0.1:8081",
                "https://api.example.com",
                "https://other.example",
            ]
            .map(|identifier| ResourceServer {
                identifier: identifier.into(),
                name: identifier.into(),
                scopes: ScopeSet::parse("api:read api:write").unwrap(),
                signing_alg: SigningAlg::RS256,
                access_token_lifetime_secs: None,
                introspection_client: None,
            }),
        )
    }
    use crate::protocol::client::tests::client as sample;

    fn api(identifier: &str, scopes: &str, alg: SigningAlg) -> ResourceServer {
        ResourceServer {
            identifier: identifier.into(),
            name: format!("API {identifier}"),
            scopes: ScopeSet::parse(scopes).unwrap(),
            signing_alg: alg,
            access_token_lifetime_secs: None,
            introspection_client: None,
        }
    }

    fn registry() -> Registry {
        let mut short = api("urn:b", "b:read", SigningAlg::ES256);
        short.access_token_lifetime_secs = Some(60);
        short.introspection_client = Some("api-b".into());
        Registry::new(
            "https://issuer",
            [
                api("https://a.example", "a:read a:write", SigningAlg::RS256),
                short,
                api("https://unlisted.example", "x", SigningAlg::RS256),
            ],
        )
    }

    fn client() -> RegisteredClient {
        let mut client = sample("c", None);
        client.metadata.default_resource = Some("https://a.example".into());
        client.metadata.allowed_resources = vec!["urn:b".into(), "https://gone.example".into()];
        client
    }

    fn scope(raw: &str) -> ScopeSet {
        ScopeSet::parse(raw).unwrap()
    }

    #[test]
    fn indicators_follow_rfc8707_section2() {
        for (raw, ok) in [
            ("https://api.example.com", true),
            ("https://api.example.com/v1?x=1", true),
            ("urn:demo:api:es256", true),
            ("/relative", false),
            ("api.example.com", false),
            ("https://api.example.com/#frag", false),
            ("https://api.example.com/#", false),
            ("", false),
        ] {
            assert_eq!(parse_indicator(raw).is_ok(), ok, "{raw:?}");
        }
        let long = format!("https://a.example/{}", "x".repeat(600));
        assert_eq!(
            parse_indicator(&long).unwrap_err().code,
            ErrorCode::InvalidTarget
        );
    }

    #[test]
    fn allowed_resources_are_registered_ones_default_first() {
        let allowed = registry().allowed_for(&client());
        assert_eq!(
            allowed.iter().collect::<Vec<_>>(),
            ["https://a.example", "urn:b"]
        );
    }

    #[test]
    fn authorization_takes_several_resources_or_the_default() {
        let registry = registry();
        let client = client();
        assert_eq!(
            registry.authorize(&client, &[]).unwrap(),
            Resources::one("https://a.example")
        );
        let both = registry
            .authorize(&client, &["urn:b", "https://a.example", "urn:b"])
            .unwrap();
        assert_eq!(both.to_string(), "urn:b https://a.example");
        for (requested, description) in [
            (
                vec!["https://unlisted.example"],
                "resource is not a resource this client may request a token for (RFC 8707)",
            ),
            (
                vec!["https://gone.example"],
                "resource is not a resource server registered at this provider (RFC 8707)",
            ),
            (
                vec!["https://a.example#x"],
                "resource must not include a fragment (RFC 8707 §2)",
            ),
            (vec!["relative"], "resource must be an absolute URI"),
            (vec!["urn:b"; 11], "too many resource parameters"),
        ] {
            let error = registry.authorize(&client, &requested).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidTarget, "{requested:?}");
            assert_eq!(error.description, description, "{requested:?}");
        }
    }

    #[test]
    fn a_token_is_for_one_granted_resource_with_its_alg_lifetime_and_scopes() {
        let registry = registry();
        let client = client();
        let granted = Resources::from("https://a.example urn:b".to_owned());
        let asked = scope("openid profile offline_access a:read b:read");
        let first = registry.target(&client, &granted, None, &asked).unwrap();
        assert_eq!(first.audience, "https://a.example");
        assert_eq!(first.alg, SigningAlg::RS256);
        assert_eq!(first.lifetime_secs, None);
        assert_eq!(first.scope, scope("openid profile offline_access a:read"));
        let b = registry
            .target(&client, &granted, Some("urn:b"), &asked)
            .unwrap();
        assert_eq!(
            (b.audience.as_str(), b.alg, b.lifetime_secs),
            ("urn:b", SigningAlg::ES256, Some(60))
        );
        assert_eq!(b.scope, scope("openid profile offline_access b:read"));
        let error = registry
            .target(
                &client,
                &Resources::one("urn:b"),
                Some("https://a.example"),
                &asked,
            )
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidTarget);
    }

    #[test]
    fn no_resource_means_a_token_for_the_provider_itself() {
        let mut client = client();
        client.metadata.default_resource = None;
        client.metadata.access_token_signed_response_alg = SigningAlg::EdDSA;
        let target = registry()
            .target(&client, &Resources::none(), None, &scope("openid x"))
            .unwrap();
        assert_eq!(target.audience, "https://issuer");
        assert_eq!(target.alg, SigningAlg::EdDSA);
        assert_eq!(target.scope, scope("openid x"));
    }

    #[test]
    fn a_resource_removed_after_the_grant_is_invalid_target() {
        let error = Registry::new("https://i", [])
            .target(
                &client(),
                &Resources::one("https://a.example"),
                None,
                &scope("openid"),
            )
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidTarget);
    }

    #[test]
    fn client_grants_target_an_allowed_resource_or_the_default() {
        let registry = registry();
        let client = client();
        let asked = scope("a:read b:read");
        let default = registry.client_target(&client, None, &asked).unwrap();
        assert_eq!(
            (default.audience.as_str(), default.scope),
            ("https://a.example", scope("a:read"))
        );
        let b = registry
            .client_target(&client, Some("urn:b"), &asked)
            .unwrap();
        assert_eq!(b.alg, SigningAlg::ES256);
        for refused in ["https://unlisted.example", "https://gone.example", "nope"] {
            let error = registry
                .client_target(&client, Some(refused), &asked)
                .unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidTarget, "{refused}");
        }
    }

    #[test]
    fn only_the_named_client_introspects_for_a_resource() {
        let registry = registry();
        assert!(registry.may_introspect("api-b", "urn:b"));
        assert!(!registry.may_introspect("api-b", "https://a.example"));
        assert!(!registry.may_introspect("other", "urn:b"));
        assert!(!registry.may_introspect("api-b", "urn:unknown"));
    }

    #[test]
    fn records_are_validated() {
        let good = api("https://a.example", "a:read", SigningAlg::ES256);
        assert!(good.validate().is_ok());
        let mut bad = good.clone();
        bad.identifier = "https://a.example/#x".into();
        assert!(bad.validate().unwrap_err().contains("fragment"));
        let mut bad = good.clone();
        bad.scopes = scope("a:read openid");
        assert!(bad.validate().unwrap_err().contains("openid"));
        let mut bad = good.clone();
        bad.access_token_lifetime_secs = Some(0);
        assert!(bad.validate().is_err());
        let mut bad = good;
        bad.name = String::new();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn resources_round_trip_through_one_string() {
        let resources = Resources::from("https://a urn:b".to_owned());
        let json = serde_json::to_string(&resources).unwrap();
        assert_eq!(json, "\"https://a urn:b\"");
        let back: Resources = serde_json::from_str(&json).unwrap();
        assert_eq!(back, resources);
        // a record from before the registry: one audience
        let old: Resources = serde_json::from_str("\"http://127.0.0.1:8081\"").unwrap();
        assert_eq!(old, Resources::one("http://127.0.0.1:8081"));
    }
}
