//! Commands that work on the store: `migrate`, `users add|list|disable|enable|passwd`,
//! `invites create`.

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
    /// List the accounts: id, username, role, province, enabled or disabled.
    List {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Disable an account: it can no longer sign in.
    Disable(Account),
    /// Enable a disabled account again.
    Enable(Account),
    /// Set an account's password, read from standard input (one line).
    Passwd(Account),
}

/// The account a `users` command acts on.
#[derive(Debug, clap::Args)]
pub struct Account {
    #[command(flatten)]
    db: DatabaseArgs,
    /// User name.
    #[arg(long)]
    username: String,
}

impl Account {
    /// The store and the named account (an unknown name is an error).
    fn find(&self) -> anyhow::Result<(Store, users::User)> {
        let store = self.db.open()?;
        let user = users::by_username(&mut *store.conn()?, &self.username)?
            .with_context(|| format!("no account named {:?}", self.username))?;
        Ok((store, user))
    }
}

/// Records what the command line did to an account.
fn audit_cli(store: &Store, action: &str, user: &users::User) -> anyhow::Result<()> {
    literacy_store::audit::record_action(
        &mut *store.conn()?,
        Some("cli"),
        action,
        &format!("user:{}", user.id),
        serde_json::json!({ "username": user.username }),
    )?;
    Ok(())
}

/// One line of standard input: a password.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    Ok(password.trim_end_matches(['\n', '\r']).to_owned())
}

/// Runs `literacy users add|list|disable|enable|passwd`.
pub fn users(command: &UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Add {
            db,
            username,
            role,
            province,
        } => {
            let role = parse_role(role, *province)?;
            let password = read_password()?;
            let store = db.open()?;
            let mut conn = store.conn()?;
            let user = users::create(&mut conn, username, &password, role)?;
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
        UsersCommand::List { db } => {
            let store = db.open()?;
            for u in users::list(&mut *store.conn()?)? {
                let province = match u.role {
                    Role::Uploader { province } => province.to_string(),
                    _ => "-".to_owned(),
                };
                let state = if u.disabled { "disabled" } else { "enabled" };
                println!(
                    "{}\t{}\t{}\t{province}\t{state}",
                    u.id,
                    u.username,
                    u.role.name()
                );
            }
            Ok(())
        }
        UsersCommand::Disable(account) | UsersCommand::Enable(account) => {
            let disable = matches!(command, UsersCommand::Disable(_));
            let (store, user) = account.find()?;
            users::set_disabled(&mut *store.conn()?, user.id, disable)?;
            let (action, done) = if disable {
                ("user.disable", "disabled")
            } else {
                ("user.enable", "enabled")
            };
            audit_cli(&store, action, &user)?;
            eprintln!("{done} {}", user.username);
            Ok(())
        }
        UsersCommand::Passwd(account) => {
            let password = read_password()?;
            let (store, user) = account.find()?;
            users::set_password(&mut *store.conn()?, user.id, &password)?;
            audit_cli(&store, "user.password", &user)?;
            eprintln!("password of {} changed", user.username);
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
        /// Days the codes stay usable (default: the store's 90).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        expires_in_days: Option<u16>,
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
            expires_in_days,
        } => {
            let store = db.open()?;
            let mut conn = store.conn()?;
            let Some(r) = rounds::by_code(&mut conn, round)? else {
                bail!("there is no round {round:?}");
            };
            let expires_at = expires_in_days
                .map(|d| literacy_store::now_ms() + i64::from(d) * 24 * 60 * 60 * 1000);
            let codes = invites::create_codes(
                &mut conn,
                r.id,
                *count,
                province.map(i32::from),
                expires_at,
            )?;
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
