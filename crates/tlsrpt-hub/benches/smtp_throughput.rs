//! SMTP receiver throughput (docs/PERFORMANCE.md): the release `tlsrpt-hub serve` with a
//! fresh SQLite database on loopback, 20 concurrent client connections each delivering its
//! share of generated report messages (tlsrpt-synth, wrapped as RFC 8460 §5.3 mail) one
//! after the other, MAIL/RCPT/DATA pipelined, waiting for each final `250` (given only once
//! the report is committed).
//!
//! Target: at least 300 messages/s. Run: `cargo bench -p tlsrpt-hub --bench smtp_throughput`
//! (MESSAGES=N and CONNECTIONS=N override the defaults, 6000 and 20).

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const TARGET_PER_SECOND: f64 = 300.0;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One generated report as a TLS-RPT message (RFC 8460 §5.3), dot-stuffed, CRLF ends.
fn message(file: &tlsrpt_synth::SynthFile) -> Vec<u8> {
    let report = &file.report;
    let domain = report
        .policies
        .first()
        .and_then(|p| p.policy.policy_domain.clone())
        .unwrap_or_default();
    let submitter = report
        .contact_info
        .as_deref()
        .and_then(|c| c.rsplit_once('@'))
        .map(|(_, d)| d.to_owned())
        .unwrap_or_default();
    let media = if file.file_name.ends_with(".gz") {
        "application/tlsrpt+gzip"
    } else {
        "application/tlsrpt+json"
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(&file.bytes);
    let mut body = String::new();
    for line in encoded.as_bytes().chunks(76) {
        body.push_str(std::str::from_utf8(line).unwrap());
        body.push_str("\r\n");
    }
    format!(
        "From: tlsrpt@{submitter}\r\nTo: tlsrpt@example.com\r\n\
         Subject: Report Domain: {domain} Submitter: {submitter} Report-ID: <{id}>\r\n\
         TLS-Report-Domain: {domain}\r\nTLS-Report-Submitter: {submitter}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nA TLS report.\r\n\
         --b\r\nContent-Type: {media}\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{body}--b--\r\n",
        id = report.report_id.as_deref().unwrap_or("none"),
        name = file.file_name,
    )
    .into_bytes()
}

async fn expect(reader: &mut BufReader<TcpStream>, code: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.expect("reading a reply");
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) != Some(&b'-') {
            return;
        }
    }
}

/// Delivers `messages` over one connection; returns each message's latency.
async fn client(port: u16, messages: Vec<Vec<u8>>) -> Vec<Duration> {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream);
    expect(&mut reader, "220").await;
    reader.get_mut().write_all(b"EHLO bench\r\n").await.unwrap();
    expect(&mut reader, "250").await;
    let mut latencies = Vec::with_capacity(messages.len());
    for message in messages {
        let started = Instant::now();
        let mut transaction = Vec::with_capacity(message.len() + 100);
        transaction.extend_from_slice(
            b"MAIL FROM:<tlsrpt@sender.example>\r\nRCPT TO:<tlsrpt@example.com>\r\nDATA\r\n",
        );
        reader.get_mut().write_all(&transaction).await.unwrap();
        expect(&mut reader, "250").await;
        expect(&mut reader, "250").await;
        expect(&mut reader, "354").await;
        transaction.clear();
        transaction.extend_from_slice(&message);
        transaction.extend_from_slice(b".\r\n");
        reader.get_mut().write_all(&transaction).await.unwrap();
        expect(&mut reader, "250").await;
        latencies.push(started.elapsed());
    }
    reader.get_mut().write_all(b"QUIT\r\n").await.unwrap();
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// User + system CPU seconds a process has used so far (Linux `/proc/PID/stat`): with
/// other work on the machine, wall-clock rates move, CPU per message much less.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = fields
        .get(11..13)
        .map(|t| t.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    // USER_HZ is 100 on Linux.
    ticks / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let count = env_or("MESSAGES", 6000);
    let connections = env_or("CONNECTIONS", 20);
    let messages: Vec<Vec<u8>> = tlsrpt_synth::corpus(8460, count)
        .map(|f| message(&f))
        .collect();
    let bytes: usize = messages.iter().map(Vec::len).sum();

    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http_port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = dir.path().join("bench.db");
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        format!(
            "database = {db:?}\nunknown_domains = \"accept\"\n\
             [http]\nlisten = \"127.0.0.1:{http_port}\"\n\
             [smtp]\nlisten = \"127.0.0.1:{port}\"\naddresses = [\"tlsrpt@example.com\"]\n"
        ),
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tlsrpt-hub"))
        .args(["serve", "--config"])
        .arg(&config)
        .stderr(Stdio::null())
        .spawn()
        .expect("starting tlsrpt-hub serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut shares: Vec<Vec<Vec<u8>>> = vec![Vec::new(); connections];
    for (i, message) in messages.into_iter().enumerate() {
        shares[i % connections].push(message);
    }
    let load_before = load_average();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = runtime.block_on(async {
        let tasks: Vec<_> = shares
            .into_iter()
            .map(|share| tokio::spawn(client(port, share)))
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all
    });
    let wall = started.elapsed().as_secs_f64();
    latencies.sort();
    let server_cpu = cpu_seconds(server.id());

    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    assert!(
        server.wait().unwrap().success(),
        "serve did not shut down cleanly"
    );
    let stored = runtime.block_on(async {
        let store = tlsrpt_store::Store::open(db.to_str().unwrap())
            .await
            .unwrap();
        let counts = store.counts().await.unwrap();
        store.close().await.unwrap();
        counts.reports
    });

    let rate = count as f64 / wall;
    println!(
        "smtp: {count} messages ({:.1} MB) over {connections} connections in {wall:.2} s: \
         {rate:.0} messages/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; stored {stored}",
        bytes as f64 / 1e6,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    println!(
        "server CPU: {server_cpu:.2} s ({:.2} ms per message; {:.0}% of one core while the \
         clients ran; load average before/after: {load_before} / {})",
        server_cpu * 1000.0 / count as f64,
        server_cpu * 100.0 / wall,
        load_average(),
    );
    println!(
        "target >= {TARGET_PER_SECOND} messages/s: {}",
        if rate >= TARGET_PER_SECOND {
            "met"
        } else {
            "MISSED"
        }
    );
    assert_eq!(stored, count as u64, "every 250 must be a stored report");
}
