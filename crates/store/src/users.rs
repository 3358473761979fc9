//! Accounts: argon2id password hashes, roles, sign-in checks.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use diesel::prelude::*;

use crate::error::{is_unique_violation, store_error_conversions};
use crate::schema::users;
use crate::{DbConn, StoreError, now_ms};

/// What an account may do (the service decides; the store only records it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Manages users, instruments and rounds.
    Admin,
    /// Reads estimates and exports.
    Statistician,
    /// Uploads paper batches for one province.
    Uploader {
        /// The province's numeric code.
        province: i32,
    },
    /// Answers the questionnaire.
    Respondent,
}

impl Role {
    /// The role's name as stored.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Statistician => "statistician",
            Role::Uploader { .. } => "uploader",
            Role::Respondent => "respondent",
        }
    }

    fn province(self) -> Option<i32> {
        match self {
            Role::Uploader { province } => Some(province),
            _ => None,
        }
    }

    fn from_row(name: &str, province: Option<i32>) -> Result<Role, StoreError> {
        Ok(match (name, province) {
            ("admin", None) => Role::Admin,
            ("statistician", None) => Role::Statistician,
            ("uploader", Some(province)) => Role::Uploader { province },
            ("respondent", None) => Role::Respondent,
            _ => return Err(StoreError::Corrupt(format!("role {name} / {province:?}"))),
        })
    }
}

/// A stored account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Sign-in name, unique.
    pub username: String,
    /// Role, with the uploader's province.
    pub role: Role,
    /// A disabled account cannot sign in.
    pub disabled: bool,
    /// When the account was made (unix ms).
    pub created_at: i64,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Another account already has this username.
    #[error("username `{0}` is taken")]
    UsernameTaken(String),
    /// The username is empty or too long, or the password too short.
    #[error("invalid account: {0}")]
    Invalid(InvalidAccount),
    /// Hashing failed (should not happen with valid parameters).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The storage layer failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
store_error_conversions!(UserError);

/// What is wrong with a new account's name or password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAccount {
    /// The username is empty or longer than 64 characters.
    #[error("username must have 1 to 64 characters")]
    UsernameLength,
    /// The password is shorter than [`MIN_PASSWORD_LEN`].
    #[error("password is too short")]
    PasswordTooShort,
}

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: i64,
    username: String,
    password_hash: String,
    role: String,
    province: Option<i32>,
    disabled: bool,
    created_at: i64,
}

impl UserRow {
    fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: self.id,
            role: Role::from_row(&self.role, self.province)?,
            username: self.username,
            disabled: self.disabled,
            created_at: self.created_at,
        })
    }
}

/// Hashes a password with argon2id (the crate's default parameters) and a random salt.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    let mut salt_bytes = [0u8; 16];
    {
        use rand::{RngCore, SeedableRng};
        rand::rngs::StdRng::from_os_rng().fill_bytes(&mut salt_bytes);
    }
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| UserError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates an account with an argon2id hash of `password`.
pub fn create(
    conn: &mut DbConn,
    username: &str,
    password: &str,
    role: Role,
) -> Result<User, UserError> {
    if username.is_empty() || username.chars().count() > 64 {
        return Err(UserError::Invalid(InvalidAccount::UsernameLength));
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(UserError::Invalid(InvalidAccount::PasswordTooShort));
    }
    let hash = hash_password(password)?;
    let created_at = now_ms();
    let inserted = diesel::insert_into(users::table)
        .values((
            users::username.eq(username),
            users::password_hash.eq(&hash),
            users::role.eq(role.name()),
            users::province.eq(role.province()),
            users::disabled.eq(false),
            users::created_at.eq(created_at),
        ))
        .returning(users::id)
        .get_result::<i64>(conn);
    match inserted {
        Ok(id) => Ok(User {
            id,
            username: username.to_owned(),
            role,
            disabled: false,
            created_at,
        }),
        Err(e) if is_unique_violation(&e) => Err(UserError::UsernameTaken(username.to_owned())),
        Err(e) => Err(e.into()),
    }
}

/// Checks a sign-in: the account if the password is right and the account
/// enabled, `None` otherwise (unknown user, wrong password, disabled: the
/// caller cannot tell which, and the time taken is the same).
pub fn verify(
    conn: &mut DbConn,
    username: &str,
    password: &str,
) -> Result<Option<User>, UserError> {
    let row = users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(row) => {
            let ok = password_matches(password, &row.password_hash) && !row.disabled;
            if ok {
                Ok(Some(row.into_user()?))
            } else {
                Ok(None)
            }
        }
        None => {
            // Spend the same time as a real check, so timing does not tell
            // which usernames exist.
            let _ = password_matches(password, dummy_hash());
            Ok(None)
        }
    }
}

/// An argon2id hash of a random string nobody knows, made once.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&crate::random_hex(16)).unwrap_or_default())
}

/// Finds an account by id.
pub fn get(conn: &mut DbConn, id: i64) -> Result<Option<User>, UserError> {
    let row = users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(UserRow::into_user).transpose()?)
}

/// Every account, by id.
pub fn list(conn: &mut DbConn) -> Result<Vec<User>, UserError> {
    let rows = users::table
        .order(users::id)
        .select(UserRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(UserRow::into_user)
        .collect::<Result<_, _>>()?)
}

/// Replaces an account's password; false when there is no such account.
pub fn set_password(conn: &mut DbConn, id: i64, password: &str) -> Result<bool, UserError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(UserError::Invalid(InvalidAccount::PasswordTooShort));
    }
    let hash = hash_password(password)?;
    let n = diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)?;
    Ok(n == 1)
}

/// Enables or disables an account; false when there is no such account.
pub fn set_disabled(conn: &mut DbConn, id: i64, disabled: bool) -> Result<bool, UserError> {
    let n = diesel::update(users::table.find(id))
        .set(users::disabled.eq(disabled))
        .execute(conn)?;
    Ok(n == 1)
}

/// Finds an account by username.
pub fn by_username(conn: &mut DbConn, username: &str) -> Result<Option<User>, UserError> {
    let row = users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(UserRow::into_user).transpose()?)
}
