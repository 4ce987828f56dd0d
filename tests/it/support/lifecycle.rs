//! The token-lifecycle endpoints as a client calls them: client-authenticated form posts to any
//! token-family endpoint (`/introspect`, `/revoke`, `/par`, `/device_authorization`), JSON
//! posts for dynamic registration, the demo service and device clients, and small page helpers
//! for the forms that are not login or consent (device code entry, logout confirmation).

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    ClientAuth, Reply, Rp, TestProvider, attribute_after, basic_header, encode, owned,
};

/// The confidential demo service (client_credentials only, scopes `api:read api:write`).
pub const SERVICE: &str = "demo-service";
/// Its secret.
pub const SERVICE_SECRET: &str = "demo-service-secret";
/// The notes API's own client (a resource server, `client_secret_post`).
pub const API: &str = "demo-api";
/// Its secret.
pub const API_SECRET: &str = "demo-api-secret";
/// The public demo device client (device grant + refresh_token).
pub const DEVICE: &str = "demo-device";
/// demo-web's one registered post-logout redirect URI.
pub const WEB_POST_LOGOUT: &str = "http://127.0.0.1:8082/";

impl Rp {
    /// demo-service with `client_secret_basic`.
    pub fn service() -> Rp {
        Rp {
            client_id: SERVICE,
            secret: Some(SERVICE_SECRET),
            auth: ClientAuth::Basic,
            redirect_uri: String::new(),
        }
    }

    /// demo-service with its secret in the body: not its registered method.
    pub fn service_in_body() -> Rp {
        Rp {
            auth: ClientAuth::Post,
            ..Rp::service()
        }
    }

    /// demo-api: the notes API's own client, a resource server registered for
    /// `client_secret_post` (client_credentials and token exchange).
    pub fn api() -> Rp {
        Rp {
            client_id: API,
            secret: Some(API_SECRET),
            auth: ClientAuth::Post,
            redirect_uri: String::new(),
        }
    }

    /// demo-device: public, `client_id` only.
    pub fn device() -> Rp {
        Rp {
            client_id: DEVICE,
            secret: None,
            auth: ClientAuth::None,
            redirect_uri: String::new(),
        }
    }

    /// The same client presenting another secret.
    pub fn with_secret(self, secret: &'static str) -> Rp {
        Rp {
            secret: Some(secret),
            ..self
        }
    }

    /// A dynamically registered client. `Rp` holds `'static` ids (the demo clients), so the
    /// registered id and secret are leaked: a few bytes for the life of the test binary.
    pub fn registered(
        client_id: &str,
        secret: Option<&str>,
        auth: ClientAuth,
        redirect_uri: &str,
    ) -> Rp {
        let leak = |text: &str| -> &'static str { Box::leak(text.to_owned().into_boxed_str()) };
        Rp {
            client_id: leak(client_id),
            secret: secret.map(leak),
            auth,
            redirect_uri: redirect_uri.to_owned(),
        }
    }
}

/// A `provider users` command an operator runs against a running provider's database.
#[derive(Clone, Copy, Debug)]
pub enum UsersCommand {
    /// `provider users sign-out`.
    SignOut,
    /// `provider users reset-mfa`.
    ResetMfa,
}

/// Runs `command` for `username` through the admin module on the provider's database, as the
/// CLI would; returns the lines it printed.
pub async fn users_command(
    provider: &TestProvider,
    command: UsersCommand,
    username: &str,
) -> Vec<String> {
    let admin = provider::admin::Admin::open(&provider::admin::Target {
        database_url: Some(provider.database_url.as_str().to_owned()),
        ..provider::admin::Target::default()
    })
    .await
    .expect("admin opens the database");
    let mut lines = Vec::new();
    let mut print = |line: &str| lines.push(line.to_owned());
    let mut read_secret = |_: &str| Ok(String::new());
    let mut console = provider::admin::Console {
        print: &mut print,
        read_secret: &mut read_secret,
    };
    let done = match command {
        UsersCommand::SignOut => {
            provider::admin::users::sign_out(&admin, username, &mut console).await
        }
        UsersCommand::ResetMfa => {
            provider::admin::users::reset_mfa(&admin, username, &mut console).await
        }
    };
    done.expect("the users command succeeds");
    lines
}

/// Seconds since the epoch, for the claims a test signs itself.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        .try_into()
        .expect("fits")
}

impl TestProvider {
    /// RFC 7591 open registration (dev mode) with `metadata`.
    pub async fn register(&self, metadata: Value) -> Reply {
        self.json_request(
            reqwest::Method::POST,
            &self.url("/register"),
            None,
            Some(&metadata),
        )
        .await
    }

    /// POSTs a form to `path` as `rp`, authenticated as at the token endpoint (with Basic,
    /// `client_id` is in the body only when `params` has it).
    pub async fn client_post(&self, path: &str, rp: &Rp, params: &[(&str, &str)]) -> Reply {
        let mut pairs = owned(params);
        let basic = match rp.auth {
            ClientAuth::Basic => Some((rp.client_id, rp.secret.unwrap_or_default())),
            ClientAuth::Post => {
                pairs.push(("client_id".into(), rp.client_id.into()));
                pairs.push(("client_secret".into(), rp.secret.unwrap_or_default().into()));
                None
            }
            ClientAuth::None => {
                pairs.push(("client_id".into(), rp.client_id.into()));
                None
            }
        };
        self.raw_post(path, basic, &pairs).await
    }

    /// POSTs a form to `path` with optional HTTP Basic credentials and nothing else added.
    pub async fn raw_post(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        pairs: &[(String, String)],
    ) -> Reply {
        let mut request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(pairs));
        if let Some((id, secret)) = basic {
            request = request.header("authorization", basic_header(id, secret));
        }
        Reply::read(request.send().await.expect("POST")).await
    }

    /// RFC 7662 §2.1 introspection request as `rp`.
    pub async fn introspect(&self, rp: &Rp, token: &str, hint: Option<&str>) -> Reply {
        let mut params = vec![("token", token)];
        params.extend(hint.map(|hint| ("token_type_hint", hint)));
        self.client_post("/introspect", rp, &params).await
    }

    /// RFC 7009 §2.1 revocation request as `rp`.
    pub async fn revoke(&self, rp: &Rp, token: &str, hint: Option<&str>) -> Reply {
        let mut params = vec![("token", token)];
        params.extend(hint.map(|hint| ("token_type_hint", hint)));
        self.client_post("/revoke", rp, &params).await
    }

    /// A JSON request (`POST`/`PUT` with a body, `GET`/`DELETE` without) with an optional
    /// `Authorization: Bearer`: RFC 7591 registration and RFC 7592 management.
    pub async fn json_request(
        &self,
        method: reqwest::Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method, url);
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        Reply::read(request.send().await.expect("JSON request")).await
    }

    /// The OpenID Provider Metadata document.
    pub async fn discovery(&self) -> Value {
        let reply = self
            .get(&self.http, &self.url("/.well-known/openid-configuration"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json()
    }
}

/// The value of the input named `name` in an HTML page, with the usual escapes undone.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..start].rfind('<')?;
    let tag_end = start + html[start..].find('>')?;
    let value = attribute_after(&html[tag_start..tag_end], "value=\"")?;
    Some(
        value
            .replace("&#x2f;", "/")
            .replace("&#x2F;", "/")
            .replace("&#47;", "/")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// An HTML page of the provider: status, `text/html`, and no redirect.
pub fn assert_html_page(reply: &Reply, status: StatusCode, context: &str) {
    assert_eq!(reply.status, status, "{context}: status ({})", reply.text);
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/html"),
        "{context}: Content-Type {content_type}"
    );
    assert_eq!(reply.location(), None, "{context}: no redirect");
}

/// The error code shown on the provider's error page (`<code>error</code>`).
pub fn page_error_code(reply: &Reply) -> Option<&str> {
    let start = reply.text.find("<code>")? + "<code>".len();
    let end = reply.text[start..].find("</code>")?;
    Some(&reply.text[start..start + end])
}
