//! The demo's notes: per-user (`sub`) notes kept in memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AccessClaims;

/// Largest request body of `POST /api/notes`; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest note text, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Notes kept per user; more get 409, so one caller cannot exhaust memory.
pub const MAX_NOTES_PER_USER: usize = 1000;

/// One note.
#[derive(Clone, Debug, Serialize)]
pub struct Note {
    /// Unique across users.
    pub id: u64,
    /// 1 to 1000 characters.
    pub text: String,
    /// Unix seconds.
    pub created_at: u64,
}

/// The body of `POST /api/notes`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewNote {
    text: String,
}

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
        let body = Json(json!({"error": self.error, "error_description": self.description}));
        (self.status, body).into_response()
    }
}

/// `GET /api/notes` (scope `api:read`): the caller's notes.
#[tracing::instrument(skip_all, fields(client_id = %claims.client_id, jti = %claims.jti))]
pub(crate) async fn get_notes(
    State(store): State<std::sync::Arc<NotesStore>>,
    claims: AccessClaims,
) -> Json<serde_json::Value> {
    Json(json!({ "notes": store.list(&claims.sub) }))
}

/// `POST /api/notes` (scope `api:write`): adds a note for the caller; 201 with the note.
#[tracing::instrument(skip_all, fields(client_id = %claims.client_id, jti = %claims.jti))]
pub(crate) async fn post_notes(
    State(store): State<std::sync::Arc<NotesStore>>,
    claims: AccessClaims,
    body: Result<Json<NewNote>, JsonRejection>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let Json(new_note) = body.map_err(json_rejection)?;
    let length = new_note.text.chars().count();
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
