use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use warroom::clock::Clock;
use warroom::config::{Settings, Sources};
use warroom::startup::{self, App, Options};

/// A self-hosted Slack bot that runs incidents in chat.
#[derive(Parser)]
#[command(name = "warroom", version, about)]
struct Cli {
    /// Configuration file (TOML). Default: warroom.toml in the working
    /// directory, if present. Environment variables override it.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the bot: apply migrations, serve Slack's requests, run jobs.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("warroom: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line: what went wrong and, through the context, which key.
            eprintln!("warroom: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(Sources {
        file: cli.config.as_deref(),
        env: std::env::vars().collect(),
    })?;
    match cli.command {
        Cmd::Migrate => {
            startup::migrate(&settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Cmd::Serve => {
            let app = App::build(settings, Clock::System, Options::default()).await?;
            app.run_until_stopped(shutdown_signal())
                .await
                .context("warroom stopped with an error")
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests; pending jobs resume at next start");
}
