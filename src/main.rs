//! `literacy`: the command line of the civic science-literacy engine.
//!
//! A thin binary over the library crates: it reads arguments and files,
//! calls `literacy-core` to compute, and writes results.

mod backup;
mod demo;
mod demo_round;
mod estimate;
mod estimate_pv;
mod instrument_file;
mod irt;
mod microdata;
mod progress;
mod reading;
mod score;
mod serve;
mod simulate;
mod store_cli;
mod telemetry;

use std::process::ExitCode;

/// mimalloc rather than the system allocator (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// Civic science-literacy survey engine.
#[derive(Debug, Parser)]
#[command(name = "literacy", version, about)]
struct Cli {
    /// How log lines on stderr are written (`RUST_LOG` filters them;
    /// default `info`).
    #[arg(long, global = true, value_enum, default_value_t)]
    log_format: telemetry::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a round's answers and score them: the quickest look at the engine.
    Demo(demo::Args),
    /// Estimate a share or mean with design-based uncertainty, by domain.
    Estimate(Box<estimate::EstimateArgs>),
    /// Item response theory: calibrate item parameters, score respondents.
    Irt(irt::Args),
    /// Rake and trim survey weights.
    Weight(estimate::WeightArgs),
    /// Score an answer file under an instrument's qualification rule.
    Score(score::Args),
    /// Generate synthetic answers to an instrument.
    Simulate(simulate::Args),
    /// Run the survey service (JSON API and pages) over the store.
    Serve(serve::Args),
    /// Apply the store's pending migrations.
    Migrate(store_cli::DatabaseArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Users(store_cli::UsersCommand),
    /// Manage invite codes.
    #[command(subcommand)]
    Invites(store_cli::InvitesCommand),
    /// Write a consistent copy of the store to a file (online).
    Backup(backup::BackupArgs),
    /// Make a new store from a backup file.
    Restore(backup::RestoreArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = telemetry::init(cli.log_format) {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Estimate(args) => estimate::run_estimate(&args).map(|()| ExitCode::SUCCESS),
        Command::Irt(args) => irt::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Weight(args) => estimate::run_weight(&args).map(|()| ExitCode::SUCCESS),
        Command::Score(args) => score::run(&args),
        Command::Simulate(args) => simulate::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Serve(args) => serve::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Migrate(args) => store_cli::migrate(&args).map(|()| ExitCode::SUCCESS),
        Command::Users(command) => store_cli::users(&command).map(|()| ExitCode::SUCCESS),
        Command::Backup(args) => backup::backup(&args).map(|()| ExitCode::SUCCESS),
        Command::Restore(args) => backup::restore(&args).map(|()| ExitCode::SUCCESS),
        Command::Invites(command) => store_cli::invites(&command).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
