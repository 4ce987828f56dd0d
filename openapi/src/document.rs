//! The base OpenAPI documents, the security schemes and tags the servers share, and
//! [`combine`], which assembles the published document from the parts the servers hand in.
//!
//! Each server builds its own part from its handlers (with utoipa-axum's `OpenApiRouter`, so
//! routes and documentation come from one place) and passes it here; this crate never sees the
//! servers' code. The provider's own document is `combine([provider part])`, the resource
//! server's is `combine_onto(resource_base(..), [resource part])`, and the committed
//! `openapi.json` is `combine` of both parts, each placed at its server with [`at_server`].

use serde_json::{Map, Value};
use utoipa::openapi::server::Server;
use utoipa::openapi::tag::Tag;

use utoipa::openapi::security::{
    AuthorizationCode, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder};

use crate::{BearerErrorBody, Error, ErrorBody};

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
    /// OAuth 2.0 authorization code flow with PKCE at the issuer, seen from a resource server
    /// on another origin (absolute URLs).
    pub const ISSUER_OAUTH2: &str = "issuer_oauth2";
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
    /// The demo resource server's notes API.
    pub const NOTES: &str = "Notes";
    /// RFC 9728 protected resource metadata.
    pub const PROTECTED_RESOURCE: &str = "Protected resource";
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

fn tag(name: &str, description: &str) -> Tag {
    TagBuilder::new()
        .name(name)
        .description(Some(description))
        .build()
}

fn health_tag() -> Tag {
    tag(
        tags::HEALTH,
        "Liveness and readiness probes for orchestrators.",
    )
}

fn document(title: &str, description: &str, tags: Vec<Tag>) -> OpenApiBuilder {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(title)
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(description))
                .license(Some(
                    LicenseBuilder::new()
                        .name("MIT OR Apache-2.0")
                        .identifier(Some("MIT OR Apache-2.0"))
                        .build(),
                )),
        )
        .tags(Some(tags))
}

/// The provider's base document: info, tags, no paths. [`combine`] starts from it.
pub fn base() -> OpenApi {
    let provider_tags = vec![
        tag(
            tags::DISCOVERY,
            "OpenID Connect Discovery 1.0 / RFC 8414 metadata and the RFC 7517 signing keys.",
        ),
        tag(
            tags::AUTHORIZATION,
            "RFC 6749 §4.1 authorization code flow in the browser: `/authorize`, RFC 9126 PAR, and the login and consent pages (HTML).",
        ),
        tag(
            tags::TOKEN,
            "RFC 6749 §3.2 token endpoint: authorization_code (PKCE S256), refresh_token (rotating), client_credentials and the RFC 8628 device_code grant.",
        ),
        tag(
            tags::DEVICE,
            "RFC 8628 device authorization grant: the device authorization endpoint and the verification page (HTML).",
        ),
        tag(
            tags::TOKEN_MANAGEMENT,
            "RFC 7662 token introspection and RFC 7009 token revocation.",
        ),
        tag(
            tags::USERINFO,
            "OpenID Connect Core §5.3 UserInfo, protected by RFC 6750 Bearer access tokens.",
        ),
        tag(
            tags::REGISTRATION,
            "RFC 7591 dynamic client registration and RFC 7592 client configuration management.",
        ),
        tag(
            tags::LOGOUT,
            "OpenID Connect RP-Initiated Logout 1.0 (HTML).",
        ),
        health_tag(),
    ];
    document("OpenID Connect provider", DESCRIPTION, provider_tags)
        .components(Some(
            ComponentsBuilder::new()
                .schema_from::<ErrorBody>()
                .responses_from_iter(crate::responses::all())
                .build(),
        ))
        .build()
}

/// The tags of a protected resource's operations (the demo notes API): its part carries them
/// so that they also describe its operations in a combined document.
pub fn resource_tags() -> Vec<Tag> {
    vec![
        tag(
            tags::NOTES,
            "The demo resource server's notes API (its own origin, by default `http://127.0.0.1:8081`): RFC 6750 Bearer access tokens from the provider, verified offline against its JWKS; each operation names the scope it needs.",
        ),
        tag(
            tags::PROTECTED_RESOURCE,
            "RFC 9728 protected resource metadata of the demo resource server: its identifier (the audience tokens must name), its issuer and scopes.",
        ),
        health_tag(),
    ]
}

/// A protected resource's base document (the `resource` demo's `/openapi.json` starts from
/// it): info with the given title and description, [`resource_tags`], the RFC 6750 error
/// responses ([`crate::responses::resource_server`]) and the schemas they reference.
pub fn resource_base(title: &str, description: &str) -> OpenApi {
    document(title, description, resource_tags())
        .components(Some(
            ComponentsBuilder::new()
                .schema_from::<ErrorBody>()
                .schema_from::<BearerErrorBody>()
                .responses_from_iter(crate::responses::resource_server())
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

/// The OAuth 2.0 authorization code flow at an issuer on another origin, as a resource server
/// documents it: absolute `authorization_url` and `token_url`, and the scopes the resource
/// understands.
pub fn issuer_oauth2<'a>(
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
        "OAuth 2.0 authorization code flow with PKCE S256 at the issuer, whose access tokens \
         this resource accepts (request them with the audience of this resource). The flow runs \
         on the issuer's origin; each operation lists the scopes it needs.",
    ))
}

/// A server entry for [`at_server`].
pub fn server(url: &str, description: &str) -> Server {
    let mut server = Server::new(url);
    server.description = Some(description.to_owned());
    server
}

/// Places a server's part at `server`: in [`combine`], its operations are then documented as
/// served there (the first part's servers become the document's, later parts' go onto their
/// path items).
pub fn at_server(mut part: OpenApi, server: Server) -> OpenApi {
    part.servers = Some(vec![server]);
    part
}

/// Assembles the published document: [`base`] plus every part, in order; see
/// [`combine_onto`] for the rules.
pub fn combine(parts: impl IntoIterator<Item = OpenApi>) -> Result<OpenApi, Error> {
    combine_onto(base(), parts)
}

/// Assembles a document from `base` and every part, in order.
///
/// Each part is one server's. A part's `servers` describe where *its* operations are served:
/// the first part's become the document's `servers`, a later part's are set on each of its
/// path items, so every operation keeps a correct URL when several origins are combined.
///
/// Path clashes are resolved per server:
/// - the same operation (path and method) twice from one server (or from parts without
///   `servers`) is refused;
/// - the same path from two servers becomes one path item listing both servers. An operation
///   both serve (the health probes) becomes one operation: identical ones merge as they are;
///   otherwise summaries and descriptions are given per server, tags are joined, and the
///   responses are joined per status code (descriptions per server, content by media type,
///   headers by name). What cannot be joined that way (two different schemas for one media
///   type, different parameters, request bodies, security or operation ids) is refused. An
///   operation only one server serves gets that server in its own `servers`.
///
/// Unlike [`OpenApi::merge`], which silently keeps the first of two clashing items, this
/// refuses parts that define a component schema, response, security scheme or tag under one
/// name with different content.
///
/// Unlike [`OpenApi::merge`], which silently keeps the first of two clashing items, this
/// refuses two parts that document the same operation (path and method) or that define a
/// component schema, response or security scheme under one name with different content.
pub fn combine_onto(
    mut document: OpenApi,
    parts: impl IntoIterator<Item = OpenApi>,
) -> Result<OpenApi, Error> {
    for mut part in parts {
        check_conflicts(&document, &part)?;
        let servers = part.servers.take();
        let is_first = document.paths.paths.is_empty() && document.servers.is_none();
        if is_first {
            document.servers = servers.clone();
        }
        let defaults = document.servers.clone();
        for (path, mut item) in std::mem::take(&mut part.paths.paths) {
            if !is_first && item.servers.is_none() {
                item.servers.clone_from(&servers);
            }
            match document.paths.paths.get_mut(&path) {
                Some(existing) => merge_path_item(&path, existing, item, defaults.as_deref())?,
                None => {
                    document.paths.paths.insert(path, item);
                }
            }
        }
        document.merge(part);
    }
    Ok(document)
}

fn check_conflicts(document: &OpenApi, part: &OpenApi) -> Result<(), Error> {
    let conflict = |what: String| Err(Error::Conflict(what));
    for tag in part.tags.iter().flatten() {
        if document
            .tags
            .iter()
            .flatten()
            .any(|existing| existing.name == tag.name && !same(existing, tag))
        {
            return conflict(format!("tag {}", tag.name));
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

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];

/// Joins `incoming` into `existing`, the path item already in the document at `path`;
/// `defaults` are the document's servers (those of path items without their own).
fn merge_path_item(
    path: &str,
    existing: &mut utoipa::openapi::PathItem,
    incoming: utoipa::openapi::PathItem,
    defaults: Option<&[Server]>,
) -> Result<(), Error> {
    let ours = existing
        .servers
        .clone()
        .or(defaults.map(<[Server]>::to_vec));
    let theirs = incoming
        .servers
        .clone()
        .or(defaults.map(<[Server]>::to_vec));
    let (ours_json, theirs_json) = (to_object(&*existing)?, to_object(&incoming)?);
    let clashing: Vec<&str> = METHODS
        .iter()
        .copied()
        .filter(|method| ours_json.contains_key(*method) && theirs_json.contains_key(*method))
        .collect();
    let (Some(ours), Some(theirs)) = (ours, theirs) else {
        // A part without servers: its operations cannot be told apart from the others'.
        if let Some(method) = clashing.first() {
            return Err(Error::Conflict(format!("operation {method} {path}")));
        }
        if existing.servers.is_some() {
            // The incoming operations would inherit the other part's servers.
            return Err(Error::Conflict(format!(
                "path item {path} (one part names its servers, the other does not)"
            )));
        }
        let mut incoming = incoming;
        let servers = incoming.servers.take();
        existing.merge_operations(with_operation_servers(incoming, servers)?);
        return Ok(());
    };
    if ours == theirs {
        if let Some(method) = clashing.first() {
            return Err(Error::Conflict(format!("operation {method} {path}")));
        }
        existing.merge_operations(incoming);
        return Ok(());
    }
    // Two servers serve this path: one path item listing both.
    for key in ours_json.keys().chain(theirs_json.keys()) {
        let is_operation = METHODS.contains(&key.as_str());
        if !is_operation && key != "servers" && ours_json.get(key) != theirs_json.get(key) {
            return Err(Error::Conflict(format!("path item {path} ({key} differs)")));
        }
    }
    let mut merged = Map::new();
    let mut servers = ours.clone();
    servers.extend(
        theirs
            .iter()
            .filter(|server| !ours.contains(server))
            .cloned(),
    );
    merged.insert("servers".into(), serialize(&servers)?);
    for method in METHODS {
        let operation = match (ours_json.get(*method), theirs_json.get(*method)) {
            (Some(a), Some(b)) if a == b => a.clone(),
            (Some(a), Some(b)) => {
                merge_operation(&format!("{method} {path}"), (a, &ours), (b, &theirs))?
            }
            (Some(only), None) => with_servers(only, &ours)?,
            (None, Some(only)) => with_servers(only, &theirs)?,
            (None, None) => continue,
        };
        merged.insert((*method).to_owned(), operation);
    }
    for (key, value) in ours_json {
        if !METHODS.contains(&key.as_str()) && key != "servers" {
            merged.insert(key, value);
        }
    }
    *existing = serde_json::from_value(Value::Object(merged)).map_err(Error::Serialize)?;
    Ok(())
}

/// Moves a path item's `servers` onto each of its operations (that have none of their own).
fn with_operation_servers(
    item: utoipa::openapi::PathItem,
    servers: Option<Vec<Server>>,
) -> Result<utoipa::openapi::PathItem, Error> {
    let Some(servers) = servers else {
        return Ok(item);
    };
    let mut json = to_object(&item)?;
    for method in METHODS {
        if let Some(operation) = json.get_mut(*method) {
            *operation = with_servers(operation, &servers)?;
        }
    }
    serde_json::from_value(Value::Object(json)).map_err(Error::Serialize)
}

fn with_servers(operation: &Value, servers: &[Server]) -> Result<Value, Error> {
    let mut operation = operation.clone();
    if let Value::Object(members) = &mut operation
        && !members.contains_key("servers")
    {
        members.insert("servers".into(), serialize(&servers)?);
    }
    Ok(operation)
}

/// One operation that two servers serve with different documentation; see [`combine_onto`].
fn merge_operation(
    name: &str,
    (a, a_servers): (&Value, &[Server]),
    (b, b_servers): (&Value, &[Server]),
) -> Result<Value, Error> {
    let conflict = |what: &str| {
        Err(Error::Conflict(format!(
            "operation {name} ({what} differs between servers)"
        )))
    };
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return conflict("form");
    };
    let (at_a, at_b) = (at(a_servers), at(b_servers));
    let mut merged = Map::new();
    for key in a.keys().chain(b.keys()) {
        if merged.contains_key(key) {
            continue;
        }
        let (left, right) = (a.get(key), b.get(key));
        let value = match key.as_str() {
            "tags" => {
                let mut tags: Vec<Value> =
                    left.and_then(Value::as_array).cloned().unwrap_or_default();
                for tag in right.and_then(Value::as_array).into_iter().flatten() {
                    if !tags.contains(tag) {
                        tags.push(tag.clone());
                    }
                }
                Value::Array(tags)
            }
            "summary" => match (left.and_then(Value::as_str), right.and_then(Value::as_str)) {
                (Some(left), Some(right)) if left != right => {
                    Value::String(format!("{left} / {right}"))
                }
                (Some(text), _) | (None, Some(text)) => Value::String(text.to_owned()),
                (None, None) => continue,
            },
            "description" => continue,
            "responses" => merge_responses(name, left, right, (&at_a, &at_b))?,
            _ if left == right => left.cloned().unwrap_or(Value::Null),
            _ => return conflict(key),
        };
        merged.insert(key.clone(), value);
    }
    let text = |operation: &Map<String, Value>| {
        ["summary", "description"]
            .iter()
            .filter_map(|key| operation.get(*key).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    if text(a) == text(b) {
        if let Some(description) = a.get("description") {
            merged.insert("description".into(), description.clone());
        }
    } else {
        merged.insert(
            "description".into(),
            Value::String(format!(
                "**{at_a}:** {}\n\n**{at_b}:** {}",
                text(a),
                text(b)
            )),
        );
    }
    Ok(Value::Object(merged))
}

fn merge_responses(
    name: &str,
    a: Option<&Value>,
    b: Option<&Value>,
    (at_a, at_b): (&str, &str),
) -> Result<Value, Error> {
    let conflict = |what: String| {
        Err(Error::Conflict(format!(
            "operation {name} ({what} differs between servers)"
        )))
    };
    let empty = Map::new();
    let a = a.and_then(Value::as_object).unwrap_or(&empty);
    let b = b.and_then(Value::as_object).unwrap_or(&empty);
    let mut merged = Map::new();
    for status in a.keys().chain(b.keys()) {
        if merged.contains_key(status) {
            continue;
        }
        let response = match (a.get(status), b.get(status)) {
            (Some(left), Some(right)) if left == right => left.clone(),
            (Some(Value::Object(left)), Some(Value::Object(right)))
                if !left.contains_key("$ref") && !right.contains_key("$ref") =>
            {
                let mut response = Map::new();
                for key in left.keys().chain(right.keys()) {
                    if response.contains_key(key) {
                        continue;
                    }
                    let value = match key.as_str() {
                        "description" => Value::String(format!(
                            "**{at_a}:** {}\n\n**{at_b}:** {}",
                            left.get(key).and_then(Value::as_str).unwrap_or("-"),
                            right.get(key).and_then(Value::as_str).unwrap_or("-"),
                        )),
                        "headers" | "content" => {
                            let mut members = left
                                .get(key)
                                .and_then(Value::as_object)
                                .cloned()
                                .unwrap_or_default();
                            for (member, value) in right
                                .get(key)
                                .and_then(Value::as_object)
                                .into_iter()
                                .flatten()
                            {
                                match members.get(member) {
                                    Some(existing) if existing != value => {
                                        return conflict(format!(
                                            "response {status} {key} {member}"
                                        ));
                                    }
                                    _ => {
                                        members.insert(member.clone(), value.clone());
                                    }
                                }
                            }
                            // Sorted, whatever serde_json's `preserve_order` (josekit turns it on).
                            members.sort_keys();
                            Value::Object(members)
                        }
                        _ if left.get(key) == right.get(key) => {
                            left.get(key).cloned().unwrap_or(Value::Null)
                        }
                        _ => return conflict(format!("response {status} {key}")),
                    };
                    response.insert(key.clone(), value);
                }
                Value::Object(response)
            }
            (Some(_), Some(_)) => return conflict(format!("response {status}")),
            (Some(only), None) => only_at(only, at_a),
            (None, Some(only)) => only_at(only, at_b),
            (None, None) => continue,
        };
        merged.insert(status.clone(), response);
    }
    Ok(Value::Object(merged))
}

/// A response only one of two servers sends: its description says where.
fn only_at(response: &Value, at: &str) -> Value {
    let mut response = response.clone();
    if let Value::Object(members) = &mut response
        && let Some(Value::String(description)) = members.get_mut("description")
    {
        *description = format!("**{at} only:** {description}");
    }
    response
}

/// "At `url`" for a list of servers.
fn at(servers: &[Server]) -> String {
    let urls: Vec<String> = servers
        .iter()
        .map(|server| format!("`{}`", server.url))
        .collect();
    format!("At {}", urls.join(", "))
}

fn to_object<T: serde::Serialize>(item: &T) -> Result<Map<String, Value>, Error> {
    match serde_json::to_value(item).map_err(Error::Serialize)? {
        Value::Object(members) => Ok(members),
        _ => Ok(Map::new()),
    }
}

fn serialize<T: serde::Serialize>(item: &T) -> Result<Value, Error> {
    serde_json::to_value(item).map_err(Error::Serialize)
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

    /// A part from JSON paths (operations as the JSON they serialise to).
    fn part_from(paths: serde_json::Value) -> OpenApi {
        serde_json::from_value(serde_json::json!({
            "openapi": "3.1.0", "info": {"title": "part", "version": "0"}, "paths": paths,
        }))
        .unwrap()
    }

    fn probe(media_type: &str, summary: &str) -> serde_json::Value {
        serde_json::json!({
            "tags": ["Health"], "summary": summary, "operationId": "get_readyz",
            "responses": {"200": {"description": "Ready.", "content": {media_type: {"schema": {"type": "string"}}}}},
        })
    }

    #[test]
    fn parts_at_servers_keep_their_urls_and_share_identical_operations() {
        let liveness = probe("text/plain", "Liveness.");
        let provider = at_server(
            part_from(serde_json::json!({
                "/token": {"post": {"responses": {"200": {"description": "Tokens."}}}},
                "/healthz": {"get": liveness},
            })),
            server("http://127.0.0.1:8080", "provider"),
        );
        let resource = at_server(
            part_from(serde_json::json!({
                "/api/me": {"get": {"responses": {"200": {"description": "Me."}}}},
                "/healthz": {"get": liveness},
            })),
            server("http://127.0.0.1:8081", "resource"),
        );
        let json = serde_json::to_value(combine([provider, resource]).unwrap()).unwrap();
        assert_eq!(json["servers"][0]["url"], "http://127.0.0.1:8080");
        assert!(json["paths"]["/token"].get("servers").is_none());
        assert_eq!(
            json["paths"]["/api/me"]["servers"][0]["url"],
            "http://127.0.0.1:8081"
        );
        let urls: Vec<&str> = json["paths"]["/healthz"]["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|server| server["url"].as_str().unwrap())
            .collect();
        assert_eq!(urls, ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]);
        assert_eq!(json["paths"]["/healthz"]["get"], liveness);
    }

    #[test]
    fn an_operation_two_servers_document_differently_is_joined_per_server() {
        let provider = at_server(
            part_from(serde_json::json!({"/readyz": {"get": probe("text/plain", "Database up.")}})),
            server("http://p", "provider"),
        );
        let resource = at_server(
            part_from(serde_json::json!({"/readyz": {
                "get": probe("application/json", "Keys loaded."),
                "head": probe("application/json", "Keys loaded."),
            }})),
            server("http://r", "resource"),
        );
        let json = serde_json::to_value(combine([provider, resource]).unwrap()).unwrap();
        let operation = &json["paths"]["/readyz"]["get"];
        assert_eq!(operation["summary"], "Database up. / Keys loaded.");
        assert_eq!(
            operation["description"],
            "**At `http://p`:** Database up.\n\n**At `http://r`:** Keys loaded."
        );
        let content = operation["responses"]["200"]["content"]
            .as_object()
            .unwrap();
        assert_eq!(
            content.keys().collect::<Vec<_>>(),
            ["application/json", "text/plain"]
        );
        assert_eq!(
            json["paths"]["/readyz"]["head"]["servers"][0]["url"], "http://r",
            "an operation only one server serves names it"
        );

        let clash = |theirs: serde_json::Value| {
            combine([
                at_server(
                    part_from(serde_json::json!({"/readyz": {"get": probe("text/plain", "A")}})),
                    server("http://p", "p"),
                ),
                at_server(
                    part_from(serde_json::json!({"/readyz": {"get": theirs}})),
                    server("http://r", "r"),
                ),
            ])
            .map(|_| ())
            .unwrap_err()
            .to_string()
        };
        let mut other_schema = probe("text/plain", "B");
        other_schema["responses"]["200"]["content"]["text/plain"]["schema"]["type"] =
            "integer".into();
        assert!(clash(other_schema).contains("response 200 content text/plain"));
        let mut other_id = probe("application/json", "B");
        other_id["operationId"] = "get_ready".into();
        assert!(clash(other_id).contains("operationId"));
    }

    #[test]
    fn combine_refuses_clashing_tags() {
        let with_tag = |description: &str| {
            let mut document = OpenApiBuilder::new().build();
            document.tags = Some(vec![tag(tags::HEALTH, description)]);
            document
        };
        assert!(combine([with_tag("Liveness and readiness probes for orchestrators.")]).is_ok());
        let Err(error) = combine([with_tag("other")]) else {
            panic!("a tag with another description must be refused");
        };
        assert!(error.to_string().contains("tag Health"), "{error}");
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
