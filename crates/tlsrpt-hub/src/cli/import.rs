//! `tlsrpt-hub import`: store reports from files, streaming.
//!
//! Three stages so both cores work and memory stays flat however big the corpus is:
//! one reader thread walks and reads files, worker threads parse and compress
//! ([`pipeline::prepare`]), and the store's single writer commits batches. Bounded channels
//! between the stages keep at most a few hundred submissions in memory.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tlsrpt_core::extract::Limits;
use tlsrpt_store::{Import, PreparedSubmission, ReportOutcome, Store};
use tokio::sync::mpsc as async_mpsc;

use crate::config::Config;
use crate::ingest::Submission;
use crate::ingest::files::{self, InputError};
use crate::pipeline::{self, Prepared};

/// Submissions written per batch (one round of multi-row statements): large enough to
/// amortise the statements, small enough that a batch is well under a second of work.
const BATCH: usize = 2000;
/// Files read ahead of the parsing threads.
const QUEUE: usize = 512;
/// Prepared submissions waiting for the writer. The writer takes whatever has arrived, so
/// this also caps the batch size and the rows held in memory while the writer is busy.
const WRITE_QUEUE: usize = 1024;
/// Reports added to one transaction before it is committed. Every commit writes each page
/// the transaction touched; batches of reports read in directory (hash) order touch rollup
/// and index pages all over their trees, so committing every few batches instead of after
/// each one writes those pages once for several batches.
const COMMIT_REPORTS: u64 = 10_000;
/// ... or after this long, so a slow input (cold cache, network filesystem) still commits
/// regularly instead of holding everything in one transaction, and does not commit a
/// handful of reports at a time either.
const COMMIT_AFTER: Duration = Duration::from_secs(2);
/// How often plain progress lines are printed when stderr is not a terminal.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Write every rejected input to FILE, one `SOURCE<TAB>REASON` line each.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Parsing threads [default: number of CPUs].
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,

    /// Report files, e-mail messages, mbox files, Maildir folders or directories; `-` reads
    /// standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
}

/// Running totals, printed as the summary.
#[derive(Debug, Default)]
struct Tally {
    inputs: u64,
    stored: u64,
    duplicates: u64,
    rejected: Vec<(String, String)>,
}

/// What the workers hand to the writer.
enum Item {
    /// Parsed and converted to rows on the worker, so the writer only writes.
    Prepared {
        source_name: String,
        rows: Option<Box<PreparedSubmission>>,
        rejections: Vec<String>,
    },
    Unreadable(InputError),
}

/// The CPU half of one submission: parse, compress, and convert to rows.
fn prepare(submission: Submission, limits: &Limits) -> Item {
    let Prepared {
        source_name,
        new,
        rejections,
    } = pipeline::prepare(submission, limits);
    let mut rejections: Vec<String> = rejections.iter().map(ToString::to_string).collect();
    let rows = new.and_then(|new| {
        new.prepare()
            .map(Box::new)
            .map_err(|error| rejections.push(error.to_string()))
            .ok()
    });
    Item::Prepared {
        source_name,
        rows,
        rejections,
    }
}

pub fn run(config: &Config, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let jobs = args
        .jobs
        .or_else(|| thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .max(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = runtime
        .block_on(Store::open(&config.database))
        .with_context(|| format!("opening database {}", config.redacted_database()))?;
    let (items_tx, items_rx) = async_mpsc::channel(WRITE_QUEUE);
    let tally = thread::scope(|scope| {
        spawn_stages(scope, &args.paths, config.limits, jobs, items_tx);
        runtime.block_on(write_all(&store, items_rx))
    });
    runtime.block_on(store.close())?;
    let tally = tally?;
    print_summary(&tally)?;
    if let Some(path) = &args.rejects {
        write_rejects(path, &tally.rejected)?;
    }
    Ok(if tally.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Starts the reader thread and `jobs` parsing threads.
fn spawn_stages<'scope>(
    scope: &'scope thread::Scope<'scope, '_>,
    paths: &'scope [String],
    limits: Limits,
    jobs: usize,
    items: async_mpsc::Sender<Item>,
) {
    let (raw_tx, raw_rx) = mpsc::sync_channel::<Result<Submission, InputError>>(QUEUE);
    scope.spawn(move || {
        for submission in files::submissions(paths, files::WalkOrder::AsListed) {
            if raw_tx.send(submission).is_err() {
                break;
            }
        }
    });
    let raw_rx = Arc::new(Mutex::new(raw_rx));
    for _ in 0..jobs {
        let raw_rx = Arc::clone(&raw_rx);
        let items = items.clone();
        scope.spawn(move || {
            while let Some(submission) = next(&raw_rx) {
                let item = match submission {
                    Ok(submission) => prepare(submission, &limits),
                    Err(error) => Item::Unreadable(error),
                };
                if items.blocking_send(item).is_err() {
                    break;
                }
            }
        });
    }
}

fn next<T>(shared: &Mutex<mpsc::Receiver<T>>) -> Option<T> {
    shared.lock().ok()?.recv().ok()
}

/// The writer: batches prepared submissions into the import's transaction until the
/// workers are done, committing every [`COMMIT_REPORTS`] reports or [`COMMIT_AFTER`].
async fn write_all(store: &Store, mut items: async_mpsc::Receiver<Item>) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let mut progress = Progress::new();
    let mut import = store.import();
    let mut pending = Pending::default();
    let mut batch: Vec<PreparedSubmission> = Vec::with_capacity(BATCH);
    while let Some(item) = items.recv().await {
        tally.take(item, &mut batch);
        while batch.len() < BATCH {
            match items.try_recv() {
                Ok(item) => tally.take(item, &mut batch),
                Err(_) => break,
            }
        }
        pending.add(&mut import, &mut batch).await?;
        if pending.due() {
            pending.commit(&mut import, &mut tally).await?;
            progress.update(&tally);
        }
    }
    pending.commit(&mut import, &mut tally).await?;
    progress.finish();
    Ok(tally)
}

/// Outcomes added to the open transaction, counted once it commits.
#[derive(Default)]
struct Pending {
    stored: u64,
    duplicates: u64,
    since: Option<Instant>,
}

impl Pending {
    async fn add(
        &mut self,
        import: &mut Import<'_>,
        batch: &mut Vec<PreparedSubmission>,
    ) -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let outcomes = import
            .add(std::mem::take(batch))
            .await
            .context(NOT_STORED)?;
        self.since.get_or_insert_with(Instant::now);
        for report in outcomes.into_iter().flat_map(|outcome| outcome.reports) {
            match report {
                ReportOutcome::Stored { .. } => self.stored += 1,
                ReportOutcome::Duplicate { .. } => self.duplicates += 1,
            }
        }
        Ok(())
    }

    fn due(&self) -> bool {
        self.stored + self.duplicates >= COMMIT_REPORTS
            || self.since.is_some_and(|since| since.elapsed() >= COMMIT_AFTER)
    }

    async fn commit(&mut self, import: &mut Import<'_>, tally: &mut Tally) -> anyhow::Result<()> {
        import.commit().await.context(NOT_STORED)?;
        let pending = std::mem::take(self);
        tally.stored += pending.stored;
        tally.duplicates += pending.duplicates;
        Ok(())
    }
}

const NOT_STORED: &str =
    "storing reports (everything committed before this point is kept, the rest is not stored)";

impl Tally {
    /// Counts one item, queueing what is to be stored.
    fn take(&mut self, item: Item, batch: &mut Vec<PreparedSubmission>) {
        self.inputs += 1;
        match item {
            Item::Unreadable(error) => self.reject(error.source_name.clone(), &error.error),
            Item::Prepared {
                source_name,
                rows,
                rejections,
            } => {
                for rejection in &rejections {
                    self.reject(source_name.clone(), rejection);
                }
                batch.extend(rows.map(|rows| *rows));
            }
        }
    }

    fn reject(&mut self, source: String, reason: &dyn std::fmt::Display) {
        let reason = reason.to_string();
        tracing::info!(%source, %reason, "rejected");
        self.rejected.push((source, reason));
    }
}

/// A progress bar on a terminal, plain periodic lines otherwise.
enum Progress {
    Bar(indicatif::ProgressBar),
    Lines { last: Instant },
}

impl Progress {
    fn new() -> Self {
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} {pos} inputs ({per_sec}) {msg}",
                )
                .expect("static progress template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                last: Instant::now(),
            }
        }
    }

    fn update(&mut self, tally: &Tally) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(tally.inputs);
                bar.set_message(tally.counts());
            }
            Progress::Lines { last } if last.elapsed() >= PROGRESS_EVERY => {
                eprintln!("import: {} inputs, {}", tally.inputs, tally.counts());
                *last = Instant::now();
            }
            Progress::Lines { .. } => {}
        }
    }

    fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

impl Tally {
    fn counts(&self) -> String {
        format!(
            "{} stored, {} duplicates, {} rejected",
            self.stored,
            self.duplicates,
            self.rejected.len()
        )
    }
}

fn print_summary(tally: &Tally) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "Read {} inputs: {}.", tally.inputs, tally.counts())?;
    if !tally.rejected.is_empty() {
        writeln!(out, "Rejected:")?;
        for (source, reason) in &tally.rejected {
            writeln!(out, "  {source}: {reason}")?;
        }
    }
    Ok(())
}

fn write_rejects(path: &PathBuf, rejected: &[(String, String)]) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    for (source, reason) in rejected {
        writeln!(out, "{source}\t{reason}")?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))
}
