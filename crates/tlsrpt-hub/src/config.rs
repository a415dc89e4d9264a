//! Configuration: TOML file, then environment, then flags — resolved once, before any command
//! runs, into a ready [`Config`].

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use tlsrpt_core::extract::Limits;

use crate::cli::Args;

/// The database used when neither `--db`, `TLSRPT_HUB_DB` nor the config file name one.
pub const DEFAULT_DATABASE: &str = "tlsrpt-hub.db";

/// Settings every command can rely on.
#[derive(Debug, Clone)]
pub struct Config {
    /// SQLite file path (or store URL).
    pub database: String,
    pub limits: Limits,
}

/// The config file's shape; see `config/tlsrpt-hub.example.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileConfig {
    database: Option<String>,
    #[serde(default)]
    limits: FileLimits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileLimits {
    max_decompressed_bytes: Option<u64>,
}

impl Config {
    /// Merges the config file (if any) with flags and environment (which win).
    pub fn resolve(args: &Args) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let max_decompressed = args
            .max_decompressed
            .or(file.limits.max_decompressed_bytes)
            .unwrap_or(Limits::default().max_decompressed);
        Ok(Config {
            database: args
                .db
                .clone()
                .or(file.database)
                .unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            limits: Limits { max_decompressed },
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_is_valid_and_states_the_defaults() {
        let example = include_str!("../../../config/tlsrpt-hub.example.toml");
        let file: FileConfig = toml::from_str(example).expect("example config parses");
        assert_eq!(file.database.as_deref(), Some(DEFAULT_DATABASE));
        assert_eq!(
            file.limits.max_decompressed_bytes,
            Some(Limits::default().max_decompressed)
        );
    }

    #[test]
    fn unknown_keys_are_errors_not_silently_ignored() {
        assert!(toml::from_str::<FileConfig>("databse = \"x.db\"").is_err());
    }
}
