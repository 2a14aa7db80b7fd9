use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use warroom::clock::Clock;
use warroom::config::{LogFormat, Settings, Sources};
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
    /// Try warroom without Slack: the real bot, a Slack simulator and a
    /// web page that plays Slack for you, in one process. No token needed.
    #[cfg(feature = "playground")]
    Playground {
        /// Where the page is served.
        #[arg(long, default_value = "127.0.0.1:3000", value_name = "ADDR")]
        listen: std::net::SocketAddr,
        /// Open the page in the default browser.
        #[arg(long)]
        open: bool,
        /// The bot's database (default: SQLite in a temporary folder,
        /// removed at exit).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        /// Serve the page on a non-loopback `--listen` and answer any Host
        /// name. The page has no login: anyone who reaches it drives the bot.
        #[arg(long)]
        allow_remote: bool,
        /// Run on a `--database` that already holds incidents or pending
        /// jobs (its jobs then run against the simulator, not Slack).
        #[arg(long, requires = "database")]
        reuse_database: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Check the installation: configuration, Slack token and scopes,
    /// announce channel, postmortem template. Exit 0 only when all pass.
    Check,
    /// Exit 0 when the local server's /healthz answers 200 (for container
    /// health checks).
    Healthcheck,
    /// Copy the SQLite database to PATH, consistently, while `serve` runs.
    Backup {
        /// The new file to write (must not exist).
        path: PathBuf,
    },
    /// Read API tokens (`Authorization: Bearer wr_…` on `/api/v1/…`).
    Token {
        #[command(subcommand)]
        action: TokenCmd,
    },
    /// Outgoing webhooks (`[[webhooks]]`).
    Webhooks {
        #[command(subcommand)]
        action: WebhooksCmd,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token named NAME and print it (once: only its SHA-256 is
    /// kept).
    Create {
        /// A name to know it by (`status-page`, `quarterly-report`).
        name: String,
        /// The token also sees private incidents.
        #[arg(long)]
        private: bool,
    },
    /// List the tokens: name, scope, created, last used.
    List,
    /// Revoke token NAME: it stops working at once.
    Revoke { name: String },
}

#[derive(Subcommand)]
enum WebhooksCmd {
    /// Send a signed `ping` event to endpoint NAME now, and print the
    /// status and the first bytes of its answer. Exit 0 on a 2xx.
    Test {
        /// The endpoint's `name` in `[[webhooks]]`.
        name: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
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

/// Logs go to stderr, as text or as one JSON object a line carrying the
/// fields of the spans around each event (incident, job id, kind, attempt).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARROOM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let loaded = Settings::load(Sources {
        file: cli.config.as_deref(),
        env: std::env::vars().collect(),
    });
    let settings = match (loaded, &cli.command) {
        (Ok(s), _) => s,
        // `check` reports a bad configuration as its first failed check.
        (Err(e), Cmd::Check) => {
            println!("{}", warroom::check::Line::failed_config(&e));
            anyhow::bail!("1 check(s) failed: see the ✗ line above");
        }
        (Err(e), _) => return Err(e.into()),
    };
    init_logging(settings.log.format);
    match cli.command {
        Cmd::Migrate => {
            startup::migrate(&settings).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Cmd::Check => {
            let lines = warroom::check::run(&settings).await;
            for line in &lines {
                println!("{line}");
            }
            let failed = lines.iter().filter(|l| !l.ok).count();
            if failed > 0 {
                anyhow::bail!("{failed} check(s) failed: see the ✗ lines above");
            }
            Ok(())
        }
        Cmd::Healthcheck => warroom::check::health(&settings)
            .await
            .map_err(|e| anyhow::anyhow!("unhealthy: {e}")),
        Cmd::Backup { path } => {
            let copied = warroom::backup::sqlite(&settings.database_url, &path).await?;
            println!(
                "backed up the database to {} ({} bytes, integrity ok)",
                copied.path.display(),
                copied.bytes
            );
            Ok(())
        }
        Cmd::Token { action } => token(&settings, action).await,
        Cmd::Webhooks {
            action: WebhooksCmd::Test { name },
        } => {
            let Some(endpoint) = settings.webhooks.iter().find(|e| e.name == name) else {
                let known: Vec<&str> = settings.webhooks.iter().map(|e| e.name.as_str()).collect();
                anyhow::bail!(
                    "no [[webhooks]] endpoint named `{name}` (configured: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                );
            };
            let answer = warroom::webhooks::ping(endpoint).await?;
            let first = String::from_utf8_lossy(&answer.body);
            println!("{} answered {}", endpoint.url, answer.status);
            if !first.trim().is_empty() {
                println!("{}", first.trim_end());
            }
            if !answer.status.is_success() {
                anyhow::bail!("the endpoint did not answer 2xx: deliveries to it would be retried");
            }
            Ok(())
        }
        #[cfg(feature = "playground")]
        Cmd::Playground {
            listen,
            open,
            database,
            allow_remote,
            reuse_database,
        } => {
            if allow_remote {
                eprintln!(
                    "warning: --allow-remote: the playground's page has no login; anyone who can reach {listen} drives the bot"
                );
            }
            let playground = warroom::playground::Playground::start(
                settings,
                warroom::playground::Options {
                    listen,
                    database,
                    allow_remote,
                    reuse_database,
                    settle_patience: None,
                },
            )
            .await?;
            println!("warroom playground: open {}", playground.url);
            println!("(Ctrl-C stops it)");
            if open {
                warroom::playground::open_in_browser(&playground.url);
            }
            playground.run_until_stopped(shutdown_signal()).await
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

/// `warroom token …`.
async fn token(settings: &Settings, action: TokenCmd) -> anyhow::Result<()> {
    let store = startup::migrate(settings).await?;
    let now = chrono::Utc::now();
    match action {
        TokenCmd::Create { name, private } => {
            let name = name.trim().to_string();
            if name.is_empty()
                || name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                anyhow::bail!("`{name}`: a token's name is 1 to 64 of a-z, A-Z, 0-9, - and _");
            }
            let (token, digest) = warroom::api::new_token()
                .map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
            if !store.create_token(&name, &digest, private, now).await? {
                anyhow::bail!(
                    "a token named `{name}` exists: revoke it first (warroom token revoke {name}) or pick another name"
                );
            }
            println!("{token}");
            eprintln!(
                "token `{name}` created{}; it is shown only now: keep it in your secret store",
                if private {
                    " (sees private incidents)"
                } else {
                    ""
                }
            );
            Ok(())
        }
        TokenCmd::List => {
            let tokens = store.tokens().await?;
            if tokens.is_empty() {
                println!("no tokens: create one with warroom token create NAME");
            }
            for t in tokens {
                println!(
                    "{}\t{}\tcreated {}\tlast used {}",
                    t.name,
                    if t.private { "private" } else { "public" },
                    t.created_at.format("%Y-%m-%d %H:%M UTC"),
                    t.last_used_at
                        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| "never".to_string())
                );
            }
            Ok(())
        }
        TokenCmd::Revoke { name } => {
            if store.revoke_token(&name).await? {
                println!("token `{name}` revoked");
                Ok(())
            } else {
                anyhow::bail!("no token named `{name}` (warroom token list shows them)")
            }
        }
    }
}
