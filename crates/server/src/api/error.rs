//! API errors: a status code and a JSON body `{error, message}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ivm_rules::RefusalKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::ServiceError;

/// The JSON body of every error response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable kind: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `conflict`, `internal`.
    pub error: String,
    /// What was wrong and what to do, for people.
    pub message: String,
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// A more specific kind than the status gives, for clients that act on it.
    kind: Option<&'static str>,
    /// Seconds for a `Retry-After` header (429).
    retry_after: Option<u64>,
}

impl ApiError {
    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: None,
            retry_after: None,
        }
    }

    /// What an extractor refused (malformed body, path or query), with its status.
    pub fn rejected(status: StatusCode, message: impl Into<String>) -> ApiError {
        // A body that parses but does not fit the schema is a bad request like any other.
        let status = if status.is_server_error() || status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        ApiError {
            status,
            message: message.into(),
            kind: None,
            retry_after: None,
        }
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            kind: None,
            retry_after: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The specific kind, when there is one (`console_busy`, `not_running`, `host`).
    pub fn kind(&self) -> Option<&'static str> {
        self.kind
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 429: too busy to take this now; retry after `secs`.
    pub fn too_many(message: impl Into<String>, secs: u64) -> ApiError {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: message.into(),
            kind: None,
            retry_after: Some(secs),
        }
    }

    /// 500 for failures that are ivm's, not the caller's.
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("internal error: {e}"),
            kind: None,
            retry_after: None,
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let status = match &e {
            ServiceError::NoSuchPartition(_) | ServiceError::NoSuchUser(_) => StatusCode::NOT_FOUND,
            ServiceError::UserExists(_) => StatusCode::CONFLICT,
            ServiceError::Forbidden => StatusCode::FORBIDDEN,
            ServiceError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ServiceError::Rule(r) => match r.kind() {
                RefusalKind::NotFound => StatusCode::NOT_FOUND,
                RefusalKind::Conflict | RefusalKind::NotRunning => StatusCode::CONFLICT,
                RefusalKind::Invalid => StatusCode::BAD_REQUEST,
            },
            ServiceError::BadImage(_) => StatusCode::BAD_REQUEST,
            ServiceError::TooManyLogins { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::ConsoleBusy | ServiceError::DeviceBusy { .. } => StatusCode::CONFLICT,
            ServiceError::Store(_) | ServiceError::Host(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let kind = match &e {
            ServiceError::Rule(r) if r.kind() == RefusalKind::NotRunning => Some("not_running"),
            ServiceError::ConsoleBusy => Some("console_busy"),
            ServiceError::Host(_) => Some("host"),
            _ => None,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The whole chain of causes goes to the log; the caller gets the message.
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        let retry_after = match &e {
            ServiceError::TooManyLogins { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        ApiError {
            status,
            message: e.to_string(),
            kind,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = self.kind.unwrap_or(match self.status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::CONFLICT => "conflict",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
            _ => "internal",
        });
        let mut resp = (
            self.status,
            Json(ErrorBody {
                error: kind.into(),
                message: self.message,
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
