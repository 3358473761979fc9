//! The application builder: opens the store, runs the migrations, binds
//! the listener (port 0 allowed) and builds the server; `main` and the
//! tests both start the service through it.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{App, HttpRequest, HttpServer, ResponseError, web};
use literacy_store::{Store, StoreError, StoreOptions};

use crate::auth::Tokens;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::routes;
use crate::state::AppState;

/// Largest JSON body accepted.
pub const JSON_LIMIT: usize = 256 * 1024;

/// What the service needs to start.
#[derive(Clone)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080` (`:0` picks a free port).
    pub bind: String,
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// The token secret shared by every replica (at least 32 bytes).
    pub jwt_secret: Vec<u8>,
    /// Lifetime of staff tokens, in seconds.
    pub staff_token_ttl_secs: u64,
    /// Lifetime of respondent tokens, in seconds.
    pub respondent_token_ttl_secs: u64,
    /// Actix worker threads (default: one per core).
    pub workers: Option<usize>,
    /// Reached over HTTPS only: every cookie is `Secure` (otherwise only
    /// when the request came over HTTPS) and every response carries
    /// `Strict-Transport-Security`.
    pub secure_cookies: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password and the secret is secret: neither is printed.
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("staff_token_ttl_secs", &self.staff_token_ttl_secs)
            .field("respondent_token_ttl_secs", &self.respondent_token_ttl_secs)
            .field("workers", &self.workers)
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid (for example a short token secret).
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        /// The address.
        bind: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A built, bound, not yet running service.
pub struct Application {
    port: u16,
    store: Store,
    server: Server,
}

impl Application {
    /// Opens the store, runs the migrations, binds the listener and builds
    /// the server. Call from inside an actix (tokio) runtime.
    pub fn build(config: Config) -> Result<Application, StartError> {
        let tokens = Tokens::new(
            &config.jwt_secret,
            config.staff_token_ttl_secs,
            config.respondent_token_ttl_secs,
        )
        .map_err(StartError::Config)?;
        if config.workers == Some(0) {
            return Err(StartError::Config("workers must be at least 1".into()));
        }
        crate::messages::check().map_err(|e| StartError::Config(e.to_string()))?;
        let store = Store::open_with(
            &config.database_url,
            &StoreOptions {
                // A submit holds its pooled connection while the store's
                // reader and writer threads work for it: with 16, submits
                // beyond the 16th queued for a connection instead of joining
                // the writer's next group (bench/RESULTS.md). Connections
                // open only when needed, so a quiet service holds few.
                max_connections: 32,
                ..StoreOptions::default()
            },
        )?;
        store.migrate()?;
        let listener = TcpListener::bind(&config.bind).map_err(|source| StartError::Bind {
            bind: config.bind.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                bind: config.bind.clone(),
                source,
            })?
            .port();
        let metrics = Arc::new(Metrics::default());
        let state = web::Data::new(AppState::new(store.clone(), tokens.clone(), metrics));
        let tokens = web::Data::new(tokens);
        let https_only = config.secure_cookies;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(tokens.clone())
                .app_data(web::Data::new(crate::pages::HttpsOnly(https_only)))
                .app_data(json_config())
                .app_data(query_config())
                .app_data(path_config())
                .configure(routes::configure)
                .configure(crate::pages::configure)
                .default_service(web::to(not_found))
                .wrap(ErrorHandlers::new().default_handler(json_errors))
                .wrap(security_headers(https_only))
                .wrap_fn(crate::request_log::observe)
        })
        .listen(listener)
        .map_err(|source| StartError::Bind {
            bind: config.bind.clone(),
            source,
        })?;
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        Ok(Application {
            port,
            store,
            server: server.run(),
        })
    }

    /// The port the service listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The store the service uses.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A handle that stops the server (for tests and signal handling).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|err, _req| {
            let api = match &err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => ApiError::too_large(format!(
                    "the JSON body is larger than {} KB",
                    JSON_LIMIT / 1024
                )),
                JsonPayloadError::ContentType => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as application/json",
                ),
                other => ApiError::bad_request(format!("invalid JSON body: {other}")),
            };
            api.into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        ApiError::bad_request(format!("invalid query string: {err}")).into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _req| {
        ApiError::not_found(format!("invalid path parameter: {err}")).into()
    })
}

/// An unknown path: an HTML page for a browser, the JSON error otherwise.
async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    if crate::pages::wants_html(&req) {
        return Ok(crate::pages::not_found(&req));
    }
    Err(ApiError::not_found(format!(
        "no route {} {}",
        req.method(),
        req.path()
    )))
}

/// Turns any error response that is not already JSON (from actix itself:
/// 405, payload errors, ...) into the one error shape.
fn json_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let message = status.canonical_reason().unwrap_or("error");
    let api = ApiError::new(status, code, message);
    let (req, _) = res.into_parts();
    let res = ServiceResponse::new(req, api.error_response()).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

/// The content security policy of every response: only this site's own
/// scripts, styles, images and forms; no inline script, no plug-ins, never
/// framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// With `secure_cookies`: browsers keep to HTTPS for this host for a year.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Headers every response carries, errors and 404s included: the content
/// security policy, no MIME sniffing, no framing, and no full URL (which
/// may hold an invite code) sent to other sites as the referrer; when the
/// service is reached over HTTPS only, Strict-Transport-Security too.
fn security_headers(https_only: bool) -> actix_web::middleware::DefaultHeaders {
    use actix_web::http::header;
    let headers = actix_web::middleware::DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"));
    if https_only {
        headers.add((header::STRICT_TRANSPORT_SECURITY, STRICT_TRANSPORT_SECURITY))
    } else {
        headers
    }
}
