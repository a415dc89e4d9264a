//! `tlsrpt-hub alerts`: alert channels and alerts from the command line.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::alert_state::{self, StateCommand};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a sample alert (an expired certificate at mx1.example.com, marked TEST) through
    /// one [[channels]] entry of the config file, once, and say whether it was accepted.
    Test {
        /// The channel's `name` in the config file.
        #[arg(long, value_name = "NAME")]
        channel: String,
    },
    #[command(flatten)]
    State(StateCommand),
}

pub fn run(config: &Config, args: AlertsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AlertsCommand::State(command) => alert_state::run(config, command),
        AlertsCommand::Test { channel } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(crate::notify::send_test(config, &channel))?;
            println!("sent a test alert through channel {channel:?}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
