//! The storage conformance suite: every backend must pass it. It runs against SQLite always
//! (and, when a PostgreSQL backend exists, against it too).

use std::sync::Arc;

use keys::{KeyStatus, SigningAlg};

use crate::protocol::authorize::Authentication;
use crate::protocol::client::{
    ApplicationType, ClientMetadata, GrantType, ResponseType, TokenEndpointAuthMethod,
};
use crate::protocol::device::{DeviceGrant, DeviceStatus};
use crate::protocol::grants::refresh_token::{RefreshGrant, RefreshState};
use crate::protocol::pkce::CodeChallenge;
use crate::protocol::resource::Resources;
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::{ClientId, SecretDigest, Subject, UnixTime};
use crate::store::{
    DeviceRecord, InteractionPurpose, InteractionRecord, IssuedCode, PurgePolicy, Redemption,
    RefreshTokenRecord, SessionRecord, SigningKeyRecord, Stores,
};

const NOW: UnixTime = UnixTime(1_000_000);

fn code(grant_id: &str) -> IssuedCode {
    IssuedCode {
        amr: Vec::new(),
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
        sid: None,
        resources: Resources::one("urn:aud"),
        grant_id: grant_id.into(),
        expires_at: NOW.plus(600),
        dpop_jkt: None,
    }
}

fn refresh(digest: &str, grant_id: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        digest: SecretDigest(digest.into()),
        grant: RefreshGrant {
            amr: Vec::new(),
            client_id: ClientId::parse("demo-web").unwrap(),
            subject: Subject("u-1".into()),
            scope: ScopeSet::parse("openid offline_access").unwrap(),
            resources: Resources::one("urn:aud"),
            auth_time: NOW,
            sid: None,
            grant_id: grant_id.into(),
            dpop_jkt: None,
        },
        issued_at: NOW,
        expires_at: NOW.plus(3600),
        rotated_at: None,
        revoked: false,
        grace_used: false,
    }
}

/// Two concurrent redemptions of one code: exactly one wins; later ones are replays.
pub async fn codes_are_one_time(stores: &Stores) {
    let digest = SecretDigest::of("code-1");
    stores
        .ephemeral
        .insert_code(&digest, &code("grant-1"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let ephemeral = Arc::clone(&stores.ephemeral);
        let digest = digest.clone();
        tasks.push(tokio::spawn(async move {
            ephemeral.consume_code(&digest, NOW).await.unwrap()
        }));
    }
    let mut consumed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Redemption::Consumed(code) => {
                consumed += 1;
                assert_eq!(code.grant_id, "grant-1");
            }
            Redemption::Replayed { grant_id } => assert_eq!(grant_id, "grant-1"),
            Redemption::Unknown => panic!("a stored code was unknown"),
        }
    }
    assert_eq!(consumed, 1, "exactly one redemption may succeed");
    assert!(matches!(
        stores
            .ephemeral
            .consume_code(&SecretDigest::of("never-issued"), NOW)
            .await
            .unwrap(),
        Redemption::Unknown
    ));
}

/// Rotation succeeds once; the grace reuse once; revoking the grant revokes the family and
/// denies its access tokens.
pub async fn refresh_rotation_grace_and_revocation(stores: &Stores) {
    stores
        .grants
        .insert_refresh_token(&refresh("rt-1", "family"))
        .await
        .unwrap();
    assert!(
        stores
            .grants
            .rotate_refresh_token(
                &SecretDigest("rt-1".into()),
                &refresh("rt-2", "family"),
                NOW
            )
            .await
            .unwrap()
    );
    assert!(
        !stores
            .grants
            .rotate_refresh_token(
                &SecretDigest("rt-1".into()),
                &refresh("rt-x", "family"),
                NOW
            )
            .await
            .unwrap()
    );
    let old = stores
        .grants
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
        stores
            .grants
            .use_refresh_grace(&SecretDigest("rt-1".into()), &refresh("rt-3", "family"))
            .await
            .unwrap()
    );
    assert!(
        !stores
            .grants
            .use_refresh_grace(&SecretDigest("rt-1".into()), &refresh("rt-4", "family"))
            .await
            .unwrap()
    );
    let spent = stores
        .grants
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

    stores
        .grants
        .record_access_token("jti-1", "family", NOW.plus(600))
        .await
        .unwrap();
    stores
        .grants
        .record_access_token("jti-other", "other-family", NOW.plus(600))
        .await
        .unwrap();
    assert!(!stores.grants.is_access_token_denied("jti-1").await.unwrap());
    assert_eq!(
        stores
            .grants
            .access_token_grant("jti-1")
            .await
            .unwrap()
            .as_deref(),
        Some("family"),
        "token exchange records its token under the subject token's grant"
    );
    assert_eq!(
        stores
            .grants
            .access_token_grant("no-such-jti")
            .await
            .unwrap(),
        None
    );
    stores.grants.revoke_grant("family", NOW).await.unwrap();
    for digest in ["rt-2", "rt-3"] {
        let record = stores
            .grants
            .refresh_token(&SecretDigest(digest.into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.state(0, NOW), RefreshState::Revoked, "{digest}");
    }
    assert!(stores.grants.is_access_token_denied("jti-1").await.unwrap());
    assert!(
        !stores
            .grants
            .is_access_token_denied("jti-other")
            .await
            .unwrap()
    );
    assert!(
        !stores
            .grants
            .rotate_refresh_token(
                &SecretDigest("rt-2".into()),
                &refresh("rt-5", "family"),
                NOW
            )
            .await
            .unwrap()
    );
    stores
        .grants
        .deny_access_token("jti-2", NOW.plus(60))
        .await
        .unwrap();
    stores
        .grants
        .deny_access_token("jti-2", NOW.plus(60))
        .await
        .unwrap();
    assert!(stores.grants.is_access_token_denied("jti-2").await.unwrap());
}

/// Device codes: found by user code while pending, decided once, taken once.
pub async fn device_codes(stores: &Stores) {
    let digest = SecretDigest::of("device-code");
    let record = DeviceRecord {
        device_code_digest: digest.clone(),
        grant: DeviceGrant {
            client_id: ClientId::parse("demo-device").unwrap(),
            user_code: "BDWP-HQPK".into(),
            scope: ScopeSet::parse("openid").unwrap(),
            resources: Resources::one("urn:aud"),
            status: DeviceStatus::Pending,
            interval_secs: 5,
            last_poll_at: None,
            expires_at: NOW.plus(600),
        },
    };
    stores.ephemeral.insert_device(&record).await.unwrap();
    assert!(
        stores.ephemeral.insert_device(&record).await.is_err(),
        "user codes are unique"
    );
    assert!(
        stores
            .ephemeral
            .pending_device_by_user_code("BDWP-HQPK", NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        stores
            .ephemeral
            .pending_device_by_user_code("BDWP-HQPK", NOW.plus(600))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    stores
        .ephemeral
        .record_device_poll(&digest, NOW.plus(1), 10)
        .await
        .unwrap();
    let polled = stores
        .ephemeral
        .device_by_code(&digest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(polled.grant.interval_secs, 10);
    assert_eq!(polled.grant.last_poll_at, Some(NOW.plus(1)));
    let alice = Authentication {
        amr: Vec::new(),
        subject: Subject("u-1".into()),
        auth_time: NOW,
        sid: None,
    };
    assert!(
        stores
            .ephemeral
            .decide_device("BDWP-HQPK", &DeviceStatus::Approved(alice.clone()))
            .await
            .unwrap()
    );
    assert!(
        !stores
            .ephemeral
            .decide_device("BDWP-HQPK", &DeviceStatus::Denied)
            .await
            .unwrap(),
        "decided once"
    );
    assert!(
        stores
            .ephemeral
            .pending_device_by_user_code("BDWP-HQPK", NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        stores
            .ephemeral
            .device_by_code(&digest)
            .await
            .unwrap()
            .unwrap()
            .grant
            .status,
        DeviceStatus::Approved(alice)
    );
    assert!(stores.ephemeral.take_device(&digest).await.unwrap());
    assert!(
        !stores.ephemeral.take_device(&digest).await.unwrap(),
        "taken once"
    );
}

/// Pushed requests are taken once and not after expiry.
pub async fn pushed_requests(stores: &Stores) {
    let params = vec![
        ("client_id".to_owned(), "demo-web".to_owned()),
        ("scope".to_owned(), "openid".to_owned()),
    ];
    let live = SecretDigest::of("urn:live");
    let stale = SecretDigest::of("urn:stale");
    stores
        .ephemeral
        .insert_pushed_request(&live, "demo-web", &params, NOW.plus(60))
        .await
        .unwrap();
    stores
        .ephemeral
        .insert_pushed_request(&stale, "demo-web", &params, NOW.plus(60))
        .await
        .unwrap();
    assert_eq!(
        stores
            .ephemeral
            .take_pushed_request(&live, "demo-cli", NOW)
            .await
            .unwrap(),
        None,
        "another client spends nothing"
    );
    assert_eq!(
        stores
            .ephemeral
            .take_pushed_request(&live, "demo-web", NOW)
            .await
            .unwrap(),
        Some(params)
    );
    assert_eq!(
        stores
            .ephemeral
            .take_pushed_request(&live, "demo-web", NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        stores
            .ephemeral
            .take_pushed_request(&stale, "demo-web", NOW.plus(60))
            .await
            .unwrap(),
        None
    );
}

/// Back-Channel Logout: session participants taken once (by session, by user, on expiry) and
/// the bounded, claimable delivery queue.
pub async fn logout_deliveries(stores: &Stores) {
    use crate::store::{EndedLogouts, EndedSessions, Participant};
    let users = &stores.users;
    let participant = |sid: &str, client: &str, subject: &str| Participant {
        sid: sid.into(),
        client_id: ClientId::parse(client).unwrap(),
        subject: Subject(subject.into()),
    };
    users
        .add_session_client(&participant("s1", "rp-a", "alice"), NOW.plus(100))
        .await
        .unwrap();
    // Recorded twice (a second sign-in to the same client in the same session): one row.
    users
        .add_session_client(&participant("s1", "rp-a", "alice"), NOW.plus(100))
        .await
        .unwrap();
    users
        .add_session_client(&participant("s1", "rp-b", "alice"), NOW.plus(100))
        .await
        .unwrap();
    users
        .add_session_client(&participant("s2", "rp-a", "alice"), NOW.plus(50))
        .await
        .unwrap();
    users
        .add_session_client(&participant("s3", "rp-a", "bob"), NOW.plus(10))
        .await
        .unwrap();
    users
        .add_session_client(&participant("s4", "rp-c", "carol"), NOW.plus(10))
        .await
        .unwrap();
    // carol signed in again: her session (s4) lasts longer now.
    users
        .extend_session_clients("s4", NOW.plus(500))
        .await
        .unwrap();
    // Each end takes the participants once and queues one delivery per client, atomically.
    let participants = |ended: &EndedLogouts| {
        let mut list: Vec<Participant> = ended
            .queued
            .iter()
            .map(|delivery| delivery.participant.clone())
            .collect();
        list.sort_by(|a, b| a.client_id.as_str().cmp(b.client_id.as_str()));
        list
    };
    let ended = users
        .end_session_clients(EndedSessions::Sid("s1"), "b1", NOW, 100)
        .await
        .unwrap();
    assert_eq!(
        participants(&ended),
        [
            participant("s1", "rp-a", "alice"),
            participant("s1", "rp-b", "alice")
        ]
    );
    assert_eq!(ended.dropped, 0);
    assert!(
        ended
            .queued
            .iter()
            .all(|delivery| delivery.id.starts_with("b1.")
                && delivery.attempts == 0
                && delivery.next_attempt_at == NOW)
    );
    let again = users
        .end_session_clients(EndedSessions::Sid("s1"), "b2", NOW, 100)
        .await
        .unwrap();
    assert!(again.queued.is_empty(), "taken once");
    let expired = users
        .end_session_clients(
            EndedSessions::ExpiredBy {
                now: NOW.plus(20),
                limit: 10,
            },
            "b3",
            NOW.plus(20),
            100,
        )
        .await
        .unwrap();
    assert_eq!(participants(&expired), [participant("s3", "rp-a", "bob")]);
    let carol = users
        .end_session_clients(EndedSessions::Sid("s4"), "b4", NOW.plus(20), 100)
        .await
        .unwrap();
    assert_eq!(participants(&carol), [participant("s4", "rp-c", "carol")]);
    // Four deliveries wait; with room for four, alice's other session's client is dropped.
    let full = users
        .end_session_clients(
            EndedSessions::Subject(&Subject("alice".into())),
            "b5",
            NOW,
            4,
        )
        .await
        .unwrap();
    assert_eq!(
        (full.queued.len(), full.dropped),
        (0, 1),
        "the queue is full"
    );
    // The queue: claimed once per lease, retried, finished.
    let claimed = users.claim_logouts(NOW, NOW.plus(60), 10).await.unwrap();
    assert_eq!(
        claimed.len(),
        2,
        "b1's two are due now; b3 and b4 at NOW + 20"
    );
    let later = users
        .claim_logouts(NOW.plus(20), NOW.plus(80), 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 2, "b3 and b4");
    assert!(
        users
            .claim_logouts(NOW.plus(20), NOW.plus(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased deliveries are not claimed again"
    );
    for delivery in &later {
        users.finish_logout(&delivery.id).await.unwrap();
    }
    users.retry_logout("b1.0", 1, NOW.plus(10)).await.unwrap();
    users.finish_logout("b1.1").await.unwrap();
    let retried = users
        .claim_logouts(NOW.plus(10), NOW.plus(70), 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id.as_str(), retried[0].attempts), ("b1.0", 1));
    users.finish_logout("b1.0").await.unwrap();
    assert!(
        users
            .claim_logouts(NOW.plus(1000), NOW.plus(1060), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Sessions, consents, clients and keys.
pub async fn durable_records(stores: &Stores) {
    let session = SessionRecord {
        amr: Vec::new(),
        id_digest: SecretDigest::of("s"),
        sid: "sid-1".into(),
        subject: Subject("u-1".into()),
        auth_time: NOW,
        expires_at: NOW.plus(100),
    };
    stores.users.create_session(&session).await.unwrap();
    assert_eq!(
        stores
            .users
            .session(&session.id_digest, NOW)
            .await
            .unwrap()
            .map(|found| found.sid),
        Some("sid-1".to_owned()),
        "the sid is kept"
    );
    assert!(
        stores
            .users
            .session(&session.id_digest, NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        stores
            .users
            .session(&session.id_digest, NOW.plus(100))
            .await
            .unwrap()
            .is_none(),
        "expired sessions are not returned"
    );
    stores
        .users
        .delete_session(&session.id_digest)
        .await
        .unwrap();
    assert!(
        stores
            .users
            .session(&session.id_digest, NOW)
            .await
            .unwrap()
            .is_none()
    );

    let subject = Subject("u-1".into());
    stores
        .grants
        .save_consent(&subject, "c", &ScopeSet::parse("openid").unwrap(), NOW)
        .await
        .unwrap();
    stores
        .grants
        .save_consent(&subject, "c", &ScopeSet::parse("email").unwrap(), NOW)
        .await
        .unwrap();
    assert_eq!(
        stores
            .grants
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
            grant_types: vec![GrantType::AuthorizationCode],
            response_types: vec![ResponseType::Code],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            application_type: ApplicationType::Web,
            scope: ScopeSet::parse("openid").unwrap(),
            id_token_signed_response_alg: SigningAlg::ES256,
            access_token_signed_response_alg: SigningAlg::RS256,
            default_resource: Some("urn:aud".into()),
            allowed_resources: vec![],
            first_party: false,
            require_pushed_authorization_requests: false,
            resource_server: false,
            jwks: None,
            jwks_uri: None,
            dpop_bound_access_tokens: false,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            id_token_encrypted_response_alg: None,
            id_token_encrypted_response_enc: None,
            userinfo_signed_response_alg: None,
            userinfo_encrypted_response_alg: None,
            userinfo_encrypted_response_enc: None,
            default_acr_values: Vec::new(),
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            secret_derivation: None,
        },
    };
    stores.clients.upsert_client(&client, NOW).await.unwrap();
    stores
        .clients
        .set_registration_token("dyn-1", &SecretDigest::of("rat"))
        .await
        .unwrap();
    assert!(
        stores
            .clients
            .registration_token("dyn-1")
            .await
            .unwrap()
            .unwrap()
            .matches("rat")
    );
    assert_eq!(
        stores
            .clients
            .client("dyn-1")
            .await
            .unwrap()
            .unwrap()
            .metadata,
        client.metadata
    );
    stores.clients.delete_client("dyn-1", NOW).await.unwrap();
    assert!(stores.clients.client("dyn-1").await.unwrap().is_none());

    let key = SigningKeyRecord {
        kid: "k1".into(),
        alg: SigningAlg::ES256,
        private_pem: "pem".into(),
        status: KeyStatus::Next,
        created_at: NOW,
        activate_at: Some(NOW.plus(10)),
        remove_at: None,
    };
    stores.keys.insert_signing_key(&key).await.unwrap();
    let mut updated = key.clone();
    updated.status = KeyStatus::Active;
    updated.activate_at = None;
    stores.keys.update_signing_key(&updated).await.unwrap();
    let stored = stores.keys.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].status, stored[0].alg, stored[0].activate_at),
        (KeyStatus::Active, SigningAlg::ES256, None)
    );
    assert!(
        !format!("{:?}", stored[0]).contains("pem\""),
        "Debug hides key material"
    );
    let first = stores
        .keys
        .server_secret("hmac", "first", NOW)
        .await
        .unwrap();
    let second = stores
        .keys
        .server_secret("hmac", "second", NOW)
        .await
        .unwrap();
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("first", "first"),
        "the first value stays"
    );
    stores.keys.delete_signing_key("k1").await.unwrap();
    assert!(stores.keys.signing_keys().await.unwrap().is_empty());

    stores
        .audit
        .audit("test_event", Some("c"), None, "detail", NOW)
        .await
        .unwrap();
}

/// Everything expired goes, in bounded statements; everything live stays; audit events go
/// only past the retention.
pub async fn purge(stores: &Stores) {
    stores
        .ephemeral
        .insert_code(&SecretDigest::of("old"), &code("g-old"))
        .await
        .unwrap();
    // More expired interactions than one statement deletes, and one that is still live.
    let interaction = |id: String, expires_at: UnixTime| InteractionRecord {
        second_factor: None,
        id,
        csrf_token: "csrf".into(),
        browser_digest: SecretDigest::of("browser"),
        purpose: InteractionPurpose::Device {
            user_code: "BCDF-GHJK".into(),
            client_id: ClientId::parse("demo-device").unwrap(),
            scope: ScopeSet::parse("openid").unwrap(),
        },
        authentication: None,
        expires_at,
    };
    for index in 0..25 {
        stores
            .ephemeral
            .put_interaction(&interaction(format!("flood-{index}"), NOW.plus(10)))
            .await
            .unwrap();
    }
    stores
        .ephemeral
        .put_interaction(&interaction("live".into(), NOW.plus(100_000)))
        .await
        .unwrap();
    stores
        .audit
        .audit("old_event", None, None, "long ago", NOW)
        .await
        .unwrap();
    let counts = stores.maintenance.row_counts().await.unwrap();
    assert!(counts.contains(&("interactions", 26)), "{counts:?}");
    let policy = PurgePolicy {
        now: NOW.plus(10_000),
        audit_before: None,
        batch: 10,
    };
    let purged = stores.maintenance.purge_expired(&policy).await.unwrap();
    assert_eq!(
        purged, 26,
        "25 interactions in three statements, and the code"
    );
    let counts = stores.maintenance.row_counts().await.unwrap();
    assert!(counts.contains(&("interactions", 1)), "{counts:?}");
    assert!(counts.contains(&("authorization_codes", 0)), "{counts:?}");
    assert!(
        stores
            .ephemeral
            .interaction("live", NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        stores
            .ephemeral
            .consume_code(&SecretDigest::of("old"), NOW)
            .await
            .unwrap(),
        Redemption::Unknown
    ));
    // The audit trail is kept without a retention, and purged past one.
    assert_eq!(stores.audit.audit_events(0, 10).await.unwrap().len(), 1);
    let with_retention = PurgePolicy {
        audit_before: Some(NOW.plus(1)),
        ..policy
    };
    assert_eq!(
        stores
            .maintenance
            .purge_expired(&with_retention)
            .await
            .unwrap(),
        1
    );
    assert!(stores.audit.audit_events(0, 10).await.unwrap().is_empty());
}

/// Resource servers: stored whole, listed by identifier, replaced, removed once.
pub async fn resource_registry(stores: &Stores) {
    use crate::protocol::resource::ResourceServer;
    let resources = &stores.resources;
    assert!(resources.resources().await.unwrap().is_empty());
    let orders = ResourceServer {
        identifier: "https://orders.example".into(),
        name: "Orders".into(),
        scopes: ScopeSet::parse("orders:read orders:write").unwrap(),
        signing_alg: SigningAlg::ES256,
        access_token_lifetime_secs: Some(300),
        introspection_client: Some("orders-api".into()),
    };
    let billing = ResourceServer {
        identifier: "urn:billing".into(),
        name: "Billing".into(),
        scopes: ScopeSet::default(),
        signing_alg: SigningAlg::RS256,
        access_token_lifetime_secs: None,
        introspection_client: None,
    };
    resources
        .upsert_resource(&billing, UnixTime(1))
        .await
        .unwrap();
    resources
        .upsert_resource(&orders, UnixTime(1))
        .await
        .unwrap();
    assert_eq!(
        resources.resources().await.unwrap(),
        [orders.clone(), billing.clone()],
        "every field back, by identifier"
    );
    let renamed = ResourceServer {
        name: "Orders v2".into(),
        signing_alg: SigningAlg::EdDSA,
        ..orders
    };
    resources
        .upsert_resource(&renamed, UnixTime(2))
        .await
        .unwrap();
    assert_eq!(
        resources.resources().await.unwrap(),
        [renamed, billing.clone()]
    );
    assert!(
        resources
            .delete_resource("https://orders.example")
            .await
            .unwrap()
    );
    assert!(
        !resources
            .delete_resource("https://orders.example")
            .await
            .unwrap()
    );
    assert_eq!(resources.resources().await.unwrap(), [billing]);
}

/// Two redemptions racing through two connection pools, 100 times: exactly one wins each
/// time, the other finds a replay.
pub async fn codes_are_one_time_across_pools(first: &Stores, second: &Stores) {
    for round in 0..100 {
        let digest = SecretDigest::of(&format!("raced-code-{round}"));
        let grant_id = format!("grant-{round}");
        first
            .ephemeral
            .insert_code(&digest, &code(&grant_id))
            .await
            .unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let racers = [&first.ephemeral, &second.ephemeral].map(|ephemeral| {
            let ephemeral = Arc::clone(ephemeral);
            let digest = digest.clone();
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                ephemeral.consume_code(&digest, NOW).await.unwrap()
            })
        });
        let mut winners = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Redemption::Consumed(code) => {
                    winners += 1;
                    assert_eq!(code.grant_id, grant_id);
                }
                Redemption::Replayed { grant_id: replayed } => assert_eq!(replayed, grant_id),
                Redemption::Unknown => panic!("round {round}: a stored code was unknown"),
            }
        }
        assert_eq!(winners, 1, "round {round}: exactly one redemption wins");
    }
}

/// A backend under test: two independent handles (two connection pools) on one database, and
/// whatever keeps that database alive until the test ends.
pub struct Backend {
    /// The handles most cases use.
    pub first: Stores,
    /// A second pool on the same database, for races between nodes.
    pub second: Stores,
    _guard: Box<dyn std::any::Any + Send>,
}

/// Instantiates the whole suite for one backend: `conformance_suite!(name, opener)`, where
/// `opener` is an `async fn() -> Option<Backend>` (`None`: the backend is not available here,
/// and the tests say so and pass).
macro_rules! conformance_suite {
    ($backend:ident, $open:path) => {
        mod $backend {
            use crate::store::conformance;

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(backend) = $open().await else {
                            eprintln!(
                                "skipped: {} backend not available (see its opener)",
                                stringify!($backend)
                            );
                            return;
                        };
                        conformance::$name(&backend.first).await;
                    }
                };
            }

            case!(codes_are_one_time);
            case!(refresh_rotation_grace_and_revocation);
            case!(device_codes);
            case!(pushed_requests);
            case!(durable_records);
            case!(purge);
            case!(resource_registry);
            case!(logout_deliveries);

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn codes_are_one_time_across_pools() {
                let Some(backend) = $open().await else {
                    eprintln!("skipped: {} backend not available", stringify!($backend));
                    return;
                };
                conformance::codes_are_one_time_across_pools(&backend.first, &backend.second).await;
            }
        }
    };
}

/// SQLite: a fresh file per test, opened twice.
async fn open_sqlite() -> Option<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
    let url = crate::store::DatabaseUrl::parse(&url).unwrap();
    let first = crate::store::open(&url).await.unwrap();
    let second = crate::store::open(&url).await.unwrap();
    Some(Backend {
        first,
        second,
        _guard: Box::new(dir),
    })
}

/// PostgreSQL, when `OIDC_TEST_POSTGRES_URL` names a server: a schema of its own per test,
/// dropped afterwards. Without the variable the cases say they skipped; with it, an unusable
/// server fails them.
async fn open_postgres() -> Option<Backend> {
    use crate::store::testing::{TestSchema, postgres_url};
    let server = postgres_url()?;
    let schema = TestSchema::create(&server).await;
    let url = crate::store::DatabaseUrl::parse(&schema.url()).unwrap();
    let first = crate::store::open(&url).await.unwrap();
    let second = crate::store::open(&url).await.unwrap();
    eprintln!(
        "conformance: running against PostgreSQL schema {}",
        schema.name()
    );
    Some(Backend {
        first,
        second,
        _guard: Box::new(schema),
    })
}

conformance_suite!(sqlite, super::open_sqlite);
conformance_suite!(postgres, super::open_postgres);
