//! The respondents' questionnaire: invite code (or direct start), one
//! section per page, demographics, review, submit once, receipt.
//!
//! Every page is a plain form posted to the server, which saves the page's
//! answers (merged with the session's, so nothing is lost) and redirects.
//! A page with a problem is shown again with the message next to the field;
//! the valid answers of that page are saved all the same.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::SET_COOKIE;
use actix_web::{HttpRequest, HttpResponse, web};
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

use super::{Ctx, Frame, Lang, PageError, RESPONDENT_COOKIE, cookie, esc, random_uuid, set_cookie};
use crate::answers;
use crate::auth::{Audience, Role, Subject};
use crate::error::ApiError;
use crate::state::{AppState, State, db, now_secs, store_error};
use crate::submission;

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

type Form = web::Form<Vec<(String, String)>>;

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn fields<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn internal(lang: Lang) -> impl Fn(ApiError) -> PageError {
    move |e| PageError::api(lang, e)
}

/// Runs `f` on the blocking pool, mapping errors to error pages.
async fn run<T, F>(state: &State, lang: Lang, f: F) -> Result<T, PageError>
where
    T: Send + 'static,
    F: FnOnce(&AppState, &mut DbConn) -> Result<T, ApiError> + Send + 'static,
{
    db(state, f).await.map_err(internal(lang))
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
async fn index(req: HttpRequest, state: State) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
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
    run(state, lang, |_, conn| {
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

/// The respondent's session, if the cookie holds a valid token for one.
fn cookie_session(req: &HttpRequest, state: &AppState) -> Option<String> {
    let token = cookie(req, RESPONDENT_COOKIE)?;
    let claims = state.tokens.verify(&token, Audience::Respondent).ok()?;
    (claims.role == Role::Respondent).then_some(claims.sid)?
}

/// Refuses unless the cookie's token is bound to session `sid`.
fn require_session(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    sid: &str,
) -> Result<(), PageError> {
    if cookie_session(req, state).as_deref() == Some(sid) {
        Ok(())
    } else {
        Err(PageError::new(
            StatusCode::FORBIDDEN,
            lang,
            lang.t(
                "无法打开这份问卷：请在开始答题时使用的浏览器中打开链接，或用邀请码重新进入。",
                "This questionnaire cannot be opened here: use the browser you started it in, or enter your invite code again.",
            ),
        ))
    }
}

/// `GET /survey/{round}`: the invite-code page (or direct start), or a
/// redirect back into the session this browser already has.
async fn entry(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let code = path.into_inner();
    let existing = cookie_session(&req, &state);
    let (round, resume) = run(&state, lang, move |s, conn| {
        let Some(round) = round_by_code(conn, &code)? else {
            return Ok((None, None));
        };
        let mut resume = None;
        if let Some(sid) = existing {
            if let Some((session, _, instrument)) = load(s, conn, &sid)? {
                if session.round_id == round.id {
                    resume = Some(resume_target(&session, &instrument));
                }
            }
        }
        Ok((Some(round), resume))
    })
    .await?;
    let Some(round) = round else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            lang,
            lang.t("没有这一轮调查。", "There is no such survey round."),
        ));
    };
    if let Some(to) = resume {
        return Ok(ctx.redirect(&to));
    }
    Ok(entry_page(&ctx, &round, None, StatusCode::OK))
}

fn entry_page(ctx: &Ctx, round: &Round, error: Option<&str>, status: StatusCode) -> HttpResponse {
    let lang = ctx.lang;
    let title = lang.t("公民科学素质调查", "Civic science literacy survey");
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        esc(title),
        lang.t(
            "感谢您参加本次调查。问卷约需 20 分钟，答案逐页自动保存，可以随时中断后继续。",
            "Thank you for taking part. The questionnaire takes about 20 minutes; your answers are saved on every page, so you can stop and come back.",
        )
    );
    if !round.accepts_responses(literacy_store::now_ms()) {
        let _ = write!(
            body,
            r#"<p class="notice" role="status">{}</p>"#,
            lang.t(
                "本轮调查目前不接受答卷。",
                "This round is not collecting answers now."
            )
        );
        return ctx.page(status, title, &body);
    }
    let (described, err) = match error {
        Some(e) => (
            r#" aria-describedby="invite-err" aria-invalid="true""#,
            format!(r#"<p class="err" id="invite-err">{}</p>"#, esc(e)),
        ),
        None => ("", String::new()),
    };
    let label = if round.open_online {
        lang.t("邀请码（如有）", "Invite code (if you have one)")
    } else {
        lang.t("邀请码", "Invite code")
    };
    let _ = write!(
        body,
        r#"<form method="post" action="/survey/{round}/start" class="card">
<input type="hidden" name="csrf" value="{csrf}">
<div class="q"><label for="invite_code">{label}</label>{err}
<input type="text" id="invite_code" name="invite_code" autocomplete="off" autocapitalize="characters" spellcheck="false"{described}{required}></div>
<button type="submit" class="primary">{go}</button>
</form>"#,
        round = esc(&round.code),
        csrf = ctx.csrf,
        required = if round.open_online { "" } else { " required" },
        go = lang.t("开始答题", "Start"),
    );
    ctx.page(status, title, &body)
}

/// `POST /survey/{round}/start`: opens the invite code's session (new, or
/// the unsubmitted one it started before) or starts an open session, sets
/// the respondent cookie and goes to the first page.
async fn start(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    ctx.check_csrf(field(&form, "csrf"))?;
    let code = path.into_inner();
    let invite = field(&form, "invite_code")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let outcome = run(&state, lang, move |_, conn| {
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
                lang.t("没有这一轮调查。", "There is no such survey round."),
            ));
        }
        Err((Some(round), status, why)) => {
            let message = match why {
                "unknown" => lang.t(
                    "邀请码不正确，请核对后重新输入。",
                    "This invite code is not valid: check it and try again.",
                ),
                "used" => lang.t(
                    "这个邀请码已经使用过。",
                    "This invite code was already used.",
                ),
                "submitted" => lang.t(
                    "这个邀请码的问卷已经提交，感谢您的参与。",
                    "The questionnaire of this invite code was already submitted. Thank you for taking part.",
                ),
                "expired" => lang.t("这个邀请码已过期。", "This invite code has expired."),
                "required" => lang.t("请输入邀请码。", "Please enter your invite code."),
                _ => lang.t(
                    "本轮调查目前不接受答卷。",
                    "This round is not collecting answers now.",
                ),
            };
            return Ok(entry_page(&ctx, &round, Some(message), status));
        }
    };
    let mut res = ctx.redirect(&format!("/survey/s/{sid}/p/1"));
    with_session_cookie(&mut res, &state, &ctx, &sid)?;
    Ok(res)
}

/// Sets (or renews) the respondent cookie: a fresh token bound to `sid`.
/// Renewed on every page shown, so a respondent who keeps answering is
/// never signed out; one away longer than the token lifetime (or on
/// another device) enters the invite code again and resumes.
fn with_session_cookie(
    res: &mut HttpResponse,
    state: &State,
    ctx: &Ctx,
    sid: &str,
) -> Result<(), PageError> {
    let token = state
        .tokens
        .issue(
            Subject {
                sub: sid.to_owned(),
                role: Role::Respondent,
                province: None,
                sid: Some(sid.to_owned()),
            },
            Audience::Respondent,
            now_secs(),
        )
        .map_err(internal(ctx.lang))?;
    let value = set_cookie(
        ctx.secure,
        RESPONDENT_COOKIE,
        &token,
        "/survey",
        state.tokens.ttl(Audience::Respondent),
    );
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&value) {
        res.headers_mut().append(SET_COOKIE, v);
    }
    Ok(())
}

/// `GET /survey/{round}/start` (a language switch on a refused start):
/// back to the entry page.
async fn start_again(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let ctx = Ctx::of(&req);
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
    run(state, lang, move |s, conn| load(s, conn, &id))
        .await?
        .ok_or_else(|| {
            PageError::new(
                StatusCode::NOT_FOUND,
                lang,
                lang.t("没有这份问卷。", "There is no such questionnaire."),
            )
        })
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
async fn show_page(
    req: HttpRequest,
    state: State,
    path: web::Path<(String, usize)>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let (sid, page) = path.into_inner();
    require_session(&req, &state, ctx.lang, &sid)?;
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
    with_session_cookie(&mut res, &state, &ctx, &sid)?;
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
    PageError::new(
        StatusCode::NOT_FOUND,
        lang,
        lang.t("没有这一页。", "There is no such page."),
    )
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
    let heading = if page <= instrument.sections.len() {
        instrument.sections[page - 1]
            .title
            .get(lang.tag())
            .to_owned()
    } else {
        lang.t("基本情况", "About you").to_owned()
    };
    let progress = match lang {
        Lang::Zh => format!("第 {page} / {total} 页"),
        Lang::En => format!("Page {page} of {total}"),
    };
    let mut body = format!(
        r#"<p class="progress" id="progress">{progress}</p><div class="bar" aria-hidden="true"><span style="width:{pct}%"></span></div>
<h1>{heading}</h1>"#,
        pct = page * 100 / total,
        heading = esc(&heading),
    );
    if !problems.is_empty() {
        let _ = write!(
            body,
            r##"<div class="errors" role="alert" tabindex="-1" id="errors"><p>{}</p><ul>"##,
            lang.t(
                "以下问题需要修改（其他答案已保存）：",
                "Please correct the following (your other answers are saved):"
            )
        );
        for (id, message) in problems {
            let _ = write!(
                body,
                r##"<li><a href="#q-{id}">{}</a></li>"##,
                esc(message),
                id = esc(id)
            );
        }
        body.push_str("</ul></div>");
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/survey/s/{sid}/p/{page}" novalidate>
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="shown_at" value="{now}">
"#,
        csrf = ctx.csrf,
        now = literacy_store::now_ms(),
    );
    if page <= instrument.sections.len() {
        for id in &instrument.sections[page - 1].items {
            if let Some(index) = instrument.item_index(id) {
                item_html(
                    &mut body,
                    lang,
                    index + 1,
                    &instrument.items[index],
                    values.get(id).map_or(&[][..], Vec::as_slice),
                    problems.get(id).map(String::as_str),
                );
            }
        }
    } else {
        for d in demographics::ALL {
            demographic_html(
                &mut body,
                lang,
                d,
                instrument.fieldwork_year,
                values.get(d.id()).map_or(&[][..], Vec::as_slice),
                problems.get(d.id()).map(String::as_str),
            );
        }
    }
    body.push_str(r#"<div class="nav">"#);
    if page > 1 {
        let _ = write!(
            body,
            r#"<button type="submit" name="go" value="prev" class="secondary">{}</button>"#,
            lang.t("上一页", "Previous")
        );
    }
    let next = if page == total {
        lang.t("检查答案", "Review answers")
    } else {
        lang.t("保存，下一页", "Save and continue")
    };
    let _ = write!(
        body,
        r#"<button type="submit" name="go" value="next" class="primary">{next}</button></div></form>"#
    );
    Ok(ctx.page(status, &format!("{heading} - {progress}"), &body))
}

fn option_labels(item: &Item, lang: Lang) -> Vec<(u16, String)> {
    let choices = |opts: &[Choice]| {
        opts.iter()
            .map(|c| (c.code, c.label.get(lang.tag()).to_owned()))
            .collect()
    };
    match &item.kind {
        ItemKind::TrueFalse { .. } => vec![
            (true_false::TRUE, lang.t("对", "True").to_owned()),
            (true_false::FALSE, lang.t("错", "False").to_owned()),
            (
                true_false::DONT_KNOW,
                lang.t("不知道", "Don't know").to_owned(),
            ),
        ],
        ItemKind::SingleChoice { options, .. }
        | ItemKind::MultipleSelect { options, .. }
        | ItemKind::Ordinal { options, .. } => choices(options),
        ItemKind::Numeric { .. } => Vec::new(),
    }
}

fn error_html(id: &str, problem: Option<&str>) -> (String, String) {
    match problem {
        Some(p) => (
            format!(
                r#" aria-describedby="e-{id}" aria-invalid="true""#,
                id = esc(id)
            ),
            format!(r#"<p class="err" id="e-{id}">{}</p>"#, esc(p), id = esc(id)),
        ),
        None => (String::new(), String::new()),
    }
}

fn choice_group(
    out: &mut String,
    id: &str,
    legend: &str,
    options: &[(u16, String)],
    selected: &[String],
    multi: bool,
    problem: Option<&str>,
) {
    let (described, err) = error_html(id, problem);
    let kind = if multi { "checkbox" } else { "radio" };
    let _ = write!(
        out,
        r#"<fieldset class="q" id="q-{id}"{described}><legend>{legend}</legend>{err}<div class="opts">"#,
        id = esc(id),
    );
    for (code, label) in options {
        let checked = if selected.iter().any(|s| s == &code.to_string()) {
            " checked"
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<label class="opt" for="{id}-{code}"><input type="{kind}" id="{id}-{code}" name="{id}" value="{code}"{checked}><span>{}</span></label>"#,
            esc(label),
            id = esc(id),
        );
    }
    out.push_str("</div></fieldset>\n");
}

fn item_html(
    out: &mut String,
    lang: Lang,
    number: usize,
    item: &Item,
    values: &[String],
    problem: Option<&str>,
) {
    let text = format!(
        r#"<span class="qn">{number}.</span> {}"#,
        esc(item.text.get(lang.tag()))
    );
    match &item.kind {
        ItemKind::Numeric {
            range,
            dont_know_code,
            unit,
            ..
        } => {
            let (described, err) = error_html(&item.id, problem);
            let dk = dont_know_code.map(|c| c.to_string());
            let is_dk = dk.as_ref().is_some_and(|d| values.first() == Some(d));
            let value = if is_dk {
                String::new()
            } else {
                values.first().cloned().unwrap_or_default()
            };
            let _ = write!(
                out,
                r#"<div class="q" id="q-{id}"><label for="{id}">{text}</label>{err}<p class="hint" id="h-{id}">{hint}</p><div class="num"><input type="text" inputmode="numeric" id="{id}" name="{id}" value="{value}" size="8"{described}>{unit}</div>"#,
                id = esc(&item.id),
                value = esc(&value),
                hint = esc(&match lang {
                    Lang::Zh => format!("请填写 {} 到 {} 之间的整数", range.min, range.max),
                    Lang::En => format!("A whole number from {} to {}", range.min, range.max),
                }),
                unit = unit
                    .as_ref()
                    .map(|u| format!(" <span>{}</span>", esc(u.get(lang.tag()))))
                    .unwrap_or_default(),
            );
            if let Some(dk) = dk {
                let _ = write!(
                    out,
                    r#"<label class="opt" for="{id}-dk"><input type="checkbox" id="{id}-dk" name="{id}.dk" value="{dk}"{checked}><span>{}</span></label>"#,
                    lang.t("不知道", "Don't know"),
                    id = esc(&item.id),
                    checked = if is_dk { " checked" } else { "" },
                );
            }
            out.push_str("</div>\n");
        }
        kind => {
            let multi = matches!(kind, ItemKind::MultipleSelect { .. });
            let legend = if multi {
                format!(
                    "{text} <span class=\"hint\">{}</span>",
                    lang.t("（可多选）", "(choose all that apply)")
                )
            } else {
                text
            };
            choice_group(
                out,
                &item.id,
                &legend,
                &option_labels(item, lang),
                values,
                multi,
                problem,
            );
        }
    }
}

fn demographic_question(d: Demographic, lang: Lang) -> &'static str {
    match d {
        Demographic::Province => lang.t(
            "您现在居住在哪个省（区、市）？",
            "Which province do you live in?",
        ),
        Demographic::UrbanRural => lang.t(
            "您居住在城镇还是农村？",
            "Do you live in a town or in the countryside?",
        ),
        Demographic::Sex => lang.t("您的性别", "Your sex"),
        Demographic::BirthYear => lang.t("您的出生年份", "Your year of birth"),
        Demographic::Education => lang.t("您的文化程度", "Your education"),
        Demographic::Occupation => lang.t("您的职业", "Your occupation"),
    }
}

fn demographic_html(
    out: &mut String,
    lang: Lang,
    d: Demographic,
    fieldwork_year: i32,
    values: &[String],
    problem: Option<&str>,
) {
    let id = d.id();
    let question = esc(demographic_question(d, lang));
    let current = values.first().cloned().unwrap_or_default();
    match d {
        Demographic::BirthYear => {
            let (described, err) = error_html(id, problem);
            let _ = write!(
                out,
                r#"<div class="q" id="q-{id}"><label for="{id}">{question}</label>{err}<p class="hint">{hint}</p><div class="num"><input type="text" inputmode="numeric" id="{id}" name="{id}" value="{v}" size="6" autocomplete="bday-year"{described}></div></div>"#,
                v = esc(&current),
                hint = esc(&match lang {
                    Lang::Zh => format!(
                        "四位数字，{} 到 {} 年",
                        fieldwork_year - demographics::MAX_AGE,
                        fieldwork_year - demographics::MIN_AGE
                    ),
                    Lang::En => format!(
                        "Four digits, {} to {}",
                        fieldwork_year - demographics::MAX_AGE,
                        fieldwork_year - demographics::MIN_AGE
                    ),
                }),
            );
        }
        Demographic::Province => {
            let (described, err) = error_html(id, problem);
            let _ = write!(
                out,
                r#"<div class="q" id="q-{id}"><label for="{id}">{question}</label>{err}<select id="{id}" name="{id}"{described}><option value="">{}</option>"#,
                lang.t("请选择", "Choose"),
            );
            for (code, label) in d.codes() {
                let _ = write!(
                    out,
                    r#"<option value="{code}"{sel}>{}</option>"#,
                    esc(label.get(lang.tag())),
                    sel = if current == code.to_string() {
                        " selected"
                    } else {
                        ""
                    },
                );
            }
            out.push_str("</select></div>\n");
        }
        _ => {
            let options: Vec<(u16, String)> = d
                .codes()
                .into_iter()
                .map(|(c, t)| (c, t.get(lang.tag()).to_owned()))
                .collect();
            choice_group(out, id, &question, &options, values, false, problem);
        }
    }
}

/// `POST /survey/s/{sid}/p/{page}`: saves the page's answers, then goes on
/// (or back), or shows the page again with its problems.
async fn save_page(
    req: HttpRequest,
    state: State,
    path: web::Path<(String, usize)>,
    form: Form,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    ctx.check_csrf(field(&form, "csrf"))?;
    let (sid, page) = path.into_inner();
    require_session(&req, &state, lang, &sid)?;
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
                Err(ps) => {
                    let message = match lang {
                        Lang::En => ps
                            .iter()
                            .map(|p| p.message.clone())
                            .collect::<Vec<_>>()
                            .join("; "),
                        Lang::Zh => match &item.kind {
                            ItemKind::Numeric { range, .. } => {
                                format!("请填写 {} 到 {} 之间的整数。", range.min, range.max)
                            }
                            _ => "请从列出的选项中选择。".to_owned(),
                        },
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
                Err(m) => {
                    let message = match (lang, d, given.is_empty()) {
                        (Lang::Zh, Demographic::BirthYear, false) => format!(
                            "出生年份应为 {} 到 {} 年之间的四位数字（调查对象为 {}–{} 岁）。",
                            instrument.fieldwork_year - demographics::MAX_AGE,
                            instrument.fieldwork_year - demographics::MIN_AGE,
                            demographics::MIN_AGE,
                            demographics::MAX_AGE
                        ),
                        (Lang::Zh, Demographic::BirthYear, true) => "请填写出生年份。".to_owned(),
                        (Lang::Zh, _, true) => "请选择一项。".to_owned(),
                        (Lang::Zh, _, false) => "请从列出的选项中选择。".to_owned(),
                        (Lang::En, _, _) => format!("{}: {m}", demographic_question(d, lang)),
                    };
                    let message = match lang {
                        Lang::Zh => format!("{}：{message}", demographic_question(d, lang)),
                        Lang::En => message,
                    };
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
    run(&state, lang, move |_, conn| {
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
            return Some(lang.t("不知道", "Don't know").to_owned());
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
    Some(parts.join(lang.t("、", ", ")))
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
async fn review(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let sid = path.into_inner();
    require_session(&req, &state, ctx.lang, &sid)?;
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

fn review_page(
    ctx: &Ctx,
    session: &Session,
    instrument: &Instrument,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let lang = ctx.lang;
    let sid = &session.id;
    let title = lang.t("检查您的答案", "Check your answers");
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        esc(title),
        lang.t(
            "提交前请检查答案。点击“修改”可以回到相应的页面。",
            "Check your answers before you send them. Use “Change” to go back to a page.",
        )
    );
    if let Some(e) = error {
        let _ = write!(
            body,
            r#"<div class="errors" role="alert"><p>{}</p></div>"#,
            esc(e)
        );
    }
    let unanswered = lang.t("未作答", "Not answered");
    let change = lang.t("修改", "Change");
    for (i, section) in instrument.sections.iter().enumerate() {
        let _ = write!(
            body,
            r#"<section class="card"><h2>{}</h2><dl class="review">"#,
            esc(section.title.get(lang.tag()))
        );
        for id in &section.items {
            let Some(index) = instrument.item_index(id) else {
                continue;
            };
            let item = &instrument.items[index];
            let answer = answer_text(item, lang, session.answers.get(id));
            let _ = write!(
                body,
                r##"<div><dt>{n}. {q}</dt><dd><span{cls}>{a}</span> <a href="/survey/s/{sid}/p/{p}#q-{id}">{change}<span class="sr"> {n}</span></a></dd></div>"##,
                n = index + 1,
                q = esc(item.text.get(lang.tag())),
                cls = if answer.is_none() {
                    r#" class="missing""#
                } else {
                    ""
                },
                a = esc(answer.as_deref().unwrap_or(unanswered)),
                p = i + 1,
                id = esc(id),
            );
        }
        body.push_str("</dl></section>");
    }
    let _ = write!(
        body,
        r#"<section class="card"><h2>{}</h2><dl class="review">"#,
        lang.t("基本情况", "About you")
    );
    for d in demographics::ALL {
        let answer = demographic_text(d, lang, session.answers.get(d.id()));
        let _ = write!(
            body,
            r##"<div><dt>{q}</dt><dd><span{cls}>{a}</span> <a href="/survey/s/{sid}/p/{p}#q-{id}">{change}<span class="sr"> {q}</span></a></dd></div>"##,
            q = esc(demographic_question(d, lang)),
            cls = if answer.is_none() {
                r#" class="missing""#
            } else {
                ""
            },
            a = esc(answer.as_deref().unwrap_or(unanswered)),
            p = page_count(instrument),
            id = d.id(),
        );
    }
    body.push_str("</dl></section>");
    let _ = write!(
        body,
        r#"<form method="post" action="/survey/s/{sid}/submit" class="submit">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="submission_id" value="{uuid}">
<button type="submit" class="primary">{send}</button></form>"#,
        csrf = ctx.csrf,
        uuid = random_uuid(),
        send = lang.t("提交问卷", "Send my answers"),
    );
    ctx.page(status, title, &body)
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// What a submit came to.
enum Submitted {
    Done,
    Missing(Box<Session>, Arc<Instrument>, Vec<Demographic>),
}

/// `POST /survey/s/{sid}/submit`: stores the response once (a retried
/// submit with the same `submission_id` is a no-op) and shows the receipt.
async fn submit(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    ctx.check_csrf(field(&form, "csrf"))?;
    let sid = path.into_inner();
    require_session(&req, &state, lang, &sid)?;
    let submission_id = field(&form, "submission_id").unwrap_or_default().to_owned();
    if !is_uuid(&submission_id) {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            lang.t(
                "表单不完整，请返回检查页重新提交。",
                "The form is incomplete: go back to the review page and send it again.",
            ),
        ));
    }
    let id = sid.clone();
    let outcome = run(&state, lang, move |s, conn| {
        let (session, round, instrument) =
            load(s, conn, &id)?.ok_or_else(|| ApiError::not_found("no such session"))?;
        if session.submitted_at.is_some() {
            return Ok(Submitted::Done);
        }
        let ready = match submission::ready(session.answers.clone()) {
            Ok(ready) => ready,
            Err(missing) => return Ok(Submitted::Missing(Box::new(session), instrument, missing)),
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
        Submitted::Missing(session, instrument, missing) => {
            let names: Vec<&str> = missing
                .iter()
                .map(|d| demographic_question(*d, lang))
                .collect();
            let message = match lang {
                Lang::Zh => format!("提交前请填写基本情况：{}", names.join("；")),
                Lang::En => format!("Before sending, please answer: {}", names.join("; ")),
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
async fn receipt(
    req: HttpRequest,
    state: State,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let ctx = Ctx::of(&req);
    let lang = ctx.lang;
    let sid = path.into_inner();
    require_session(&req, &state, lang, &sid)?;
    let (session, round, _) = load_page(&state, lang, &sid).await?;
    let Some(response_id) = session.response_id else {
        return Ok(ctx.redirect(&format!("/survey/s/{sid}/review")));
    };
    let code = format!("{}-{response_id:08}", round.code);
    let title = lang.t("提交成功", "Your answers were received");
    let body = format!(
        r#"<h1>{}</h1><p role="status">{}</p><p class="receipt">{}<br><strong>{}</strong></p><p>{}</p>"#,
        esc(title),
        lang.t(
            "感谢您的参与！您的答卷已收到。",
            "Thank you for taking part! Your answers have been received."
        ),
        lang.t("回执编号", "Receipt number"),
        esc(&code),
        lang.t(
            "请保存回执编号，以便查询。",
            "Keep this receipt number for your records."
        ),
    );
    Ok(ctx.page(StatusCode::OK, title, &body))
}
