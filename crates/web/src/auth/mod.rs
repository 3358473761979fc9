//! Authentication: signed tokens and the request extractors that check them.

pub mod jwt;

use std::future::{Ready, ready};

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, dev::Payload, web};

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

/// Who may call an endpoint. The route table gives each endpoint one, and
/// the router enforces it before the handler runs ([`Access::check`]), so
/// the documented roles and the enforced ones are the same value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// Anyone: the handler checks the invite code (or that the round is
    /// open to all).
    InviteCode,
    /// The respondent whose token is bound to the session in the path
    /// (its `{id}`).
    OwnSession,
    /// Staff holding one of these roles.
    Staff(&'static [Role]),
}

/// Claims the router verified, left for the handler's extractor.
#[derive(Debug, Clone)]
struct Verified(Claims);

impl Access {
    /// Who may call, in words, for the API document.
    pub fn describe(self) -> String {
        match self {
            Access::Public => "anyone".to_owned(),
            Access::InviteCode => {
                "anyone with an invite code (or anyone, in a round open to all)".to_owned()
            }
            Access::OwnSession => "the respondent of this session (its token)".to_owned(),
            Access::Staff(roles) => {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                names.join(", ")
            }
        }
    }

    /// The roles that may call (empty for anyone), for the API document.
    pub fn roles(self) -> Vec<&'static str> {
        match self {
            Access::Public | Access::InviteCode => Vec::new(),
            Access::OwnSession => vec![Role::Respondent.as_str()],
            Access::Staff(roles) => roles.iter().map(|r| r.as_str()).collect(),
        }
    }

    /// Lets the request through (401 without a valid token, 403 with the
    /// wrong one); the verified claims stay with the request for the
    /// handler's [`Staff`].
    pub fn check(self, req: &HttpRequest) -> Result<(), ApiError> {
        let claims = match self {
            Access::Public | Access::InviteCode => return Ok(()),
            Access::OwnSession => {
                let claims = respondent_claims(req)?;
                let path_session = req.match_info().get("id");
                if claims.sid.as_deref() != path_session {
                    return Err(ApiError::forbidden("the token is bound to another session"));
                }
                claims
            }
            Access::Staff(roles) => {
                let claims = staff_claims(req)?;
                if !roles.contains(&claims.role) {
                    return Err(ApiError::forbidden(format!(
                        "this needs the role {}; the token has {}",
                        self.roles().join(" or "),
                        claims.role.as_str()
                    )));
                }
                claims
            }
        };
        req.extensions_mut().insert(Verified(claims));
        Ok(())
    }
}

/// The claims the router verified for this request, if it did.
fn verified(req: &HttpRequest) -> Option<Claims> {
    req.extensions().get::<Verified>().map(|v| v.0.clone())
}

fn staff_claims(req: &HttpRequest) -> Result<Claims, ApiError> {
    let claims = verify(req, Audience::Staff)?;
    if claims.role == Role::Respondent {
        return Err(ApiError::forbidden(
            "a respondent token is not a staff token",
        ));
    }
    Ok(claims)
}

fn respondent_claims(req: &HttpRequest) -> Result<Claims, ApiError> {
    let claims = verify(req, Audience::Respondent)?;
    if claims.role == Role::Respondent && claims.sid.is_some() {
        Ok(claims)
    } else {
        Err(ApiError::forbidden("not a respondent session token"))
    }
}

/// A verified staff token (admin, statistician or uploader): what the
/// router verified for the endpoint's [`Access`].
#[derive(Debug, Clone)]
pub struct Staff(pub Claims);

impl Staff {
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
        ready(match verified(req) {
            Some(claims) if claims.role != Role::Respondent => Ok(Staff(claims)),
            _ => staff_claims(req).map(Staff),
        })
    }
}
