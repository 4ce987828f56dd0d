//! `provider healthcheck`: asks a running node's `/readyz` over loopback and exits 0 when it is
//! ready. For container `HEALTHCHECK`s on images without curl or a shell (distroless).
//!
//! It reads the node's own settings (`OIDC_METRICS_BIND`, else `OIDC_BIND`), so the same
//! environment that configures the node configures the check. It speaks plain HTTP: with TLS
//! on the main listener, give the node `--metrics-bind`, whose listener also answers the probes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where the check looks.
#[derive(Clone, Debug, Default, Args)]
pub struct HealthcheckArgs {
    /// The node's main listen address [default: 127.0.0.1:8080].
    #[arg(long, env = "OIDC_BIND")]
    pub bind: Option<String>,
    /// The node's management listener; checked instead of the main one when set.
    #[arg(long, env = "OIDC_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Set when the main listener serves TLS (then --metrics-bind is required).
    #[arg(long, env = "OIDC_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3)]
    pub timeout: u64,
}

/// The loopback address to ask: a wildcard listen address is reached on loopback.
pub fn target(args: &HealthcheckArgs) -> Result<SocketAddr, String> {
    let (raw, flag) = match (&args.metrics_bind, &args.tls_cert) {
        (Some(raw), _) => (raw.clone(), "OIDC_METRICS_BIND"),
        (None, Some(_)) => {
            return Err("the main listener speaks TLS: give the node --metrics-bind (OIDC_METRICS_BIND), whose listener answers /readyz in plain http".into());
        }
        (None, None) => (
            args.bind.clone().unwrap_or_else(|| "127.0.0.1:8080".into()),
            "OIDC_BIND",
        ),
    };
    let mut address: SocketAddr = raw
        .parse()
        .map_err(|_| format!("{flag}: {raw:?} is not an address like 127.0.0.1:8080"))?;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(address)
}

/// `GET /readyz` at `address`: `Ok` with the body when it answered 200.
pub async fn check(address: SocketAddr, timeout: Duration) -> Result<String, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|err| format!("{address}: {err}"))?;
        let request =
            format!("GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|err| format!("{address}: {err}"))?;
        let mut answer = Vec::new();
        stream
            .take(64 * 1024)
            .read_to_end(&mut answer)
            .await
            .map_err(|err| format!("{address}: {err}"))?;
        Ok::<_, String>(String::from_utf8_lossy(&answer).into_owned())
    };
    let answer = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("{address}: no answer within {} s", timeout.as_secs()))??;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split(' ').nth(1).unwrap_or_default();
    if status == "200" {
        Ok(body.trim().to_owned())
    } else {
        Err(format!(
            "{address}/readyz answered {}: {}",
            if status.is_empty() { "nothing" } else { status },
            body.trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(bind: Option<&str>, metrics: Option<&str>, tls: bool) -> HealthcheckArgs {
        HealthcheckArgs {
            bind: bind.map(str::to_owned),
            metrics_bind: metrics.map(str::to_owned),
            tls_cert: tls.then(|| "/tls/cert.pem".into()),
            timeout: 3,
        }
    }

    #[test]
    fn the_node_is_asked_on_loopback_where_it_listens() {
        let cases = [
            (args(None, None, false), Ok("127.0.0.1:8080")),
            (
                args(Some("0.0.0.0:9000"), None, false),
                Ok("127.0.0.1:9000"),
            ),
            (args(Some("[::]:9000"), None, false), Ok("[::1]:9000")),
            (
                args(Some("0.0.0.0:8443"), Some("0.0.0.0:9090"), true),
                Ok("127.0.0.1:9090"),
            ),
            (
                args(Some("10.1.2.3:8080"), None, false),
                Ok("10.1.2.3:8080"),
            ),
            (
                args(Some("0.0.0.0:8443"), None, true),
                Err("--metrics-bind"),
            ),
            (args(Some("nonsense"), None, false), Err("OIDC_BIND")),
        ];
        for (args, expected) in cases {
            match (target(&args), expected) {
                (Ok(address), Ok(wanted)) => assert_eq!(address.to_string(), wanted),
                (Err(message), Err(wanted)) => assert!(message.contains(wanted), "{message}"),
                (got, wanted) => panic!("{args:?}: got {got:?}, wanted {wanted:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unhealthy() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        assert!(check(address, Duration::from_secs(2)).await.is_err());
    }
}
