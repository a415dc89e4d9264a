//! A real TLS-RPT sender: `tlsrpt-reporter` 0.6.0 (PyPI; the reporter Postfix ≥ 3.10 uses),
//! installed by `scripts/test` into `target/tlsrpt-reporter-venv`. Its collector gets a day
//! of SMTP sessions as datagrams on its unix socket (what Postfix sends), a development
//! rollover (SIGUSR2) makes that day "yesterday", and its report daemon delivers: over HTTPS
//! with its own curl command to `tlsrpt-hub serve` (trusting the test CA), and by mail
//! through `sendmail_script`, which is `tlsrpt-hub ingest-mail` — the pipe an MTA would run.
//! Both reports must be stored with exactly the counts and failures fed in.
//! (Facts about the reporter: /work/shared/REAL-SENDER.md.)

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tlsrpt_core::extract::Limits;
use tlsrpt_core::read::read_reports;
use tlsrpt_core::report::{Report, dedup_key};
use tlsrpt_store::Origin;

use crate::serve_http::{Server, self_signed};
use crate::with_store;

const ORGANIZATION: &str = "Example Sender Mail";
const CONTACT: &str = "tlsrpt-noreply@sender.example";

fn reporter(program: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/tlsrpt-reporter-venv/bin")
        .join(program);
    assert!(
        path.exists(),
        "{} missing: scripts/test installs tlsrpt-reporter 0.6.0 there",
        path.display()
    );
    path
}

/// A reporter daemon, killed by pid when the test ends.
struct Daemon(Child);

impl Daemon {
    fn start(program: &str, config: &Path, dir: &Path) -> Daemon {
        let child = Command::new(reporter(program))
            .arg("--config_file")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{program}.stderr"))).unwrap())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {program}: {error}"));
        Daemon(child)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every log of the reporter's daemons in `dir` and of `serve`, for failure messages: a red
/// run in CI must say which side failed.
fn logs(dir: &Path, server: &Server) -> String {
    let mut text = String::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "log" || extension == "stderr")
        })
        .collect();
    names.sort();
    for path in names {
        let content = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!("==> {} <==\n{content}\n", path.display()));
    }
    text + "==> serve.log <==\n" + &server.log()
}

fn wait_for(
    what: &str,
    timeout: Duration,
    mut done: impl FnMut() -> bool,
    logs: impl Fn() -> String,
) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{what}:\n{}", logs());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn log_count(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(needle)
        .count()
}

/// One SMTP session to `domain` under an MTA-STS policy, as Postfix reports it: `failure`
/// is (code, sending IP, MX host, receiving IP).
fn session(domain: &str, rua: &str, failure: Option<(u32, &str, &str, &str)>) -> String {
    let details = match failure {
        Some((code, sending, mx, receiving)) => format!(
            r#""failure-details":[{{"c":{code},"s":"{sending}","n":"{mx}","r":"{receiving}"}}],"t":1,"f":1"#
        ),
        None => r#""t":0,"f":0"#.to_owned(),
    };
    format!(
        r#"{{"dpv":"1","d":"{domain}","pr":"v=TLSRPTv1; rua={rua}","policies":[{{"policy-type":2,"policy-domain":"{domain}","policy-string":["version: STSv1","mode: testing","mx: *.{domain}","max_age: 86400"],"mx-host":["*.{domain}"],{details}}}]}}"#
    )
}

/// A report reduced to what the sessions determine, for comparison.
fn summary(report: &Report) -> String {
    let mut lines = vec![format!(
        "{} <{}>",
        report.organization_name.as_deref().unwrap_or("-"),
        report.contact_info.as_deref().unwrap_or("-")
    )];
    for result in &report.policies {
        lines.push(format!(
            "{} {} ok={} failed={}",
            result.policy.policy_type.as_str(),
            result.policy.policy_domain.as_deref().unwrap_or("-"),
            result.summary.total_successful_session_count,
            result.summary.total_failure_session_count
        ));
        let mut details: Vec<String> = result
            .failure_details
            .iter()
            .map(|detail| {
                format!(
                    "  {} {} -> {} {} x{}",
                    detail.result_type.as_str(),
                    detail
                        .sending_mta_ip
                        .as_ref()
                        .map_or("-".to_owned(), ToString::to_string),
                    detail.receiving_mx_hostname.as_deref().unwrap_or("-"),
                    detail
                        .receiving_ip
                        .as_ref()
                        .map_or("-".to_owned(), ToString::to_string),
                    detail.failed_session_count
                )
            })
            .collect();
        details.sort();
        lines.extend(details);
    }
    lines.join("\n")
}

#[test]
fn tlsrpt_reporter_delivers_over_https_and_by_mail_and_both_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "hub");
    let domains = "[[domains]]\nname = \"example.net\"\n[[domains]]\nname = \"example.org\"\n";
    let server = Server::start_in(
        dir,
        &format!("tls_cert = {cert:?}\ntls_key = {key:?}"),
        domains,
    );
    let hub_config = server.dir.path().join("hub.toml");
    let rua_https = format!("https://127.0.0.1:{}/v1/tlsrpt", server.port);

    let work = tempfile::tempdir().unwrap();
    let at = |name: &str| work.path().join(name);
    let config = at("tlsrpt.cfg");
    let socket = at("collectd.sock");
    let collectd_log = at("collectd.log");
    let reportd_log = at("reportd.log");
    let sendmail = format!(
        "{} ingest-mail --db {} --config {}",
        env!("CARGO_BIN_EXE_tlsrpt-hub"),
        server.db().display(),
        hub_config.display()
    );
    // Flush-left INI; `http_script` gets `--fail` (else HTTP errors count as delivered) and
    // the test CA. `%` would need doubling: there is none.
    std::fs::write(
        &config,
        format!(
            "[tlsrpt_collectd]
storage = sqlite://{collectd_db}
socketname = {socket}
sockettimeout = 1
logfilename = {collectd_log}
pidfilename = {collectd_pid}
log_level = debug

[tlsrpt_fetcher]
storage = sqlite://{collectd_db}
logfilename = {fetcher_log}

[tlsrpt_reportd]
dbname = {reportd_db}
logfilename = {reportd_log}
pidfilename = {reportd_pid}
log_level = debug
organization_name = {ORGANIZATION}
contact_info = {CONTACT}
sender_address = {CONTACT}
fetchers = {fetcher} --config_file {config}
http_script = curl --silent --fail --cacert {cert} --header 'Content-Type: application/tlsrpt+gzip' --data-binary @-
sendmail_script = {sendmail}
spread_out_delivery = 1
interval_main_loop = 5
",
            collectd_db = at("collectd.sqlite").display(),
            socket = socket.display(),
            collectd_log = collectd_log.display(),
            collectd_pid = at("collectd.pid").display(),
            fetcher_log = at("fetcher.log").display(),
            reportd_db = at("reportd.sqlite").display(),
            reportd_log = reportd_log.display(),
            reportd_pid = at("reportd.pid").display(),
            fetcher = reporter("tlsrpt-fetcher").display(),
            config = config.display(),
            cert = cert.display(),
        ),
    )
    .unwrap();

    let collectd = Daemon::start("tlsrpt-collectd", &config, work.path());
    // At start it rolls over once "for initialization": two databases set up.
    wait_for(
        "collectd ready",
        Duration::from_secs(30),
        || log_count(&collectd_log, "setup finished") >= 2 && socket.exists(),
        || logs(work.path(), &server),
    );

    // The day: example.net (rua https) 40 good sessions, 3 to mx1 with an expired
    // certificate, 2 to mx2 without STARTTLS; example.org (rua mailto) 20 good, 1 name
    // mismatch.
    let mut sessions = Vec::new();
    let net_failures = [
        (204, "192.0.2.1", "mx1.example.net", "198.51.100.7"),
        (201, "192.0.2.2", "mx2.example.net", "198.51.100.8"),
    ];
    sessions.extend((0..40).map(|_| session("example.net", &rua_https, None)));
    sessions.extend((0..3).map(|_| session("example.net", &rua_https, Some(net_failures[0]))));
    sessions.extend((0..2).map(|_| session("example.net", &rua_https, Some(net_failures[1]))));
    let mailto = "mailto:tlsrpt@example.org";
    sessions.extend((0..20).map(|_| session("example.org", mailto, None)));
    sessions.push(session(
        "example.org",
        mailto,
        Some((202, "192.0.2.3", "mx.example.org", "203.0.113.9")),
    ));
    let sender = UnixDatagram::unbound().unwrap();
    for datagram in &sessions {
        sender.send_to(datagram.as_bytes(), &socket).unwrap();
    }
    wait_for(
        "collectd committed the sessions",
        Duration::from_secs(30),
        || log_count(&collectd_log, &format!("({} total)", sessions.len())) > 0,
        || logs(work.path(), &server),
    );
    let status = Command::new("kill")
        .args(["-USR2", &collectd.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for(
        "collectd rolled the day over",
        Duration::from_secs(30),
        || log_count(&collectd_log, "setup finished") >= 3,
        || logs(work.path(), &server),
    );

    let reportd = Daemon::start("tlsrpt-reportd", &config, work.path());
    wait_for(
        "both reports delivered",
        Duration::from_secs(90),
        || log_count(&reportd_log, "succeeded in run") >= 2,
        || logs(work.path(), &server),
    );
    // reportd counts the mail delivered once it has handed it to `ingest-mail`, which may
    // still be committing: wait for both reports to be in the store.
    let db = server.db();
    wait_for(
        "both reports stored",
        Duration::from_secs(30),
        || with_store(&db, async |store| store.counts().await.unwrap().reports) >= 2,
        || logs(work.path(), &server),
    );
    drop(reportd);
    drop(collectd);
    let all_logs = logs(work.path(), &server);
    assert!(server.log().contains("status=201"), "{all_logs}");
    assert!(
        !std::fs::read_to_string(&reportd_log)
            .unwrap()
            .contains("failed in run"),
        "{all_logs}"
    );

    let stopped = server.stop();
    let stored = with_store(&stopped.0.path().join("hub.db"), async |store| {
        let mut stored = Vec::new();
        for submission in store.submissions(None, 100).await.unwrap() {
            for read in read_reports(&submission.raw, &Limits::default()).unwrap() {
                let read = read.unwrap();
                let report = store
                    .report_by_dedup_key(&dedup_key(&read.parsed.report))
                    .await
                    .unwrap()
                    .expect("the submission's report is stored");
                stored.push((submission.origin, report));
            }
        }
        stored
    });
    assert_eq!(stored.len(), 2, "{stored:?}");
    let report_for = |origin: Origin| {
        &stored
            .iter()
            .find(|(o, _)| *o == origin)
            .unwrap_or_else(|| panic!("no {origin:?} report: {stored:?}"))
            .1
    };
    let https = report_for(Origin::Http);
    assert_eq!(
        summary(&https.parsed.report),
        format!(
            "{ORGANIZATION} <{CONTACT}>\nsts example.net ok=40 failed=5\n  \
             certificate-expired 192.0.2.1 -> mx1.example.net 198.51.100.7 x3\n  \
             starttls-not-supported 192.0.2.2 -> mx2.example.net 198.51.100.8 x2"
        )
    );
    assert!(
        https
            .parsed
            .report
            .report_id
            .as_deref()
            .unwrap()
            .ends_with("_idx1_example.net"),
        "{https:?}"
    );
    let mailed = report_for(Origin::Pipe);
    assert_eq!(
        summary(&mailed.parsed.report),
        format!(
            "{ORGANIZATION} <{CONTACT}>\nsts example.org ok=20 failed=1\n  \
             certificate-host-mismatch 192.0.2.3 -> mx.example.org 203.0.113.9 x1"
        )
    );
    // The mail's own headers came along (RFC 8460 §5.3).
    let message = mailed.message.as_ref().expect("message metadata");
    assert!(
        format!("{message:?}").contains("sender.example"),
        "{message:?}"
    );
}
