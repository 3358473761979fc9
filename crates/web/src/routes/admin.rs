//! Admin: accounts and invite codes. Every change is audited.

use actix_web::{HttpResponse, web};
use literacy_store::audit::{self, NewAuditEvent};
use literacy_store::invites::{self, InviteError};
use literacy_store::users::{self, Role as StoredRole};
use serde::Deserialize;
use serde_json::json;

use crate::app::sign_in::user_error;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::state::{State, db, round_by_code, store_error};

/// Most invite codes made by one request.
pub(crate) const MAX_INVITES: usize = 100_000;

/// A new account.
#[derive(Deserialize)]
pub(crate) struct NewUser {
    username: String,
    password: String,
    role: String,
    #[serde(default)]
    province: Option<u16>,
}

/// The audit actor of a staff token: `user:<id>` when the account exists.
pub(crate) fn actor(conn: &mut literacy_store::DbConn, username: &str) -> Result<String, ApiError> {
    Ok(users::by_username(conn, username)
        .map_err(user_error)?
        .map_or_else(
            || format!("username:{username}"),
            |u| format!("user:{}", u.id),
        ))
}

/// `POST /api/v1/users` (admin).
pub(crate) async fn create_user(
    state: State,
    staff: Staff,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let admin = staff.0.sub.clone();
    let new = body.into_inner();
    let role = match (new.role.as_str(), new.province) {
        ("admin", None) => StoredRole::Admin,
        ("statistician", None) => StoredRole::Statistician,
        ("uploader", Some(p)) if literacy_core::demographics::province(p).is_some() => {
            StoredRole::Uploader {
                province: i32::from(p),
            }
        }
        ("uploader", _) => {
            return Err(ApiError::unprocessable(
                "an uploader needs a valid province code",
            ));
        }
        ("admin" | "statistician", Some(_)) => {
            return Err(ApiError::unprocessable("only uploaders have a province"));
        }
        (other, _) => {
            return Err(ApiError::unprocessable(format!(
                "role {other:?}: expected admin, statistician or uploader"
            )));
        }
    };
    let user = db(&state, move |_, conn| {
        let user = users::create(conn, &new.username, &new.password, role).map_err(user_error)?;
        let actor = actor(conn, &admin)?;
        let target = format!("user:{}", user.id);
        audit::record(
            conn,
            &NewAuditEvent {
                actor: Some(&actor),
                action: "user.create",
                target: Some(&target),
                detail: Some(json!({"username": user.username, "role": user.role.name()})),
            },
        )
        .map_err(store_error)?;
        Ok(user)
    })
    .await?;
    let province = match user.role {
        StoredRole::Uploader { province } => Some(province),
        _ => None,
    };
    Ok(HttpResponse::Created().json(json!({
        "id": user.id,
        "username": user.username,
        "role": user.role.name(),
        "province": province,
    })))
}

/// A request for invite codes.
#[derive(Deserialize)]
pub(crate) struct NewInvites {
    count: usize,
    #[serde(default)]
    province: Option<u16>,
    #[serde(default)]
    expires_at: Option<i64>,
}

/// `POST /api/v1/rounds/{round}/invites` (admin).
pub(crate) async fn create_invites(
    state: State,
    staff: Staff,
    path: web::Path<String>,
    body: web::Json<NewInvites>,
) -> Result<HttpResponse, ApiError> {
    let admin = staff.0.sub.clone();
    let code = path.into_inner();
    let new = body.into_inner();
    if new.count == 0 || new.count > MAX_INVITES {
        return Err(ApiError::unprocessable(format!(
            "count must be 1 to {MAX_INVITES}"
        )));
    }
    if new
        .province
        .is_some_and(|p| literacy_core::demographics::province(p).is_none())
    {
        return Err(ApiError::unprocessable("not a province code"));
    }
    let codes = db(&state, move |_, conn| {
        let round = round_by_code(conn, &code)?;
        let codes = invites::create_codes(
            conn,
            round.id,
            new.count,
            new.province.map(i32::from),
            new.expires_at,
        )
        .map_err(|e| match e {
            InviteError::Store(e) => store_error(e),
            other => ApiError::unprocessable(other.to_string()),
        })?;
        let actor = actor(conn, &admin)?;
        let target = format!("round:{}", round.id);
        audit::record(
            conn,
            &NewAuditEvent {
                actor: Some(&actor),
                action: "invites.create",
                target: Some(&target),
                detail: Some(json!({"count": codes.len(), "province": new.province})),
            },
        )
        .map_err(store_error)?;
        Ok(codes)
    })
    .await?;
    Ok(HttpResponse::Created().json(json!({"count": codes.len(), "codes": codes})))
}
