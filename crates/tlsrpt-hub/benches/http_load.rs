//! HTTP receiver benchmark (docs/PERFORMANCE.md, "HTTP receiver"): the release `serve` on
//! loopback, a fresh SQLite database in bench/out, and realistic gzip reports from
//! tlsrpt-synth (every one distinct, so every 201 is a new committed report).
//!
//! 1. throughput: `--connections` keep-alive clients send as fast as answers come back for
//!    `--seconds`; prints stored reports/s.
//! 2. fixed rate: `--rate` requests/s for `--fixed-seconds`, open loop (latency counts from
//!    the moment a request was due, so a stall is not hidden by sending later); prints p50,
//!    p99 and max, and samples the server's RSS every 10 s to show whether it stays flat.
//!
//! Then SIGTERM, and the database is opened to check that it holds exactly one report per
//! 201 and passes its integrity check: the 2xx really meant committed.
//!
//! `cargo bench -p tlsrpt-hub --bench http_load -- [--seconds 30] [--fixed-seconds 30]
//! [--rate 500] [--connections 16]`, or bench/http.sh.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Options {
    seconds: u64,
    fixed_seconds: u64,
    rate: u64,
    connections: usize,
}

impl Options {
    fn parse() -> Options {
        let mut options = Options {
            seconds: 30,
            fixed_seconds: 30,
            rate: 500,
            connections: 16,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || -> u64 {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{arg} needs a number"))
            };
            match arg.as_str() {
                "--seconds" => options.seconds = value(),
                "--fixed-seconds" => options.fixed_seconds = value(),
                "--rate" => options.rate = value(),
                "--connections" => options.connections = value() as usize,
                // cargo bench passes --bench to every bench target.
                "--bench" => {}
                other => panic!("unknown argument {other}"),
            }
        }
        options
    }
}

/// The server under test, killed if the benchmark panics.
struct Serve {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Serve {
    fn start(dir: &Path, db: &Path) -> Serve {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("http-bench.toml");
        std::fs::write(
            &config,
            format!(
                "database = {db:?}\nunknown_domains = \"accept\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
                 rate_limit = {{ per_minute = 1000000000, burst = 1000000000 }}\n"
            ),
        )
        .unwrap();
        let log = dir.join("http-bench-serve.log");
        let child = Command::new(env!("CARGO_BIN_EXE_tlsrpt-hub"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("NO_COLOR", "1")
            .stderr(std::fs::File::create(&log).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let serve = Serve { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(Instant::now() < deadline, "serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// User + system CPU seconds the server has used so far (/proc/PID/stat, USER_HZ = 100).
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "serve exited {status}: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    fn open(port: u16) -> Connection {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        stream.set_nodelay(true).unwrap();
        Connection {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// POSTs one gzip report and returns the status.
    fn post(&mut self, body: &[u8]) -> u16 {
        let head = format!(
            "POST /v1/tlsrpt HTTP/1.1\r\nHost: localhost\r\n\
             Content-Type: application/tlsrpt+gzip\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.writer.write_all(&request).unwrap();
        let mut status = 0;
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if status == 0 {
                status = line.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            } else if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut answer = vec![0; length];
        self.reader.read_exact(&mut answer).unwrap();
        status
    }
}

/// Distinct gzip reports handed out once each.
struct Reports {
    bodies: Vec<Vec<u8>>,
    next: AtomicUsize,
}

impl Reports {
    fn generate(count: usize) -> Reports {
        let started = Instant::now();
        let options = tlsrpt_synth::Options {
            count,
            gzip_ratio: 1.0,
            // Enough days and domains that no two reports share a dedup key.
            days: 365,
            ..tlsrpt_synth::Options::default()
        };
        let bodies: Vec<Vec<u8>> = options
            .corpus()
            .expect("corpus options")
            .map(|file| file.bytes)
            .collect();
        let bytes: usize = bodies.iter().map(Vec::len).sum();
        eprintln!(
            "generated {count} gzip reports ({:.1} MB, avg {} bytes) in {:.1} s",
            bytes as f64 / 1e6,
            bytes / count.max(1),
            started.elapsed().as_secs_f64()
        );
        Reports {
            bodies,
            next: AtomicUsize::new(0),
        }
    }

    fn take(&self) -> Option<&[u8]> {
        self.bodies
            .get(self.next.fetch_add(1, Ordering::Relaxed))
            .map(Vec::as_slice)
    }
}

#[derive(Default)]
struct Tally {
    created: usize,
    other: Vec<u16>,
    latencies: Vec<Duration>,
}

impl Tally {
    fn add(&mut self, status: u16) {
        if status == 201 {
            self.created += 1;
        } else {
            self.other.push(status);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.created += other.created;
        self.other.extend(other.other);
        self.latencies.extend(other.latencies);
    }
}

/// Closed loop: each connection sends its next report as soon as the last was answered.
fn throughput(serve: &Serve, reports: &Reports, options: &Options) -> Tally {
    let port = serve.port;
    let cpu_before = serve.cpu_seconds();
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let total = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..options.connections)
            .map(|_| {
                scope.spawn(|| {
                    let mut connection = Connection::open(port);
                    let mut tally = Tally::default();
                    while Instant::now() < deadline {
                        let Some(body) = reports.take() else { break };
                        tally.add(connection.post(body));
                    }
                    tally
                })
            })
            .collect();
        let mut total = Tally::default();
        for worker in workers {
            total.merge(worker.join().unwrap());
        }
        total
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = serve.cpu_seconds() - cpu_before;
    println!(
        "throughput: {} connections, {:.1} s: {} stored (201), {} other, {:.0} stored reports/s; \
         serve used {cpu:.1} CPU s ({:.0}% of one core, {:.0} reports per serve CPU second)",
        options.connections,
        elapsed,
        total.created,
        total.other.len(),
        total.created as f64 / elapsed,
        cpu / elapsed * 100.0,
        total.created as f64 / cpu.max(0.01)
    );
    total
}

/// Open loop at `rate`/s over `connections` keep-alive connections.
fn fixed_rate(serve: &Serve, reports: &Reports, options: &Options) -> Tally {
    let connections = options.connections.min(options.rate as usize).max(1);
    let interval = Duration::from_secs_f64(connections as f64 / options.rate as f64);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.fixed_seconds);
    let rss = Mutex::new(Vec::new());
    let total = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|index| {
                scope.spawn(move || {
                    let mut connection = Connection::open(serve.port);
                    let mut tally = Tally::default();
                    let mut due = started + interval.mul_f64(index as f64 / connections as f64);
                    while due < deadline {
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        let Some(body) = reports.take() else { break };
                        tally.add(connection.post(body));
                        tally.latencies.push(due.elapsed());
                        due += interval;
                    }
                    tally
                })
            })
            .collect();
        while Instant::now() < deadline {
            rss.lock()
                .unwrap()
                .push((started.elapsed().as_secs(), serve.rss_kib()));
            std::thread::sleep(Duration::from_secs(10).min(deadline - Instant::now()));
        }
        let mut total = Tally::default();
        for worker in workers {
            total.merge(worker.join().unwrap());
        }
        total
    });
    let mut latencies = total.latencies.clone();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "fixed rate: {} requests/s for {} s over {connections} connections: {} stored, {} other; \
         latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        options.rate,
        options.fixed_seconds,
        total.created,
        total.other.len(),
        percentile(0.50),
        percentile(0.99),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
    let series = rss.into_inner().unwrap();
    let line: Vec<String> = series
        .iter()
        .map(|(at, kib)| format!("{at}s:{:.1}", *kib as f64 / 1024.0))
        .collect();
    println!("serve RSS MB every 10 s: {}", line.join(" "));
    total
}

fn main() {
    let options = Options::parse();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/out");
    std::fs::create_dir_all(&out).unwrap();
    let db = out.join("http-bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    // Enough for 6,000/s in the throughput phase plus the fixed-rate phase.
    let count = (6000 * options.seconds + options.rate * options.fixed_seconds) as usize;
    let reports = Reports::generate(count);
    let serve = Serve::start(&out, &db);

    let mut total = throughput(&serve, &reports, &options);
    total.merge(fixed_rate(&serve, &reports, &options));
    assert!(
        reports.next.load(Ordering::Relaxed) < reports.bodies.len(),
        "ran out of distinct reports; the figures would include none-stored time"
    );
    serve.stop();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let counts = runtime.block_on(async {
        let store = tlsrpt_store::Store::open(db.to_str().unwrap())
            .await
            .unwrap();
        store.check_integrity().await.expect("integrity check");
        let counts = store.counts().await.unwrap();
        store.close().await.unwrap();
        counts
    });
    let other: std::collections::BTreeSet<u16> = total.other.iter().copied().collect();
    println!(
        "database after SIGTERM: {} reports for {} answers 201 (other statuses: {other:?}); integrity ok",
        counts.reports, total.created
    );
    assert_eq!(
        counts.reports as usize, total.created,
        "every 201 must be exactly one stored report"
    );
}
