//! `literacy serve`: the survey service over the store, optionally with the
//! demo round, until stopped.

use anyhow::{Context, bail};
use rand::{RngCore, SeedableRng};

use crate::demo_round;
use crate::store_cli::{DatabaseArgs, redact};

/// Run the survey service.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    db: DatabaseArgs,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Create the demo round (a simulated national sample) and demo
    /// accounts, and print their credentials.
    #[arg(long)]
    demo: bool,
    /// Respondents simulated for the demo round.
    #[arg(long, default_value_t = demo_round::RESPONDENTS)]
    demo_respondents: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// The service is reached over HTTPS only (behind a TLS proxy): every
    /// cookie is marked Secure, whatever the request says, and every
    /// response carries Strict-Transport-Security.
    #[arg(long)]
    secure_cookies: bool,
}

/// Lifetime of staff tokens: 15 minutes.
const STAFF_TTL: u64 = 15 * 60;
/// Lifetime of a respondent's token: long enough to answer at leisure.
const RESPONDENT_TTL: u64 = 24 * 60 * 60;

/// The token secret: `LITERACY_JWT_SECRET` (shared by every replica), or a
/// random one for a single instance.
fn jwt_secret() -> anyhow::Result<Vec<u8>> {
    match std::env::var("LITERACY_JWT_SECRET") {
        Ok(s) if s.len() >= 32 => Ok(s.into_bytes()),
        Ok(_) => bail!("LITERACY_JWT_SECRET must have at least 32 characters"),
        Err(_) => {
            tracing::warn!(
                "LITERACY_JWT_SECRET is not set; using a random secret (tokens end with this process; replicas need one shared secret)"
            );
            let mut bytes = vec![0u8; 32];
            rand::rngs::StdRng::from_os_rng().fill_bytes(&mut bytes);
            Ok(bytes)
        }
    }
}

/// Runs `literacy serve`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let url = args.db.url();
    let config = literacy_web::Config {
        bind: args.bind.clone(),
        database_url: url.clone(),
        jwt_secret: jwt_secret()?,
        staff_token_ttl_secs: STAFF_TTL,
        respondent_token_ttl_secs: RESPONDENT_TTL,
        workers: args.workers,
        secure_cookies: args.secure_cookies,
    };
    let app = literacy_web::Application::build(config)
        .with_context(|| format!("starting the service on {}", redact(&url)))?;
    let host = match args.bind.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h) {
        // Every interface: the local one is where a browser here finds it.
        "0.0.0.0" => "127.0.0.1",
        "[::]" => "[::1]",
        host => host,
    };
    let base = format!("http://{host}:{}", app.port());
    if args.demo {
        tracing::info!(round = demo_round::ROUND, "seeding the demo round");
        let seeded = demo_round::seed(app.store(), args.demo_respondents)?;
        if seeded.responses > 0 {
            tracing::info!(
                round = demo_round::ROUND,
                responses = seeded.responses,
                "demo round: simulated responses stored"
            );
        }
        println!("demo accounts (passwords are new at every start):");
        for a in &seeded.accounts {
            println!("  {:<14} {:<14} {}", a.username, a.role, a.password);
        }
        println!("try:");
        println!(
            "  TOKEN=$(curl -s {base}/api/v1/auth/login -H 'content-type: application/json' -d '{{\"username\":\"statistician\",\"password\":\"{}\"}}' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')",
            seeded
                .accounts
                .iter()
                .find(|a| a.role == "statistician")
                .map_or("", |a| a.password.as_str())
        );
        println!(
            "  curl -s -H \"Authorization: Bearer $TOKEN\" '{base}/api/v1/rounds/{}/estimates?by=province'",
            demo_round::ROUND
        );
    }
    print_pages(&base, args.demo);
    tracing::info!(address = %base, database = %redact(&url), "listening");
    println!("listening on {base} (database {})", redact(&url));
    actix_web::rt::System::new()
        .block_on(app.run_until_stopped())
        .context("the service stopped")?;
    Ok(())
}

/// Prints the addresses of the pages: the front door and staff sign-in,
/// and with the demo round its questionnaire, dashboard and upload page.
fn print_pages(base: &str, demo: bool) {
    let round = demo_round::ROUND;
    let mut pages = vec![("front-door", format!("{base}/"))];
    if demo {
        pages.push(("questionnaire", format!("{base}/survey/{round}")));
    }
    pages.push(("sign-in", format!("{base}/login")));
    if demo {
        pages.extend([
            ("dashboard", format!("{base}/dashboard/{round}")),
            ("upload", format!("{base}/upload/{round}")),
        ]);
    }
    pages.push(("admin", format!("{base}/admin")));
    println!("pages (Chinese; add ?lang=en for English):");
    for (name, address) in pages {
        println!("  {name:<14} {address}");
    }
}
