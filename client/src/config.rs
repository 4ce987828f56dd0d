//! Command line and configuration: `Args` (clap flags with `CLIENT_*` env equivalents, all
//! optional) validated into a typed config per subcommand. Defaults go in after parsing, so an
//! unset flag and an unset variable look alike. Precedence: flag > env > built-in default.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

use crate::Error;
use crate::oidc::token::{ClientRegistration, ClientSecret};

/// Where the provider's dev mode listens.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
/// Where the resource demo listens.
pub const DEFAULT_RESOURCE: &str = "http://127.0.0.1:8081";
/// Where `client web` listens: the address registered for `demo-web`.
pub const DEFAULT_BIND: &str = "127.0.0.1:8082";
/// The demo confidential web client of the provider's dev seed.
pub const DEFAULT_CLIENT_ID: &str = "demo-web";
/// Its secret (dev only; it is printed in the provider's README).
pub const DEFAULT_CLIENT_SECRET: &str = "demo-web-secret";
/// Everything `demo-web` may ask for: `offline_access` brings a refresh token (and a consent
/// page, OIDC Core §11).
pub const DEFAULT_SCOPE: &str = "openid profile email offline_access api:read api:write";
/// The demo user the walkthrough signs in as.
pub const DEFAULT_USERNAME: &str = "alice";
/// Her password (dev seed).
pub const DEFAULT_PASSWORD: &str = "alice-password-2026";

/// Command line of the `client` binary.
#[derive(Debug, Parser)]
#[command(
    name = "client",
    version,
    about = "Demo OpenID Connect relying party and flow walkthrough"
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the demo web app (code flow + PKCE, tokens kept server-side) on http://127.0.0.1:8082.
    Web(WebArgs),
    /// Walk through the whole flow in the terminal, step by step (starts its own provider and
    /// resource server unless --issuer is given).
    Walkthrough(WalkthroughArgs),
}

/// Flags shared by both subcommands.
#[derive(Debug, Default, Args)]
pub struct ClientArgs {
    /// The provider's issuer URL [default: http://127.0.0.1:8080; walkthrough: start one in-process].
    #[arg(long, env = "CLIENT_ISSUER")]
    pub issuer: Option<String>,
    /// The resource server's base URL [default: http://127.0.0.1:8081].
    #[arg(long, env = "CLIENT_RESOURCE")]
    pub resource: Option<String>,
    /// The registered client id [default: demo-web].
    #[arg(long, env = "CLIENT_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The client secret; an empty value makes a public client [default: demo-web-secret].
    #[arg(long, env = "CLIENT_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// The scope to request [default: openid profile email offline_access api:read api:write].
    #[arg(long, env = "CLIENT_SCOPE")]
    pub scope: Option<String>,
}

/// `client web` flags.
#[derive(Debug, Default, Args)]
pub struct WebArgs {
    /// Address to listen on [default: 127.0.0.1:8082].
    #[arg(long, env = "CLIENT_BIND")]
    pub bind: Option<String>,
    /// The URL browsers use to reach this app, when it differs from the bind address (behind
    /// a proxy) [default: http://BIND]. The redirect URI is PUBLIC_URL/callback.
    #[arg(long, env = "CLIENT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Provider, resource and registration flags.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `client walkthrough` flags.
#[derive(Debug, Default, Args)]
pub struct WalkthroughArgs {
    /// Provider, resource and registration flags.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The user to sign in as [default: alice].
    #[arg(long, env = "CLIENT_USERNAME")]
    pub username: Option<String>,
    /// Their password [default: alice-password-2026].
    #[arg(long, env = "CLIENT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// The redirect URI registered for the client [default: http://127.0.0.1:8082/callback].
    #[arg(long, env = "CLIENT_REDIRECT_URI")]
    pub redirect_uri: Option<String>,
    /// Wait for Enter after each step.
    #[arg(long)]
    pub pause: bool,
    /// Plain output without colours (also when NO_COLOR is set or stdout is not a terminal).
    #[arg(long)]
    pub no_color: bool,
    /// Also show attacks being refused, each with its reason.
    #[arg(long)]
    pub attacks: bool,
    /// Which flow to walk through: `code` (sign-in with the code flow, the default),
    /// `resource` (RFC 8707 resource indicators with private_key_jwt), `dpop` (RFC 9449
    /// sender-constrained tokens) or `token-exchange` (RFC 8693). The last three always show
    /// their attacks.
    #[arg(long, value_enum, default_value = "code")]
    pub flow: Flow,
}

/// The walkthrough's flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Flow {
    /// The authorization code flow with PKCE, sign-in to logout.
    #[default]
    Code,
    /// RFC 8707 resource indicators: one token per API, each with its algorithm and scopes;
    /// the client authenticates with a key (RFC 7523 private_key_jwt).
    Resource,
    /// RFC 9449 DPoP: a token bound to the client's key.
    Dpop,
    /// RFC 8693 token exchange: an API calls the next service on the user's behalf.
    TokenExchange,
}

/// Validated settings of the relying party, shared by both subcommands.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The provider's issuer.
    pub issuer: String,
    /// The resource server's base URL.
    pub resource: String,
    /// The registration (client id, secret, redirect URIs, scope).
    pub registration: ClientRegistration,
}

/// Validated `client web` configuration.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Listen address.
    pub bind: SocketAddr,
    /// The origin browsers use (no trailing slash).
    pub public_url: String,
    /// The relying party settings.
    pub client: ClientConfig,
}

/// Validated `client walkthrough` configuration.
#[derive(Clone, Debug)]
pub struct WalkthroughConfig {
    /// `None`: start a provider and a resource server in-process.
    pub issuer: Option<String>,
    /// The resource server (ignored when `issuer` is `None`).
    pub resource: String,
    /// The registration.
    pub registration: ClientRegistration,
    /// The user.
    pub username: String,
    /// The password.
    pub password: ClientSecret,
    /// Wait for Enter between steps.
    pub pause: bool,
    /// Colour the output.
    pub colour: bool,
    /// Run the attack scenarios too.
    pub attacks: bool,
    /// The flow.
    pub flow: Flow,
}

fn http_url(flag: &str, value: &str) -> Result<String, Error> {
    let parsed = url::Url::parse(value).map_err(|_| {
        Error::Config(format!(
            "{flag} {value:?} is not a URL like http://127.0.0.1:8080"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(Error::Config(format!(
            "{flag} {value:?} must be an http(s) URL"
        )));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

impl ClientArgs {
    fn into_config(
        self,
        redirect_uri: String,
        post_logout_redirect_uri: Option<String>,
    ) -> Result<ClientConfig, Error> {
        let issuer = http_url(
            "--issuer / CLIENT_ISSUER",
            self.issuer.as_deref().unwrap_or(DEFAULT_ISSUER),
        )?;
        let resource = http_url(
            "--resource / CLIENT_RESOURCE",
            self.resource.as_deref().unwrap_or(DEFAULT_RESOURCE),
        )?;
        let client_id = self
            .client_id
            .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned());
        if client_id.is_empty() {
            return Err(Error::Config(
                "--client-id / CLIENT_CLIENT_ID must not be empty".into(),
            ));
        }
        let client_secret = match self.client_secret {
            None => Some(ClientSecret::new(DEFAULT_CLIENT_SECRET.to_owned())),
            Some(secret) if secret.is_empty() => None,
            Some(secret) => Some(ClientSecret::new(secret)),
        };
        let scope = self.scope.unwrap_or_else(|| DEFAULT_SCOPE.to_owned());
        if !scope.split(' ').any(|item| item == "openid") {
            return Err(Error::Config(
                "--scope / CLIENT_SCOPE must include openid".into(),
            ));
        }
        Ok(ClientConfig {
            issuer,
            resource,
            registration: ClientRegistration {
                client_id,
                client_secret,
                redirect_uri,
                post_logout_redirect_uri,
                scope,
            },
        })
    }
}

impl WebArgs {
    /// Applies defaults and validates; errors name the flag and its env variable.
    pub fn into_config(self) -> Result<WebConfig, Error> {
        let bind_text = self.bind.as_deref().unwrap_or(DEFAULT_BIND);
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            Error::Config(format!(
                "--bind / CLIENT_BIND {bind_text:?} is not an address like 127.0.0.1:8082"
            ))
        })?;
        let public_url = match self.public_url {
            Some(url) => http_url("--public-url / CLIENT_PUBLIC_URL", &url)?,
            None => format!("http://{bind}"),
        };
        let client = self.client.into_config(
            format!("{public_url}/callback"),
            Some(format!("{public_url}/")),
        )?;
        Ok(WebConfig {
            bind,
            public_url,
            client,
        })
    }
}

impl WalkthroughArgs {
    /// Applies defaults and validates. `colour_allowed` is the caller's TTY/NO_COLOR decision.
    pub fn into_config(self, colour_allowed: bool) -> Result<WalkthroughConfig, Error> {
        let issuer = self.client.issuer.clone();
        let redirect_uri = match self.redirect_uri {
            Some(uri) => http_url("--redirect-uri / CLIENT_REDIRECT_URI", &uri)?,
            None => format!("http://{DEFAULT_BIND}/callback"),
        };
        let post_logout = format!(
            "{}/",
            redirect_uri
                .strip_suffix("/callback")
                .unwrap_or(&redirect_uri)
        );
        let client = self.client.into_config(redirect_uri, Some(post_logout))?;
        Ok(WalkthroughConfig {
            issuer: issuer.map(|_| client.issuer.clone()),
            resource: client.resource,
            registration: client.registration,
            username: self.username.unwrap_or_else(|| DEFAULT_USERNAME.to_owned()),
            password: ClientSecret::new(
                self.password.unwrap_or_else(|| DEFAULT_PASSWORD.to_owned()),
            ),
            pause: self.pause,
            colour: colour_allowed && !self.no_color,
            attacks: self.attacks,
            flow: self.flow,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(args: &[&str]) -> Result<WebConfig, Error> {
        let mut argv = vec!["client", "web"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).expect("clap parse").command {
            Command::Web(args) => args.into_config(),
            Command::Walkthrough(_) => unreachable!("parsed web"),
        }
    }

    #[test]
    fn web_defaults_match_the_demo_registration() {
        let config = web(&[]).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8082");
        assert_eq!(config.public_url, "http://127.0.0.1:8082");
        assert_eq!(config.client.issuer, "http://127.0.0.1:8080");
        assert_eq!(config.client.resource, "http://127.0.0.1:8081");
        let registration = &config.client.registration;
        assert_eq!(registration.client_id, "demo-web");
        assert_eq!(
            registration
                .client_secret
                .as_ref()
                .map(ClientSecret::expose),
            Some("demo-web-secret")
        );
        assert_eq!(registration.redirect_uri, "http://127.0.0.1:8082/callback");
        assert_eq!(
            registration.post_logout_redirect_uri.as_deref(),
            Some("http://127.0.0.1:8082/")
        );
    }

    #[test]
    fn web_flags_and_errors() {
        let config = web(&[
            "--bind",
            "127.0.0.1:0",
            "--public-url",
            "http://127.0.0.1:8082/",
            "--client-secret",
            "",
        ])
        .unwrap();
        assert_eq!(config.public_url, "http://127.0.0.1:8082");
        assert!(config.client.registration.client_secret.is_none());
        let cases: [(&[&str], &str); 4] = [
            (&["--bind", "nowhere"], "CLIENT_BIND"),
            (&["--issuer", "ftp://x"], "CLIENT_ISSUER"),
            (&["--resource", "not a url"], "CLIENT_RESOURCE"),
            (&["--scope", "profile"], "openid"),
        ];
        for (args, expected) in cases {
            match web(args) {
                Err(Error::Config(text)) => assert!(text.contains(expected), "{args:?}: {text}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn walkthrough_starts_servers_unless_an_issuer_is_given() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["client", "walkthrough"];
            argv.extend_from_slice(args);
            match Cli::try_parse_from(argv).expect("clap parse").command {
                Command::Walkthrough(args) => args.into_config(true).unwrap(),
                Command::Web(_) => unreachable!("parsed walkthrough"),
            }
        };
        let local = parse(&["--attacks", "--no-color"]);
        assert!(local.issuer.is_none() && local.attacks && !local.colour);
        assert_eq!(
            local.registration.redirect_uri,
            "http://127.0.0.1:8082/callback"
        );
        let remote = parse(&["--issuer", "http://127.0.0.1:9000/"]);
        assert_eq!(remote.issuer.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(remote.colour);
    }
}
