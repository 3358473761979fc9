//! Sign-in for staff accounts; every attempt is audited.

use actix_web::{HttpResponse, web};
use literacy_store::audit::{self, NewAuditEvent};
use literacy_store::users::{self, Role as StoredRole, UserError};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Audience, Role, Subject};
use crate::error::ApiError;
use crate::state::{State, db, now_secs, store_error};

/// The sign-in body.
#[derive(Deserialize)]
pub(crate) struct Login {
    username: String,
    password: String,
}

/// Maps an account error to the API.
pub(crate) fn user_error(e: UserError) -> ApiError {
    match e {
        UserError::UsernameTaken(name) => ApiError::conflict(format!("username {name:?} is taken")),
        UserError::Invalid(why) => ApiError::unprocessable(why),
        UserError::Hash(e) => ApiError::internal(e),
        UserError::Store(e) => store_error(e),
    }
}

/// `POST /api/v1/auth/login`.
pub(crate) async fn login(state: State, body: web::Json<Login>) -> Result<HttpResponse, ApiError> {
    let Login { username, password } = body.into_inner();
    if username.chars().count() > 64 || password.chars().count() > 1024 {
        return Err(ApiError::unauthorized("wrong username or password"));
    }
    let user = db(&state, move |_, conn| {
        let user = users::verify(conn, &username, &password).map_err(user_error)?;
        let (actor, action) = match &user {
            Some(u) => (Some(format!("user:{}", u.id)), "auth.login"),
            None => (None, "auth.login_failed"),
        };
        let target = format!("username:{username}");
        audit::record(
            conn,
            &NewAuditEvent {
                actor: actor.as_deref(),
                action,
                target: Some(&target),
                detail: None,
            },
        )
        .map_err(store_error)?;
        Ok(user)
    })
    .await?;
    let Some(user) = user else {
        return Err(ApiError::unauthorized("wrong username or password"));
    };
    let (role, province) = match user.role {
        StoredRole::Admin => (Role::Admin, None),
        StoredRole::Statistician => (Role::Statistician, None),
        StoredRole::Uploader { province } => (Role::Uploader, Some(province.to_string())),
        StoredRole::Respondent => {
            return Err(ApiError::forbidden(
                "respondents start a session with an invite code",
            ));
        }
    };
    let token = state.tokens.issue(
        Subject {
            sub: user.username,
            role,
            province,
            sid: None,
        },
        Audience::Staff,
        now_secs(),
    )?;
    Ok(HttpResponse::Ok().json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": state.tokens.ttl(Audience::Staff),
    })))
}
