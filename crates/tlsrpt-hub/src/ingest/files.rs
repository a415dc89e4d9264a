//! Files, directories, Maildir folders, mbox files and standard input.
//!
//! Which files to read is decided here; what they contain is sniffed by the core crate.
//! Directories are walked recursively, in the order given by [`WalkOrder`]. Inside a
//! Maildir, `tmp/` holds messages still being delivered and is skipped (Maildir spec:
//! readers only look at `new/` and `cur/`). Dot-files are skipped; dot-directories are not,
//! because Maildir++ sub-folders are named `.Folder`.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::Utc;
use thiserror::Error;
use tlsrpt_core::extract::{ContainerKind, sniff, split_mbox};
use tlsrpt_store::Origin;

use super::Submission;

/// An input that could not be read at all (missing file, permission denied, ...).
#[derive(Debug, Error)]
#[error("{source_name}: {error}")]
pub struct InputError {
    pub source_name: String,
    pub error: std::io::Error,
}

/// The argument that means standard input.
pub const STDIN: &str = "-";

/// In which order a directory's entries are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkOrder {
    /// Sorted by name, for output a person reads (`show`). Sorting holds every entry of a
    /// directory in memory first.
    ByName,
    /// As the filesystem lists them, one entry at a time: `import`'s memory stays flat
    /// however many files a directory holds (sorting 100,000 report files took about 20 MB
    /// and made the import grow with the corpus; docs/PERFORMANCE.md). What gets stored does
    /// not depend on the order.
    AsListed,
}

/// Every submission found under `args` (paths or `-`), lazily: one file in memory at a time.
pub fn submissions(
    args: &[String],
    order: WalkOrder,
) -> impl Iterator<Item = Result<Submission, InputError>> + '_ {
    args.iter()
        .flat_map(move |arg| -> Box<dyn Iterator<Item = _>> {
            if arg == STDIN {
                from_stdin()
            } else {
                Box::new(under_path(PathBuf::from(arg), order))
            }
        })
}

fn from_stdin() -> Box<dyn Iterator<Item = Result<Submission, InputError>>> {
    let mut raw = Vec::new();
    let read = std::io::stdin().lock().read_to_end(&mut raw);
    let result = read.map(|_| raw).map_err(|error| InputError {
        source_name: "stdin".into(),
        error,
    });
    split_if_mbox(result, "stdin", Origin::Stdin)
}

fn under_path(
    root: PathBuf,
    order: WalkOrder,
) -> impl Iterator<Item = Result<Submission, InputError>> {
    let walk = walkdir::WalkDir::new(&root).follow_links(true);
    let walk = match order {
        WalkOrder::ByName => walk.sort_by_file_name(),
        WalkOrder::AsListed => walk,
    };
    walk.into_iter()
        .filter_entry(|entry| !is_skipped(entry))
        .flat_map(|entry| -> Box<dyn Iterator<Item = _>> {
            match entry {
                Ok(entry) if entry.file_type().is_file() => from_file(entry.path()),
                Ok(_) => Box::new(std::iter::empty()),
                Err(error) => Box::new(std::iter::once(Err(walk_error(error)))),
            }
        })
}

/// Dot-files and Maildir `tmp/` folders are not reports to read.
fn is_skipped(entry: &walkdir::DirEntry) -> bool {
    if entry.depth() == 0 {
        return false;
    }
    let name = entry.file_name().to_string_lossy();
    if entry.file_type().is_dir() {
        name == "tmp" && entry.path().parent().is_some_and(is_maildir)
    } else {
        name.starts_with('.')
    }
}

fn is_maildir(dir: &Path) -> bool {
    ["cur", "new", "tmp"]
        .iter()
        .all(|sub| dir.join(sub).is_dir())
}

fn walk_error(error: walkdir::Error) -> InputError {
    let source_name = error
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let error = error
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("filesystem loop"));
    InputError { source_name, error }
}

fn from_file(path: &Path) -> Box<dyn Iterator<Item = Result<Submission, InputError>>> {
    let name = path.display().to_string();
    let result = std::fs::read(path).map_err(|error| InputError {
        source_name: name.clone(),
        error,
    });
    split_if_mbox(result, &name, Origin::File)
}

/// An mbox holds many messages, each its own submission (named `file#N`, 1-based).
fn split_if_mbox(
    raw: Result<Vec<u8>, InputError>,
    name: &str,
    origin: Origin,
) -> Box<dyn Iterator<Item = Result<Submission, InputError>>> {
    let received_at = Utc::now();
    let submission = move |raw, source_name| Submission {
        raw,
        origin,
        source_name,
        received_at,
    };
    match raw {
        Err(error) => Box::new(std::iter::once(Err(error))),
        Ok(raw) if sniff(&raw) == ContainerKind::Mbox => {
            let name = name.to_owned();
            let messages: Vec<Vec<u8>> = split_mbox(&raw).collect();
            Box::new(
                messages
                    .into_iter()
                    .enumerate()
                    .map(move |(i, message)| Ok(submission(message, format!("{name}#{}", i + 1)))),
            )
        }
        Ok(raw) => Box::new(std::iter::once(Ok(submission(raw, name.to_owned())))),
    }
}
