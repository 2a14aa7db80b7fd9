//! Building and running the app, the same way in `main` and in tests:
//! `App::build` binds (port 0 in tests) and migrates; `run_until_stopped`
//! serves HTTP and runs the job workers until the shutdown future completes.

use crate::app::Ctx;
use crate::clock::Clock;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::slack::SlackApi;
use crate::{http, jobs, store};
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
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
    listener: TcpListener,
    ctx: Arc<Ctx>,
    options: Options,
}

/// Opens the database and applies migrations (`warroom migrate`).
pub async fn migrate(settings: &Settings) -> anyhow::Result<store::DynStore> {
    let store = store::connect(&settings.database_url)
        .await
        .with_context(|| "cannot open the database at `database_url`".to_string())?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store)
}

impl App {
    pub async fn build(settings: Settings, clock: Clock, options: Options) -> anyhow::Result<App> {
        let secrets = settings.require_slack()?.clone();
        if settings.socket_mode {
            anyhow::bail!(
                "SLACK_APP_TOKEN is set, but this version of warroom does not speak Socket Mode yet: unset it and give Slack the HTTPS URLs of /slack/* (see README)"
            );
        }
        let postmortems =
            crate::postmortem::Postmortems::load(settings.postmortem.template.as_deref())?;
        let store = migrate(&settings).await?;
        let slack = SlackApi::new(
            &settings.slack_api_url,
            &secrets.bot_token,
            settings.slack_rate_control,
            settings.slack_call_timeout,
            clock.clone(),
        )
        .context("cannot set up the Slack client (TLS roots)")?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {} (`listen`)", settings.listen))?;
        let ctx = Arc::new(Ctx {
            settings,
            signing_secret: secrets.signing_secret,
            store,
            slack,
            clock,
            wake: Notify::new(),
            metrics: Metrics::new(),
            postmortems,
        });
        Ok(App {
            listener,
            ctx,
            options,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.ctx.settings.listen)
    }

    pub fn ctx(&self) -> Arc<Ctx> {
        self.ctx.clone()
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let workers = if self.options.workers {
            let released = self.ctx.store.release_stale_jobs().await?;
            if released > 0 {
                tracing::info!(
                    jobs = released,
                    "resuming jobs a previous run left unfinished"
                );
            }
            let reminders = tokio::spawn(crate::reminders::run(self.ctx.clone(), stop_rx.clone()));
            let pruner = tokio::spawn(crate::reminders::run_pruner(
                self.ctx.clone(),
                stop_rx.clone(),
            ));
            let workers = tokio::spawn(jobs::run_workers(self.ctx.clone(), stop_rx));
            Some(async move {
                let _ = reminders.await;
                let _ = pruner.await;
                let _ = workers.await;
            })
        } else {
            None
        };
        tracing::info!(addr = %self.local_addr(), "warroom is listening");
        let served = axum::serve(self.listener, http::router(self.ctx.clone()))
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop_tx.send(true);
        if let Some(w) = workers
            && tokio::time::timeout(Duration::from_secs(15), w)
                .await
                .is_err()
        {
            tracing::warn!(
                "job workers did not stop in time; unfinished jobs resume at next start"
            );
        }
        served.context("HTTP server failed")
    }
}
