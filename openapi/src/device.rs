//! RFC 8628 device authorization grant: the device authorization endpoint and the
//! verification page.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// RFC 8628 §3.1 device authorization request (`application/x-www-form-urlencoded`). The
/// client must be registered for the device grant; public clients send only `client_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceAuthorizationRequest {
    /// The client id (omit it with HTTP Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::DEVICE_CLIENT_ID))]
    pub client_id: Option<String>,
    /// Confidential clients using `client_secret_post` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "")]
    pub client_secret: Option<String>,
    /// Space-separated scopes (default `openid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "openid profile offline_access")]
    pub scope: Option<String>,
    /// RFC 8707 resource indicator (one of the client's resources); repeatable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = json!(crate::demo::API_RESOURCE))]
    pub resource: Option<String>,
}

/// RFC 8628 §3.2 device authorization response. Sent with `Cache-Control: no-store`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceAuthorizationResponse {
    /// The device's secret: it polls the token endpoint with it.
    pub device_code: String,
    /// The short code the user types at `verification_uri`.
    #[schema(example = "BDWP-HQPK")]
    pub user_code: String,
    /// Where the user goes (`/device`).
    pub verification_uri: String,
    /// `verification_uri` with the code filled in (for QR codes).
    pub verification_uri_complete: String,
    /// Lifetime of both codes in seconds.
    pub expires_in: u64,
    /// Minimum seconds between polls.
    pub interval: u64,
}

/// `GET /device` query: the code to pre-fill (from `verification_uri_complete`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct DevicePageParams {
    /// The user code; ignored unless it looks like one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(nullable = false)]
    #[schema(nullable = false)]
    pub user_code: Option<String>,
}

/// `POST /device` form: the code the user typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceVerificationForm {
    /// The user code shown on the device (case and dashes do not matter).
    #[schema(min_length = 1, example = "BDWP-HQPK")]
    pub user_code: String,
}
