//! `tlsrpt-hub alerts`: alerts from the command line.

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
    #[command(flatten)]
    State(StateCommand),
}

pub fn run(config: &Config, args: AlertsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AlertsCommand::State(command) => alert_state::run(config, command),
    }
}
