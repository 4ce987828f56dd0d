//! The operator's commands, run against the configured database: `provider clients …`,
//! `provider users …`, `provider keys …`, `provider audit tail`. Each prints what it did in one
//! line (listings one line per item) and fails with a clear message; `main.rs` turns that into
//! exit code 1.
//!
//! With `--redis` and `--issuer` (the deployment's), running nodes are told about a changed
//! client or key set at once; otherwise they see it within the client cache lifetime (10 s) or
//! at their next key check (30 s).

pub mod audit;
pub mod clients;
pub mod keys;
pub mod resources;
pub mod users;

use clap::{Args, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::cluster::{Change, Cluster};
use crate::protocol::types::{Issuer, UnixTime};
use crate::random::{OsRandom, Random};
use crate::store::{DatabaseUrl, Stores};

/// What went wrong, for the operator at the terminal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AdminError(pub String);

impl AdminError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        AdminError(message.into())
    }
}

impl From<crate::store::Error> for AdminError {
    fn from(error: crate::store::Error) -> Self {
        AdminError(format!("the database failed: {error}"))
    }
}

impl From<crate::Error> for AdminError {
    fn from(error: crate::Error) -> Self {
        AdminError(error.to_string())
    }
}

/// Where the commands find the deployment.
#[derive(Clone, Debug, Default, Args)]
pub struct Target {
    /// Database URL [default: sqlite://data/provider.db].
    #[arg(long = "database", env = "OIDC_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The deployment's Redis: running nodes learn about the change at once (needs --issuer).
    #[arg(long = "redis", env = "OIDC_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// The deployment's issuer (names its Redis namespace).
    #[arg(long, env = "OIDC_ISSUER")]
    pub issuer: Option<String>,
    /// The deployment's key-encryption key file (needed by `keys rotate` and `keys
    /// reencrypt`) [default: key-encryption.key beside a SQLite database, when it exists].
    #[arg(long, env = "OIDC_KEY_ENCRYPTION_KEY_FILE")]
    pub key_encryption_key_file: Option<std::path::PathBuf>,
    /// The key-encryption key itself (prefer the environment variable).
    #[arg(long, env = "OIDC_KEY_ENCRYPTION_KEY", hide_env_values = true)]
    pub key_encryption_key: Option<String>,
}

/// The opened deployment.
pub struct Admin {
    /// Its stores (the key store sealed with the KEK, or locked without one).
    pub stores: Stores,
    /// The key store as stored (sealed values), for re-encryption.
    pub raw_keys: std::sync::Arc<dyn crate::store::KeyStore>,
    /// The key-encryption key, when the command was given one.
    pub kek: Option<std::sync::Arc<crate::sealing::KeyEncryptionKey>>,
    cluster: Option<Cluster>,
    /// The time.
    pub now: UnixTime,
    random: OsRandom,
}

impl Admin {
    /// Opens the database (running migrations, as a node would) and, with `--redis` and
    /// `--issuer`, the broadcast.
    pub async fn open(target: &Target) -> Result<Self, AdminError> {
        let raw = target
            .database_url
            .clone()
            .unwrap_or_else(|| crate::store::DEFAULT_DATABASE_URL.to_owned());
        let url =
            DatabaseUrl::parse(&raw).map_err(|err| AdminError(format!("--database: {err}")))?;
        let dev_file = crate::sealing::dev_key_path(url.file_path().as_deref());
        let dev_file = (url.file_path().is_some() && dev_file.exists()).then_some(dev_file);
        let kek = match crate::sealing::KekSource::choose(
            target.key_encryption_key.as_deref(),
            target.key_encryption_key_file.clone(),
            dev_file,
        ) {
            Ok(source) => Some(
                source
                    .load(OsRandom.bytes32())
                    .map_err(|err| AdminError(format!("the key-encryption key: {err}")))?,
            ),
            Err(_) => None,
        };
        let mut stores = crate::store::open(&url).await?;
        let raw_keys = std::sync::Arc::clone(&stores.keys);
        stores = match &kek {
            Some(kek) => stores.sealed_with(std::sync::Arc::clone(kek)),
            None => {
                stores.keys = std::sync::Arc::new(crate::store::sealed::LockedKeys::new(
                    std::sync::Arc::clone(&raw_keys),
                ));
                stores
            }
        };
        let cluster = match (&target.redis_url, &target.issuer) {
            (Some(redis), Some(issuer)) => {
                let issuer = Issuer::parse(issuer, true)
                    .map_err(|err| AdminError(format!("--issuer: {err}")))?;
                Some(
                    Cluster::with_redis(redis, &Cluster::namespace(&issuer))
                        .map_err(|err| AdminError(format!("--redis: {err}")))?,
                )
            }
            (Some(_), None) => {
                return Err(AdminError::new(
                    "--redis needs --issuer (the deployment's) to find its channel",
                ));
            }
            _ => None,
        };
        Ok(Admin {
            stores,
            raw_keys,
            kek,
            cluster,
            now: SystemClock.now(),
            random: OsRandom,
        })
    }

    /// Records an operator action in the audit trail.
    pub async fn audit(
        &self,
        kind: &str,
        client_id: Option<&str>,
        subject: Option<&str>,
    ) -> Result<(), AdminError> {
        self.stores
            .audit
            .audit(kind, client_id, subject, "by the admin CLI", self.now)
            .await?;
        Ok(())
    }

    /// 32 random bytes.
    pub fn random_bytes(&self) -> [u8; 32] {
        self.random.bytes32()
    }

    /// Tells running nodes; returns how they learn it, for the command's line.
    pub async fn announce(&self, change: Change) -> &'static str {
        match &self.cluster {
            Some(cluster) => {
                cluster.publish(change);
                // The publish is sent in the background; give it its moment before exiting.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                "running nodes were told at once"
            }
            None => match change {
                Change::Keys => "running nodes load it within 30 s",
                _ => "running nodes see it within 10 s",
            },
        }
    }
}

/// Unix seconds as RFC 3339 (UTC).
pub fn timestamp(time: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(time.0)
        .ok()
        .and_then(|time| {
            time.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| time.0.to_string())
}

/// `provider clients …`.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Registers a client; prints its id and (confidential clients) its secret, once.
    Add(Box<clients::AddArgs>),
    /// One line per client: id, kind, grants, name.
    List(Target),
    /// A client's metadata as JSON (never its secret).
    Show {
        /// The client.
        client_id: String,
        #[command(flatten)]
        target: Target,
    },
    /// Deletes a client; its refresh tokens are revoked.
    Remove {
        /// The client.
        client_id: String,
        #[command(flatten)]
        target: Target,
    },
    /// Gives a confidential client a new secret (printed once); the old one stops working.
    RotateSecret {
        /// The client.
        client_id: String,
        #[command(flatten)]
        target: Target,
    },
}

/// `provider resources …`.
#[derive(Debug, Subcommand)]
pub enum ResourcesCommand {
    /// Registers a resource server (an API that accepts the provider's access tokens).
    Add(resources::AddArgs),
    /// One line per resource: identifier, algorithm, token lifetime, scopes, name.
    List(Target),
    /// Removes a resource server: tokens for it are refused from then on.
    Remove {
        /// Its identifier.
        identifier: String,
        #[command(flatten)]
        target: Target,
    },
}

/// `provider users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Creates a user. The password is read from standard input (one line), never from a flag,
    /// so it stays out of shell history and process listings.
    Add(users::AddArgs),
    /// One line per user: user name, sub, email, enabled or disabled.
    List(Target),
    /// Sets a new password (read from standard input, one line).
    Passwd {
        /// The user name.
        username: String,
        #[command(flatten)]
        target: Target,
    },
    /// Disables an account: it cannot sign in; its sessions end and its grants are revoked.
    Disable {
        /// The user name.
        username: String,
        #[command(flatten)]
        target: Target,
    },
    /// Signs the user out everywhere: every SSO session ends, and every client that got tokens
    /// in one (and registered a backchannel_logout_uri) is sent a logout token. Grants
    /// (refresh tokens) stay; `disable` revokes them too.
    SignOut {
        /// The user name.
        username: String,
        #[command(flatten)]
        target: Target,
    },
    /// Removes the user's second factor (authenticator app) and recovery codes, for a user who
    /// lost both; the next sign-in asks for the password only. Their sessions end.
    ResetMfa {
        /// The user name.
        username: String,
        #[command(flatten)]
        target: Target,
    },
    /// Enables a disabled account again.
    Enable {
        /// The user name.
        username: String,
        #[command(flatten)]
        target: Target,
    },
}

/// `provider keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// One line per key: kid, algorithm, status, created, and when it activates or leaves.
    List(Target),
    /// Adds a new key per algorithm. It is published in the JWKS at once and starts signing
    /// after the JWKS cache lifetime; the old key stays published until its tokens expire.
    Rotate {
        /// Only this algorithm (RS256, ES256 or EdDSA) [default: all].
        #[arg(long)]
        alg: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Prints a new key-encryption key (32 random bytes, base64url) for
    /// OIDC_KEY_ENCRYPTION_KEY or --key-encryption-key-file.
    NewKek,
    /// Re-seals every private key and server secret under a new key-encryption key (rotating
    /// the KEK). Safe to repeat: values already sealed under the new key are left alone. Then
    /// restart every node with the new key and run it once more.
    Reencrypt {
        /// The file holding the new key-encryption key.
        #[arg(long)]
        new_key_file: std::path::PathBuf,
        #[command(flatten)]
        target: Target,
    },
}

/// `provider audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The newest audit events, oldest first; with --follow, new ones as they happen.
    Tail {
        /// How many of the newest events to print first.
        #[arg(long, default_value_t = 20)]
        lines: u32,
        /// Keep printing new events (checks every second) until interrupted.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        target: Target,
    },
}

/// Where a command's output and secret input go (the terminal in `main.rs`; buffers in tests).
pub struct Console<'a> {
    /// Prints one line.
    pub print: &'a mut dyn FnMut(&str),
    /// Reads one line (a password), after showing the prompt.
    pub read_secret: &'a mut dyn FnMut(&str) -> std::io::Result<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::protocol::resource::Resources;
    use crate::protocol::types::{SecretDigest, Subject};
    use crate::store::SessionRecord;

    /// An admin on a fresh SQLite file.
    pub(crate) async fn admin() -> (tempfile::TempDir, Admin) {
        ::keys::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let target = Target {
            database_url: Some(format!(
                "sqlite://{}",
                dir.path().join("admin.db").display()
            )),
            key_encryption_key: Some(crate::sealing::KeyEncryptionKey::generate_text([5; 32])),
            ..Target::default()
        };
        let admin = Admin::open(&target).await.unwrap();
        (dir, admin)
    }

    /// Runs `work` with a console that records the output and answers prompts with `input`.
    async fn run<'a, F, Fut>(input: &'a str, work: F) -> (Result<(), AdminError>, Vec<String>)
    where
        F: FnOnce(Console<'a>) -> Fut,
        Fut: Future<Output = Result<(), AdminError>> + 'a,
    {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let print: &'a mut dyn FnMut(&str) = Box::leak(Box::new(move |line: &str| {
            sink.lock().unwrap().push(line.to_owned())
        }));
        let read_secret: &'a mut dyn FnMut(&str) -> std::io::Result<String> =
            Box::leak(Box::new(move |_: &str| Ok(input.to_owned())));
        let result = work(Console { print, read_secret }).await;
        let lines = lines.lock().unwrap().clone();
        (result, lines)
    }

    fn add_args(name: &str, extra: impl FnOnce(&mut clients::AddArgs)) -> clients::AddArgs {
        let mut args = clients::AddArgs {
            name: name.into(),
            redirect_uris: vec!["https://app.example.com/cb".into()],
            post_logout_redirect_uris: vec![],
            grants: vec![],
            scope: None,
            auth_method: None,
            application_type: None,
            jwks_uri: None,
            resources: Vec::new(),
            client_id: None,
            first_party: false,
            require_par: false,
            resource_server: false,
            target: Target::default(),
        };
        extra(&mut args);
        args
    }

    fn resource_args(
        identifier: &str,
        extra: impl FnOnce(&mut resources::AddArgs),
    ) -> resources::AddArgs {
        let mut args = resources::AddArgs {
            identifier: identifier.into(),
            name: "Orders".into(),
            scopes: "orders:read".into(),
            alg: "ES256".into(),
            token_lifetime: Some(300),
            introspection_client: None,
            replace: false,
            target: Target::default(),
        };
        extra(&mut args);
        args
    }

    #[tokio::test]
    async fn resources_are_added_listed_replaced_removed_and_named_by_clients() {
        let (_dir, admin) = admin().await;
        let admin = &admin;
        let (result, lines) = run("", |mut console| async move {
            resources::add(
                admin,
                resource_args("https://orders.example", |_| {}),
                &mut console,
            )
            .await
        })
        .await;
        result.unwrap();
        assert!(
            lines[0].starts_with("created resource https://orders.example (Orders, ES256 tokens)"),
            "{lines:?}"
        );
        let (result, lines) = run("", |mut console| async move {
            resources::list(admin, &mut console).await
        })
        .await;
        result.unwrap();
        assert_eq!(
            lines,
            ["https://orders.example\tES256\t300s\torders:read\tOrders"]
        );
        // Bad input: each refused with a clear message, nothing stored.
        let cases: Vec<(resources::AddArgs, &str)> = vec![
            (
                resource_args("https://orders.example", |_| {}),
                "exists already",
            ),
            (resource_args("relative", |_| {}), "absolute URI"),
            (resource_args("https://a.example/#x", |_| {}), "fragment"),
            (
                resource_args("urn:x", |args| args.alg = "HS256".into()),
                "--alg",
            ),
            (
                resource_args("urn:x", |args| args.scopes = "openid".into()),
                "the provider's own",
            ),
            (
                resource_args("urn:x", |args| args.token_lifetime = Some(0)),
                "lifetime",
            ),
            (
                resource_args("urn:x", |args| args.scopes = "bad\"scope".into()),
                "--scopes",
            ),
        ];
        for (args, expected) in cases {
            let (result, _) = run("", |mut console| async move {
                resources::add(admin, args, &mut console).await
            })
            .await;
            let message = result.unwrap_err().to_string();
            assert!(message.contains(expected), "{expected}: {message}");
        }
        assert_eq!(admin.stores.resources.resources().await.unwrap().len(), 1);
        let (result, _) = run("", |mut console| async move {
            resources::add(
                admin,
                resource_args("https://orders.example", |args| {
                    args.replace = true;
                    args.alg = "EdDSA".into();
                }),
                &mut console,
            )
            .await
        })
        .await;
        result.unwrap();
        assert_eq!(
            admin.stores.resources.resources().await.unwrap()[0].signing_alg,
            ::keys::SigningAlg::EdDSA
        );
        // Clients name registered resources only.
        let (result, _) = run("", |mut console| async move {
            clients::add(
                admin,
                add_args("Shop", |args| {
                    args.resources = vec!["https://nope.example".into()]
                }),
                &mut console,
            )
            .await
        })
        .await;
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("not a registered resource")
        );
        let (result, _) = run("", |mut console| async move {
            clients::add(
                admin,
                add_args("Shop", |args| {
                    args.resources = vec!["https://orders.example".into()];
                    args.client_id = Some("shop".into());
                    args.scope = Some("openid orders:read".into());
                }),
                &mut console,
            )
            .await
        })
        .await;
        result.unwrap();
        let shop = admin.stores.clients.client("shop").await.unwrap().unwrap();
        assert_eq!(
            shop.metadata.default_resource.as_deref(),
            Some("https://orders.example")
        );
        let (result, lines) = run("", |mut console| async move {
            resources::remove(admin, "https://orders.example", &mut console).await
        })
        .await;
        result.unwrap();
        assert!(lines[0].starts_with("removed resource https://orders.example"));
        let (result, _) = run("", |mut console| async move {
            resources::remove(admin, "https://orders.example", &mut console).await
        })
        .await;
        assert!(result.unwrap_err().to_string().contains("no resource"));
        let kinds: Vec<String> = admin
            .stores
            .audit
            .audit_events(0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.kind)
            .collect();
        assert!(
            kinds.contains(&"resource_registered".to_owned())
                && kinds.contains(&"resource_removed".to_owned())
        );
    }

    #[tokio::test]
    async fn clients_are_added_listed_shown_rotated_and_removed() {
        let (_dir, admin) = admin().await;
        let admin = &admin;
        let (result, lines) = run("", |mut console| async move {
            clients::add(
                admin,
                add_args("Shop", |args| args.client_id = Some("shop".into())),
                &mut console,
            )
            .await
        })
        .await;
        result.unwrap();
        let secret = lines[0].rsplit(": ").next().unwrap().to_owned();
        assert!(
            lines[0].starts_with("created confidential client shop (Shop)"),
            "{lines:?}"
        );
        let stored = admin.stores.clients.client("shop").await.unwrap().unwrap();
        assert!(stored.secret_digest.as_ref().unwrap().matches(&secret));
        assert_eq!(stored.metadata.default_resource, None);

        let (result, lines) = run("", |mut console| async move {
            clients::add(
                admin,
                add_args("Phone", |args| args.auth_method = Some("none".into())),
                &mut console,
            )
            .await
        })
        .await;
        result.unwrap();
        assert!(lines[0].starts_with("created public client "), "{lines:?}");

        let (_, lines) = run("", |mut console| async move {
            clients::list(admin, &mut console).await
        })
        .await;
        assert_eq!(lines.len(), 2);
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("shop\tconfidential\tauthorization_code\tShop"))
        );

        let (_, lines) = run("", |mut console| async move {
            clients::show(admin, "shop", &mut console).await
        })
        .await;
        let shown: serde_json::Value = serde_json::from_str(&lines.join("\n")).unwrap();
        assert_eq!(shown["client_id"], "shop");
        assert!(
            !lines.join("").contains(&secret),
            "show never prints the secret"
        );

        let (result, lines) = run("", |mut console| async move {
            clients::rotate_secret(admin, "shop", &mut console).await
        })
        .await;
        result.unwrap();
        let new_secret = lines[0]
            .split("shown only now: ")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap();
        let stored = admin.stores.clients.client("shop").await.unwrap().unwrap();
        assert!(stored.secret_digest.as_ref().unwrap().matches(new_secret));
        assert!(!stored.secret_digest.as_ref().unwrap().matches(&secret));

        let (result, _) = run("", |mut console| async move {
            clients::remove(admin, "shop", &mut console).await
        })
        .await;
        result.unwrap();
        assert!(admin.stores.clients.client("shop").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn client_commands_refuse_bad_input_with_a_clear_message() {
        let (_dir, admin) = admin().await;
        let admin = &admin;
        let cases: Vec<(clients::AddArgs, &str)> = vec![
            (
                add_args("x", |args| {
                    args.redirect_uris = vec!["http://evil.example/cb".into()]
                }),
                "invalid_redirect_uri",
            ),
            (
                add_args("x", |args| args.grants = vec!["password".into()]),
                "invalid_client_metadata",
            ),
            (
                add_args("x", |args| args.client_id = Some("tab\there".into())),
                "--client-id",
            ),
        ];
        for (args, expected) in cases {
            let (result, _) = run("", |mut console| async move {
                clients::add(admin, args, &mut console).await
            })
            .await;
            let message = result.unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
        let (result, _) = run("", |mut console| async move {
            clients::add(
                admin,
                add_args("P", |args| {
                    args.auth_method = Some("none".into());
                    args.client_id = Some("pub".into());
                }),
                &mut console,
            )
            .await
        })
        .await;
        result.unwrap();
        let (result, _) = run("", |mut console| async move {
            clients::rotate_secret(admin, "pub", &mut console).await
        })
        .await;
        assert!(result.unwrap_err().to_string().contains("public client"));
        for missing in ["show", "remove"] {
            let (result, _) = run("", |mut console| async move {
                match missing {
                    "show" => clients::show(admin, "nobody", &mut console).await,
                    _ => clients::remove(admin, "nobody", &mut console).await,
                }
            })
            .await;
            assert!(result.unwrap_err().to_string().contains("no client"));
        }
    }

    #[tokio::test]
    async fn users_are_added_listed_repassworded_disabled_and_enabled() {
        let (_dir, admin) = admin().await;
        let admin = &admin;
        let args = users::AddArgs {
            username: "carol".into(),
            name: "Carol".into(),
            email: "carol@example.com".into(),
            email_verified: true,
            target: Target::default(),
        };
        let (result, lines) = run("correct horse battery", |mut console| async move {
            users::add(admin, args, &mut console).await
        })
        .await;
        result.unwrap();
        assert!(
            lines[0].starts_with("created user carol with sub "),
            "{lines:?}"
        );
        let carol = admin
            .stores
            .users
            .user_by_username("carol")
            .await
            .unwrap()
            .unwrap();

        let (result, _) = run("short", |mut console| async move {
            users::passwd(admin, "carol", &mut console).await
        })
        .await;
        assert!(result.unwrap_err().to_string().contains("at least 12"));
        let (result, _) = run("a brand new passphrase", |mut console| async move {
            users::passwd(admin, "carol", &mut console).await
        })
        .await;
        result.unwrap();
        let updated = admin
            .stores
            .users
            .user_by_username("carol")
            .await
            .unwrap()
            .unwrap();
        assert!(bcrypt::verify("a brand new passphrase", &updated.password_hash).unwrap());

        // A session and a refresh token of carol's, to see them end.
        let session = SecretDigest::of("session");
        admin
            .stores
            .users
            .create_session(&SessionRecord {
                amr: Vec::new(),
                id_digest: session.clone(),
                sid: "sid-carol".into(),
                subject: carol.subject.clone(),
                auth_time: admin.now,
                expires_at: admin.now.plus(600),
            })
            .await
            .unwrap();
        let grant = crate::protocol::grants::refresh_token::RefreshGrant {
            amr: Vec::new(),
            client_id: crate::protocol::types::ClientId::parse("demo-web").unwrap(),
            subject: carol.subject.clone(),
            scope: crate::protocol::scope::ScopeSet::parse("openid offline_access").unwrap(),
            resources: Resources::one("urn:a"),
            auth_time: admin.now,
            sid: None,
            grant_id: "g-carol".into(),
            dpop_jkt: None,
        };
        admin
            .stores
            .grants
            .insert_refresh_token(&crate::store::RefreshTokenRecord::new(
                SecretDigest::of("refresh"),
                grant,
                admin.now,
                600,
            ))
            .await
            .unwrap();
        // A client with a backchannel_logout_uri took part in carol's session.
        admin
            .stores
            .users
            .add_session_client(
                &crate::store::Participant {
                    sid: "sid-carol".into(),
                    client_id: crate::protocol::types::ClientId::parse("rp").unwrap(),
                    subject: carol.subject.clone(),
                },
                admin.now.plus(600),
            )
            .await
            .unwrap();

        let (result, lines) = run("", |mut console| async move {
            users::set_disabled(admin, "carol", true, &mut console).await
        })
        .await;
        result.unwrap();
        assert_eq!(
            lines,
            [
                "disabled carol: 1 session(s) ended (1 back-channel logout(s) queued), 1 refresh token(s) revoked"
            ]
        );
        let queued = admin
            .stores
            .users
            .claim_logouts(admin.now, admin.now.plus(60), 10)
            .await
            .unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].participant.sid, "sid-carol");
        let (result, lines) = run("", |mut console| async move {
            users::sign_out(admin, "carol", &mut console).await
        })
        .await;
        result.unwrap();
        assert_eq!(
            lines,
            [
                "signed out carol: 0 session(s) ended, 0 back-channel logout(s) queued (a running provider delivers them within seconds)"
            ]
        );
        assert!(
            admin
                .stores
                .users
                .session(&session, admin.now)
                .await
                .unwrap()
                .is_none()
        );
        let token = admin
            .stores
            .grants
            .refresh_token(&SecretDigest::of("refresh"))
            .await
            .unwrap()
            .unwrap();
        assert!(token.revoked);

        let (_, lines) = run("", |mut console| async move {
            users::list(admin, &mut console).await
        })
        .await;
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("carol\t") && lines[0].ends_with("\tdisabled"),
            "{lines:?}"
        );
        let (result, _) = run("", |mut console| async move {
            users::set_disabled(admin, "carol", false, &mut console).await
        })
        .await;
        result.unwrap();
        assert!(
            !admin
                .stores
                .users
                .user_by_subject(&Subject(carol.subject.0.clone()))
                .await
                .unwrap()
                .unwrap()
                .disabled
        );
        let (result, _) = run("", |mut console| async move {
            users::set_disabled(admin, "nobody", true, &mut console).await
        })
        .await;
        assert!(result.unwrap_err().to_string().contains("no user"));
    }

    #[tokio::test]
    async fn keys_are_listed_and_rotated_and_the_audit_trail_tails() {
        let (_dir, admin) = admin().await;
        let admin = &admin;
        crate::signing::load_or_generate(admin.stores.keys.as_ref(), admin.now)
            .await
            .unwrap();
        let (_, lines) = run("", |mut console| async move {
            keys::list(admin, &mut console).await
        })
        .await;
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines.iter().all(|line| line.contains("\tactive\t")));
        let (result, lines) = run("", |mut console| async move {
            keys::rotate(admin, Some("ES256"), &mut console).await
        })
        .await;
        result.unwrap();
        assert!(lines[0].starts_with("rotated ES256: new key "), "{lines:?}");
        let (_, lines) = run("", |mut console| async move {
            keys::list(admin, &mut console).await
        })
        .await;
        assert!(
            lines
                .iter()
                .any(|line| line.contains("\tES256\tnext\t") && line.contains("signs from "))
        );
        let (result, _) = run("", |mut console| async move {
            keys::rotate(admin, Some("HS256"), &mut console).await
        })
        .await;
        assert!(result.unwrap_err().to_string().contains("--alg"));

        for index in 0..5 {
            admin
                .stores
                .audit
                .audit(
                    "test_event",
                    Some("c"),
                    None,
                    &format!("event {index}"),
                    admin.now,
                )
                .await
                .unwrap();
        }
        let (_, lines) = run("", |mut console| async move {
            audit::tail(admin, 2, false, std::future::pending(), &mut console).await
        })
        .await;
        assert_eq!(lines.len(), 2);
        assert!(
            lines[1].ends_with("event 4") && lines[0].ends_with("event 3"),
            "{lines:?}"
        );
        // --follow prints what arrives, until stopped.
        let (_, lines) = run("", |mut console| async move {
            let writer = async {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                admin
                    .stores
                    .audit
                    .audit(
                        "late_event",
                        None,
                        None,
                        "after the tail started",
                        admin.now,
                    )
                    .await
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            };
            audit::tail(admin, 0, true, writer, &mut console).await
        })
        .await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("late_event"));
    }
}
