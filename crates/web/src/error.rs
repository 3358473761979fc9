//! The one API error type: every failure leaves the service as JSON
//! `{"error":{"code","message"}}` (with the `report` of a refused batch
//! beside it) with a status chosen here, and nowhere else.

use std::fmt::Display;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::lang::Lang;

/// An error returned to an API client: a status, a stable machine-readable
/// code and a message safe to show (internal detail is logged, not sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// The catalog message saying it to a person, if it has one.
    text: Option<Text>,
    /// What a refused batch's check found, sent beside the error.
    report: Option<serde_json::Value>,
}

/// A catalog message: its key and the values of its placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text {
    key: &'static str,
    args: Vec<(&'static str, String)>,
}

impl Text {
    fn in_lang(&self, lang: Lang) -> String {
        let args: Vec<(&str, &dyn Display)> = self
            .args
            .iter()
            .map(|(k, v)| (*k, v as &dyn Display))
            .collect();
        lang.msgf(self.key, &args)
    }
}

/// The wire shape of an error body.
#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            text: None,
            report: None,
        }
    }

    /// This error with its message from the catalog (`key`, its
    /// placeholders' values): in English for API clients, in the page's
    /// language on pages.
    pub fn with_text(mut self, key: &'static str, args: &[(&'static str, &dyn Display)]) -> Self {
        let text = Text {
            key,
            args: args.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        };
        self.message = text.in_lang(Lang::En);
        self.text = Some(text);
        self
    }

    /// This error with the report of the check that refused a batch.
    pub fn with_report(mut self, report: serde_json::Value) -> Self {
        self.report = Some(report);
        self
    }

    /// The message in `lang`: the catalog's text when the error has one,
    /// else the (English) message.
    pub fn message_in(&self, lang: Lang) -> String {
        self.text
            .as_ref()
            .map_or_else(|| self.message.clone(), |t| t.in_lang(lang))
    }

    /// 400: the request is malformed (bad JSON, bad query parameter).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no credentials, or credentials that do not verify.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: valid credentials without the right to do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the request conflicts with what is stored.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413: the body is larger than the limit.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 422: well-formed but invalid content (an answer outside its codes).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }

    /// 500: something failed inside; `detail` is for the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    /// 503: a dependency (the database) is not available.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(%detail, "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "service unavailable",
        )
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
            report: self.report.as_ref(),
        })
    }
}
