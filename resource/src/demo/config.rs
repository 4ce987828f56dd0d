//! Demo configuration: `Args` (flags + env, all optional) validated into a `Config`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use jsonwebtoken::Algorithm;

use crate::{Error, MAX_LEEWAY, VerifierConfig};

/// The address the demo binds when `--bind` is not given.
pub const DEFAULT_BIND: &str = "127.0.0.1:8081";
/// The issuer trusted when `--issuer` is not given: the provider's dev address.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
/// The demo API's identifier (the `aud` tokens must carry), whatever address it binds.
pub const DEFAULT_AUDIENCE: &str = "http://127.0.0.1:8081";

/// Command line of the `resource` demo. Every flag has an env equivalent; defaults are applied
/// after parsing (in [`Args::into_config`]) so an unset flag and an unset variable look alike.
#[derive(Debug, Default, Parser)]
#[command(
    name = "resource",
    version,
    about = "Demo notes API protected by offline JWT access-token verification"
)]
pub struct Args {
    /// Address to listen on [default: 127.0.0.1:8081].
    #[arg(long, env = "RESOURCE_BIND")]
    pub bind: Option<String>,
    /// Issuer whose access tokens are accepted; its discovery document names the JWKS
    /// [default: http://127.0.0.1:8080].
    #[arg(long, env = "RESOURCE_ISSUER")]
    pub issuer: Option<String>,
    /// This API's identifier, required in the tokens' `aud` [default: http://127.0.0.1:8081].
    #[arg(long, env = "RESOURCE_AUDIENCE")]
    pub audience: Option<String>,
    /// The signature algorithm of this API's tokens, as registered for it at the provider
    /// (RS256, ES256 or EdDSA); tokens signed otherwise are refused [default: RS256].
    #[arg(long, env = "RESOURCE_ALGORITHM")]
    pub algorithm: Option<String>,
    /// Accept only DPoP-bound tokens (RFC 9449) instead of Bearer tokens too [default: false].
    #[arg(long, env = "RESOURCE_REQUIRE_DPOP", num_args = 0..=1, default_missing_value = "true")]
    pub require_dpop: Option<bool>,
    /// The URL clients reach this API at, for DPoP proofs' htu [default: the audience when it
    /// is an http(s) URL].
    #[arg(long, env = "RESOURCE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Clock-skew leeway for exp/nbf/iat, in seconds [default: 30, at most 300].
    #[arg(long, env = "RESOURCE_LEEWAY_SECS")]
    pub leeway_secs: Option<u64>,
    /// JWKS URL, for issuers without OpenID discovery [default: from discovery].
    #[arg(long, env = "RESOURCE_JWKS_URI")]
    pub jwks_uri: Option<String>,
    /// Fetch discovery and keys over plain http from hosts other than loopback (a private
    /// network you trust; keys fetched in clear can be replaced in transit) [default: false].
    #[arg(long, env = "RESOURCE_ALLOW_INSECURE_HTTP", num_args = 0..=1, default_missing_value = "true")]
    pub allow_insecure_http: Option<bool>,
}

/// The validated demo configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where [`run`](super::run) listens ([`serve`](super::serve) takes a bound listener instead).
    pub bind: SocketAddr,
    /// The trusted issuer.
    pub issuer: String,
    /// This API's identifier, required in `aud`.
    pub audience: String,
    /// The one algorithm its tokens are signed with.
    pub algorithm: Algorithm,
    /// Only DPoP-bound tokens are accepted.
    pub require_dpop: bool,
    /// Where clients reach this API (DPoP `htu`), when not the audience.
    pub public_url: Option<String>,
    /// Clock-skew leeway.
    pub leeway: Duration,
    /// Explicit JWKS URL (skips discovery).
    pub jwks_uri: Option<String>,
    /// Plain http from non-loopback hosts allowed.
    pub allow_insecure_http: bool,
}

impl Config {
    /// Defaults for everything but the issuer: what an integration test needs.
    pub fn new(issuer: impl Into<String>) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            issuer: issuer.into(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            algorithm: Algorithm::RS256,
            require_dpop: false,
            public_url: None,
            leeway: crate::DEFAULT_LEEWAY,
            jwks_uri: None,
            allow_insecure_http: false,
        }
    }

    /// The verifier configuration for a server reachable at `metadata_url`'s origin.
    pub(crate) fn verifier_config(&self, metadata_url: String) -> VerifierConfig {
        let mut config = VerifierConfig::new(&self.issuer, &self.audience)
            .algorithms([self.algorithm])
            .dpop(if self.require_dpop {
                crate::DpopMode::Required
            } else {
                crate::DpopMode::Allowed
            });
        if let Some(url) = &self.public_url {
            config = config.public_url(url);
        }
        let config = config
            .leeway(self.leeway)
            .realm("notes demo")
            .resource_metadata_url(metadata_url)
            .allow_insecure_http(self.allow_insecure_http);
        match &self.jwks_uri {
            Some(jwks_uri) => config.jwks_uri(jwks_uri),
            None => config,
        }
    }
}

impl Args {
    /// Applies defaults and validates; errors name the flag and its env variable.
    pub fn into_config(self) -> Result<Config, Error> {
        let bind = self.bind.as_deref().unwrap_or(DEFAULT_BIND);
        let bind: SocketAddr = bind.parse().map_err(|_| {
            Error::Config(format!(
                "--bind / RESOURCE_BIND {bind:?} is not an address like 127.0.0.1:8081"
            ))
        })?;
        let leeway =
            Duration::from_secs(self.leeway_secs.unwrap_or(crate::DEFAULT_LEEWAY.as_secs()));
        if leeway > MAX_LEEWAY {
            return Err(Error::Config(format!(
                "--leeway-secs / RESOURCE_LEEWAY_SECS must be at most {}",
                MAX_LEEWAY.as_secs()
            )));
        }
        let config = Config {
            bind,
            issuer: self.issuer.unwrap_or_else(|| DEFAULT_ISSUER.to_owned()),
            audience: self.audience.unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            algorithm: match self.algorithm.as_deref() {
                None => Algorithm::RS256,
                Some("RS256") => Algorithm::RS256,
                Some("ES256") => Algorithm::ES256,
                Some("EdDSA") => Algorithm::EdDSA,
                Some(other) => {
                    return Err(Error::Config(format!(
                        "--algorithm / RESOURCE_ALGORITHM {other:?}: RS256, ES256 or EdDSA"
                    )));
                }
            },
            require_dpop: self.require_dpop.unwrap_or(false),
            public_url: self.public_url,
            leeway,
            jwks_uri: self.jwks_uri,
            allow_insecure_http: self.allow_insecure_http.unwrap_or(false),
        };
        // Fail fast on what the verifier would refuse later (issuer URL, audience, jwks_uri).
        let verifier_config = config.verifier_config(String::new());
        verifier_config.validate()?;
        verifier_config.key_location().map_err(|err| {
            Error::Config(format!(
                "--issuer / RESOURCE_ISSUER or --jwks-uri (see --allow-insecure-http): {err}"
            ))
        })?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, Error> {
        let mut argv = vec!["resource"];
        argv.extend_from_slice(args);
        Args::try_parse_from(argv)
            .expect("clap parse")
            .into_config()
    }

    #[test]
    fn defaults_apply_after_parsing() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8081");
        assert_eq!(config.issuer, "http://127.0.0.1:8080");
        assert_eq!(config.audience, "http://127.0.0.1:8081");
        assert_eq!(config.leeway, Duration::from_secs(30));
        assert_eq!(config.jwks_uri, None);
    }

    #[test]
    fn flags_override_defaults() {
        let config = parse(&[
            "--bind",
            "0.0.0.0:9000",
            "--issuer",
            "https://id.example",
            "--audience",
            "urn:notes",
            "--leeway-secs",
            "5",
            "--jwks-uri",
            "https://id.example/keys",
        ])
        .unwrap();
        assert_eq!(config.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(config.issuer, "https://id.example");
        assert_eq!(config.audience, "urn:notes");
        assert_eq!(config.leeway, Duration::from_secs(5));
        assert_eq!(config.jwks_uri.as_deref(), Some("https://id.example/keys"));
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let cases: [(&[&str], &str); 4] = [
            (&["--bind", "nowhere"], "RESOURCE_BIND"),
            (&["--leeway-secs", "301"], "RESOURCE_LEEWAY_SECS"),
            (&["--issuer", "ftp://x"], "issuer"),
            (&["--jwks-uri", "nope"], "jwks_uri"),
        ];
        for (args, expected) in cases {
            match parse(args) {
                Err(Error::Config(text)) => assert!(text.contains(expected), "{args:?}: {text}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }
}
