//! The respondents' questionnaire: invite code (or direct start), one
//! section per page, demographics, review, submit once, receipt.
//!
//! Every page is a plain form posted to the server, which saves the page's
//! answers (merged with the session's, so nothing is lost) and redirects.
//! A page with a problem is shown again with the message next to the field;
//! the valid answers of that page are saved all the same.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web::{self, Path};
use actix_web::{HttpRequest, HttpResponse};
use literacy_core::Instrument;
use literacy_core::demographics::{self, Demographic};
use literacy_core::instrument::{Choice, Item, ItemKind, true_false};
use literacy_store::DbConn;
use literacy_store::invites::{self, InviteError};
use literacy_store::rounds::{self, Round};
use literacy_store::sessions::{self, Session, SessionError, SessionSave};
use literacy_store::submissions::{SubmitError, SubmitOutcome};
use serde_json::{Map, Value};

use askama::Template;

use super::{
    Ctx, Form, Frame, Lang, PageError, PageResult, RESPONDENT_COOKIE, cookie, field, page_db,
    random_uuid,
};
use crate::answers;
use crate::auth::{Audience, Claims, Role, Subject};
use crate::error::ApiError;
use crate::state::{AppState, State, now_secs, store_error};
use crate::submission::{self, NotReady};

/// Registers the questionnaire's routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/survey", web::get().to(index))
        .route("/survey/{round}", web::get().to(entry))
        .route("/survey/{round}/start", web::post().to(start))
        .route("/survey/{round}/start", web::get().to(start_again))
        .route("/survey/s/{sid}/p/{page}", web::get().to(show_page))
        .route("/survey/s/{sid}/p/{page}", web::post().to(save_page))
        .route("/survey/s/{sid}/review", web::get().to(review))
        .route("/survey/s/{sid}/submit", web::post().to(submit))
        .route("/survey/s/{sid}/receipt", web::get().to(receipt));
}

fn fields<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn round_by_code(conn: &mut DbConn, code: &str) -> Result<Option<Round>, ApiError> {
    rounds::by_code(conn, code).map_err(|e| match e {
        rounds::RoundError::Store(e) => store_error(e),
        other => ApiError::internal(other),
    })
}

/// The survey index's content.
#[derive(Template)]
#[template(path = "survey_index.html")]
struct Index {
    lang: Lang,
    frame: Frame,
    /// The codes of the rounds collecting responses now.
    open: Vec<String>,
}

/// `GET /survey`: the rounds collecting responses now.
async fn index(ctx: Ctx, state: State) -> PageResult {
    let page = Index {
        lang: ctx.lang,
        frame: ctx.frame(ctx.lang.msg("survey.take_part")),
        open: open_rounds(&state, ctx.lang).await?,
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

/// The codes of the rounds collecting responses now, which the survey
/// index and the front door list (`templates/open_rounds.html`).
pub(super) async fn open_rounds(state: &State, lang: Lang) -> Result<Vec<String>, PageError> {
    page_db(state, lang, |_, conn| {
        let now = literacy_store::now_ms();
        Ok(rounds::list(conn)
            .map_err(ApiError::internal)?
            .into_iter()
            .filter(|r| r.accepts_responses(now))
            .map(|r| r.code)
            .collect::<Vec<_>>())
    })
    .await
}

/// The claims of the cookie's respondent token, if it holds a valid one
/// (`Tokens::verify` also ends its chain of renewals at the absolute
/// lifetime).
fn cookie_claims(req: &HttpRequest, state: &AppState) -> Option<Claims> {
    let token = cookie(req, RESPONDENT_COOKIE)?;
    let claims = state.tokens.verify(&token, Audience::Respondent).ok()?;
    (claims.role == Role::Respondent && claims.sid.is_some()).then_some(claims)
}

/// The respondent's session, if the cookie holds a valid token for one.
fn cookie_session(req: &HttpRequest, state: &AppState) -> Option<String> {
    cookie_claims(req, state)?.sid
}

/// The cookie token's claims; refuses unless it is bound to session `sid`.
fn require_session(ctx: &Ctx, state: &AppState, sid: &str) -> Result<Claims, PageError> {
    if let Some(claims) = cookie_claims(&ctx.req, state)
        && claims.sid.as_deref() == Some(sid)
    {
        Ok(claims)
    } else {
        let lang = ctx.lang;
        Err(PageError::new(
            StatusCode::FORBIDDEN,
            lang,
            lang.msg("survey.wrong_browser"),
        ))
    }
}

/// `GET /survey/{round}`: the invite-code page (or direct start), or a
/// redirect back into the session this browser already has.
async fn entry(ctx: Ctx, state: State, path: Path<String>) -> PageResult {
    let lang = ctx.lang;
    let code = path.into_inner();
    let existing = cookie_session(&ctx.req, &state);
    let (round, resume) = page_db(&state, lang, move |s, conn| {
        let Some(round) = round_by_code(conn, &code)? else {
            return Ok((None, None));
        };
        let mut resume = None;
        if let Some(sid) = existing
            && let Some((session, _, instrument)) = load(s, conn, &sid)?
            && session.round_id == round.id
        {
            resume = Some(resume_target(&session, &instrument));
        }
        Ok((Some(round), resume))
    })
    .await?;
    let Some(round) = round else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            lang,
            lang.msg("survey.no_round"),
        ));
    };
    if let Some(to) = resume {
        return Ok(ctx.redirect(&to));
    }
    Ok(entry_page(&ctx, &round, None, StatusCode::OK))
}

/// The entry page's content.
#[derive(Template)]
#[template(path = "survey_entry.html")]
struct EntryPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    /// The round's code.
    code: &'a str,
    /// Whether the round is not collecting answers now.
    closed: bool,
    /// Whether anyone may start without an invite code.
    open_online: bool,
    /// Why the last invite code was refused.
    error: Option<&'a str>,
}

fn entry_page(ctx: &Ctx, round: &Round, error: Option<&str>, status: StatusCode) -> HttpResponse {
    let page = EntryPage {
        lang: ctx.lang,
        frame: ctx.frame(ctx.lang.msg("survey.title")),
        csrf: &ctx.csrf,
        code: &round.code,
        closed: !round.accepts_responses(literacy_store::now_ms()),
        open_online: round.open_online,
        error,
    };
    ctx.render(status, &page)
}

/// `POST /survey/{round}/start`: opens the invite code's session (new, or
/// the unsubmitted one it started before) or starts an open session, sets
/// the respondent cookie and goes to the first page.
async fn start(ctx: Ctx, state: State, path: Path<String>, form: Form) -> PageResult {
    let lang = ctx.lang;
    ctx.check_csrf(field(&form, "csrf"))?;
    let code = path.into_inner();
    let invite = field(&form, "invite_code")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let outcome = page_db(&state, lang, move |_, conn| {
        let Some(round) = round_by_code(conn, &code)? else {
            return Ok(Err((None, StatusCode::NOT_FOUND, "round")));
        };
        let started = match invite {
            Some(invite) => match invites::get(conn, &invite) {
                Ok(Some(found)) if found.round_id == round.id => {
                    invites::open(conn, &invite).map(|opened| opened.session)
                }
                Ok(_) => Err(InviteError::NotFound),
                Err(e) => Err(e),
            }
            .map_err(|e| match e {
                InviteError::NotFound => Ok((StatusCode::FORBIDDEN, "unknown")),
                InviteError::AlreadyUsed => Ok((StatusCode::CONFLICT, "used")),
                InviteError::Submitted => Ok((StatusCode::CONFLICT, "submitted")),
                InviteError::Expired => Ok((StatusCode::FORBIDDEN, "expired")),
                InviteError::RoundNotAccepting => Ok((StatusCode::CONFLICT, "closed")),
                InviteError::Store(e) => Err(store_error(e)),
                other => Err(ApiError::internal(other)),
            }),
            None => sessions::start_open(conn, round.id).map_err(|e| match e {
                SessionError::InviteRequired => Ok((StatusCode::UNPROCESSABLE_ENTITY, "required")),
                SessionError::RoundNotAccepting => Ok((StatusCode::CONFLICT, "closed")),
                SessionError::Store(e) => Err(store_error(e)),
                other => Err(ApiError::internal(other)),
            }),
        };
        match started {
            Ok(session) => Ok(Ok(session.id)),
            Err(Ok((status, why))) => Ok(Err((Some(round), status, why))),
            Err(Err(e)) => Err(e),
        }
    })
    .await?;
    let sid = match outcome {
        Ok(sid) => sid,
        Err((None, _, _)) => {
            return Err(PageError::new(
                StatusCode::NOT_FOUND,
                lang,
                lang.msg("survey.no_round"),
            ));
        }
        Err((Some(round), status, why)) => {
            let message = match why {
                "unknown" => lang.msg("invite.unknown"),
                "used" => lang.msg("invite.used"),
                "submitted" => lang.msg("invite.submitted"),
                "expired" => lang.msg("invite.expired"),
                "required" => lang.msg("invite.required"),
                _ => lang.msg("survey.closed"),
            };
            return Ok(entry_page(&ctx, &round, Some(message), status));
        }
    };
    let mut res = ctx.redirect(&format!("/survey/s/{sid}/p/1"));
    with_session_cookie(&mut res, &state, &ctx, &sid, None)?;
    Ok(res)
}

/// Sets the respondent cookie: a fresh token bound to `sid` on entry
/// (`renewing` none), or `renewing`'s token renewed on every page shown, so
/// a respondent who keeps answering is not signed out, up to the tokens'
/// absolute lifetime (`jwt::RESPONDENT_MAX_SECS`); one away longer than the
/// token lifetime (or on another device, or past that) enters the invite
/// code again and resumes.
fn with_session_cookie(
    res: &mut HttpResponse,
    state: &State,
    ctx: &Ctx,
    sid: &str,
    renewing: Option<&Claims>,
) -> Result<(), PageError> {
    let now = now_secs();
    let (token, max_age) = match renewing {
        Some(claims) => state.tokens.renew(claims, Audience::Respondent, now),
        None => state
            .tokens
            .issue(
                Subject {
                    sub: sid.to_owned(),
                    role: Role::Respondent,
                    province: None,
                    sid: Some(sid.to_owned()),
                },
                Audience::Respondent,
                now,
            )
            .map(|token| (token, state.tokens.ttl(Audience::Respondent))),
    }
    .map_err(|e| PageError::api(ctx.lang, e))?;
    ctx.add_cookie(res, RESPONDENT_COOKIE, &token, "/survey", max_age);
    Ok(())
}

/// `GET /survey/{round}/start` (a language switch on a refused start):
/// back to the entry page.
async fn start_again(ctx: Ctx, path: Path<String>) -> HttpResponse {
    ctx.redirect(&format!(
        "/survey/{}",
        super::url_encode(&path.into_inner())
    ))
}

/// The session with its round and instrument, if it exists.
fn load(
    state: &AppState,
    conn: &mut DbConn,
    sid: &str,
) -> Result<Option<(Session, Round, Arc<Instrument>)>, ApiError> {
    let Some((session, round)) = sessions::get_with_round(conn, sid).map_err(|e| match e {
        SessionError::Store(e) => store_error(e),
        other => ApiError::internal(other),
    })?
    else {
        return Ok(None);
    };
    let instrument = state.instrument(conn, round.instrument_id)?;
    Ok(Some((session, round, instrument)))
}

async fn load_page(
    state: &State,
    lang: Lang,
    sid: &str,
) -> Result<(Session, Round, Arc<Instrument>), PageError> {
    let id = sid.to_owned();
    page_db(state, lang, move |s, conn| load(s, conn, &id))
        .await?
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, lang, lang.msg("survey.no_session")))
}

/// Where a returning respondent continues: the first page with an
/// unanswered question, else the review (or the receipt once submitted).
fn resume_target(session: &Session, instrument: &Instrument) -> String {
    let sid = &session.id;
    if session.submitted_at.is_some() {
        return format!("/survey/s/{sid}/receipt");
    }
    for (i, section) in instrument.sections.iter().enumerate() {
        if section
            .items
            .iter()
            .any(|id| !session.answers.contains_key(id))
        {
            return format!("/survey/s/{sid}/p/{}", i + 1);
        }
    }
    if demographics::ALL
        .iter()
        .any(|d| !session.answers.contains_key(d.id()))
    {
        return format!("/survey/s/{sid}/p/{}", instrument.sections.len() + 1);
    }
    format!("/survey/s/{sid}/review")
}

/// Problems by field id, shown next to the field.
type Problems = BTreeMap<String, String>;

/// `GET /survey/s/{sid}/p/{page}`.
async fn show_page(ctx: Ctx, state: State, path: Path<(String, usize)>) -> PageResult {
    let (sid, page) = path.into_inner();
    let claims = require_session(&ctx, &state, &sid)?;
    let (session, _, instrument) = load_page(&state, ctx.lang, &sid).await?;
    if session.submitted_at.is_some() {
        return Ok(ctx.redirect(&format!("/survey/s/{sid}/receipt")));
    }
    let values: BTreeMap<String, Vec<String>> = session
        .answers
        .iter()
        .map(|(k, v)| (k.clone(), split_values(v)))
        .collect();
    let mut res = render_page(
        &ctx,
        &instrument,
        &sid,
        page,
        &values,
        &Problems::new(),
        StatusCode::OK,
    )?;
    with_session_cookie(&mut res, &state, &ctx, &sid, Some(&claims))?;
    Ok(res)
}

fn split_values(stored: &str) -> Vec<String> {
    stored
        .split(';')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn page_count(instrument: &Instrument) -> usize {
    instrument.sections.len() + 1
}

fn not_a_page(lang: Lang) -> PageError {
    PageError::new(StatusCode::NOT_FOUND, lang, lang.msg("survey.no_page"))
}

/// A question on a questionnaire page.
struct Question {
    /// The field's id (the item's, or the demographic's).
    id: String,
    /// The item's number in the questionnaire (demographics have none).
    number: Option<usize>,
    /// The question in the page's language.
    text: String,
    /// The problem with the last answer given.
    error: Option<String>,
    body: Body,
}

/// How a question is answered.
enum Body {
    /// A number typed in.
    Numeric(NumericBody),
    /// Radio buttons or check boxes.
    Choice(ChoiceBody),
    /// A drop-down list: code, label, selected.
    Select(Vec<(u16, String, bool)>),
}

/// A number typed in, with its hint, unit and "don't know" box.
struct NumericBody {
    hint: String,
    /// Whether the hint has an id (`h-{id}`).
    hint_id: bool,
    value: String,
    /// The input's width in characters.
    size: &'static str,
    /// Whether it is the year of birth (autocompleted as such).
    birth_year: bool,
    unit: Option<String>,
    /// The "don't know" code and whether it is the answer.
    dont_know: Option<(String, bool)>,
}

/// Options to choose one of, or several.
struct ChoiceBody {
    multi: bool,
    /// Code, label, checked.
    options: Vec<(u16, String, bool)>,
}

/// A questionnaire page.
#[derive(Template)]
#[template(path = "survey_page.html")]
struct QuestionsPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    sid: &'a str,
    page: usize,
    /// Whether it is the last page (the review comes next).
    last: bool,
    /// "Page n of N".
    progress: String,
    /// How far along, in percent.
    percent: usize,
    heading: String,
    /// Field id and problem, for the list at the top.
    problems: &'a Problems,
    /// When the page was made (unix ms), to time it.
    now: i64,
    questions: Vec<Question>,
}

fn render_page(
    ctx: &Ctx,
    instrument: &Instrument,
    sid: &str,
    page: usize,
    values: &BTreeMap<String, Vec<String>>,
    problems: &Problems,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = ctx.lang;
    let total = page_count(instrument);
    if page == 0 || page > total {
        return Err(not_a_page(lang));
    }
    let answers = |id: &str| values.get(id).map_or(&[][..], Vec::as_slice);
    let problem = |id: &str| problems.get(id).cloned();
    let (heading, questions) = if page <= instrument.sections.len() {
        let section = &instrument.sections[page - 1];
        let questions = section
            .items
            .iter()
            .filter_map(|id| instrument.item_index(id))
            .map(|index| {
                let item = &instrument.items[index];
                item_question(lang, index + 1, item, answers(&item.id), problem(&item.id))
            })
            .collect();
        (section.title.get(lang.tag()).to_owned(), questions)
    } else {
        let questions = demographics::ALL
            .into_iter()
            .map(|d| {
                let year = instrument.fieldwork_year;
                demographic_question_view(lang, d, year, answers(d.id()), problem(d.id()))
            })
            .collect();
        (lang.msg("survey.about_you").to_owned(), questions)
    };
    let progress = lang.msgf("survey.progress", &[("page", &page), ("total", &total)]);
    let view = QuestionsPage {
        lang,
        frame: ctx.frame(&format!("{heading} - {progress}")),
        csrf: &ctx.csrf,
        sid,
        page,
        last: page == total,
        progress,
        percent: page * 100 / total,
        heading,
        problems,
        now: literacy_store::now_ms(),
        questions,
    };
    Ok(ctx.render(status, &view))
}

fn option_labels(item: &Item, lang: Lang) -> Vec<(u16, String)> {
    let choices = |opts: &[Choice]| {
        opts.iter()
            .map(|c| (c.code, c.label.get(lang.tag()).to_owned()))
            .collect()
    };
    match &item.kind {
        ItemKind::TrueFalse { .. } => vec![
            (true_false::TRUE, lang.msg("survey.true").to_owned()),
            (true_false::FALSE, lang.msg("survey.false").to_owned()),
            (
                true_false::DONT_KNOW,
                lang.msg("survey.dont_know").to_owned(),
            ),
        ],
        ItemKind::SingleChoice { options, .. }
        | ItemKind::MultipleSelect { options, .. }
        | ItemKind::Ordinal { options, .. } => choices(options),
        ItemKind::Numeric { .. } => Vec::new(),
    }
}

/// Options with whether each is among the answers given.
fn checked(options: Vec<(u16, String)>, selected: &[String]) -> Vec<(u16, String, bool)> {
    options
        .into_iter()
        .map(|(code, label)| {
            let on = selected.iter().any(|s| s == &code.to_string());
            (code, label, on)
        })
        .collect()
}

/// An item as a question: its number, text and answers so far.
fn item_question(
    lang: Lang,
    number: usize,
    item: &Item,
    values: &[String],
    error: Option<String>,
) -> Question {
    let body = match &item.kind {
        ItemKind::Numeric {
            range,
            dont_know_code,
            unit,
            ..
        } => {
            let dk = dont_know_code.map(|c| c.to_string());
            let is_dk = dk.as_ref().is_some_and(|d| values.first() == Some(d));
            Body::Numeric(NumericBody {
                hint: lang.msgf(
                    "survey.numeric_hint",
                    &[("min", &range.min), ("max", &range.max)],
                ),
                hint_id: true,
                value: if is_dk {
                    String::new()
                } else {
                    values.first().cloned().unwrap_or_default()
                },
                size: "8",
                birth_year: false,
                unit: unit.as_ref().map(|u| u.get(lang.tag()).to_owned()),
                dont_know: dk.map(|code| (code, is_dk)),
            })
        }
        kind => Body::Choice(ChoiceBody {
            multi: matches!(kind, ItemKind::MultipleSelect { .. }),
            options: checked(option_labels(item, lang), values),
        }),
    };
    Question {
        id: item.id.clone(),
        number: Some(number),
        text: item.text.get(lang.tag()).to_owned(),
        error,
        body,
    }
}

fn demographic_question(d: Demographic, lang: Lang) -> &'static str {
    match d {
        Demographic::Province => lang.msg("demo.province"),
        Demographic::UrbanRural => lang.msg("demo.urban_rural"),
        Demographic::Sex => lang.msg("demo.sex"),
        Demographic::BirthYear => lang.msg("demo.birth_year"),
        Demographic::Education => lang.msg("demo.education"),
        Demographic::Occupation => lang.msg("demo.occupation"),
    }
}

/// A demographic as a question, with its answer so far.
fn demographic_question_view(
    lang: Lang,
    d: Demographic,
    fieldwork_year: i32,
    values: &[String],
    error: Option<String>,
) -> Question {
    let options = || {
        d.codes()
            .into_iter()
            .map(|(c, t)| (c, t.get(lang.tag()).to_owned()))
            .collect::<Vec<_>>()
    };
    let body = match d {
        Demographic::BirthYear => Body::Numeric(NumericBody {
            hint: lang.msgf(
                "survey.birth_year_hint",
                &[
                    ("from", &(fieldwork_year - demographics::MAX_AGE)),
                    ("to", &(fieldwork_year - demographics::MIN_AGE)),
                ],
            ),
            hint_id: false,
            value: values.first().cloned().unwrap_or_default(),
            size: "6",
            birth_year: true,
            unit: None,
            dont_know: None,
        }),
        Demographic::Province => Body::Select(checked(options(), values)),
        _ => Body::Choice(ChoiceBody {
            multi: false,
            options: checked(options(), values),
        }),
    };
    Question {
        id: d.id().to_owned(),
        number: None,
        text: demographic_question(d, lang).to_owned(),
        error,
        body,
    }
}

/// `POST /survey/s/{sid}/p/{page}`: saves the page's answers, then goes on
/// (or back), or shows the page again with its problems.
async fn save_page(ctx: Ctx, state: State, path: Path<(String, usize)>, form: Form) -> PageResult {
    let lang = ctx.lang;
    ctx.check_csrf(field(&form, "csrf"))?;
    let (sid, page) = path.into_inner();
    require_session(&ctx, &state, &sid)?;
    let (session, _, instrument) = load_page(&state, lang, &sid).await?;
    if session.submitted_at.is_some() {
        return Ok(ctx.redirect(&format!("/survey/s/{sid}/receipt")));
    }
    let total = page_count(&instrument);
    if page == 0 || page > total {
        return Err(not_a_page(lang));
    }
    let mut posted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut changes: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut problems = Problems::new();
    if page <= instrument.sections.len() {
        for id in &instrument.sections[page - 1].items {
            let Some(index) = instrument.item_index(id) else {
                continue;
            };
            let item = &instrument.items[index];
            let mut given: Vec<String> = fields(&form, id)
                .into_iter()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            if let Some(dk) = field(&form, &format!("{id}.dk")) {
                given = vec![dk.to_owned()];
            }
            posted.insert(id.clone(), given.clone());
            let value = match given.len() {
                0 => Value::Null,
                1 => Value::String(given[0].clone()),
                _ => Value::Array(given.into_iter().map(Value::String).collect()),
            };
            let mut one = Map::new();
            one.insert(id.clone(), value);
            match answers::check(&instrument, &one) {
                Ok(checked) => changes.extend(checked),
                Err(_) => {
                    let message = match &item.kind {
                        ItemKind::Numeric { range, .. } => lang.msgf(
                            "survey.numeric_range",
                            &[("min", &range.min), ("max", &range.max)],
                        ),
                        _ => lang.msg("survey.choose_listed").to_owned(),
                    };
                    problems.insert(id.clone(), format!("{}. {message}", index + 1));
                }
            }
        }
    } else {
        for d in demographics::ALL {
            let given = field(&form, d.id()).map(str::trim).unwrap_or_default();
            posted.insert(
                d.id().to_owned(),
                if given.is_empty() {
                    vec![]
                } else {
                    vec![given.to_owned()]
                },
            );
            match d.parse(given, instrument.fieldwork_year) {
                Ok(code) => {
                    changes.insert(d.id().to_owned(), Some(code.to_string()));
                }
                Err(_) => {
                    let year = instrument.fieldwork_year;
                    let message = match (d, given.is_empty()) {
                        (Demographic::BirthYear, false) => lang.msgf(
                            "survey.birth_year_range",
                            &[
                                ("from", &(year - demographics::MAX_AGE)),
                                ("to", &(year - demographics::MIN_AGE)),
                                ("min", &demographics::MIN_AGE),
                                ("max", &demographics::MAX_AGE),
                            ],
                        ),
                        (Demographic::BirthYear, true) => {
                            lang.msg("survey.birth_year_missing").to_owned()
                        }
                        (_, true) => lang.msg("survey.choose_one").to_owned(),
                        (_, false) => lang.msg("survey.choose_listed").to_owned(),
                    };
                    let message = lang.msgf(
                        "survey.demographic_problem",
                        &[
                            ("question", &demographic_question(d, lang)),
                            ("message", &message),
                        ],
                    );
                    problems.insert(d.id().to_owned(), message);
                }
            }
        }
    }
    let elapsed = field(&form, "shown_at")
        .and_then(|t| t.parse::<i64>().ok())
        .map(|t| (literacy_store::now_ms() - t).clamp(0, 3_600_000));
    let mut page_ms = BTreeMap::new();
    if let Some(ms) = elapsed {
        page_ms.insert(page.to_string(), ms);
    }
    let id = sid.clone();
    page_db(&state, lang, move |_, conn| {
        sessions::save(
            conn,
            &id,
            &SessionSave {
                answers: changes,
                page_ms,
            },
        )
        .map(|_| ())
        .map_err(|e| match e {
            SessionError::Store(e) => store_error(e),
            SessionError::Submitted => ApiError::conflict("submitted"),
            other => ApiError::internal(other),
        })
    })
    .await?;
    if !problems.is_empty() {
        return render_page(
            &ctx,
            &instrument,
            &sid,
            page,
            &posted,
            &problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let to = match field(&form, "go") {
        Some("prev") if page > 1 => format!("/survey/s/{sid}/p/{}", page - 1),
        _ if page >= total => format!("/survey/s/{sid}/review"),
        _ => format!("/survey/s/{sid}/p/{}", page + 1),
    };
    Ok(ctx.redirect(&to))
}

fn answer_text(item: &Item, lang: Lang, stored: Option<&String>) -> Option<String> {
    let stored = stored?;
    if let ItemKind::Numeric {
        dont_know_code,
        unit,
        ..
    } = &item.kind
    {
        if dont_know_code.is_some_and(|c| c.to_string() == *stored) {
            return Some(lang.msg("survey.dont_know").to_owned());
        }
        let unit = unit.as_ref().map(|u| u.get(lang.tag())).unwrap_or("");
        return Some(format!("{stored} {unit}").trim().to_owned());
    }
    let labels = option_labels(item, lang);
    let parts: Vec<String> = split_values(stored)
        .iter()
        .map(|code| {
            labels
                .iter()
                .find(|(c, _)| c.to_string() == *code)
                .map_or_else(|| code.clone(), |(_, l)| l.clone())
        })
        .collect();
    Some(parts.join(lang.msg("list.separator")))
}

fn demographic_text(d: Demographic, lang: Lang, stored: Option<&String>) -> Option<String> {
    let stored = stored?;
    if d == Demographic::BirthYear {
        return Some(stored.clone());
    }
    Some(
        d.codes()
            .into_iter()
            .find(|(c, _)| c.to_string() == *stored)
            .map_or_else(|| stored.clone(), |(_, t)| t.get(lang.tag()).to_owned()),
    )
}

/// `GET /survey/s/{sid}/review`.
async fn review(ctx: Ctx, state: State, path: Path<String>) -> PageResult {
    let sid = path.into_inner();
    require_session(&ctx, &state, &sid)?;
    let (session, _, instrument) = load_page(&state, ctx.lang, &sid).await?;
    if session.submitted_at.is_some() {
        return Ok(ctx.redirect(&format!("/survey/s/{sid}/receipt")));
    }
    Ok(review_page(
        &ctx,
        &session,
        &instrument,
        None,
        StatusCode::OK,
    ))
}

/// A review section: its title and each question with its answer.
struct ReviewSection {
    title: String,
    rows: Vec<ReviewRow>,
}

/// A question on the review page, with the link to change its answer.
struct ReviewRow {
    /// The question as listed (items with their number).
    question: String,
    /// What a screen reader adds to "Change".
    sr: String,
    answer: Option<String>,
    /// The page it is on.
    page: usize,
    id: String,
}

/// The review page.
#[derive(Template)]
#[template(path = "survey_review.html")]
struct ReviewPage<'a> {
    lang: Lang,
    frame: Frame,
    csrf: &'a str,
    sid: &'a str,
    error: Option<&'a str>,
    sections: Vec<ReviewSection>,
    /// A fresh id for this submit (a retried submit repeats it).
    submission_id: String,
}

/// Every section's questions and answers, then the demographics'.
fn review_sections(session: &Session, instrument: &Instrument, lang: Lang) -> Vec<ReviewSection> {
    let mut sections: Vec<ReviewSection> = instrument
        .sections
        .iter()
        .enumerate()
        .map(|(i, section)| ReviewSection {
            title: section.title.get(lang.tag()).to_owned(),
            rows: section
                .items
                .iter()
                .filter_map(|id| instrument.item_index(id))
                .map(|index| {
                    let item = &instrument.items[index];
                    let n = index + 1;
                    ReviewRow {
                        question: format!("{n}. {}", item.text.get(lang.tag())),
                        sr: n.to_string(),
                        answer: answer_text(item, lang, session.answers.get(&item.id)),
                        page: i + 1,
                        id: item.id.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    sections.push(ReviewSection {
        title: lang.msg("survey.about_you").to_owned(),
        rows: demographics::ALL
            .into_iter()
            .map(|d| ReviewRow {
                question: demographic_question(d, lang).to_owned(),
                sr: demographic_question(d, lang).to_owned(),
                answer: demographic_text(d, lang, session.answers.get(d.id())),
                page: page_count(instrument),
                id: d.id().to_owned(),
            })
            .collect(),
    });
    sections
}

fn review_page(
    ctx: &Ctx,
    session: &Session,
    instrument: &Instrument,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let page = ReviewPage {
        lang: ctx.lang,
        frame: ctx.frame(ctx.lang.msg("survey.review_title")),
        csrf: &ctx.csrf,
        sid: &session.id,
        error,
        sections: review_sections(session, instrument, ctx.lang),
        submission_id: random_uuid(),
    };
    ctx.render(status, &page)
}

/// What a submit came to.
enum Submitted {
    Done,
    NotReady(Box<Session>, Arc<Instrument>, NotReady),
}

/// `POST /survey/s/{sid}/submit`: stores the response once (a retried
/// submit with the same `submission_id` is a no-op) and shows the receipt.
async fn submit(ctx: Ctx, state: State, path: Path<String>, form: Form) -> PageResult {
    let lang = ctx.lang;
    ctx.check_csrf(field(&form, "csrf"))?;
    let sid = path.into_inner();
    require_session(&ctx, &state, &sid)?;
    let submission_id = field(&form, "submission_id").unwrap_or_default().to_owned();
    if !crate::submission::is_uuid(&submission_id) {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            lang.msg("survey.incomplete_form"),
        ));
    }
    let id = sid.clone();
    let outcome = page_db(&state, lang, move |s, conn| {
        let (session, round, instrument) =
            load(s, conn, &id)?.ok_or_else(|| ApiError::not_found("no such session"))?;
        if session.submitted_at.is_some() {
            return Ok(Submitted::Done);
        }
        let bound = submission::bound_province(conn, &session)?;
        let ready = match submission::ready(session.answers.clone(), bound) {
            Ok(ready) => ready,
            Err(why) => return Ok(Submitted::NotReady(Box::new(session), instrument, why)),
        };
        let outcome =
            submission::submit_session(&s.store, conn, &round, &session, &ready, &submission_id);
        match outcome {
            Ok(SubmitOutcome::Created(_) | SubmitOutcome::Replayed(_))
            | Err(SubmitError::RespondentExists { .. } | SubmitError::SessionClosed) => {
                Ok(Submitted::Done)
            }
            Ok(SubmitOutcome::Conflict { .. }) => Ok(Submitted::Done),
            Err(SubmitError::RoundNotAccepting) => {
                Err(ApiError::conflict("the round is not collecting responses"))
            }
            Err(SubmitError::Store(e)) => Err(store_error(e)),
            Err(other) => Err(ApiError::internal(other)),
        }
    })
    .await?;
    match outcome {
        Submitted::Done => Ok(ctx.redirect(&format!("/survey/s/{sid}/receipt"))),
        Submitted::NotReady(session, instrument, why) => {
            let message = match why {
                NotReady::Missing(missing) => {
                    let names: Vec<&str> = missing
                        .iter()
                        .map(|d| demographic_question(*d, lang))
                        .collect();
                    lang.msgf(
                        "survey.missing_demographics",
                        &[("list", &names.join(lang.msg("list.semicolon")))],
                    )
                }
                NotReady::OtherProvince { bound, answered } => lang.msgf(
                    "error.invite_other_province",
                    &[("bound", &bound), ("answered", &answered)],
                ),
            };
            Ok(review_page(
                &ctx,
                &session,
                &instrument,
                Some(&message),
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

/// `GET /survey/s/{sid}/receipt`.
async fn receipt(ctx: Ctx, state: State, path: Path<String>) -> PageResult {
    let lang = ctx.lang;
    let sid = path.into_inner();
    require_session(&ctx, &state, &sid)?;
    let (session, round, _) = load_page(&state, lang, &sid).await?;
    let Some(response_id) = session.response_id else {
        return Ok(ctx.redirect(&format!("/survey/s/{sid}/review")));
    };
    let page = ReceiptPage {
        lang,
        frame: ctx.frame(lang.msg("survey.received")),
        code: format!("{}-{response_id:08}", round.code),
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

/// The receipt page.
#[derive(Template)]
#[template(path = "survey_receipt.html")]
struct ReceiptPage {
    lang: Lang,
    frame: Frame,
    /// The receipt number.
    code: String,
}
