//! The storage conformance suite: every backend must pass it. It runs against SQLite always
//! (and, when a PostgreSQL backend exists, against it too).

use std::sync::Arc;

use crate::protocol::authorize::Authentication;
use crate::protocol::client::ClientMetadata;
use crate::protocol::device::{DeviceGrant, DeviceStatus};
use crate::protocol::pkce::CodeChallenge;
use crate::protocol::scope::ScopeSet;
use crate::protocol::token::{IssuedCode, RefreshGrant, RefreshState};
use crate::protocol::types::{ClientId, SecretDigest, Subject, UnixTime};
use crate::store::{
    CodeRedemption, DeviceRecord, EphemeralStore, RefreshTokenRecord, SessionRecord,
    SigningKeyRecord, Store,
};

/// A backend under test.
pub trait Backend: Store + EphemeralStore + 'static {}
impl<T: Store + EphemeralStore + 'static> Backend for T {}

const NOW: UnixTime = UnixTime(1_000_000);

fn code(grant_id: &str) -> IssuedCode {
    IssuedCode {
        client_id: ClientId::parse("demo-web").unwrap(),
        redirect_uri: "https://app.example.com/cb".into(),
        scope: ScopeSet::parse("openid").unwrap(),
        nonce: Some("n".into()),
        code_challenge: CodeChallenge::parse(
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            Some("S256"),
        )
        .unwrap(),
        subject: Subject("u-1".into()),
        auth_time: NOW,
        audience: "aud".into(),
        grant_id: grant_id.into(),
        expires_at: NOW.plus(600),
    }
}

fn refresh(digest: &str, grant_id: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        digest: SecretDigest(digest.into()),
        grant: RefreshGrant {
            client_id: ClientId::parse("demo-web").unwrap(),
            subject: Subject("u-1".into()),
            scope: ScopeSet::parse("openid offline_access").unwrap(),
            audience: "aud".into(),
            auth_time: NOW,
            grant_id: grant_id.into(),
        },
        issued_at: NOW,
        expires_at: NOW.plus(3600),
        rotated_at: None,
        revoked: false,
        grace_used: false,
    }
}

/// Two concurrent redemptions of one code: exactly one wins; later ones are replays.
pub async fn codes_are_one_time<B: Backend>(store: Arc<B>) {
    let digest = SecretDigest::of("code-1");
    store.insert_code(&digest, &code("grant-1")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        let digest = digest.clone();
        tasks.push(tokio::spawn(async move {
            store.consume_code(&digest, NOW).await.unwrap()
        }));
    }
    let mut consumed = 0;
    for task in tasks {
        match task.await.unwrap() {
            CodeRedemption::Consumed(code) => {
                consumed += 1;
                assert_eq!(code.grant_id, "grant-1");
            }
            CodeRedemption::Replayed { grant_id } => assert_eq!(grant_id, "grant-1"),
            CodeRedemption::Unknown => panic!("a stored code was unknown"),
        }
    }
    assert_eq!(consumed, 1, "exactly one redemption may succeed");
    assert!(matches!(
        store
            .consume_code(&SecretDigest::of("never-issued"), NOW)
            .await
            .unwrap(),
        CodeRedemption::Unknown
    ));
}

/// Rotation succeeds once; the grace reuse once; revoking the grant revokes the family and
/// denies its access tokens.
pub async fn refresh_rotation_grace_and_revocation<B: Backend>(store: Arc<B>) {
    store
        .insert_refresh_token(&refresh("rt-1", "family"))
        .await
        .unwrap();
    assert!(
        store
            .rotate_refresh_token(
                &SecretDigest("rt-1".into()),
                &refresh("rt-2", "family"),
                NOW
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .rotate_refresh_token(
                &SecretDigest("rt-1".into()),
                &refresh("rt-x", "family"),
                NOW
            )
            .await
            .unwrap()
    );
    let old = store
        .refresh_token(&SecretDigest("rt-1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        old.state(0, NOW),
        RefreshState::Rotated {
            within_grace: false
        }
    );
    assert_eq!(
        old.state(10, NOW.plus(5)),
        RefreshState::Rotated { within_grace: true }
    );
    assert_eq!(
        old.state(10, NOW.plus(11)),
        RefreshState::Rotated {
            within_grace: false
        }
    );
    assert!(
        store
            .use_refresh_grace(&SecretDigest("rt-1".into()), &refresh("rt-3", "family"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_refresh_grace(&SecretDigest("rt-1".into()), &refresh("rt-4", "family"))
            .await
            .unwrap()
    );
    let spent = store
        .refresh_token(&SecretDigest("rt-1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        spent.state(10, NOW.plus(5)),
        RefreshState::Rotated {
            within_grace: false
        }
    );

    store
        .record_access_token("jti-1", "family", NOW.plus(600))
        .await
        .unwrap();
    store
        .record_access_token("jti-other", "other-family", NOW.plus(600))
        .await
        .unwrap();
    assert!(!store.is_access_token_denied("jti-1").await.unwrap());
    store.revoke_grant("family", NOW).await.unwrap();
    for digest in ["rt-2", "rt-3"] {
        let record = store
            .refresh_token(&SecretDigest(digest.into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.state(0, NOW), RefreshState::Revoked, "{digest}");
    }
    assert!(store.is_access_token_denied("jti-1").await.unwrap());
    assert!(!store.is_access_token_denied("jti-other").await.unwrap());
    assert!(
        !store
            .rotate_refresh_token(
                &SecretDigest("rt-2".into()),
                &refresh("rt-5", "family"),
                NOW
            )
            .await
            .unwrap()
    );
    store
        .deny_access_token("jti-2", NOW.plus(60))
        .await
        .unwrap();
    store
        .deny_access_token("jti-2", NOW.plus(60))
        .await
        .unwrap();
    assert!(store.is_access_token_denied("jti-2").await.unwrap());
}

/// Device codes: found by user code while pending, decided once, taken once.
pub async fn device_codes<B: Backend>(store: Arc<B>) {
    let digest = SecretDigest::of("device-code");
    let record = DeviceRecord {
        device_code_digest: digest.clone(),
        grant: DeviceGrant {
            client_id: ClientId::parse("demo-device").unwrap(),
            user_code: "BDWP-HQPK".into(),
            scope: ScopeSet::parse("openid").unwrap(),
            audience: "aud".into(),
            status: DeviceStatus::Pending,
            interval_secs: 5,
            last_poll_at: None,
            expires_at: NOW.plus(600),
        },
    };
    store.insert_device(&record).await.unwrap();
    assert!(
        store.insert_device(&record).await.is_err(),
        "user codes are unique"
    );
    assert!(
        store
            .pending_device_by_user_code("BDWP-HQPK", NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .pending_device_by_user_code("BDWP-HQPK", NOW.plus(600))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    store
        .record_device_poll(&digest, NOW.plus(1), 10)
        .await
        .unwrap();
    let polled = store.device_by_code(&digest).await.unwrap().unwrap();
    assert_eq!(polled.grant.interval_secs, 10);
    assert_eq!(polled.grant.last_poll_at, Some(NOW.plus(1)));
    let alice = Authentication {
        subject: Subject("u-1".into()),
        auth_time: NOW,
    };
    assert!(
        store
            .decide_device("BDWP-HQPK", &DeviceStatus::Approved(alice.clone()))
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_device("BDWP-HQPK", &DeviceStatus::Denied)
            .await
            .unwrap(),
        "decided once"
    );
    assert!(
        store
            .pending_device_by_user_code("BDWP-HQPK", NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .device_by_code(&digest)
            .await
            .unwrap()
            .unwrap()
            .grant
            .status,
        DeviceStatus::Approved(alice)
    );
    assert!(store.take_device(&digest).await.unwrap());
    assert!(!store.take_device(&digest).await.unwrap(), "taken once");
}

/// Pushed requests are taken once and not after expiry.
pub async fn pushed_requests<B: Backend>(store: Arc<B>) {
    let params = vec![
        ("client_id".to_owned(), "demo-web".to_owned()),
        ("scope".to_owned(), "openid".to_owned()),
    ];
    let live = SecretDigest::of("urn:live");
    let stale = SecretDigest::of("urn:stale");
    store
        .insert_pushed_request(&live, "demo-web", &params, NOW.plus(60))
        .await
        .unwrap();
    store
        .insert_pushed_request(&stale, "demo-web", &params, NOW.plus(60))
        .await
        .unwrap();
    assert_eq!(
        store
            .take_pushed_request(&live, "demo-cli", NOW)
            .await
            .unwrap(),
        None,
        "another client spends nothing"
    );
    assert_eq!(
        store
            .take_pushed_request(&live, "demo-web", NOW)
            .await
            .unwrap(),
        Some(params)
    );
    assert_eq!(
        store
            .take_pushed_request(&live, "demo-web", NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_pushed_request(&stale, "demo-web", NOW.plus(60))
            .await
            .unwrap(),
        None
    );
}

/// Sessions, consents, clients and keys.
pub async fn durable_records<B: Backend>(store: Arc<B>) {
    let session = SessionRecord {
        id_digest: SecretDigest::of("s"),
        subject: Subject("u-1".into()),
        auth_time: NOW,
        expires_at: NOW.plus(100),
    };
    store.create_session(&session).await.unwrap();
    assert!(
        store
            .session(&session.id_digest, NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .session(&session.id_digest, NOW.plus(100))
            .await
            .unwrap()
            .is_none(),
        "expired sessions are not returned"
    );
    store.delete_session(&session.id_digest).await.unwrap();
    assert!(
        store
            .session(&session.id_digest, NOW)
            .await
            .unwrap()
            .is_none()
    );

    let subject = Subject("u-1".into());
    store
        .save_consent(&subject, "c", &ScopeSet::parse("openid").unwrap(), NOW)
        .await
        .unwrap();
    store
        .save_consent(&subject, "c", &ScopeSet::parse("email").unwrap(), NOW)
        .await
        .unwrap();
    assert_eq!(
        store
            .consent(&subject, "c")
            .await
            .unwrap()
            .unwrap()
            .to_string(),
        "email openid",
        "consents accumulate"
    );

    let client = crate::protocol::client::RegisteredClient {
        client_id: ClientId::parse("dyn-1").unwrap(),
        secret_digest: Some(SecretDigest::of("secret")),
        metadata: ClientMetadata {
            client_name: "Dynamic".into(),
            redirect_uris: vec!["https://a.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into()],
            response_types: vec!["code".into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
            application_type: "web".into(),
            scope: "openid".into(),
            id_token_signed_response_alg: "RS256".into(),
            access_token_signed_response_alg: "RS256".into(),
            default_audience: "aud".into(),
            allowed_resources: vec![],
            first_party: false,
            require_pushed_authorization_requests: false,
            resource_server: false,
        },
    };
    store.upsert_client(&client, NOW).await.unwrap();
    store
        .set_registration_token("dyn-1", &SecretDigest::of("rat"))
        .await
        .unwrap();
    assert!(
        store
            .registration_token("dyn-1")
            .await
            .unwrap()
            .unwrap()
            .matches("rat")
    );
    assert_eq!(
        store.client("dyn-1").await.unwrap().unwrap().metadata,
        client.metadata
    );
    store.delete_client("dyn-1", NOW).await.unwrap();
    assert!(store.client("dyn-1").await.unwrap().is_none());

    let key = SigningKeyRecord {
        kid: "k1".into(),
        alg: "ES256".into(),
        private_pem: "pem".into(),
        status: "next".into(),
        created_at: NOW,
        activate_at: Some(NOW.plus(10)),
        remove_at: None,
    };
    store.insert_signing_key(&key).await.unwrap();
    let mut updated = key.clone();
    updated.status = "active".into();
    updated.activate_at = None;
    store.update_signing_key(&updated).await.unwrap();
    let stored = store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].status.as_str(), stored[0].activate_at),
        ("active", None)
    );
    assert!(
        !format!("{:?}", stored[0]).contains("pem\""),
        "Debug hides key material"
    );
    store.delete_signing_key("k1").await.unwrap();
    assert!(store.signing_keys().await.unwrap().is_empty());

    store
        .audit("test_event", Some("c"), None, "detail", NOW)
        .await
        .unwrap();
}

/// Everything expired goes; everything live stays.
pub async fn purge<B: Backend>(store: Arc<B>) {
    store
        .insert_code(&SecretDigest::of("old"), &code("g-old"))
        .await
        .unwrap();
    let purged = store.purge_expired(NOW.plus(10_000)).await.unwrap();
    assert!(purged >= 1);
    assert!(matches!(
        store
            .consume_code(&SecretDigest::of("old"), NOW)
            .await
            .unwrap(),
        CodeRedemption::Unknown
    ));
}

#[cfg(test)]
mod sqlite {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    async fn store() -> (tempfile::TempDir, Arc<SqliteStore>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        (dir, Arc::new(store))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_codes_are_one_time() {
        let (_dir, store) = store().await;
        codes_are_one_time(store).await;
    }

    #[tokio::test]
    async fn sqlite_refresh_rotation_grace_and_revocation() {
        let (_dir, store) = store().await;
        refresh_rotation_grace_and_revocation(store).await;
    }

    #[tokio::test]
    async fn sqlite_device_codes() {
        let (_dir, store) = store().await;
        device_codes(store).await;
    }

    #[tokio::test]
    async fn sqlite_pushed_requests() {
        let (_dir, store) = store().await;
        pushed_requests(store).await;
    }

    #[tokio::test]
    async fn sqlite_durable_records() {
        let (_dir, store) = store().await;
        durable_records(store).await;
    }

    #[tokio::test]
    async fn sqlite_purge() {
        let (_dir, store) = store().await;
        purge(store).await;
    }
}
