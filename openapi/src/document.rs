//! The base OpenAPI document, the security schemes and tags the servers share, and
//! [`combine`], which assembles the published document from the parts the servers hand in.
//!
//! Each server builds its own part from its handlers (the provider with utoipa-axum's
//! `OpenApiRouter`, so routes and documentation come from one place) and passes it here; this
//! crate never sees the servers' code.

use std::collections::BTreeMap;

use utoipa::openapi::security::{
    AuthorizationCode, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder};

use crate::{Error, ErrorBody};

/// Names of the security schemes, as operations reference them in
/// `#[utoipa::path(security(...))]` (the macro wants literals there: keep them equal).
pub mod schemes {
    /// RFC 6749 §2.3.1 `client_secret_basic`: HTTP Basic with client id and secret.
    pub const CLIENT_BASIC: &str = "client_basic";
    /// RFC 6750 Bearer access token (an RFC 9068 JWT from the token endpoint).
    pub const ACCESS_TOKEN: &str = "access_token";
    /// OAuth 2.0 authorization code flow with PKCE against the provider itself.
    pub const OAUTH2: &str = "oauth2";
    /// RFC 7591 §3 initial access token (when registration is not open).
    pub const INITIAL_ACCESS_TOKEN: &str = "initial_access_token";
    /// RFC 7592 §3 registration access token of one client.
    pub const REGISTRATION_ACCESS_TOKEN: &str = "registration_access_token";
}

/// Tags that group the operations; [`base`] describes them.
pub mod tags {
    /// Metadata documents and signing keys.
    pub const DISCOVERY: &str = "Discovery";
    /// The browser front channel: authorization endpoint, PAR, login and consent pages.
    pub const AUTHORIZATION: &str = "Authorization";
    /// The token endpoint.
    pub const TOKEN: &str = "Token";
    /// RFC 8628 device authorization grant.
    pub const DEVICE: &str = "Device";
    /// RFC 7662 introspection and RFC 7009 revocation.
    pub const TOKEN_MANAGEMENT: &str = "Token management";
    /// OIDC UserInfo.
    pub const USERINFO: &str = "UserInfo";
    /// RFC 7591 / RFC 7592 dynamic client registration.
    pub const REGISTRATION: &str = "Registration";
    /// OpenID Connect RP-Initiated Logout.
    pub const LOGOUT: &str = "Logout";
    /// Liveness and readiness probes.
    pub const HEALTH: &str = "Health";
}

const DESCRIPTION: &str = "\
An OAuth 2.1 authorization server and OpenID Connect provider that issues RFC 9068 JWT access \
tokens and OpenID Connect ID tokens.

**Try it out against `provider dev`** (seeded demo data; the examples below use it):

- **client_basic**: `demo-service` / `demo-service-secret` (client_credentials) or \
`demo-web` / `demo-web-secret` (authorization code, refresh token). Token-family endpoints \
also accept `client_id` + `client_secret` in the form body (never both); public clients \
(`demo-cli`, `demo-device`) send only `client_id`.
- **oauth2**: *Authorize* signs you in through the real login page with the public \
`swagger-ui` client and PKCE (users `alice` and `bob`, passwords in the README); the token \
then works for `/userinfo`.
- **access_token**: paste an access token, e.g. from `POST /token` with \
`grant_type=client_credentials`.

**Errors.** JSON endpoints answer with RFC 6749 §5.2 bodies `{error, error_description}` \
and `Cache-Control: no-store`; `401 invalid_client` carries `WWW-Authenticate: Basic`, and \
bearer-protected endpoints carry RFC 6750 §3 `WWW-Authenticate: Bearer` challenges. Browser \
endpoints answer with an HTML error page, and `/authorize` never redirects before `client_id` \
and `redirect_uri` are validated (RFC 6749 §4.1.2.1). Every response carries `X-Request-Id`; \
bodies over 64 KiB get `413`, requests over 30 s get `503`.";

/// The base document: info, tags, no paths. [`combine`] starts from it.
pub fn base() -> OpenApi {
    let tag = |name: &str, description: &str| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    };
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("OpenID Connect provider")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .license(Some(
                    LicenseBuilder::new()
                        .name("MIT OR Apache-2.0")
                        .identifier(Some("MIT OR Apache-2.0"))
                        .build(),
                )),
        )
        .tags(Some(vec![
            tag(tags::DISCOVERY, "OpenID Connect Discovery 1.0 / RFC 8414 metadata and the RFC 7517 signing keys."),
            tag(tags::AUTHORIZATION, "RFC 6749 §4.1 authorization code flow in the browser: `/authorize`, RFC 9126 PAR, and the login and consent pages (HTML)."),
            tag(tags::TOKEN, "RFC 6749 §3.2 token endpoint: authorization_code (PKCE S256), refresh_token (rotating), client_credentials and the RFC 8628 device_code grant."),
            tag(tags::DEVICE, "RFC 8628 device authorization grant: the device authorization endpoint and the verification page (HTML)."),
            tag(tags::TOKEN_MANAGEMENT, "RFC 7662 token introspection and RFC 7009 token revocation."),
            tag(tags::USERINFO, "OpenID Connect Core §5.3 UserInfo, protected by RFC 6750 Bearer access tokens."),
            tag(tags::REGISTRATION, "RFC 7591 dynamic client registration and RFC 7592 client configuration management."),
            tag(tags::LOGOUT, "OpenID Connect RP-Initiated Logout 1.0 (HTML)."),
            tag(tags::HEALTH, "Liveness and readiness probes for orchestrators."),
        ]))
        .components(Some(
            ComponentsBuilder::new()
                .schema_from::<ErrorBody>()
                .responses_from_iter(crate::responses::all())
                .build(),
        ))
        .build()
}

/// RFC 6749 §2.3.1 `client_secret_basic`.
pub fn client_basic() -> SecurityScheme {
    http(
        HttpBuilder::new().scheme(HttpAuthScheme::Basic),
        "RFC 6749 §2.3.1 client_secret_basic: the client id as user name and the client secret \
         as password (both form-urlencoded first). Demo: demo-service / demo-service-secret, \
         demo-web / demo-web-secret.",
    )
}

/// RFC 6750 Bearer with one of the provider's RFC 9068 JWT access tokens.
pub fn access_token() -> SecurityScheme {
    http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT"),
        "RFC 6750 §2.1 Authorization: Bearer with an RFC 9068 JWT access token (typ at+jwt) \
         from the token endpoint.",
    )
}

/// RFC 7591 §3 initial access token.
pub fn initial_access_token() -> SecurityScheme {
    http(
        HttpBuilder::new().scheme(HttpAuthScheme::Bearer),
        "RFC 7591 §3 initial access token, required when the provider restricts registration \
         (--registration-token). Not needed in dev mode, where registration is open.",
    )
}

/// RFC 7592 §3 registration access token.
pub fn registration_access_token() -> SecurityScheme {
    http(
        HttpBuilder::new().scheme(HttpAuthScheme::Bearer),
        "RFC 7592 §3 registration access token: returned once by POST /register; it \
         authorizes reading, updating and deleting that client.",
    )
}

fn http(builder: HttpBuilder, description: &str) -> SecurityScheme {
    SecurityScheme::Http(builder.description(Some(description)).build())
}

/// The OAuth 2.0 authorization code flow against the provider's own endpoints (`/authorize`
/// and `/token`; relative, so the document does not depend on the issuer). Swagger UI adds
/// PKCE S256 and logs in through the real login page.
pub fn oauth2_authorization_code<'a>(
    authorization_url: &str,
    token_url: &str,
    scopes: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> SecurityScheme {
    SecurityScheme::OAuth2(OAuth2::with_description(
        [Flow::AuthorizationCode(AuthorizationCode::new(
            authorization_url,
            token_url,
            scopes.into_iter().collect::<Scopes>(),
        ))],
        "OAuth 2.0 authorization code flow with PKCE S256 against this provider. In Swagger \
         UI use client_id swagger-ui (public, seeded in dev mode) and leave the secret empty.",
    ))
}

/// Assembles the published document: [`base`] plus every part, in order (today the
/// provider's; the resource server's part is added the same way).
///
/// Unlike [`OpenApi::merge`], which silently keeps the first of two clashing items, this
/// refuses two parts that document the same operation (path and method) or that define a
/// component schema, response or security scheme under one name with different content.
pub fn combine(parts: impl IntoIterator<Item = OpenApi>) -> Result<OpenApi, Error> {
    let mut document = base();
    for part in parts {
        check_conflicts(&document, &part)?;
        document.merge(part);
    }
    Ok(document)
}

fn check_conflicts(document: &OpenApi, part: &OpenApi) -> Result<(), Error> {
    let conflict = |what: String| Err(Error::Conflict(what));
    for (path, item) in &part.paths.paths {
        let Some(existing) = document.paths.paths.get(path) else {
            continue;
        };
        for method in operations(item).keys() {
            if operations(existing).contains_key(method) {
                return conflict(format!("operation {method} {path}"));
            }
        }
    }
    if let (Some(ours), Some(theirs)) = (&document.components, &part.components) {
        for (name, schema) in &theirs.schemas {
            if ours
                .schemas
                .get(name)
                .is_some_and(|existing| !same(existing, schema))
            {
                return conflict(format!("component schema {name}"));
            }
        }
        for (name, response) in &theirs.responses {
            if ours
                .responses
                .get(name)
                .is_some_and(|existing| !same(existing, response))
            {
                return conflict(format!("component response {name}"));
            }
        }
        for (name, scheme) in &theirs.security_schemes {
            if ours
                .security_schemes
                .get(name)
                .is_some_and(|existing| !same(existing, scheme))
            {
                return conflict(format!("security scheme {name}"));
            }
        }
    }
    Ok(())
}

/// The operations of a path item by lower-case method name.
fn operations(item: &utoipa::openapi::PathItem) -> BTreeMap<String, serde_json::Value> {
    match serde_json::to_value(item) {
        Ok(serde_json::Value::Object(members)) => members
            .into_iter()
            .filter(|(key, _)| {
                matches!(
                    key.as_str(),
                    "get"
                        | "put"
                        | "post"
                        | "delete"
                        | "options"
                        | "head"
                        | "patch"
                        | "trace"
                        | "query"
                )
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Compares two items by their JSON form (utoipa's types have no `PartialEq` for all).
fn same<T: serde::Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

/// The document as committed and served: pretty JSON with a final newline.
pub fn to_json(document: &OpenApi) -> Result<String, Error> {
    let mut json = serde_json::to_string_pretty(document).map_err(Error::Serialize)?;
    json.push('\n');
    Ok(json)
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};

    use super::*;

    fn part(path: &str, method: HttpMethod) -> OpenApi {
        OpenApiBuilder::new()
            .paths(
                PathsBuilder::new()
                    .path(path, PathItem::new(method, OperationBuilder::new().build())),
            )
            .build()
    }

    #[test]
    fn combine_merges_disjoint_parts() {
        let document = combine([
            part("/token", HttpMethod::Post),
            part("/api/me", HttpMethod::Get),
            part("/token", HttpMethod::Get),
        ])
        .unwrap();
        assert_eq!(document.paths.paths.len(), 2);
        assert_eq!(document.info.title, "OpenID Connect provider");
        let json = to_json(&document).unwrap();
        assert!(json.starts_with("{\n  \"openapi\": \"3.1.0\""), "{json}");
        assert!(json.ends_with("}\n"));
    }

    #[test]
    fn combine_refuses_the_same_operation_twice() {
        let Err(error) = combine([
            part("/healthz", HttpMethod::Get),
            part("/healthz", HttpMethod::Get),
        ]) else {
            panic!("the same operation twice must be refused");
        };
        assert!(error.to_string().contains("get /healthz"), "{error}");
    }

    #[test]
    fn combine_refuses_clashing_security_schemes() {
        let with_scheme = |scheme: SecurityScheme| {
            let mut document = OpenApiBuilder::new().build();
            document
                .components
                .get_or_insert_default()
                .security_schemes
                .insert(schemes::ACCESS_TOKEN.into(), scheme.into());
            document
        };
        assert!(combine([with_scheme(access_token()), with_scheme(access_token())]).is_ok());
        let Err(error) = combine([with_scheme(access_token()), with_scheme(client_basic())]) else {
            panic!("clashing security schemes must be refused");
        };
        assert!(
            error.to_string().contains("security scheme access_token"),
            "{error}"
        );
    }
}
