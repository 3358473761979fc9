//! Staff sign-in: the password checked against the stored hash, every
//! attempt audited, a staff token issued; and staff changing their own
//! password.

use literacy_store::audit;
use literacy_store::users::{
    self, InvalidAccount, MIN_PASSWORD_LEN, Role as StoredRole, UserError,
};

use crate::auth::{Audience, Role, Subject};
use crate::error::ApiError;
use crate::state::{State, db, now_secs, store_error};

/// Longest username and password looked at (longer ones are wrong without
/// hashing anything).
const MAX_USERNAME: usize = 64;
const MAX_PASSWORD: usize = 1024;

/// What a sign-in came to.
pub(crate) enum SignIn {
    /// A staff token for the account.
    Staff {
        /// The signed token.
        token: String,
        /// The account's role.
        role: Role,
    },
    /// The username or the password is wrong.
    Wrong,
    /// The account is a respondent's, which never signs in with a password.
    NotStaff,
}

/// Maps an account error to the API's.
pub(crate) fn user_error(e: UserError) -> ApiError {
    match e {
        UserError::UsernameTaken(name) => ApiError::conflict(String::new())
            .with_text("account.username_taken", &[("name", &name)]),
        UserError::Invalid(InvalidAccount::UsernameLength) => {
            ApiError::unprocessable(String::new()).with_text("account.username_length", &[])
        }
        UserError::Invalid(InvalidAccount::PasswordTooShort) => {
            ApiError::unprocessable(String::new())
                .with_text("account.password_short", &[("min", &MIN_PASSWORD_LEN)])
        }
        UserError::Hash(e) => ApiError::internal(e),
        UserError::Store(e) => store_error(e),
    }
}

/// Checks `username` and `password` (the attempt audited, with `via`:
/// `api` or `pages`) and issues a staff token.
pub(crate) async fn sign_in(
    state: &State,
    username: String,
    password: String,
    via: &'static str,
) -> Result<SignIn, ApiError> {
    if username.chars().count() > MAX_USERNAME || password.chars().count() > MAX_PASSWORD {
        return Ok(SignIn::Wrong);
    }
    let user = db(state, move |_, conn| {
        let user = users::verify(conn, &username, &password).map_err(user_error)?;
        let (actor, action) = match &user {
            Some(u) => (Some(format!("user:{}", u.id)), "auth.login"),
            None => (None, "auth.login_failed"),
        };
        let target = format!("username:{username}");
        audit::record_action(
            conn,
            actor.as_deref(),
            action,
            &target,
            serde_json::json!({ "via": via }),
        )
        .map_err(store_error)?;
        Ok(user)
    })
    .await?;
    let Some(user) = user else {
        return Ok(SignIn::Wrong);
    };
    let (role, province) = match user.role {
        StoredRole::Admin => (Role::Admin, None),
        StoredRole::Statistician => (Role::Statistician, None),
        StoredRole::Uploader { province } => (Role::Uploader, Some(province.to_string())),
        StoredRole::Respondent => return Ok(SignIn::NotStaff),
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
    Ok(SignIn::Staff { token, role })
}

/// Changes the password of `username` (the signed-in staff member) from
/// `current` to `new`: refused (403) unless `current` is right, and with
/// the account rules' message when `new` is too short; audited either way
/// (with `via`: `api` or `pages`).
pub(crate) async fn change_own_password(
    state: &State,
    username: String,
    current: String,
    new: String,
    via: &'static str,
) -> Result<(), ApiError> {
    if current.chars().count() > MAX_PASSWORD || new.chars().count() > MAX_PASSWORD {
        return Err(ApiError::unprocessable("a password is too long"));
    }
    db(state, move |_, conn| {
        let user = users::verify(conn, &username, &current).map_err(user_error)?;
        let target = format!("username:{username}");
        let Some(user) = user else {
            audit::record_action(
                conn,
                None,
                "user.password_failed",
                &target,
                serde_json::json!({ "via": via }),
            )
            .map_err(store_error)?;
            return Err(ApiError::forbidden(String::new()).with_text("password.wrong_current", &[]));
        };
        users::set_password(conn, user.id, &new).map_err(user_error)?;
        let actor = format!("user:{}", user.id);
        audit::record_action(
            conn,
            Some(&actor),
            "user.password",
            &target,
            serde_json::json!({ "via": via, "own": true }),
        )
        .map_err(store_error)?;
        Ok(())
    })
    .await
}
