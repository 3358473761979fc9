//! Authentication: signed tokens and the request extractors that check them.

pub mod jwt;

use std::future::{Ready, ready};

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

pub use jwt::{Audience, Claims, Role, Subject, Tokens};

use crate::error::ApiError;

/// The bearer token of a request, if it has one.
fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "expected Authorization: Bearer <token>",
        ));
    }
    Ok(token.trim())
}

fn verify(req: &HttpRequest, audience: Audience) -> Result<Claims, ApiError> {
    let token = bearer(req)?;
    let tokens = req
        .app_data::<web::Data<Tokens>>()
        .ok_or_else(|| ApiError::internal("token keys are not configured"))?;
    tokens.verify(token, audience)
}

/// A verified staff token (admin, statistician or uploader).
#[derive(Debug, Clone)]
pub struct Staff(pub Claims);

impl Staff {
    /// Refuses (403) unless the token has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&Claims, ApiError> {
        if roles.contains(&self.0.role) {
            Ok(&self.0)
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "this needs the role {}; the token has {}",
                names.join(" or "),
                self.0.role.as_str()
            )))
        }
    }

    /// The uploader's province code (403 when the token has none).
    pub fn province(&self) -> Result<u16, ApiError> {
        self.0
            .province
            .as_deref()
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| literacy_core::demographics::province(*p).is_some())
            .ok_or_else(|| ApiError::forbidden("the token names no valid province"))
    }
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(verify(req, Audience::Staff).and_then(|claims| {
            if claims.role == Role::Respondent {
                Err(ApiError::forbidden(
                    "a respondent token is not a staff token",
                ))
            } else {
                Ok(Staff(claims))
            }
        }))
    }
}

/// A verified respondent token, bound to one session.
#[derive(Debug, Clone)]
pub struct Respondent(pub Claims);

impl Respondent {
    /// Refuses (403) unless the token is bound to `session_id`.
    pub fn require_session(&self, session_id: &str) -> Result<(), ApiError> {
        if self.0.sid.as_deref() == Some(session_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden("the token is bound to another session"))
        }
    }
}

impl FromRequest for Respondent {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(verify(req, Audience::Respondent).and_then(|claims| {
            if claims.role == Role::Respondent && claims.sid.is_some() {
                Ok(Respondent(claims))
            } else {
                Err(ApiError::forbidden("not a respondent session token"))
            }
        }))
    }
}
