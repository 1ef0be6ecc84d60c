//! E-mail on `POST /v1/check`: a whole message sent as `Content-Type: message/rfc822`, or
//! as the `email` field of a JSON message (which also works in batches). `chanrac-mail`
//! parses it into the engine's message with its e-mail facts; everything else is the check
//! of any message.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use chanrac_core::{Channel, Message, Metadata};

use crate::api::{self, MessageIn, OPERATORS};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Bodies larger than this are parsed on the blocking pool rather than on the request's
/// thread (a few hundred microseconds of parsing and more).
const PARSE_INLINE_MAX: usize = 64 * 1024;

/// `POST /v1/check`: an e-mail when the content type is `message/rfc822`, JSON otherwise
/// (documented on [`api::check`]).
pub async fn check(State(state): State<AppState>, caller: Caller, req: Request) -> Result<Response, ApiError> {
    let rfc822 = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("message/rfc822"));
    if !rfc822 {
        let body = Json::<MessageIn>::from_request(req, &state).await;
        return api::check(State(state), caller, body).await;
    }
    caller.require(OPERATORS)?;
    let body = Bytes::from_request(req, &state).await?;
    let started = Instant::now();
    let now = api::now();
    let limits = state.config.email.limits();
    let mail = if body.len() <= PARSE_INLINE_MAX {
        read(&body, &limits)
    } else {
        tokio::task::spawn_blocking(move || read(&body, &limits))
            .await
            .map_err(|e| ApiError::internal(format!("e-mail parsing failed: {e}")))?
    }
    .map_err(|m| ApiError::bad_request("invalid_message", m))?;
    let msg = overlay(mail, None, None, None, now, Metadata::default());
    Ok(api::check_message(state, msg, started, now).await)
}

/// Parses an e-mail within `email.*` limits; the error says why it is not one.
pub(crate) fn read(raw: &[u8], limits: &chanrac_mail::Limits) -> Result<Message, String> {
    chanrac_mail::Reader::new(*limits).read(raw).map_err(|e| e.to_string())
}

/// The message of an e-mail with what the request says: its id, sender and recipient when
/// given (else Message-ID, From, To), the time on the server's clock (the Date header is the
/// sender's word), the network facts.
pub(crate) fn overlay(
    mut m: Message,
    id: Option<String>,
    sender: Option<String>,
    recipient: Option<String>,
    received_at: i64,
    meta: Metadata,
) -> Message {
    m.id = id.or(m.id);
    m.sender = sender.or(m.sender);
    m.recipient = recipient.or(m.recipient);
    m.received_at = Some(received_at);
    m.channel = Channel::Email;
    m.meta = meta;
    m
}
