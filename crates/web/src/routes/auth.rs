//! `POST /api/v1/auth/login`: staff sign-in (`crate::app::sign_in`) as
//! JSON; `POST /api/v1/auth/password`: a staff member's own new password.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::app::sign_in::{SignIn, change_own_password, sign_in};
use crate::auth::{Audience, Staff};
use crate::error::ApiError;
use crate::state::State;

/// The sign-in body.
#[derive(Deserialize)]
pub(crate) struct Login {
    username: String,
    password: String,
}

/// `POST /api/v1/auth/login`.
pub(crate) async fn login(state: State, body: web::Json<Login>) -> Result<HttpResponse, ApiError> {
    let Login { username, password } = body.into_inner();
    match sign_in(&state, username, password, "api").await? {
        SignIn::Staff { token, .. } => Ok(HttpResponse::Ok().json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": state.tokens.ttl(Audience::Staff),
        }))),
        SignIn::Wrong => Err(ApiError::unauthorized("wrong username or password")),
        SignIn::NotStaff => Err(ApiError::forbidden(
            "respondents start a session with an invite code",
        )),
    }
}

/// The body of a password change.
#[derive(Deserialize)]
pub(crate) struct NewPassword {
    current: String,
    new: String,
}

/// `POST /api/v1/auth/password` (any staff member, for their own account).
pub(crate) async fn change_password(
    state: State,
    staff: Staff,
    body: web::Json<NewPassword>,
) -> Result<HttpResponse, ApiError> {
    let NewPassword { current, new } = body.into_inner();
    change_own_password(&state, staff.0.sub.clone(), current, new, "api").await?;
    Ok(HttpResponse::NoContent().finish())
}
