//! `tlsrpt-hub serve`: flags of the long-running receivers. The flags are folded into
//! [`Config`] by [`Config::resolve`]; the work is in [`crate::serve`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use tlsrpt_store::Store;

use crate::config::Config;
use crate::demo;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address the HTTP(S) receiver listens on [default: 127.0.0.1:8080, config http.listen].
    #[arg(long, env = "TLSRPT_HUB_HTTP_LISTEN", value_name = "ADDR:PORT")]
    pub http_listen: Option<SocketAddr>,

    /// TLS certificate chain (PEM); with --tls-key, serves HTTPS [config http.tls_cert].
    #[arg(
        long,
        env = "TLSRPT_HUB_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM: PKCS#8, PKCS#1 or SEC1) [config http.tls_key].
    #[arg(
        long,
        env = "TLSRPT_HUB_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Try it out: serve a separate demo database (tlsrpt-hub-demo.db unless --db names one),
    /// filled on first start with the bundled real-world sample reports and 60 days of
    /// generated reports for a dozen example domains. Reports about any domain are accepted.
    #[arg(long)]
    pub demo: bool,
}

pub fn run(config: Config, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if args.demo {
            seed_demo(&config).await?;
        }
        crate::serve::run(config).await
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn seed_demo(config: &Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database)
        .await
        .with_context(|| format!("opening demo database {}", config.database))?;
    let seeded = demo::seed(&store, Utc::now().date_naive()).await;
    store.close().await?;
    match seeded? {
        Some(seeded) => {
            for rejected in &seeded.rejected {
                tracing::warn!("demo input not stored: {rejected}");
            }
            eprintln!(
                "demo: stored {} reports in {}",
                seeded.reports, config.database
            );
        }
        None => eprintln!(
            "demo: {} already holds reports; not seeding",
            config.database
        ),
    }
    Ok(())
}
