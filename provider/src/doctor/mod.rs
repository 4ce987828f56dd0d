//! `provider doctor [ISSUER_URL]`: a security audit with findings an operator can act on.
//!
//! Without a URL it checks the configuration `provider serve` would run with (flags,
//! environment and file, as the server reads them: `config.rs` here); with a URL it audits any
//! issuer over HTTP (`remote.rs`): its metadata, JWKS and pages, and probes of its
//! authorization endpoint with a client it registers itself (or one given on the command line).
//! Each finding names its severity and the RFC section it rests on; any `high` finding makes
//! the command exit 1, so it can gate a deployment. Plain http on a loopback issuer is
//! information, not a finding: `provider doctor` passes against `provider dev`.

mod config;
mod remote;

use std::fmt;

pub use crate::config::DoctorArgs;
pub use config::{audit_config, unloadable_config};
pub use remote::audit_issuer;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The check passed.
    Ok,
    /// Worth knowing; nothing to fix (or nothing that could be checked).
    Info,
    /// A hardening step is missing.
    Low,
    /// A weakness an attacker can use under some conditions.
    Medium,
    /// A weakness to fix before going live: the command exits 1.
    High,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
        }
    }
}

/// One result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// A short stable name (`pkce.required`).
    pub check: &'static str,
    /// Where the rule comes from (`RFC 9700 §2.1.1`).
    pub rfc: &'static str,
    /// What was seen, and what to do.
    pub message: String,
}

impl Finding {
    fn new(
        severity: Severity,
        check: &'static str,
        rfc: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity,
            check,
            rfc,
            message: message.into(),
        }
    }
}

/// What was audited and what was found.
#[derive(Clone, Debug)]
pub struct Report {
    /// The issuer URL, or "configuration (serve mode)".
    pub subject: String,
    /// Every finding, in the order the checks ran.
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when a finding is `high` (the command then exits 1).
    pub fn has_high(&self) -> bool {
        self.findings
            .iter()
            .any(|finding| finding.severity == Severity::High)
    }

    /// The findings of one check.
    pub fn of(&self, check: &str) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|finding| finding.check == check)
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "provider doctor: {}", self.subject)?;
        for finding in &self.findings {
            writeln!(
                f,
                "  {:<6} {:<26} {:<22} {}",
                finding.severity.label(),
                finding.check,
                finding.rfc,
                finding.message
            )?;
        }
        let count = |severity| {
            self.findings
                .iter()
                .filter(|finding| finding.severity == severity)
                .count()
        };
        write!(
            f,
            "{} checks: {} ok, {} info, {} low, {} medium, {} high{}",
            self.findings.len(),
            count(Severity::Ok),
            count(Severity::Info),
            count(Severity::Low),
            count(Severity::Medium),
            count(Severity::High),
            if self.has_high() {
                " -> fix the high findings (exit 1)"
            } else {
                ""
            }
        )
    }
}

/// True for http URLs whose host is loopback (`127.0.0.0/8`, `::1`, `localhost`).
pub fn is_loopback_http(url: &url::Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_high_finding_fails_the_report() {
        let mut report = Report {
            subject: "x".into(),
            findings: vec![Finding::new(Severity::Medium, "a", "RFC 1", "m")],
        };
        assert!(!report.has_high());
        report
            .findings
            .push(Finding::new(Severity::High, "b", "RFC 2", "h"));
        assert!(report.has_high());
        let text = report.to_string();
        assert!(
            text.contains("HIGH") && text.ends_with("(exit 1)"),
            "{text}"
        );
    }

    #[test]
    fn loopback_http_is_recognised() {
        let loopback = |raw: &str| is_loopback_http(&url::Url::parse(raw).unwrap());
        assert!(loopback("http://127.0.0.1:8080"));
        assert!(loopback("http://[::1]:8080"));
        assert!(loopback("http://localhost:3000"));
        assert!(!loopback("http://id.example.com"));
        assert!(!loopback("https://127.0.0.1"));
        assert!(!loopback("http://10.0.0.1"));
    }
}
