//! Signed access tokens: HS256 pinned, `exp`, `nbf`, `iss`, `aud` and
//! `sub` required and checked (jsonwebtoken 12: a claim of the wrong JSON
//! type is an error, not taken as absent).
//!
//! Staff tokens (admin, statistician, uploader) and respondent tokens carry
//! different audiences, so a token made for one purpose is refused for the
//! other. The key is shared by every replica (configuration), so any
//! replica verifies a token another one issued; nothing is kept in memory.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The issuer every token carries and every check requires.
pub const ISSUER: &str = "literacy";

/// The absolute lifetime of a respondent's tokens: the survey pages renew
/// them while the respondent answers, but never past this long after the
/// invite code (or the direct start) that began them; then the code is
/// entered again to resume.
pub const RESPONDENT_MAX_SECS: u64 = 7 * 24 * 60 * 60;

/// The absolute lifetime of a staff member's page session: the staff pages
/// renew its token while they are used, but never past this long after the
/// sign-in; then the password is asked again.
pub const STAFF_MAX_SECS: u64 = 12 * 60 * 60;

/// The audience of a token, one per purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Staff using the API: admins, statisticians, uploaders.
    Staff,
    /// A respondent answering one session.
    Respondent,
}

impl Audience {
    /// How long after the sign-in a chain of renewed tokens may last.
    pub fn max_chain_secs(self) -> u64 {
        match self {
            Self::Staff => STAFF_MAX_SECS,
            Self::Respondent => RESPONDENT_MAX_SECS,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "literacy-staff",
            Self::Respondent => "literacy-respondent",
        }
    }
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users, rounds and invite codes.
    Admin,
    /// Reads estimates, progress and exports.
    Statistician,
    /// Uploads paper batches for one province.
    Uploader,
    /// Answers one questionnaire session.
    Respondent,
}

impl Role {
    /// The role's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Statistician => "statistician",
            Self::Uploader => "uploader",
            Self::Respondent => "respondent",
        }
    }

    /// Parses a stored role name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "statistician" => Some(Self::Statistician),
            "uploader" => Some(Self::Uploader),
            "respondent" => Some(Self::Respondent),
            _ => None,
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user name, or the session id for a respondent.
    pub sub: String,
    /// The role.
    pub role: Role,
    /// The province code of an uploader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// The session a respondent token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Not before, seconds since the epoch (the time of issue).
    pub nbf: u64,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// When the chain of renewed tokens began (the sign-in or the invite
    /// code), seconds since the epoch; `iat` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
}

impl Claims {
    /// When the chain of renewed tokens began (`iat` for a token without
    /// `auth_time`).
    pub fn chain_began(&self) -> u64 {
        self.auth_time.unwrap_or(self.iat)
    }

    /// When the chain of renewed tokens of `audience` ends, whatever the
    /// renewals: its start plus the audience's absolute lifetime.
    pub fn chain_ends(&self, audience: Audience) -> u64 {
        self.chain_began().saturating_add(audience.max_chain_secs())
    }
}

/// Issues and verifies tokens with one shared secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    staff_ttl: u64,
    respondent_ttl: u64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("staff_ttl", &self.staff_ttl)
            .field("respondent_ttl", &self.respondent_ttl)
            .finish_non_exhaustive()
    }
}

/// What a token is for when it is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// User name or session id.
    pub sub: String,
    /// Role.
    pub role: Role,
    /// Uploader's province.
    pub province: Option<String>,
    /// Respondent's session.
    pub sid: Option<String>,
}

impl Tokens {
    /// Keys from a secret of at least 32 bytes; lifetimes in seconds.
    pub fn new(secret: &[u8], staff_ttl: u64, respondent_ttl: u64) -> Result<Self, String> {
        if secret.len() < 32 {
            return Err(format!(
                "the token secret has {} bytes; at least 32 are needed",
                secret.len()
            ));
        }
        let key_error = |e: jsonwebtoken::errors::Error| format!("the token secret: {e}");
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(key_error)?,
            decoding: DecodingKey::from_secret(secret).map_err(key_error)?,
            staff_ttl,
            respondent_ttl,
        })
    }

    /// Lifetime of a token of this audience, in seconds.
    pub fn ttl(&self, audience: Audience) -> u64 {
        match audience {
            Audience::Staff => self.staff_ttl,
            Audience::Respondent => self.respondent_ttl,
        }
    }

    /// A signed token for `subject`, valid from `now` (seconds since the
    /// epoch) for this audience's lifetime.
    pub fn issue(
        &self,
        subject: Subject,
        audience: Audience,
        now: u64,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: subject.sub,
            role: subject.role,
            province: subject.province,
            sid: subject.sid,
            iss: ISSUER.to_owned(),
            aud: audience.as_str().to_owned(),
            iat: now,
            nbf: now,
            exp: now + self.ttl(audience),
            auth_time: Some(now),
        };
        self.sign(&claims)
    }

    /// A token renewing `claims` (a verified token of `audience`) at
    /// `now`, with its lifetime in seconds (its cookie's `Max-Age`): the
    /// same subject and chain, expiring after the audience's lifetime but
    /// never later than [`Claims::chain_ends`].
    pub fn renew(
        &self,
        claims: &Claims,
        audience: Audience,
        now: u64,
    ) -> Result<(String, u64), ApiError> {
        let exp = (now + self.ttl(audience)).min(claims.chain_ends(audience));
        let renewed = Claims {
            iat: now,
            nbf: now,
            exp,
            auth_time: Some(claims.chain_began()),
            ..claims.clone()
        };
        Ok((self.sign(&renewed)?, exp.saturating_sub(now)))
    }

    fn sign(&self, claims: &Claims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// The claims of a token that verifies for this audience: signature by
    /// HS256 only, not expired and not before its `nbf` (no leeway), issuer
    /// and audience matching, and its chain of renewals not past the
    /// audience's absolute lifetime.
    pub fn verify(&self, token: &str, audience: Audience) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
        if jsonwebtoken::get_current_timestamp() >= claims.chain_ends(audience) {
            return Err(ApiError::unauthorized(
                "invalid token: its sign-in is older than the absolute lifetime",
            ));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn staff(role: Role) -> Subject {
        Subject {
            sub: "u".into(),
            role,
            province: None,
            sid: None,
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn a_token_verifies_for_its_audience_only() {
        let t = Tokens::new(SECRET, 900, 7200).unwrap();
        let token = t.issue(staff(Role::Admin), Audience::Staff, now()).unwrap();
        assert_eq!(t.verify(&token, Audience::Staff).unwrap().role, Role::Admin);
        assert!(t.verify(&token, Audience::Respondent).is_err());
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let t = Tokens::new(SECRET, 900, 7200).unwrap();
        let old = t
            .issue(staff(Role::Admin), Audience::Staff, now() - 1000)
            .unwrap();
        assert_eq!(
            t.verify(&old, Audience::Staff).unwrap_err().code(),
            "unauthorized"
        );
        let good = t
            .issue(staff(Role::Uploader), Audience::Staff, now())
            .unwrap();
        let mut parts: Vec<&str> = good.split('.').collect();
        // Swap in a payload claiming another role; the signature no longer fits.
        let forged = t.issue(staff(Role::Admin), Audience::Staff, now()).unwrap();
        let forged_payload = forged.split('.').nth(1).unwrap().to_owned();
        parts[1] = &forged_payload;
        assert!(t.verify(&parts.join("."), Audience::Staff).is_err());
        let other = Tokens::new(b"another secret that is long enough!!", 900, 7200).unwrap();
        let theirs = other
            .issue(staff(Role::Admin), Audience::Staff, now())
            .unwrap();
        assert!(t.verify(&theirs, Audience::Staff).is_err());
    }

    #[test]
    fn other_algorithms_are_refused() {
        let claims = Claims {
            sub: "u".into(),
            role: Role::Admin,
            province: None,
            sid: None,
            iss: ISSUER.into(),
            aud: "literacy-staff".into(),
            iat: now(),
            nbf: now(),
            exp: now() + 900,
            auth_time: None,
        };
        let t = Tokens::new(SECRET, 900, 7200).unwrap();
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap();
        assert!(t.verify(&hs512, Audience::Staff).is_err());
        // alg "none": header {"alg":"none","typ":"JWT"}, no signature.
        let payload = hs512.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(t.verify(&none, Audience::Staff).is_err());
    }

    #[test]
    fn renewed_tokens_end_at_their_absolute_lifetime() {
        let t = Tokens::new(SECRET, 900, 7200).unwrap();
        let n = now();
        let subject = Subject {
            sub: "s1".into(),
            role: Role::Respondent,
            province: None,
            sid: Some("s1".into()),
        };
        // Begun now: renewed an hour later for the full lifetime, the chain kept.
        let began = n - 3600;
        let first = t.issue(subject, Audience::Respondent, began).unwrap();
        let claims = t.verify(&first, Audience::Respondent).unwrap();
        assert_eq!(claims.auth_time, Some(began));
        let (renewed, lifetime) = t.renew(&claims, Audience::Respondent, n).unwrap();
        assert_eq!(lifetime, 7200);
        let again = t.verify(&renewed, Audience::Respondent).unwrap();
        assert_eq!((again.auth_time, again.exp), (Some(began), n + 7200));
        assert_eq!(again.sid.as_deref(), Some("s1"));
        // Begun almost the absolute lifetime ago: the renewal ends with it.
        let old = Claims {
            auth_time: Some(n + 60 - RESPONDENT_MAX_SECS),
            ..again.clone()
        };
        let (last, lifetime) = t.renew(&old, Audience::Respondent, n).unwrap();
        assert_eq!(lifetime, 60);
        assert_eq!(t.verify(&last, Audience::Respondent).unwrap().exp, n + 60);
        // Past it: the renewed token has already expired.
        let older = Claims {
            auth_time: Some(n - RESPONDENT_MAX_SECS - 1),
            ..again.clone()
        };
        let (dead, lifetime) = t.renew(&older, Audience::Respondent, n).unwrap();
        assert_eq!(lifetime, 0);
        assert!(t.verify(&dead, Audience::Respondent).is_err());
        // A token unexpired but of a chain past it: refused by the check.
        let forged = t
            .sign(&Claims {
                exp: n + 3600,
                ..older
            })
            .unwrap();
        assert!(t.verify(&forged, Audience::Respondent).is_err());
        let staff_chain_over = Claims {
            aud: "literacy-staff".into(),
            auth_time: Some(n - STAFF_MAX_SECS),
            exp: n + 600,
            ..again
        };
        let forged = t.sign(&staff_chain_over).unwrap();
        assert!(t.verify(&forged, Audience::Staff).is_err());
    }

    /// Signs any JSON payload with the right key and algorithm.
    fn signed(payload: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &payload,
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn claims_of_the_wrong_type_or_not_yet_valid_are_refused() {
        let t = Tokens::new(SECRET, 900, 7200).unwrap();
        let n = now();
        let good = serde_json::json!({"sub": "u", "role": "admin", "iss": ISSUER,
            "aud": "literacy-staff", "iat": n, "nbf": n, "exp": n + 900});
        assert!(t.verify(&signed(good.clone()), Audience::Staff).is_ok());
        // GHSA-h395-gr6q-cpjc: a time claim written as a string was taken
        // as absent by jsonwebtoken 9; each must be refused.
        for (claim, value) in [
            ("exp", serde_json::json!((n + 900).to_string())),
            ("nbf", serde_json::json!(n.to_string())),
            ("nbf", serde_json::json!(n + 600)),
            ("iss", serde_json::json!([ISSUER])),
            ("aud", serde_json::json!(7)),
            ("sub", serde_json::json!(1)),
        ] {
            let mut bad = good.clone();
            bad[claim] = value.clone();
            assert!(
                t.verify(&signed(bad), Audience::Staff).is_err(),
                "{claim} = {value}"
            );
        }
        for claim in ["exp", "nbf", "iss", "aud", "sub"] {
            let mut missing = good.clone();
            missing.as_object_mut().unwrap().remove(claim);
            assert!(
                t.verify(&signed(missing), Audience::Staff).is_err(),
                "{claim}"
            );
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Tokens::new(b"short", 900, 7200).is_err());
    }
}
