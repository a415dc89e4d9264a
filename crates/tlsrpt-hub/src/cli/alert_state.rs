//! `tlsrpt-hub alerts list|ack|mute`: the alert state in the store, from the command line
//! (the same actions as the dashboard and `/api/v1/alerts`).

use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{Subcommand, ValueEnum};
use tlsrpt_store::{AlertState, Store};

use crate::alerts::actions::{self, AlertView, Selection};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List open alerts, most recent first (--all: resolved ones too).
    List {
        /// Resolved alerts too.
        #[arg(long)]
        all: bool,
        /// Only this policy domain's.
        #[arg(long, value_name = "DOMAIN")]
        domain: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Acknowledge an alert: someone is on it, so no reminders are sent.
    Ack {
        id: i64,
        /// Who acknowledges [default: $USER].
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Mute an alert: it stays open (and visible) but sends no notices, resolved included.
    Mute {
        id: i64,
        /// How long: 30m, 12h, 7d, 2w; 0d unmutes.
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(config: &Config, command: StateCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open(&config.database)
            .await
            .with_context(|| format!("opening database {}", config.redacted_database()))?;
        let result = act(&store, command).await;
        store.close().await?;
        result
    })
}

async fn act(store: &Store, command: StateCommand) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    match command {
        StateCommand::List {
            all,
            domain,
            format,
            limit,
        } => {
            let selection = Selection {
                state: (!all).then_some(AlertState::Open),
                domain: domain.map(|d| d.trim_end_matches('.').to_ascii_lowercase()),
                limit,
                ..Default::default()
            };
            let alerts = actions::list(store, &selection, now).await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&alerts)?),
                Format::Text if alerts.is_empty() => {
                    println!("{}", if all { "No alerts." } else { "No open alerts." })
                }
                Format::Text => alerts.iter().for_each(|a| println!("{}", line(a))),
            }
        }
        StateCommand::Ack { id, by } => {
            let by = by
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "cli".to_owned());
            let alert = actions::acknowledge(store, id, &by, now).await?;
            println!("acknowledged by {by}: {}", line(&alert));
        }
        StateCommand::Mute { id, duration } => {
            let duration = actions::parse_duration(&duration).map_err(anyhow::Error::msg)?;
            let alert = actions::mute(store, id, duration, now).await?;
            match alert.stored.muted_until {
                Some(until) => println!(
                    "muted until {}: {}",
                    until.format("%Y-%m-%d %H:%M UTC"),
                    line(&alert)
                ),
                None => println!("unmuted: {}", line(&alert)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `#12  critical  open  example.com  certificate-failure  since 2026-03-11 09:00  [acked, muted]  title`.
fn line(alert: &AlertView) -> String {
    let s = &alert.stored;
    let mut flags = Vec::new();
    if let Some(by) = &s.acknowledged_by {
        flags.push(format!("acknowledged by {by}"));
    }
    if alert.muted {
        flags.push("muted".to_owned());
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!("  [{}]", flags.join(", "))
    };
    format!(
        "#{:<5} {:<8} {:<8} {}  {}  since {}{flags}  {}",
        s.id,
        s.severity,
        s.state.as_str(),
        s.domain,
        s.rule,
        s.opened_at.format("%Y-%m-%d %H:%M"),
        alert.title()
    )
}
