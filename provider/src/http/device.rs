//! RFC 8628 device authorization grant: the device authorization endpoint and the
//! verification page where the user enters the code.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use openapi::document::tags;
use openapi::responses::{
    CrossOriginRefused, HtmlServerError, InvalidClient, RateLimited, ServerError,
};
use openapi::{
    DeviceAuthorizationRequest, DeviceAuthorizationResponse, DevicePageParams,
    DeviceVerificationForm, ErrorBody,
};
use tower_http::csrf::CsrfLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::code_flow::start_interaction;
use crate::http::error::{ApiError, PageError};
use crate::http::extractors::{ClientForm, ClientIp, PageForm, QueryParams};
use crate::http::limits::Limited;
use crate::http::paths;
use crate::http::responses::{no_store_json, no_store_page, see_other};
use crate::protocol::client::GrantType;
use crate::protocol::device::{
    DEVICE_CODE_LIFETIME_SECS, DeviceGrant, DeviceStatus, POLL_INTERVAL_SECS, normalize_user_code,
    user_code_from_random,
};
use crate::protocol::scope::ScopeSet;
use crate::protocol::types::OpaqueToken;
use crate::protocol::{ErrorCode, OAuthError};
use crate::state::AppState;
use crate::store::{DeviceRecord, InteractionPurpose};
use crate::telemetry::FLOW;
use crate::templates::DevicePage;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_device_authorization))
        .routes(routes!(get_device))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(post_device))
                .layer(CsrfLayer::new()),
        )
}

/// Device authorization request.
///
/// RFC 8628 §3.1: a device without a browser asks for a `device_code` (to poll `/token` with)
/// and a `user_code` (for the user to type at `/device`). Try it: `client_id=demo-device`.
#[utoipa::path(
    post,
    path = paths::DEVICE_AUTHORIZATION,
    tag = tags::DEVICE,
    request_body(content = DeviceAuthorizationRequest, content_type = "application/x-www-form-urlencoded", example = json!({
        "client_id": openapi::demo::DEVICE_CLIENT_ID, "scope": "openid profile offline_access",
    })),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "RFC 8628 §3.2 device authorization response.", body = DeviceAuthorizationResponse, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 400, description = "`invalid_request`, `invalid_scope`, `invalid_target`, or `unauthorized_client` (the client is not registered for the device grant).", body = ErrorBody, headers(
            ("Cache-Control" = String, description = "`no-store`"),
        )),
        (status = 401, response = InvalidClient),
        (status = 429, response = RateLimited),
        (status = 500, response = ServerError),
    ),
)]
async fn post_device_authorization(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ClientForm { client, params }: ClientForm,
) -> Result<Response, ApiError> {
    Limited::DeviceAuthorization.check(&state, ip).await?;
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(ApiError::OAuth(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client is not registered for the device grant",
        )));
    }
    let scope = ScopeSet::parse(params.single("scope")?.unwrap_or("openid"))?;
    if !scope.is_subset_of(client.allowed_scope()) {
        return Err(OAuthError::invalid_scope(
            "scope includes a scope this client may not request",
        )
        .into());
    }
    let resources = state
        .resources
        .get()
        .await?
        .authorize(&client, &params.all("resource"))?;
    let now = state.now();
    let device_code = OpaqueToken::from_random(state.random_bytes());
    // A collision of two live user codes is astronomically unlikely; retry a few times anyway.
    let mut attempts = 0;
    let user_code = loop {
        let candidate = user_code_from_random(state.random.bytes32());
        let record = DeviceRecord {
            device_code_digest: device_code.digest(),
            grant: DeviceGrant {
                client_id: client.client_id.clone(),
                user_code: candidate.clone(),
                scope: scope.clone(),
                resources: resources.clone(),
                status: DeviceStatus::Pending,
                interval_secs: POLL_INTERVAL_SECS,
                last_poll_at: None,
                expires_at: now.plus(DEVICE_CODE_LIFETIME_SECS),
            },
        };
        match state.store.ephemeral.insert_device(&record).await {
            Ok(()) => break candidate,
            Err(_) if attempts < 3 => attempts += 1,
            Err(err) => return Err(err.into()),
        }
    };
    let verification_uri = state.issuer.url_for(paths::DEVICE);
    tracing::info!(target: FLOW,
        "device: {} asked for \"{scope}\"; the user types the code shown on the device (never logged: it is a credential until used) at {verification_uri}; the device polls /token every {POLL_INTERVAL_SECS} s (RFC 8628 §3.2)",
        client.client_id);
    Ok(no_store_json(DeviceAuthorizationResponse {
        verification_uri_complete: format!("{verification_uri}?user_code={user_code}"),
        verification_uri,
        device_code: device_code.expose().to_owned(),
        user_code,
        expires_in: DEVICE_CODE_LIFETIME_SECS,
        interval: POLL_INTERVAL_SECS,
    }))
}

/// User code entry page (HTML).
///
/// RFC 8628 §3.3 verification URI: the form where the user types the code shown on the
/// device, pre-filled from `verification_uri_complete`.
#[utoipa::path(
    get,
    path = paths::DEVICE,
    tag = tags::DEVICE,
    params(DevicePageParams),
    responses((status = 200, description = "The code entry form.", body = String, content_type = "text/html", headers(
        ("Cache-Control" = String, description = "`no-store`"),
    ))),
)]
async fn get_device(QueryParams(params): QueryParams) -> Response {
    let user_code = params
        .single("user_code")
        .ok()
        .flatten()
        .and_then(normalize_user_code)
        .unwrap_or_default();
    no_store_page(DevicePage {
        user_code: &user_code,
        error: None,
    })
}

/// Submit a user code (HTML form target).
///
/// `POST /device` checks the code (10 attempts per minute per client IP, RFC 8628 §5.1) and
/// starts the login and confirmation interaction for it.
#[utoipa::path(
    post,
    path = paths::DEVICE,
    tag = tags::DEVICE,
    request_body(content = DeviceVerificationForm, content_type = "application/x-www-form-urlencoded", example = json!({
        "user_code": "BDWP-HQPK",
    })),
    responses(
        (status = 303, description = "The code matches a waiting device: on to the sign-in and confirmation pages.", headers(
            ("Location" = String, description = "`/interaction/{id}`"),
            ("Set-Cookie" = String, description = "`oidc_browser`: binds the interaction to this browser."),
        )),
        (status = 400, description = "The form again: the code is unknown, expired or already used.", body = String, content_type = "text/html"),
        (status = 403, response = CrossOriginRefused),
        (status = 429, description = "The form again: too many attempts from this IP; wait a minute.", body = String, content_type = "text/html"),
        (status = 500, response = HtmlServerError),
    ),
)]
async fn post_device(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    PageForm(params): PageForm,
) -> Result<Response, PageError> {
    if let Err(limit) = Limited::UserCode.check(&state, ip).await {
        let page = DevicePage {
            user_code: "",
            error: Some("Too many attempts. Wait a minute and try again."),
        };
        let retry_after = [(header::RETRY_AFTER, limit.retry_after_secs.to_string())];
        return Ok((StatusCode::TOO_MANY_REQUESTS, retry_after, page).into_response());
    }
    let typed = params
        .single("user_code")
        .ok()
        .flatten()
        .unwrap_or_default();
    let record = match normalize_user_code(typed) {
        Some(user_code) => {
            state
                .store
                .ephemeral
                .pending_device_by_user_code(&user_code, state.now())
                .await?
        }
        None => None,
    };
    let Some(record) = record else {
        tracing::info!(target: FLOW, "device: an unknown or expired user code was entered");
        let page = DevicePage {
            user_code: "",
            error: Some("That code is not valid or has expired. Check your device."),
        };
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let grant = record.grant;
    tracing::info!(target: FLOW, "device: the user code matches a waiting device of {}; the user now signs in and confirms", grant.client_id);
    let purpose = InteractionPurpose::Device {
        user_code: grant.user_code,
        client_id: grant.client_id,
        scope: grant.scope,
    };
    let (jar, interaction) = start_interaction(&state, jar, purpose).await?;
    Ok(see_other(jar, &paths::interaction(&interaction.id)))
}
