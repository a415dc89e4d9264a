//! `tlsrpt-hub serve`: flags of the long-running receivers. The flags are folded into
//! [`Config`] by [`Config::resolve`]; the work is in [`crate::serve`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::config::Config;

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
}

pub fn run(config: Config) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(crate::serve::run(config))?;
    Ok(ExitCode::SUCCESS)
}
