//! Online sessions: start (with an invite code unless the round is open;
//! the code again resumes its session), save partial answers, resume,
//! submit once.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use literacy_core::Instrument;
use literacy_core::demographics::{self, Demographic};
use literacy_store::invites::{self, InviteError};
use literacy_store::sessions::{self, Session, SessionError, SessionSave};
use literacy_store::submissions::{SubmitError, SubmitOutcome};
use literacy_store::{DbConn, rounds};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::answers;
use crate::auth::{Audience, Role, Subject};
use crate::error::ApiError;
use crate::state::{AppState, State, db, now_secs, round_by_code, store_error};
use crate::submission::{self, NotReady};

/// The body that starts a session.
#[derive(Deserialize)]
pub(crate) struct Start {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    invite_code: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

fn session_error(e: SessionError) -> ApiError {
    match e {
        SessionError::NotFound => ApiError::not_found("no such session"),
        SessionError::RoundNotFound => ApiError::not_found("no such round"),
        SessionError::Submitted => {
            ApiError::conflict("the session was submitted; its answers can no longer change")
        }
        SessionError::RoundNotAccepting => {
            ApiError::conflict("the round is not collecting responses")
        }
        SessionError::InviteRequired => ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "invite_required",
            "this round needs an invite code",
        ),
        SessionError::Contended => ApiError::conflict("the session is being saved; retry"),
        SessionError::Store(e) => store_error(e),
    }
}

/// `POST /api/v1/rounds/{round}/sessions`.
pub(crate) async fn start(
    state: State,
    path: web::Path<String>,
    body: web::Json<Start>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let start = body.into_inner();
    if let Some(mode) = &start.mode
        && mode != "online"
    {
        return Err(ApiError::unprocessable(format!(
            "mode {mode:?}: only online sessions are started here"
        )));
    }
    let (session, resumed, instrument) = db(&state, move |s, conn| {
        let round = round_by_code(conn, &code)?;
        let opened = match start
            .invite_code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            Some(invite) => {
                let found = invites::get(conn, invite).map_err(invite_error)?;
                if found.as_ref().is_none_or(|i| i.round_id != round.id) {
                    return Err(ApiError::forbidden("unknown invite code for this round"));
                }
                invites::open(conn, invite).map_err(invite_error)?
            }
            None => invites::Opened {
                session: sessions::start_open(conn, round.id).map_err(session_error)?,
                resumed: false,
            },
        };
        let instrument = s.instrument(conn, round.instrument_id)?;
        Ok((opened.session, opened.resumed, instrument))
    })
    .await?;
    let lang = start
        .lang
        .unwrap_or_else(|| literacy_core::text::PRIMARY_LANGUAGE.to_owned());
    let token = state.tokens.issue(
        Subject {
            sub: session.id.clone(),
            role: Role::Respondent,
            province: None,
            sid: Some(session.id.clone()),
        },
        Audience::Respondent,
        now_secs(),
    )?;
    // A code used before resumes its session: 200, not a new resource.
    let mut res = if resumed {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(res.json(json!({
        "session_id": session.id,
        "resumed": resumed,
        "token": token,
        "token_type": "Bearer",
        "expires_in": state.tokens.ttl(Audience::Respondent),
        "lang": if instrument.languages.contains(&lang) { lang } else { literacy_core::text::PRIMARY_LANGUAGE.to_owned() },
        "instrument": instrument_view(&instrument),
    })))
}

fn invite_error(e: InviteError) -> ApiError {
    match e {
        InviteError::NotFound => ApiError::forbidden("unknown invite code for this round"),
        InviteError::AlreadyUsed => ApiError::conflict("the invite code was already used"),
        InviteError::Submitted => {
            ApiError::conflict("the questionnaire of this invite code was already submitted")
        }
        InviteError::Expired => ApiError::forbidden("the invite code has expired"),
        InviteError::RoundNotFound => ApiError::not_found("no such round"),
        InviteError::RoundNotAccepting => {
            ApiError::conflict("the round is not collecting responses")
        }
        InviteError::TooMany => ApiError::unprocessable("too many codes"),
        InviteError::Store(e) => store_error(e),
    }
}

/// What a client needs to show the questionnaire.
fn instrument_view(instrument: &Instrument) -> Value {
    let demographics: Vec<Value> = instrument
        .demographics
        .iter()
        .map(|d| {
            json!({
                "id": d.id(),
                "codes": d.codes().into_iter().map(|(code, label)| json!({"code": code, "label": label})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "id": instrument.id,
        "version": instrument.version,
        "fieldwork_year": instrument.fieldwork_year,
        "title": instrument.title,
        "languages": instrument.languages,
        "sections": instrument.sections.iter().map(|s| json!({"id": s.id, "title": s.title, "items": s.items})).collect::<Vec<_>>(),
        "items": instrument.items.iter().map(|i| json!({"id": i.id, "text": i.text, "kind": i.kind})).collect::<Vec<_>>(),
        "demographics": demographics,
    })
}

/// The session and its instrument, for a token bound to it.
fn load(
    state: &AppState,
    conn: &mut DbConn,
    id: &str,
) -> Result<(Session, rounds::Round, std::sync::Arc<Instrument>), ApiError> {
    let (session, round) = sessions::get_with_round_grouped(&state.store, conn, id)
        .map_err(session_error)?
        .ok_or_else(|| ApiError::not_found("no such session"))?;
    let instrument = state.instrument(conn, round.instrument_id)?;
    Ok((session, round, instrument))
}

/// The receipt a respondent is given for a stored response.
fn receipt(round_code: &str, response_id: i64) -> String {
    format!("{round_code}-{response_id:08}")
}

fn view(session: &Session, round: &rounds::Round) -> Value {
    let (demo, items): (Map<String, Value>, Map<String, Value>) = {
        let mut demo = Map::new();
        let mut items = Map::new();
        for (k, v) in &session.answers {
            if Demographic::from_id(k).is_some() {
                demo.insert(k.clone(), Value::String(v.clone()));
            } else {
                items.insert(k.clone(), Value::String(v.clone()));
            }
        }
        (demo, items)
    };
    json!({
        "session_id": session.id,
        "round": round.code,
        "answers": items,
        "demographics": demo,
        "page_ms": session.paradata,
        "revision": session.revision,
        "submitted": session.submitted_at.is_some(),
        "receipt": session.response_id.map(|id| receipt(&round.code, id)),
    })
}

/// `GET /api/v1/sessions/{id}`.
pub(crate) async fn get(state: State, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let body = db(&state, move |s, conn| {
        let (session, round, _) = load(s, conn, &id)?;
        Ok(view(&session, &round))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// A save of partial answers.
#[derive(Deserialize)]
pub(crate) struct Save {
    #[serde(default)]
    answers: Map<String, Value>,
    #[serde(default)]
    demographics: Map<String, Value>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    elapsed_ms: Option<i64>,
}

/// Checks item answers and demographics; every problem in one 422.
fn check_all(
    instrument: &Instrument,
    items: &Map<String, Value>,
    demo: &Map<String, Value>,
) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    let mut problems: Vec<String> = Vec::new();
    let mut out = match answers::check(instrument, items) {
        Ok(checked) => checked,
        Err(ps) => {
            problems.extend(ps.iter().map(ToString::to_string));
            BTreeMap::new()
        }
    };
    for (k, v) in demo {
        let Some(d) = Demographic::from_id(k) else {
            problems.push(format!(
                "demographic {k}: no such question (expected one of {})",
                demographics::ALL.map(Demographic::id).join(", ")
            ));
            continue;
        };
        let text = match v {
            Value::Null => {
                out.insert(k.clone(), None);
                continue;
            }
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                problems.push(format!("demographic {k}: {other} is not a code"));
                continue;
            }
        };
        match d.parse(&text, instrument.fieldwork_year) {
            Ok(code) => {
                out.insert(k.clone(), Some(code.to_string()));
            }
            Err(m) => problems.push(format!("demographic {k}: {text:?} {m}")),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::unprocessable(problems.join("; ")))
    }
}

/// `PUT /api/v1/sessions/{id}/answers`.
pub(crate) async fn save(
    state: State,
    path: web::Path<String>,
    body: web::Json<Save>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let save = body.into_inner();
    let out = db(&state, move |s, conn| {
        let (session, round, instrument) = load(s, conn, &id)?;
        if session.submitted_at.is_some() {
            return Err(session_error(SessionError::Submitted));
        }
        let answers = check_all(&instrument, &save.answers, &save.demographics)?;
        let mut page_ms = BTreeMap::new();
        if let (Some(page), Some(ms)) = (save.page, save.elapsed_ms) {
            page_ms.insert(page.to_string(), ms.max(0));
        }
        let saved =
            sessions::save(conn, &id, &SessionSave { answers, page_ms }).map_err(session_error)?;
        Ok(view(&saved, &round))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The submit body.
#[derive(Deserialize)]
pub(crate) struct Submit {
    submission_id: String,
    #[serde(default)]
    answers: Map<String, Value>,
    #[serde(default)]
    demographics: Map<String, Value>,
}

/// `POST /api/v1/sessions/{id}/submit`.
pub(crate) async fn submit(
    state: State,
    path: web::Path<String>,
    body: web::Json<Submit>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let submit = body.into_inner();
    if !crate::submission::is_uuid(&submit.submission_id) {
        return Err(ApiError::unprocessable(
            "submission_id must be a UUID made by the client",
        ));
    }
    let (created, body) = db(&state, move |s, conn| {
        let (mut session, round, instrument) = load(s, conn, &id)?;
        let changes = check_all(&instrument, &submit.answers, &submit.demographics)?;
        // The saved answers with this body's on top (when nothing was saved,
        // as when the whole questionnaire comes with the submit, the body's
        // answers, sorted already, make the map at once).
        let mut merged = std::mem::take(&mut session.answers);
        if merged.is_empty() {
            merged = changes
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect();
        } else {
            for (k, v) in changes {
                match v {
                    Some(v) => merged.insert(k, v),
                    None => merged.remove(&k),
                };
            }
        }
        let bound = submission::bound_province(conn, &session)?;
        let ready = submission::ready(merged, bound).map_err(|why| match why {
            NotReady::Missing(missing) => ApiError::unprocessable(format!(
                "demographics required before submitting: {}",
                missing
                    .iter()
                    .map(|d| d.id())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            NotReady::OtherProvince { bound, answered } => ApiError::unprocessable(String::new())
                .with_text(
                    "error.invite_other_province",
                    &[("bound", &bound), ("answered", &answered)],
                ),
        })?;
        let outcome = submission::submit_session(
            &s.store,
            conn,
            &round,
            &session,
            &ready,
            &submit.submission_id,
        )
        .map_err(|e| match e {
            SubmitError::RoundNotFound => ApiError::not_found("no such round"),
            SubmitError::RoundNotAccepting => {
                ApiError::conflict("the round is not collecting responses")
            }
            SubmitError::RespondentExists { .. } | SubmitError::SessionClosed => {
                ApiError::conflict("the session was already submitted")
            }
            SubmitError::Invalid(m) => ApiError::unprocessable(m),
            SubmitError::Store(e) => store_error(e),
        })?;
        let (created, r) = match outcome {
            SubmitOutcome::Created(r) => (true, r),
            SubmitOutcome::Replayed(r) => (false, r),
            SubmitOutcome::Conflict { .. } => {
                return Err(ApiError::conflict(
                    "this submission_id was used with a different body",
                ));
            }
        };
        Ok((
            created,
            json!({
                "receipt": receipt(&round.code, r.response_id),
                "submission_id": r.submission_id,
                "received_at": r.received_at,
            }),
        ))
    })
    .await?;
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}
