//! Commands that work on the store: `migrate`, `users add`, `invites create`.

use std::io::BufRead;

use anyhow::{Context, bail};
use literacy_store::users::Role;
use literacy_store::{Store, invites, rounds, users};

/// Where the store is.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://FILE` or `postgres://...` (default:
    /// `DATABASE_URL`, else `sqlite://literacy.db`).
    #[arg(long)]
    pub database: Option<String>,
}

impl DatabaseArgs {
    /// The URL in force.
    pub fn url(&self) -> String {
        literacy_store::database_url(self.database.as_deref())
    }

    /// Opens the store and applies pending migrations.
    pub fn open(&self) -> anyhow::Result<Store> {
        let url = self.url();
        literacy_store::open_and_migrate(&url)
            .with_context(|| format!("opening the database {}", redact(&url)))
    }
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Runs `literacy migrate`.
pub fn migrate(args: &DatabaseArgs) -> anyhow::Result<()> {
    let url = args.url();
    let store = literacy_store::Store::open(&url)
        .with_context(|| format!("opening the database {}", redact(&url)))?;
    let applied = store.migrate()?;
    if applied.is_empty() {
        eprintln!("{}: up to date", redact(&args.url()));
    }
    for m in applied {
        eprintln!("applied {m}");
    }
    Ok(())
}

/// `literacy users ...`.
#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Add an account; the password is read from standard input (one line).
    Add {
        #[command(flatten)]
        db: DatabaseArgs,
        /// User name.
        #[arg(long)]
        username: String,
        /// admin, statistician or uploader.
        #[arg(long)]
        role: String,
        /// Province code of an uploader.
        #[arg(long)]
        province: Option<u16>,
    },
}

/// Runs `literacy users add`.
pub fn users(command: &UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Add {
            db,
            username,
            role,
            province,
        } => {
            let role = parse_role(role, *province)?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']);
            let store = db.open()?;
            let mut conn = store.conn()?;
            let user = users::create(&mut conn, username, password, role)?;
            literacy_store::audit::record(
                &mut conn,
                &literacy_store::audit::NewAuditEvent {
                    actor: Some("cli"),
                    action: "user.create",
                    target: Some(&format!("user:{}", user.id)),
                    detail: Some(serde_json::json!({
                        "username": user.username,
                        "role": role.name(),
                    })),
                },
            )?;
            eprintln!("added {} ({})", user.username, role.name());
            Ok(())
        }
    }
}

/// A role from its name, with the province an uploader needs.
pub fn parse_role(name: &str, province: Option<u16>) -> anyhow::Result<Role> {
    Ok(match (name, province) {
        ("admin", None) => Role::Admin,
        ("statistician", None) => Role::Statistician,
        ("uploader", Some(p)) => {
            if literacy_core::demographics::province(p).is_none() {
                bail!("--province {p}: not a GB/T 2260 province code");
            }
            Role::Uploader {
                province: i32::from(p),
            }
        }
        ("uploader", None) => bail!("an uploader needs --province"),
        ("admin" | "statistician", Some(_)) => bail!("only an uploader has a province"),
        (other, _) => bail!("--role {other:?}: expected admin, statistician or uploader"),
    })
}

/// `literacy invites ...`.
#[derive(Debug, clap::Subcommand)]
pub enum InvitesCommand {
    /// Create invite codes for sampled households; prints one per line.
    Create {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Round code, e.g. 2026.
        #[arg(long)]
        round: String,
        /// Number of codes.
        #[arg(long)]
        count: usize,
        /// Restrict the codes to one province.
        #[arg(long)]
        province: Option<u16>,
    },
}

/// Runs `literacy invites create`.
pub fn invites(command: &InvitesCommand) -> anyhow::Result<()> {
    match command {
        InvitesCommand::Create {
            db,
            round,
            count,
            province,
        } => {
            let store = db.open()?;
            let mut conn = store.conn()?;
            let Some(r) = rounds::by_code(&mut conn, round)? else {
                bail!("there is no round {round:?}");
            };
            let codes =
                invites::create_codes(&mut conn, r.id, *count, province.map(i32::from), None)?;
            let mut out = String::with_capacity(codes.len() * 12);
            for c in &codes {
                out.push_str(c);
                out.push('\n');
            }
            print!("{out}");
            eprintln!("{} codes created for round {round}", codes.len());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_hidden_in_database_urls() {
        assert_eq!(
            redact("postgres://lit:s3cret@db:5432/lit"),
            "postgres://lit:***@db:5432/lit"
        );
        assert_eq!(redact("postgres://lit@db/lit"), "postgres://lit@db/lit");
        assert_eq!(redact("sqlite://literacy.db"), "sqlite://literacy.db");
    }
}
