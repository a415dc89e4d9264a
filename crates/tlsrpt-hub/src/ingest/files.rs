//! Files, directories, Maildir folders, mbox files and standard input.
//!
//! Which files to read is decided here; what they contain is sniffed by the core crate.
//! Directories are walked recursively, in the order given by [`WalkOrder`]. Inside a
//! Maildir, `tmp/` holds messages still being delivered and is skipped (Maildir spec:
//! readers only look at `new/` and `cur/`). Dot-files are skipped; dot-directories are not,
//! because Maildir++ sub-folders are named `.Folder`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::Utc;
use thiserror::Error;
use tlsrpt_core::extract::{ContainerKind, MboxSplitter, sniff};
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
    from_reader(std::io::stdin().lock(), "stdin", Origin::Stdin)
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
    match std::fs::File::open(path) {
        Ok(file) => from_reader(BufReader::new(file), &name, Origin::File),
        Err(error) => Box::new(std::iter::once(Err(InputError {
            source_name: name,
            error,
        }))),
    }
}

/// One input's submissions: the whole input, or each message of an mbox (named `NAME#N`,
/// 1-based), read one message at a time so that a mailbox export of any size is never held
/// in memory whole.
fn from_reader(
    mut reader: impl BufRead + 'static,
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
    let error = |name: &str, error| InputError {
        source_name: name.to_owned(),
        error,
    };
    // "From " decides whether this is an mbox (`sniff`); the rest needs no look-ahead.
    let mut head = Vec::new();
    if let Err(e) = reader.by_ref().take(5).read_to_end(&mut head) {
        return Box::new(std::iter::once(Err(error(name, e))));
    }
    let mut reader = std::io::Cursor::new(head).chain(reader);
    if sniff(reader.get_ref().0.get_ref()) != ContainerKind::Mbox {
        let mut raw = Vec::new();
        let read = reader.read_to_end(&mut raw).map(|_| raw);
        return Box::new(std::iter::once(
            read.map(|raw| submission(raw, name.to_owned()))
                .map_err(|e| error(name, e)),
        ));
    }
    let name = name.to_owned();
    let mut splitter = Some(MboxSplitter::default());
    let mut line = Vec::new();
    let mut count = 0;
    Box::new(std::iter::from_fn(move || {
        // Ended: by the end of the input, or by a read error already reported.
        splitter.as_ref()?;
        let message = loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break splitter.take()?.finish()?,
                Ok(_) => {
                    if let Some(message) = splitter.as_mut()?.line(&line) {
                        break message;
                    }
                }
                Err(e) => {
                    splitter = None;
                    return Some(Err(error(&name, e)));
                }
            }
        };
        count += 1;
        Some(Ok(submission(message, format!("{name}#{count}"))))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out at most three bytes per read, like a slow pipe, then optionally fails.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        fail_at_end: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.at == self.data.len() && self.fail_at_end {
                return Err(std::io::Error::other("disk went away"));
            }
            let n = buf.len().min(3).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn read_all(data: &str, fail_at_end: bool) -> Vec<Result<(String, String), String>> {
        let trickle = Trickle {
            data: data.as_bytes().to_vec(),
            at: 0,
            fail_at_end,
        };
        from_reader(BufReader::with_capacity(4, trickle), "in", Origin::Stdin)
            .map(|item| {
                item.map(|s| (s.source_name, String::from_utf8(s.raw).unwrap()))
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    #[test]
    fn an_mbox_read_in_small_pieces_gives_each_message() {
        let mbox = "From a Thu Jan  1 00:00:00 1970\nSubject: one\n\n>From here\n\n\
                    From b Thu Jan  1 00:00:00 1970\nSubject: two\n\nbody\n";
        assert_eq!(
            read_all(mbox, false),
            [
                Ok(("in#1".into(), "Subject: one\n\nFrom here\n".into())),
                Ok(("in#2".into(), "Subject: two\n\nbody\n".into())),
            ]
        );
    }

    #[test]
    fn other_input_is_one_submission_whatever_its_size() {
        assert_eq!(
            read_all("{\"x\": 1}\n", false),
            [Ok(("in".into(), "{\"x\": 1}\n".into()))]
        );
        assert_eq!(read_all("Fr", false), [Ok(("in".into(), "Fr".into()))]);
        assert_eq!(read_all("", false), [Ok(("in".into(), String::new()))]);
    }

    #[test]
    fn a_read_error_inside_an_mbox_ends_it_with_the_error() {
        let got = read_all("From a\nA: b\n\nFrom b\nC: d\n", true);
        assert_eq!(got[0], Ok(("in#1".into(), "A: b\n".into())));
        assert_eq!(got[1], Err("in: disk went away".into()));
        assert_eq!(got.len(), 2);
    }
}
