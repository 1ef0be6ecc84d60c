//! Errors: [`ServerError`] for starting and running the server, [`ApiError`] for one
//! request. Every API error answers with a stable machine-readable `code` and a human
//! `message`; input errors are 4xx and are not logged as server errors.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chanrac_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Why the server cannot start or keep running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// The engine could not be built from its rules, policy or lists.
    #[error("cannot build the engine: {0}")]
    Engine(String),
    /// The store could not be opened.
    #[error("cannot open the store")]
    Store(#[source] StoreError),
    /// The listener could not be bound or failed.
    #[error("cannot serve HTTP on {addr}")]
    Io {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The error body of every failed API request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `invalid_json`, `invalid_message`, `too_large`,
    /// `unauthorized`, `forbidden`, `not_found`, `overloaded`, `store_unavailable`,
    /// `invalid_config`, `internal`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

/// One request's failure.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code (see [`ErrorBody::code`]).
    pub code: &'static str,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// The 400 of a file import with bad lines (`invalid_lines`): the first 20 reasons.
    pub fn invalid_lines(refused: &[String]) -> ApiError {
        ApiError::bad_request(
            "invalid_lines",
            format!(
                "nothing imported: {}",
                refused.iter().take(20).cloned().collect::<Vec<_>>().join("; ")
            ),
        )
    }

    /// A 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    /// A 503 for overload, with `Retry-After`.
    pub fn overloaded() -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "overloaded",
            message: "too many requests in flight; retry in a second".into(),
        }
    }

    /// A 500 for a bug or an unexpected failure (logged).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: message.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) => ApiError::bad_request("invalid_entry", m),
            StoreError::Unavailable(m) => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "store_unavailable",
                message: format!("the store cannot be reached, nothing was written: {m}"),
            },
            other => {
                let mut m = other.to_string();
                let mut source = std::error::Error::source(&other);
                while let Some(s) = source {
                    m.push_str(": ");
                    m.push_str(&s.to_string());
                    source = s.source();
                }
                ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "store_unavailable",
                    message: format!("the store failed, nothing was written: {m}"),
                }
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_message",
            _ => "invalid_json",
        };
        ApiError {
            status: if status == StatusCode::UNPROCESSABLE_ENTITY {
                StatusCode::BAD_REQUEST
            } else {
                status
            },
            code,
            message: r.body_text(),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        let status = r.status();
        ApiError {
            status,
            code: if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "bad_request"
            },
            message: r.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("bad_request", r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() && self.code != "overloaded" {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let mut r = (
            self.status,
            Json(ErrorBody {
                code: self.code,
                message: self.message,
            }),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}
