//! The api's one error type, turned into an HTTP response in one place.
//!
//! Handlers return `ApiError`; its `Kind` says what went wrong in the
//! style of gRPC codes and decides the status. The body is always
//! `{"error": {"code": "...", "message": "..."}}`. Internal errors are
//! logged here, once, and the client sees only a generic message.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// What kind of failure, independent of transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    MethodNotAllowed,
    AlreadyExists,
    FailedPrecondition,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Unavailable,
    Internal,
}

impl Kind {
    fn status(self) -> StatusCode {
        match self {
            Kind::InvalidArgument => StatusCode::BAD_REQUEST,
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::PermissionDenied => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::AlreadyExists => StatusCode::CONFLICT,
            Kind::FailedPrecondition => StatusCode::CONFLICT,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Kind::InvalidArgument => "invalid_argument",
            Kind::Unauthenticated => "unauthenticated",
            Kind::PermissionDenied => "permission_denied",
            Kind::NotFound => "not_found",
            Kind::MethodNotAllowed => "method_not_allowed",
            Kind::AlreadyExists => "already_exists",
            Kind::FailedPrecondition => "failed_precondition",
            Kind::PayloadTooLarge => "payload_too_large",
            Kind::UnsupportedMediaType => "unsupported_media_type",
            Kind::RateLimited => "rate_limited",
            Kind::Unavailable => "unavailable",
            Kind::Internal => "internal",
        }
    }
}

/// An error a handler returns; the message is shown to the client.
#[derive(Debug)]
pub struct ApiError {
    pub kind: Kind,
    pub message: String,
    /// Seconds until a rate-limited client may try again.
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Kind::InvalidArgument, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            Kind::Unauthenticated,
            "missing, invalid or expired credentials",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::PermissionDenied, message)
    }

    /// The answer for an object that does not exist *or* is outside the
    /// caller's tenant or scope: the two are indistinguishable on purpose.
    pub fn not_found(what: &str) -> Self {
        Self::new(Kind::NotFound, format!("{what} not found"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::AlreadyExists, message)
    }

    /// An unexpected failure: logged once here, shown to the client as a
    /// generic message.
    pub fn internal(err: impl fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(Kind::Internal, "internal error")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

/// The body of every error response: `{"error":{"code":…,"message":…}}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub struct Body<'a> {
    error: Inner<'a>,
}

/// What went wrong: a stable machine-readable `code` (such as `not_found`,
/// `invalid_argument`, `unauthenticated`) and a message for people.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
pub struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        res.json(Body {
            error: Inner {
                code: self.kind.code(),
                message: &self.message,
            },
        })
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return Self::conflict("an object with that name already exists");
        }
        if let Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) = err.sql_err() {
            return Self::invalid("a referenced object does not exist");
        }
        Self::internal(err)
    }
}
