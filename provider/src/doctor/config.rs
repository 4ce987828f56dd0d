//! The configuration audit: what `provider serve` would run with, checked without starting it.
//! Rules the code enforces for every configuration (PKCE S256, exact redirect matching, `iss`,
//! rotation, no implicit or password grant) are listed as information, so the report covers
//! the same ground as the HTTP audit.

use super::{Finding, Report, Severity};
use crate::config::{Config, Mode, RegistrationPolicy};

/// The report for a configuration `provider serve` would refuse to start with.
pub fn unloadable_config(message: &str) -> Report {
    Report {
        subject: "configuration (serve mode)".into(),
        findings: vec![Finding::new(
            Severity::High,
            "config.load",
            "-",
            format!("provider serve would not start: {message}"),
        )],
    }
}

/// Audits `config`.
pub fn audit_config(config: &Config) -> Report {
    let mut findings = Vec::new();
    let mut add = |severity, check, rfc, message: String| {
        findings.push(Finding::new(severity, check, rfc, message));
    };
    if config.mode == Mode::Dev {
        add(
            Severity::High,
            "mode",
            "-",
            "dev mode: demo users with known passwords, open registration; run `provider serve` in production".into(),
        );
    }
    // https everywhere.
    match &config.issuer {
        Some(issuer) if issuer.is_https() => add(
            Severity::Ok,
            "https.issuer",
            "RFC 8414 §2",
            format!("issuer {} uses https", issuer.as_str()),
        ),
        Some(issuer) => {
            let loopback =
                url::Url::parse(issuer.as_str()).is_ok_and(|url| super::is_loopback_http(&url));
            add(
                if loopback {
                    Severity::Info
                } else {
                    Severity::High
                },
                "https.issuer",
                "RFC 8414 §2",
                format!(
                    "issuer {} uses plain http{}",
                    issuer.as_str(),
                    if loopback {
                        " on loopback (fine for local testing only)"
                    } else {
                        ": tokens and passwords travel in clear; use https"
                    }
                ),
            );
        }
        None if config.bind.ip().is_loopback() => add(
            Severity::Info,
            "https.issuer",
            "RFC 8414 §2",
            format!(
                "no issuer configured: derived from the loopback address {} (local testing only)",
                config.bind
            ),
        ),
        None => add(
            Severity::High,
            "https.issuer",
            "RFC 8414 §2",
            "no issuer configured and the listener is not loopback: set --issuer https://…".into(),
        ),
    }
    if config
        .issuer
        .as_ref()
        .is_some_and(|issuer| issuer.is_https())
        && config.serve.tls.is_none()
        && config.trusted_proxies.is_empty()
    {
        add(
            Severity::Low,
            "https.termination",
            "RFC 6749 §1.6",
            "https issuer, but no --tls-cert and no --trusted-proxies: say which proxy terminates TLS, or the client address (rate limits, throttling) is the proxy's".into(),
        );
    }
    // Built-in rules.
    for (check, rfc, message) in [
        (
            "pkce.required",
            "RFC 9700 §2.1.1",
            "PKCE S256 is required for every client (built in)",
        ),
        (
            "pkce.plain",
            "RFC 9700 §2.1.1",
            "code_challenge_method=plain is refused (built in)",
        ),
        (
            "grants.implicit",
            "RFC 9700 §2.1.2",
            "response_type=token/id_token is not implemented",
        ),
        (
            "grants.password",
            "RFC 9700 §2.4",
            "the password grant is not implemented",
        ),
        (
            "redirect.exact",
            "RFC 9700 §2.1",
            "redirect URIs are compared by exact string (loopback ports only for native apps, RFC 8252 §7.3)",
        ),
        (
            "iss.response",
            "RFC 9207 §2",
            "authorization responses carry iss (built in)",
        ),
        (
            "refresh.rotation",
            "RFC 9700 §2.2.2",
            "refresh tokens rotate on every use; a reused one revokes the grant (built in)",
        ),
        (
            "jwks.cache",
            "OIDC Core §10.1.1",
            "the JWKS is served with Cache-Control: public, max-age=300 (built in)",
        ),
        (
            "cors.authorize",
            "RFC 6749 §3.1",
            "/authorize sends no CORS headers (built in)",
        ),
        (
            "headers.framing",
            "RFC 6749 §10.13",
            "pages send X-Frame-Options: DENY, CSP frame-ancestors 'none', Referrer-Policy: no-referrer and nosniff, and HSTS for an https issuer (built in)",
        ),
    ] {
        add(Severity::Ok, check, rfc, message.into());
    }
    if config.refresh_grace_secs > 60 {
        add(
            Severity::Low,
            "refresh.grace",
            "RFC 9700 §4.14.2",
            format!(
                "--refresh-grace {} s: a stolen refresh token can be used alongside the client's for that long; keep it at or under 60 s",
                config.refresh_grace_secs
            ),
        );
    }
    // Token lifetimes.
    let lifetimes = &config.lifetimes;
    let lifetime = |value: u64, limit: u64, check, rfc, what: &str| {
        let severity = if value > limit {
            Severity::Medium
        } else {
            Severity::Ok
        };
        Finding::new(
            severity,
            check,
            rfc,
            if value > limit {
                format!("{what} live {value} s; keep them at or under {limit} s")
            } else {
                format!("{what} live {value} s")
            },
        )
    };
    findings.push(lifetime(
        lifetimes.code,
        600,
        "lifetime.code",
        "RFC 6749 §4.1.2",
        "authorization codes",
    ));
    findings.push(lifetime(
        lifetimes.access_token,
        3600,
        "lifetime.access_token",
        "RFC 6819 §5.1.5.3",
        "access tokens",
    ));
    findings.push(lifetime(
        lifetimes.refresh_token_max,
        90 * 24 * 3600,
        "lifetime.refresh_token",
        "RFC 9700 §4.14.2",
        "a grant's refresh tokens",
    ));
    let mut add = |severity, check, rfc, message: String| {
        findings.push(Finding::new(severity, check, rfc, message));
    };
    // Registration.
    match &config.registration {
        RegistrationPolicy::Open if config.mode == Mode::Serve => add(
            Severity::Medium,
            "registration.open",
            "RFC 7591 §3",
            "anyone may register clients: require an initial access token (--registration-token) unless that is the point".into(),
        ),
        RegistrationPolicy::Open => add(
            Severity::Info,
            "registration.open",
            "RFC 7591 §3",
            "open registration (dev mode)".into(),
        ),
        RegistrationPolicy::InitialAccessToken(_) => add(
            Severity::Ok,
            "registration.open",
            "RFC 7591 §3",
            "registration needs an initial access token".into(),
        ),
        RegistrationPolicy::Disabled => add(
            Severity::Ok,
            "registration.open",
            "RFC 7591 §3",
            "dynamic registration is off".into(),
        ),
    }
    // Signing keys.
    add(
        if config.key_rotation_interval.is_some() {
            Severity::Ok
        } else {
            Severity::Low
        },
        "keys.rotation",
        "OIDC Core §10.1.1",
        match config.key_rotation_interval {
            Some(secs) => format!("signing keys rotate every {} days", secs / 86_400),
            None => "signing keys never rotate automatically: set --key-rotation-interval (or rotate with `provider keys rotate`)".into(),
        },
    );
    add(
        Severity::Ok,
        "keys.algorithms",
        "RFC 8725 §3.1",
        "tokens are signed RS256, ES256 or EdDSA; none and HMAC are never accepted".into(),
    );
    Report {
        subject: format!(
            "configuration ({} mode)",
            match config.mode {
                Mode::Dev => "dev",
                Mode::Serve => "serve",
            }
        ),
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::types::Issuer;

    fn serve() -> Config {
        let mut config = Config::for_tests(std::path::Path::new("/tmp/doctor.db"));
        config.mode = Mode::Serve;
        config.registration = RegistrationPolicy::Disabled;
        config
    }

    #[test]
    fn the_findings_follow_the_configuration() {
        let severity = |config: &Config, check: &str| {
            audit_config(config)
                .of(check)
                .first()
                .map(|finding| finding.severity)
        };
        let mut config = serve();
        assert_eq!(
            severity(&config, "https.issuer"),
            Some(Severity::Info),
            "loopback"
        );
        assert!(!audit_config(&config).has_high());

        config.issuer = Some(Issuer::parse("http://id.example.com", true).unwrap());
        assert_eq!(severity(&config, "https.issuer"), Some(Severity::High));
        assert!(audit_config(&config).has_high());

        config.issuer = Some(Issuer::parse("https://id.example.com", false).unwrap());
        assert_eq!(severity(&config, "https.issuer"), Some(Severity::Ok));
        assert_eq!(severity(&config, "https.termination"), Some(Severity::Low));

        config.lifetimes.access_token = 86_400;
        assert_eq!(
            severity(&config, "lifetime.access_token"),
            Some(Severity::Medium)
        );
        config.refresh_grace_secs = 300;
        assert_eq!(severity(&config, "refresh.grace"), Some(Severity::Low));
        config.registration = RegistrationPolicy::Open;
        assert_eq!(
            severity(&config, "registration.open"),
            Some(Severity::Medium)
        );
        config.mode = Mode::Dev;
        assert_eq!(severity(&config, "mode"), Some(Severity::High));
    }
}
