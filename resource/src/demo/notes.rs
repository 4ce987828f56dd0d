//! The demo's notes: per-user (`sub`) notes kept in memory, and `GET`/`POST /api/notes`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use openapi::document::tags;
use openapi::responses::{ResourceInsufficientScope, ResourceUnauthorized, ResourceUnavailable};
use openapi::{ErrorBody, NewNote, Note, NoteList};

use super::paths;
use crate::AccessClaims;

/// Largest request body of `POST /api/notes`; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest note text, in characters.
pub const MAX_NOTE_CHARS: usize = openapi::MAX_NOTE_CHARS;
/// Notes kept per user; more get 409, so one caller cannot exhaust memory.
pub const MAX_NOTES_PER_USER: usize = 1000;

/// Notes by subject; nobody sees another subject's notes.
#[derive(Default)]
pub(crate) struct NotesStore {
    by_subject: Mutex<HashMap<String, Vec<Note>>>,
    next_id: AtomicU64,
}

impl NotesStore {
    fn list(&self, subject: &str) -> Vec<Note> {
        let notes = self
            .by_subject
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        notes.get(subject).cloned().unwrap_or_default()
    }

    fn add(&self, subject: &str, text: String) -> Option<Note> {
        let mut notes = self
            .by_subject
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mine = notes.entry(subject.to_owned()).or_default();
        if mine.len() >= MAX_NOTES_PER_USER {
            return None;
        }
        let note = Note {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            text,
            created_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since_epoch| since_epoch.as_secs()),
        };
        mine.push(note.clone());
        Some(note)
    }
}

/// A JSON API error `{error, error_description}`.
pub(crate) struct ApiError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            description: description.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error.to_owned(),
            error_description: Some(self.description),
        };
        (self.status, Json(body)).into_response()
    }
}

/// The caller's notes (scope api:read).
///
/// Only the notes of the token's subject (`sub`), oldest first. Needs a token with the
/// `api:read` scope; e.g. client_credentials for `demo-service` with `scope=api:read api:write`.
#[utoipa::path(
    get,
    path = paths::NOTES,
    tag = tags::NOTES,
    security(("access_token" = ["api:read"]), ("issuer_oauth2" = ["api:read"])),
    responses(
        (status = 200, description = "The caller's notes.", body = NoteList),
        (status = 400, response = openapi::responses::ResourceBadRequest),
        (status = 401, response = ResourceUnauthorized),
        (status = 403, response = ResourceInsufficientScope),
        (status = 503, response = ResourceUnavailable),
    ),
)]
#[tracing::instrument(skip_all, fields(client_id = %claims.client_id, jti = %claims.jti))]
pub(crate) async fn get_notes(
    State(store): State<std::sync::Arc<NotesStore>>,
    claims: AccessClaims,
) -> Json<NoteList> {
    Json(NoteList {
        notes: store.list(&claims.sub),
    })
}

/// Adds a note for the caller (scope api:write).
///
/// The body is `{"text": "..."}`: 1 to 1000 characters (Unicode scalar values), not all
/// whitespace, and no other member. A user keeps at most 1000 notes; bodies over 16 KiB are
/// refused unread. Needs a token with the `api:write` scope.
#[utoipa::path(
    post,
    path = paths::NOTES,
    tag = tags::NOTES,
    request_body(content = NewNote, content_type = "application/json", description = "The note to add."),
    security(("access_token" = ["api:write"]), ("issuer_oauth2" = ["api:write"])),
    responses(
        (status = 201, description = "The note was added.", body = Note),
        (status = 400, description = "`invalid_request`: the body is not JSON, not sent as \
            `application/json`, not `{\"text\": \"...\"}` with a string `text` and no other \
            member, or `text` is empty, blank or over 1000 characters. Also RFC 6750 \
            `invalid_request` when the `Authorization` header itself is malformed (then with a \
            `WWW-Authenticate: Bearer` challenge and `Cache-Control: no-store`).",
            body = ErrorBody, example = json!({"error": "invalid_request", "error_description": "text must have 1 to 1000 characters and not be blank (got 0)."})),
        (status = 401, response = ResourceUnauthorized),
        (status = 403, response = ResourceInsufficientScope),
        (status = 409, description = "`limit_reached`: the caller already keeps 1000 notes.",
            body = ErrorBody, example = json!({"error": "limit_reached", "error_description": "A user may keep at most 1000 notes."})),
        (status = 413, description = "`payload_too_large`: the body is over 16 KiB.",
            body = ErrorBody, example = json!({"error": "payload_too_large", "error_description": "The body must be at most 16384 bytes."})),
        (status = 503, response = ResourceUnavailable),
    ),
)]
#[tracing::instrument(skip_all, fields(client_id = %claims.client_id, jti = %claims.jti))]
pub(crate) async fn post_notes(
    State(store): State<std::sync::Arc<NotesStore>>,
    claims: AccessClaims,
    body: Result<Json<NewNote>, JsonRejection>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let Json(new_note) = body.map_err(json_rejection)?;
    let length = new_note.text.chars().count();
    // The same rule as NewNote's schema (openapi::NOT_BLANK_PATTERN, maxLength).
    if new_note.text.trim().is_empty() || length > MAX_NOTE_CHARS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!(
                "text must have 1 to {MAX_NOTE_CHARS} characters and not be blank (got {length})."
            ),
        ));
    }
    let note = store.add(&claims.sub, new_note.text).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "limit_reached",
            format!("A user may keep at most {MAX_NOTES_PER_USER} notes."),
        )
    })?;
    tracing::info!(note_id = note.id, "note created");
    Ok((StatusCode::CREATED, Json(note)))
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The body must be at most {MAX_BODY_BYTES} bytes."),
        );
    }
    let description = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Send a JSON body with Content-Type: application/json."
        }
        JsonRejection::JsonSyntaxError(_) => "The body is not valid JSON.",
        JsonRejection::JsonDataError(_) => {
            r#"The body must be {"text": "..."} with a string text and no other member."#
        }
        _ => "The body could not be read.",
    };
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
}
