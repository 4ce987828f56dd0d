//! The deployment files (Dockerfile, deploy/compose.yaml, deploy/Caddyfile, deploy/k8s/) agree
//! with the binaries they run: no container engine runs here, so this reads them and checks
//! every environment variable, port, probe path, command and entrypoint against the real
//! command line (`provider serve --help`, `resource --help`), and that the settings they give
//! make a valid serve-mode configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use yaml_serde::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|err| panic!("{relative}: {err}"))
}

fn yaml(relative: &str) -> Value {
    yaml_serde::from_str(&read(relative)).unwrap_or_else(|err| panic!("{relative}: {err}"))
}

/// The environment variables a subcommand reads, with the long flag each stands for.
fn env_flags(command: &clap::Command) -> BTreeMap<String, String> {
    command
        .get_arguments()
        .filter_map(|argument| {
            Some((
                argument.get_env()?.to_string_lossy().into_owned(),
                argument.get_long()?.to_owned(),
            ))
        })
        .collect()
}

fn provider_command(name: &str) -> clap::Command {
    provider::config::Cli::command()
        .find_subcommand(name)
        .unwrap_or_else(|| panic!("provider has no subcommand {name}"))
        .clone()
}

fn serve_env() -> BTreeMap<String, String> {
    env_flags(&provider_command("serve"))
}

fn resource_env() -> BTreeMap<String, String> {
    env_flags(&resource::demo::Args::command())
}

/// The port of an `ip:port` setting.
fn port(address: &str) -> u16 {
    address
        .parse::<std::net::SocketAddr>()
        .unwrap_or_else(|_| panic!("{address} is not ip:port"))
        .port()
}

/// Parses `provider serve` with these variables given as their flags, then validates the
/// configuration as the binary would at start.
fn serve_config(env: &BTreeMap<String, String>) -> Result<provider::Config, String> {
    let flags = serve_env();
    let mut argv = vec!["provider".to_owned(), "serve".to_owned()];
    for (name, value) in env {
        let long = flags
            .get(name)
            .unwrap_or_else(|| panic!("provider serve reads no {name}"));
        argv.push(format!("--{long}={value}"));
    }
    let cli = <provider::config::Cli as clap::Parser>::try_parse_from(&argv)
        .map_err(|err| err.to_string())?;
    provider::Config::from_command(cli.command)
}

/// A key-encryption key, a database URL and a Redis URL where the files name a secret.
fn secret_placeholders() -> BTreeMap<String, String> {
    [
        (
            "OIDC_DATABASE_URL",
            "postgres://oidc:secret@postgres:5432/oidc",
        ),
        ("OIDC_REDIS_URL", "redis://redis:6379"),
        (
            "OIDC_KEY_ENCRYPTION_KEY",
            "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU",
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

struct Dockerfile {
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    healthcheck: Vec<String>,
    env: BTreeMap<String, String>,
    expose: BTreeSet<u16>,
    rust_image: String,
    build_commands: String,
    user: String,
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text.trim()).unwrap_or_else(|err| panic!("{text}: {err}"))
}

fn dockerfile() -> Dockerfile {
    let text = read("Dockerfile");
    // Join continuation lines; drop comments.
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            instructions.push(std::mem::take(&mut current));
        }
    }
    let mut file = Dockerfile {
        entrypoint: Vec::new(),
        cmd: Vec::new(),
        healthcheck: Vec::new(),
        env: BTreeMap::new(),
        expose: BTreeSet::new(),
        rust_image: String::new(),
        build_commands: String::new(),
        user: String::new(),
    };
    for instruction in instructions {
        let (keyword, rest) = instruction
            .split_once(' ')
            .expect("an instruction with arguments");
        match keyword {
            "ENTRYPOINT" => file.entrypoint = json_list(rest),
            "CMD" => file.cmd = json_list(rest),
            "HEALTHCHECK" => {
                let (_, command) = rest.split_once("CMD").expect("HEALTHCHECK ... CMD [...]");
                file.healthcheck = json_list(command);
            }
            "ENV" => {
                for pair in rest.split_whitespace() {
                    let (name, value) = pair.split_once('=').expect("ENV NAME=value");
                    file.env.insert(name.to_owned(), value.to_owned());
                }
            }
            "EXPOSE" => {
                file.expose = rest
                    .split_whitespace()
                    .map(|port| port.parse().expect("a port"))
                    .collect();
            }
            "FROM" if rest.starts_with("rust:") => file.rust_image = rest.to_owned(),
            "RUN" => file.build_commands.push_str(rest),
            "USER" => file.user = rest.to_owned(),
            _ => {}
        }
    }
    file
}

#[test]
fn the_dockerfile_runs_the_real_binary_with_settings_it_reads() {
    let docker = dockerfile();
    assert_eq!(docker.entrypoint, ["/usr/local/bin/provider"]);
    assert_eq!(docker.cmd, ["serve"]);
    assert!(
        docker.user.starts_with("65532"),
        "a non-root user: {}",
        docker.user
    );
    // The health check is the binary's own subcommand, reading the same variables.
    assert_eq!(
        docker.healthcheck,
        ["/usr/local/bin/provider", "healthcheck"]
    );
    let healthcheck_env = env_flags(&provider_command("healthcheck"));
    let serve_env = serve_env();
    for name in docker.env.keys() {
        assert!(
            serve_env.contains_key(name),
            "Dockerfile ENV {name}: provider serve does not read it"
        );
    }
    for name in ["OIDC_BIND", "OIDC_METRICS_BIND"] {
        assert!(
            healthcheck_env.contains_key(name),
            "provider healthcheck reads {name}"
        );
        assert!(
            docker.expose.contains(&port(&docker.env[name])),
            "EXPOSE the {name} port"
        );
    }
    // The binaries it builds exist under those names, with the features they need.
    assert!(docker.build_commands.contains("-p provider --bin provider"));
    assert!(
        docker
            .build_commands
            .contains("-p resource --features demo --bin resource")
    );
    // The builder is at least the workspace's rust-version.
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let wanted = manifest["workspace"]["package"]["rust-version"]
        .as_str()
        .expect("rust-version");
    let image = docker.rust_image.trim_start_matches("rust:");
    let version = image.split(['-', ' ']).next().unwrap_or_default();
    let parse = |text: &str| -> Vec<u32> {
        text.split('.')
            .map(|part| part.parse().expect("a number"))
            .collect()
    };
    assert!(
        parse(version) >= parse(wanted),
        "rust:{version} builds rust-version {wanted}"
    );
    // Its settings, with the secrets a deployment adds, are a valid serve configuration.
    let mut env = docker.env.clone();
    env.extend(secret_placeholders());
    env.insert("OIDC_ISSUER".into(), "https://id.example.com".into());
    serve_config(&env).expect("the image's settings start serve mode");
}

fn service_env(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_mapping()
        .map(|mapping| {
            mapping
                .iter()
                .map(|(name, value)| {
                    let value = match value {
                        Value::String(text) => text.clone(),
                        Value::Number(number) => number.to_string(),
                        other => panic!("{name:?}: {other:?}"),
                    };
                    (name.as_str().expect("a name").to_owned(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `${NAME:?message}` interpolation, filled in as compose would from `.env`.
fn interpolate(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closing brace") + start;
        let name = rest[start + 2..end]
            .split([':', '-'])
            .next()
            .unwrap_or_default();
        out.push_str(match name {
            "OIDC_KEY_ENCRYPTION_KEY" => "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU",
            "POSTGRES_PASSWORD" => "compose-password",
            other => panic!("compose uses ${{{other}}}, which the header does not explain"),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn compose_runs_two_nodes_the_demo_api_and_caddy_with_settings_the_binaries_read() {
    let compose = yaml("deploy/compose.yaml");
    let services = compose["services"].as_mapping().expect("services");
    let serve_env = serve_env();
    let docker = dockerfile();
    let mut nodes = Vec::new();
    for (name, service) in services {
        let name = name.as_str().expect("a service name");
        let uses_image = service["image"].as_str() == Some("oidc-provider");
        if !uses_image {
            continue;
        }
        let env: BTreeMap<String, String> = service_env(service)
            .into_iter()
            .map(|(key, value)| (key, interpolate(&value)))
            .collect();
        if service["entrypoint"].is_null() {
            // A provider node: the image's entrypoint with a real subcommand.
            let command: Vec<&str> = service["command"]
                .as_sequence()
                .expect("command")
                .iter()
                .map(|part| part.as_str().expect("text"))
                .collect();
            assert_eq!(command, docker.cmd, "{name}");
            for key in env.keys() {
                assert!(
                    serve_env.contains_key(key),
                    "{name}: provider serve does not read {key}"
                );
            }
            let config = serve_config(&env).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(
                matches!(
                    config.database_url,
                    provider::store::DatabaseUrl::Postgres(_)
                ),
                "{name}: PostgreSQL"
            );
            assert!(config.redis_url.is_some(), "{name}: Redis");
            assert!(
                !config.trusted_proxies.is_empty(),
                "{name}: behind Caddy, trusts only it"
            );
            nodes.push((name.to_owned(), config));
        } else {
            assert_eq!(
                service["entrypoint"][0].as_str(),
                Some("/usr/local/bin/resource"),
                "{name}"
            );
            let resource_env = resource_env();
            for key in env.keys() {
                assert!(
                    resource_env.contains_key(key),
                    "{name}: resource does not read {key}"
                );
            }
            let mut argv = vec!["resource".to_owned()];
            for (key, value) in &env {
                argv.push(format!("--{}={value}", resource_env[key]));
            }
            let args = <resource::demo::Args as clap::Parser>::try_parse_from(&argv)
                .expect("resource flags");
            args.into_config()
                .unwrap_or_else(|err| panic!("{name}: {err}"));
            let jwks = &env["RESOURCE_JWKS_URI"];
            assert!(jwks.ends_with(provider::http::paths::JWKS), "{jwks}");
        }
    }
    assert_eq!(nodes.len(), 2, "two provider nodes");
    let (first, second) = (&nodes[0].1, &nodes[1].1);
    assert_eq!(
        first
            .issuer
            .as_ref()
            .map(|issuer| issuer.as_str().to_owned()),
        second
            .issuer
            .as_ref()
            .map(|issuer| issuer.as_str().to_owned()),
        "one issuer"
    );
    assert_eq!(first.database_url, second.database_url, "one database");
    // Caddy balances over both nodes on their listen port and checks a real readiness path.
    let caddyfile = read("deploy/Caddyfile");
    for (name, config) in &nodes {
        assert!(
            caddyfile.contains(&format!("{name}:{}", config.bind.port())),
            "Caddy proxies to {name}"
        );
    }
    assert!(caddyfile.contains(&format!("health_uri {}", provider::http::paths::READYZ)));
    let issuer_host = first
        .issuer
        .as_ref()
        .expect("an issuer")
        .as_str()
        .trim_start_matches("https://")
        .to_owned();
    assert!(
        caddyfile.contains(&format!("{issuer_host} {{")),
        "Caddy serves the issuer's host"
    );
    // The trusted proxy range is the compose network's.
    let subnet = compose["networks"]["oidc"]["ipam"]["config"][0]["subnet"]
        .as_str()
        .expect("a subnet");
    assert_eq!(
        first
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [subnet]
    );
}

fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn kubernetes_manifests_agree_with_the_binary_and_each_other() {
    let kustomization = yaml("deploy/k8s/kustomization.yaml");
    let files: Vec<String> = kustomization["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .map(|file| file.as_str().expect("a file").to_owned())
        .collect();
    let mut by_kind = BTreeMap::new();
    for file in &files {
        let document = yaml(&format!("deploy/k8s/{file}"));
        by_kind.insert(
            document["kind"].as_str().expect("a kind").to_owned(),
            document,
        );
    }
    for kind in [
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ] {
        assert!(by_kind.contains_key(kind), "kustomization lists a {kind}");
    }
    let serve_env = serve_env();
    let config_map = &by_kind["ConfigMap"];
    let mut env: BTreeMap<String, String> = config_map["data"]
        .as_mapping()
        .expect("data")
        .iter()
        .map(|(key, value)| {
            (
                key.as_str().expect("a key").to_owned(),
                value.as_str().expect("a string value").to_owned(),
            )
        })
        .collect();
    let deployment = &by_kind["Deployment"];
    let container = container(deployment);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"]
            .as_sequence()
            .map(Vec::len),
        Some(1)
    );
    // The image's entrypoint and a real subcommand.
    let command: Vec<&str> = container["command"]
        .as_sequence()
        .expect("command")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(command, dockerfile().entrypoint);
    assert_eq!(container["args"][0].as_str(), Some("serve"));
    assert_eq!(
        container["envFrom"][0]["configMapRef"]["name"],
        config_map["metadata"]["name"]
    );
    // Secret references: variables serve reads, keys the ConfigMap's instructions create.
    let instructions = read("deploy/k8s/configmap.yaml");
    for variable in container["env"].as_sequence().expect("env") {
        let name = variable["name"].as_str().expect("a name");
        assert!(
            serve_env.contains_key(name),
            "provider serve does not read {name}"
        );
        let key = variable["valueFrom"]["secretKeyRef"]["key"]
            .as_str()
            .expect("secret-backed");
        assert!(
            instructions.contains(&format!("--from-literal={key}=")),
            "the Secret's {key} is explained"
        );
        env.insert(name.to_owned(), secret_placeholders()[name].clone());
    }
    for key in env.keys() {
        assert!(
            serve_env.contains_key(key),
            "ConfigMap {key}: provider serve does not read it"
        );
    }
    for secret in ["OIDC_DATABASE_URL", "OIDC_KEY_ENCRYPTION_KEY"] {
        assert!(
            !config_map["data"]
                .as_mapping()
                .expect("data")
                .contains_key(secret),
            "{secret} belongs in the Secret"
        );
    }
    let config = serve_config(&env).expect("the manifests' settings start serve mode");
    // Ports: the container's named ports are the listen addresses.
    let ports: BTreeMap<String, u16> = container["ports"]
        .as_sequence()
        .expect("ports")
        .iter()
        .map(|port| {
            (
                port["name"].as_str().expect("a name").to_owned(),
                u16::try_from(port["containerPort"].as_u64().expect("a port")).expect("a port"),
            )
        })
        .collect();
    assert_eq!(ports["http"], config.bind.port());
    assert_eq!(
        Some(ports["metrics"]),
        config.metrics_bind.map(|address| address.port())
    );
    // Probes hit real paths on a named port that serves them (the management listener serves
    // /healthz and /readyz beside /metrics).
    let probe_paths = [
        provider::http::paths::READYZ,
        provider::http::paths::HEALTHZ,
    ];
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let get = &container[probe]["httpGet"];
        let path = get["path"].as_str().expect("a probe path");
        assert!(probe_paths.contains(&path), "{probe} {path}");
        assert!(
            ports.contains_key(get["port"].as_str().expect("a named port")),
            "{probe}"
        );
    }
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some(provider::http::paths::READYZ)
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some(provider::http::paths::HEALTHZ)
    );
    // Non-root as in the image; SIGTERM's drain fits in the grace period.
    assert_eq!(
        deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"].as_u64(),
        Some(65532)
    );
    assert!(
        deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .expect("a grace period")
            > 20
    );
    // Service, HPA and PDB point at this Deployment and its pods.
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(&deployment["spec"]["selector"]["matchLabels"], labels);
    let service = &by_kind["Service"];
    assert_eq!(&service["spec"]["selector"], labels);
    for port in service["spec"]["ports"].as_sequence().expect("ports") {
        assert!(
            ports.contains_key(port["targetPort"].as_str().expect("a named target")),
            "{port:?}"
        );
    }
    assert_eq!(
        by_kind["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    assert!(
        by_kind["HorizontalPodAutoscaler"]["spec"]["minReplicas"].as_u64() >= Some(2),
        "two nodes at least"
    );
    assert_eq!(
        &by_kind["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
        labels
    );
}

/// `program` when it is installed here.
fn installed(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// The proxy snippets are real configuration: Caddy and nginx accept them where they are
/// installed (both are Debian packages; the test says when it skipped one).
#[test]
fn the_caddy_and_nginx_snippets_are_accepted_by_caddy_and_nginx() {
    match installed("caddy") {
        Some(caddy) => {
            let output = std::process::Command::new(caddy)
                .args(["validate", "--adapter", "caddyfile", "--config"])
                .arg(root().join("deploy/Caddyfile"))
                .output()
                .expect("caddy runs");
            assert!(
                output.status.success(),
                "caddy validate: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        None => eprintln!(
            "skipped: caddy is not installed (apt-get install caddy) to validate deploy/Caddyfile"
        ),
    }
    match installed("nginx") {
        Some(nginx) => {
            // The snippet inside an http block, with a throwaway certificate where it expects one.
            let dir = tempfile::tempdir().expect("a directory");
            let certified = rcgen::generate_simple_self_signed(vec!["id.example.com".to_owned()])
                .expect("a certificate");
            let cert = dir.path().join("fullchain.pem");
            let key = dir.path().join("privkey.pem");
            std::fs::write(&cert, certified.cert.pem()).expect("write");
            std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write");
            let snippet = read("deploy/nginx.conf")
                .replace("/etc/nginx/tls/fullchain.pem", &cert.display().to_string())
                .replace("/etc/nginx/tls/privkey.pem", &key.display().to_string());
            let config = dir.path().join("nginx.conf");
            std::fs::write(
                &config,
                format!(
                    "pid {}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n{snippet}\n}}\n",
                    dir.path().display()
                ),
            )
            .expect("write");
            let output = std::process::Command::new(nginx)
                .arg("-t")
                .arg("-c")
                .arg(&config)
                .output()
                .expect("nginx runs");
            assert!(
                output.status.success(),
                "nginx -t: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        None => eprintln!(
            "skipped: nginx is not installed (apt-get install nginx-light) to check deploy/nginx.conf"
        ),
    }
}
