//! Two `tlsrpt-hub serve` processes on one PostgreSQL: stored reports per second over HTTP.
//!
//! Starts a throwaway PostgreSQL cluster (tests/support/pg.rs of tlsrpt-store, fsync on, the
//! server's defaults otherwise), two release receivers with `pool_max_connections` each, and
//! `clients` threads with one keep-alive connection each, alternating between the receivers.
//! Every report is distinct (report-id, policy domain among 500, day among 60), built from a
//! real Google report (two failure details), so every POST stores one report and commits one
//! transaction. Counts 201 answers and checks the stored count in PostgreSQL afterwards.
//! A one-shot wall-clock measurement, like the import benchmark.
//!
//! `cargo bench -p tlsrpt-hub --bench serve_postgres -- [reports] [clients] [pool]`
//! (defaults 30000, 32, 16). `bench/postgres.sh` runs it. `TLSRPT_HUB_BIN` names another
//! `tlsrpt-hub` binary to run as the receivers (a release build made elsewhere), so the
//! harness itself may be built in any profile.

#[path = "../../tlsrpt-store/tests/support/pg.rs"]
mod pg;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const TEMPLATE: &str =
    include_str!("../../../tests/fixtures/corpus/google-2024-validation-failure.json");

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(|a| a.parse::<usize>().expect("numeric argument"));
    let total = args.next().unwrap_or(30_000);
    let clients = args.next().unwrap_or(32);
    let pool = args.next().unwrap_or(16);

    let cluster = pg::Cluster::start_with(|_| {
        std::env::var("BENCH_PG_ARGS")
            .map(|a| a.split(' ').map(str::to_owned).collect())
            .unwrap_or_default()
    });
    let url = cluster.fresh_database();
    let database = format!("{url}?pool_max_connections={pool}");
    let receivers = [Receiver::start(&database), Receiver::start(&database)];
    let bodies = reports(total);
    let postgres_cpu_before = cpu_seconds(cluster.server_pid());

    let next = AtomicUsize::new(0);
    let stored = AtomicUsize::new(0);
    let other = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..clients {
            let port = receivers[client % 2].port;
            let (next, stored, other, bodies) = (&next, &stored, &other, &bodies);
            scope.spawn(move || {
                let mut connection = Connection::open(port);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    match connection.post(body) {
                        201 => stored.fetch_add(1, Ordering::Relaxed),
                        _ => other.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
    });
    let wall = started.elapsed();
    let in_database: usize = psql(&cluster, &url, "SELECT count(*) FROM reports")
        .parse()
        .unwrap_or(0);
    if std::env::var_os("BENCH_PG_STATEMENTS").is_some() {
        println!("{}", psql(&cluster, &url, STATEMENTS));
    }
    let receivers_cpu: f64 = receivers.iter().map(|r| cpu_seconds(r.child.id())).sum();
    for receiver in receivers {
        receiver.stop();
    }
    // After the receivers' connections closed: the postmaster has reaped their backends.
    std::thread::sleep(Duration::from_millis(500));
    let postgres_cpu = cpu_seconds(cluster.server_pid()) - postgres_cpu_before;
    let stored = stored.load(Ordering::Relaxed);
    let per_report_ms = |cpu: f64| cpu * 1000.0 / stored.max(1) as f64;
    println!(
        "reports {total}  clients {clients}  pool {pool}/receiver  wall {:.2} s  \
         stored {stored} ({:.0} reports/s)  other answers {}  rows in PostgreSQL {in_database}\n\
         CPU per stored report: receivers {:.2} ms, PostgreSQL {:.2} ms \
         (two dedicated cores would sustain about {:.0} reports/s)  load average {}",
        wall.as_secs_f64(),
        stored as f64 / wall.as_secs_f64(),
        other.load(Ordering::Relaxed),
        per_report_ms(receivers_cpu),
        per_report_ms(postgres_cpu),
        2.0 * stored as f64 / (receivers_cpu + postgres_cpu),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim(),
    );
    assert_eq!(in_database, stored, "every 201 is a stored row");
    assert_eq!(stored, total, "every distinct report stored");
}

/// Distinct reports, one per POST.
fn reports(n: usize) -> Vec<Vec<u8>> {
    let template: serde_json::Value = serde_json::from_str(TEMPLATE).unwrap();
    (0..n)
        .map(|i| {
            let mut report = template.clone();
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                + chrono::Days::new((i % 60) as u64);
            report["report-id"] = format!("bench-{i}").into();
            report["date-range"]["start-datetime"] = format!("{day}T00:00:00Z").into();
            report["date-range"]["end-datetime"] = format!("{day}T23:59:59Z").into();
            report["policies"][0]["policy"]["policy-domain"] =
                format!("customer{}.example", i % 500).into();
            serde_json::to_vec(&report).unwrap()
        })
        .collect()
}

/// User and system CPU time of a process and of its reaped children
/// (`/proc/PID/stat` fields 14 to 17, in clock ticks of 1/100 s on Linux).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11..15]
        .iter()
        .map(|f| f.parse::<u64>().unwrap())
        .sum();
    ticks as f64 / 100.0
}

/// With `BENCH_PG_STATEMENTS` set (and `BENCH_PG_ARGS="-c shared_preload_libraries=pg_stat_statements"`):
/// where PostgreSQL spent its time, statement by statement.
const STATEMENTS: &str = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; \
    SELECT calls, round(total_plan_time::numeric, 0) AS plan_ms, \
    round(total_exec_time::numeric, 0) AS exec_ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) \
    FROM pg_stat_statements ORDER BY total_plan_time + total_exec_time DESC LIMIT 12";

/// The output of one psql command on the benchmark's database.
fn psql(cluster: &pg::Cluster, url: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &cluster.port().to_string(),
            "-U",
            "postgres",
        ])
        .args(["-tAc", sql])
        .arg(url.rsplit('/').next().expect("a database name"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

struct Receiver {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn start(database: &str) -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("hub.toml");
        std::fs::write(
            &config,
            format!(
                "database = {database:?}\nunknown_domains = \"accept\"\n[http]\n\
                 listen = \"127.0.0.1:{port}\"\n\
                 rate_limit = {{ per_minute = 6000000, burst = 1000000 }}\n"
            ),
        )
        .unwrap();
        let bin = std::env::var_os("TLSRPT_HUB_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_tlsrpt-hub").into());
        let mut child = Command::new(bin)
            .args(["-v", "serve", "--config"])
            .arg(&config)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut log = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while !line.contains("serving;") {
            line.clear();
            assert!(log.read_line(&mut line).unwrap() > 0, "serve exited");
        }
        // Keep draining the log so the receiver never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        Receiver {
            child,
            port,
            _dir: dir,
        }
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    fn open(port: u16) -> Connection {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Connection {
            stream: BufReader::new(stream),
        }
    }

    /// The answer's status; the body is read and dropped.
    fn post(&mut self, body: &[u8]) -> u16 {
        let head = format!(
            "POST /v1/tlsrpt HTTP/1.1\r\nHost: bench\r\nContent-Type: application/tlsrpt+json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut sink = vec![0; length];
        self.stream.read_exact(&mut sink).unwrap();
        status_line.split(' ').nth(1).unwrap().parse().unwrap()
    }
}
