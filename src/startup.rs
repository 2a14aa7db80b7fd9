//! Building and running the app, the same way in `main` and in tests:
//! `App::build` binds (port 0 in tests) and migrates; `run_until_stopped`
//! serves HTTP and runs the job workers until the shutdown future completes.

use crate::app::Ctx;
use crate::clock::Clock;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::slack::SlackApi;
use crate::transport::http;
use crate::{jobs, store};
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How the app runs; the defaults are what `warroom serve` does.
#[derive(Clone, Debug)]
pub struct Options {
    /// Run the job workers and the reminder scheduler. Tests turn this off
    /// to leave work pending, as a process that died right after its ack
    /// would.
    pub workers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { workers: true }
    }
}

pub struct App {
    ctx: Arc<Ctx>,
    options: Options,
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    /// Tells the HTTP servers (already serving) to stop accepting and drain.
    stop_http: tokio::sync::watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<usize>>,
    /// Socket Mode: opens the connections to Slack.
    socket: Option<crate::transport::socket::Opener>,
}

/// Opens the database and applies migrations (`warroom migrate`).
pub async fn migrate(settings: &Settings) -> anyhow::Result<store::DynStore> {
    let store = connect(settings).await?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store)
}

async fn connect(settings: &Settings) -> anyhow::Result<store::DynStore> {
    store::connect(&settings.database_url)
        .await
        .with_context(|| "cannot open the database at `database_url`".to_string())
}

async fn bind(addr: SocketAddr, key: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (`{key}`)"))
}

impl App {
    /// Checks the template, opens the database, binds `listen` (and
    /// `admin_listen`) and starts serving at once, so `/healthz` and
    /// `/readyz` answer while migrations run (`/readyz` is 503 and Slack's
    /// routes answer 503 until they are applied). Returns once migrated.
    pub async fn build(settings: Settings, clock: Clock, options: Options) -> anyhow::Result<App> {
        let secrets = settings.require_slack()?.clone();
        let postmortems =
            crate::postmortem::Postmortems::load(settings.postmortem.template.as_deref())?;
        let store = connect(&settings).await?;
        let slack = SlackApi::new(
            &settings.slack_api_url,
            &secrets.bot_token,
            settings.slack_rate_control,
            settings.slack_call_timeout,
            clock.clone(),
            // Slack's limits are per app: replicas on one PostgreSQL
            // database pace together through it; one SQLite process alone.
            (!settings.database_url.starts_with("sqlite:"))
                .then(|| -> Arc<dyn crate::db::SharedPace> { store.clone() }),
        )
        .context("cannot set up the Slack client (TLS roots)")?;
        let socket = match &secrets.app_token {
            Some(app_token) => Some(
                crate::transport::socket::Opener::new(
                    &settings.slack_api_url,
                    app_token,
                    settings.slack_call_timeout,
                )
                .context("cannot set up the Socket Mode client (TLS roots)")?,
            ),
            None => None,
        };
        let listener = bind(settings.listen, "listen").await?;
        let admin_listener = match settings.admin_listen {
            Some(addr) => Some(bind(addr, "admin_listen").await?),
            None => None,
        };
        let addr = listener.local_addr().unwrap_or(settings.listen);
        let admin_addr = admin_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .or(settings.admin_listen);
        let grace = settings.shutdown_grace;
        let metrics = Metrics::new(slack.telemetry());
        let ctx = Arc::new(Ctx {
            settings,
            signing_secret: secrets.signing_secret.filter(|_| socket.is_none()),
            store,
            slack,
            clock,
            wake: Notify::new(),
            quiet: crate::app::Quiet::default(),
            metrics,
            postmortems,
            readiness: crate::readiness::Readiness::default(),
        });
        ctx.readiness.set_socket_mode(socket.is_some());
        let (stop_http, stop_rx) = tokio::sync::watch::channel(false);
        let mut servers = Vec::new();
        let public = match admin_listener {
            Some(admin) => {
                servers.push(tokio::spawn(crate::transport::server::serve(
                    admin,
                    http::admin_router(ctx.clone()),
                    http::HEADER_READ_TIMEOUT,
                    stop_rx.clone(),
                    grace,
                )));
                http::public_router(ctx.clone())
            }
            None => http::router(ctx.clone()),
        };
        servers.push(tokio::spawn(crate::transport::server::serve(
            listener,
            public,
            http::HEADER_READ_TIMEOUT,
            stop_rx,
            grace,
        )));
        // Dropping `stop_http` on an early return stops the servers.
        ctx.store
            .migrate()
            .await
            .context("cannot apply migrations")?;
        // The outbox records deliveries for the endpoints configured now
        // (and a 410's endpoint is enabled again).
        ctx.store
            .sync_endpoints(&crate::webhooks::filters(&ctx.settings))
            .await
            .context("cannot record the webhook endpoints")?;
        ctx.readiness.set_migrated(true);
        // Logged once ready: scripts and tests wait for this line.
        match admin_addr {
            Some(admin) => tracing::info!(addr = %addr, admin = %admin, "warroom is listening"),
            None => tracing::info!(addr = %addr, "warroom is listening"),
        }
        Ok(App {
            ctx,
            options,
            addr,
            admin_addr,
            stop_http,
            servers,
            socket,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the admin routes are served, when `admin_listen` is set.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    pub fn ctx(&self) -> Arc<Ctx> {
        self.ctx.clone()
    }

    /// Runs the workers until `shutdown` completes; then stops accepting,
    /// lets requests in flight finish for at most `shutdown_grace`, and
    /// stops the workers within what is left of it (at least a second).
    /// Unfinished jobs resume at the next start.
    pub async fn run_until_stopped(
        mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let socket_stop = stop_rx.clone();
        if self.ctx.settings.alerts.may_declare() {
            // An alert that declares needs the bot's user id (the
            // declarer): asked once now, not while a sender waits.
            let ctx = self.ctx.clone();
            tokio::spawn(async move {
                if let Err(e) = ctx.slack.bot_user_id().await {
                    tracing::warn!(error = %e, "auth.test failed; alerts will ask again when they declare");
                }
            });
        }
        let workers = if self.options.workers {
            let released = self.ctx.store.release_stale_jobs().await?;
            if released > 0 {
                tracing::info!(
                    jobs = released,
                    "resuming jobs a previous run left unfinished"
                );
            }
            vec![
                tokio::spawn(crate::reminders::run(self.ctx.clone(), stop_rx.clone())),
                tokio::spawn(crate::reminders::run_pruner(
                    self.ctx.clone(),
                    stop_rx.clone(),
                )),
                tokio::spawn(crate::webhooks::run(self.ctx.clone(), stop_rx.clone())),
                tokio::spawn(jobs::run_workers(self.ctx.clone(), stop_rx)),
            ]
        } else {
            Vec::new()
        };
        // Socket Mode: Slack's deliveries come over the sockets, beside the
        // workers; HTTP still serves /healthz, /readyz and /metrics.
        let ctx = self.ctx.clone();
        let socket = self
            .socket
            .take()
            .map(|opener| tokio::spawn(crate::transport::socket::run(ctx, opener, socket_stop)));
        shutdown.await;
        let grace = self.ctx.settings.shutdown_grace;
        let deadline = tokio::time::Instant::now() + grace;
        let _ = self.stop_http.send(true);
        let mut failed = None;
        for server in self.servers {
            if let Err(e) = server.await {
                failed = Some(e);
            }
        }
        let _ = stop_tx.send(true);
        if let Some(s) = socket
            && tokio::time::timeout(std::time::Duration::from_secs(10), s)
                .await
                .is_err()
        {
            tracing::warn!("Socket Mode connections did not close in time");
        }
        // Workers get what is left of the grace, and at least a second to
        // notice the stop between two jobs.
        let deadline =
            deadline.max(tokio::time::Instant::now() + std::time::Duration::from_secs(1));
        let aborts: Vec<_> = workers.iter().map(|w| w.abort_handle()).collect();
        let stopped = tokio::time::timeout_at(deadline, async {
            for w in workers {
                let _ = w.await;
            }
        })
        .await;
        if stopped.is_err() {
            for a in aborts {
                a.abort();
            }
            tracing::warn!(
                "job workers did not stop within shutdown_grace; unfinished jobs resume at next start"
            );
        }
        match failed {
            Some(e) => Err(anyhow::Error::new(e).context("HTTP server failed")),
            None => Ok(()),
        }
    }
}
