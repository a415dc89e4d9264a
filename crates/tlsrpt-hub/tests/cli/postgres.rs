//! Several `tlsrpt-hub serve` processes on one real PostgreSQL (a throwaway cluster, see
//! tlsrpt-store/tests/support/pg.rs): concurrent receipt of the same reports, PostgreSQL
//! restarting under load, and `migrate`/`prune` against it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tlsrpt_core::extract::Limits;
use tlsrpt_store::Store;

use crate::web::{Seeded, WebServer};
use crate::{corpus, hub, run, stderr, stdout};

#[path = "../../../tlsrpt-store/tests/support/pg.rs"]
mod pg;

/// A running `serve` on `database`, killed if the test fails first.
pub(crate) struct Receiver {
    child: Child,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl Receiver {
    pub(crate) fn start(database: &str) -> Receiver {
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
                 rate_limit = {{ per_minute = 600000, burst = 100000 }}\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
        let child = hub()
            .args(["-v", "serve", "--config"])
            .arg(&config)
            .env("NO_COLOR", "1")
            .stderr(log)
            .spawn()
            .unwrap();
        let mut receiver = Receiver { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !receiver.log().contains("serving;") {
            if let Some(status) = receiver.child.try_wait().unwrap() {
                panic!("serve exited ({status}):\n{}", receiver.log());
            }
            assert!(Instant::now() < deadline, "{}", receiver.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        receiver
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// SIGTERM and a clean exit.
    pub(crate) fn stop(mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exited {status}:\n{}", self.log());
        assert!(self.log().contains("database closed"), "{}", self.log());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs one report; the HTTP status, or 0 if the connection failed.
fn post(port: u16, body: &[u8]) -> u16 {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return 0;
    };
    let head = format!(
        "POST /v1/tlsrpt HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/tlsrpt+json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut answer = String::new();
    if stream.write_all(head.as_bytes()).is_err()
        || stream.write_all(body).is_err()
        || stream.read_to_string(&mut answer).is_err()
    {
        return 0;
    }
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A real report made unique by its report-id, and its dedup key.
fn report(id: &str) -> (Vec<u8>, String) {
    let mut json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(corpus("google-2024-validation-failure.json")).unwrap(),
    )
    .unwrap();
    json["report-id"] = id.into();
    let body = serde_json::to_vec(&json).unwrap();
    let reading = tlsrpt_core::read::read_reports(&body, &Limits::default()).unwrap();
    let parsed = &reading[0].as_ref().unwrap().parsed;
    (body, tlsrpt_core::report::dedup_key(&parsed.report))
}

fn with_store<T>(url: &str, check: impl AsyncFnOnce(&Store) -> T) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = Store::open(url).await.unwrap();
            let result = check(&store).await;
            store.close().await.unwrap();
            result
        })
}

/// Two receivers behind a (pretend) load balancer: every shared report is POSTed to both at
/// once, plus reports only one of them gets. Each report is stored exactly once, every other
/// receipt counted as a duplicate, and the rollups equal a recomputation from the detail rows.
#[test]
fn two_receivers_on_one_postgres_store_each_report_once() {
    let cluster = pg::Cluster::start();
    let url = cluster.fresh_database();
    let a = Receiver::start(&url);
    let b = Receiver::start(&url);
    let shared: Vec<_> = (0..80).map(|i| report(&format!("shared-{i}"))).collect();
    let statuses: Vec<Vec<u16>> = std::thread::scope(|scope| {
        let threads: Vec<_> = [(a.port, "a"), (b.port, "b"), (a.port, "a2"), (b.port, "b2")]
            .into_iter()
            .map(|(port, own)| {
                let shared = &shared;
                scope.spawn(move || {
                    let mut statuses = Vec::new();
                    for (i, (body, _)) in shared.iter().enumerate() {
                        statuses.push(post(port, body));
                        if i % 4 == 0 {
                            statuses.push(post(port, &report(&format!("{own}-only-{i}")).0));
                        }
                    }
                    statuses
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for status in statuses.iter().flatten() {
        assert!(
            matches!(status, 200 | 201),
            "{statuses:?}\n{}\n{}",
            a.log(),
            b.log()
        );
    }
    let created = statuses.iter().flatten().filter(|&&s| s == 201).count();
    assert_eq!(
        created,
        80 + 4 * 20,
        "each report stored by exactly one request"
    );
    a.stop();
    b.stop();
    with_store(&url, async |store| {
        let counts = store.counts().await.unwrap();
        assert_eq!(counts.reports, 160);
        assert_eq!(counts.submissions, 160);
        assert_eq!(counts.duplicates_seen, 3 * 80);
        for (_, key) in &shared {
            let stored = store.report_by_dedup_key(key).await.unwrap().unwrap();
            assert_eq!(stored.duplicate_count, 3);
        }
        store.check_integrity().await.unwrap();
        let before = store
            .daily_failure_rollups(&Default::default())
            .await
            .unwrap();
        store.rebuild_rollups().await.unwrap();
        assert_eq!(
            store
                .daily_failure_rollups(&Default::default())
                .await
                .unwrap(),
            before
        );
    });
}

/// PostgreSQL stops in the middle of a stream of POSTs and comes back: while it is down the
/// receiver answers 503 (the sender retries later), afterwards it stores again without a
/// restart of its own, and every report it acknowledged is in the database.
#[test]
fn postgres_restart_mid_load_loses_nothing_acknowledged() {
    let cluster = pg::Cluster::start();
    let url = cluster.fresh_database();
    let receiver = Receiver::start(&url);
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let port = receiver.port;
    let poster = {
        let stop = Arc::clone(&stop);
        let refused = Arc::clone(&refused);
        std::thread::spawn(move || {
            let mut answers = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let (body, key) = report(&format!("load-{i}"));
                let status = post(port, &body);
                if status == 503 {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
                answers.push((status, key));
                i += 1;
            }
            answers
        })
    };
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "{what}:\n{}", receiver.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    std::thread::sleep(Duration::from_millis(1500));
    cluster.stop();
    // Down until the receiver has answered 503 (a request may first wait out the pool's
    // acquire timeout), so the test does not depend on how long that takes.
    wait_for("a 503 while PostgreSQL is down", &|| {
        refused.load(Ordering::Relaxed) > 0
    });
    cluster.restart();
    // Load continues until the receiver stored again after the restart.
    let (body, _) = report("probe");
    wait_for("storing again after the restart", &|| {
        matches!(post(port, &body), 200 | 201)
    });
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    let answers = poster.join().unwrap();

    let acknowledged: Vec<&String> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, key)| key)
        .collect();
    let unavailable = answers.iter().filter(|(status, _)| *status == 503).count();
    let other: Vec<u16> = answers
        .iter()
        .map(|(status, _)| *status)
        .filter(|s| !matches!(s, 201 | 503))
        .collect();
    assert!(other.is_empty(), "only 201 or 503 expected: {other:?}");
    assert!(
        unavailable > 0,
        "PostgreSQL was down: some POSTs must get 503"
    );
    let first_503 = answers.iter().position(|(s, _)| *s == 503).unwrap();
    assert!(
        answers[first_503..].iter().any(|(s, _)| *s == 201),
        "stored again after the restart:\n{}",
        receiver.log()
    );
    receiver.stop();
    with_store(&url, async |store| {
        for key in &acknowledged {
            assert!(
                store.report_by_dedup_key(key).await.unwrap().is_some(),
                "acknowledged report {key} lost"
            );
        }
        let counts = store.counts().await.unwrap();
        assert!(counts.reports as usize >= acknowledged.len());
        store.check_integrity().await.unwrap();
    });
}

/// `migrate` copies a SQLite database the importer wrote into PostgreSQL, verifies the row
/// counts, and refuses a non-empty target; `prune` then applies retention there.
#[test]
fn migrate_copies_sqlite_into_postgres_and_prune_applies_retention() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let import = run(&[
        "--db",
        db.to_str().unwrap(),
        "import",
        corpus("").to_str().unwrap(),
    ]);
    assert!(
        import.status.success() || import.status.code() == Some(1),
        "{}",
        stderr(&import)
    );
    let sqlite_counts = with_store(db.to_str().unwrap(), async |s| s.counts().await.unwrap());
    assert!(sqlite_counts.reports >= 5);

    let cluster = pg::Cluster::start();
    let url = cluster.fresh_database();
    let migrate = run(&["migrate", "--from", db.to_str().unwrap(), "--to", &url]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    let out = stdout(&migrate);
    assert!(out.contains("row counts verified"), "{out}");
    let reports = sqlite_counts.reports.to_string();
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().eq(["reports", reports.as_str()])),
        "{out}"
    );
    assert_eq!(
        with_store(&url, async |s| s.counts().await.unwrap()),
        sqlite_counts
    );
    with_store(&url, async |s| s.check_integrity().await.unwrap());

    let again = run(&["migrate", "--from", db.to_str().unwrap(), "--to", &url]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));

    // Every corpus report is years old: a 30-day retention removes them all. Their raw
    // submissions were received today, so they stay until they are 30 days old themselves.
    let prune = run(&["--db", &url, "prune", "--older-than-days", "30"]);
    assert!(prune.status.success(), "{}", stderr(&prune));
    assert!(
        stdout(&prune).contains(&format!("Removed {} reports", sqlite_counts.reports)),
        "{}",
        stdout(&prune)
    );
    let counts = with_store(&url, async |s| s.counts().await.unwrap());
    assert_eq!(
        (counts.reports, counts.submissions),
        (0, sqlite_counts.submissions)
    );
    with_store(&url, async |s| s.check_integrity().await.unwrap());
}

/// The dashboard, the API and the exports served from PostgreSQL answer what they answer
/// from SQLite on the same reports. PostgreSQL gets them twice: copied by `migrate` (same
/// ids, so every answer must be the same bytes) and imported by its own writer (ids in its
/// own order, so the answers must agree once ids are left out).
#[test]
fn dashboard_api_and_exports_from_postgres_equal_sqlite() {
    let seeded = Seeded::new();
    let cluster = pg::Cluster::start();
    let copied = cluster.fresh_database();
    let migrate = run(&[
        "migrate",
        "--from",
        seeded.db().to_str().unwrap(),
        "--to",
        &copied,
    ]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    let imported = cluster.fresh_database();
    let corpus_dir = seeded.dir.path().join("corpus");
    let import = run(&["--db", &imported, "import", corpus_dir.to_str().unwrap()]);
    assert!(import.status.success(), "{}", stderr(&import));

    let sqlite = WebServer::start(&seeded, None);
    let copy = WebServer::start_on(&seeded, &copied, None);
    let own = WebServer::start_on(&seeded, &imported, None);
    let get = |server: &WebServer, path: &str| {
        let answer = server.get(path, &[]);
        assert_eq!(answer.status, 200, "{path}: {}", answer.text());
        answer.text()
    };

    let w = seeded.window();
    let domains = sqlite
        .get(&format!("/api/v1/domains?{w}&per_page=1000"), &[])
        .json();
    let domains: Vec<String> = domains["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap().to_owned())
        // Policies without a policy domain are listed as "", which has no page.
        .filter(|d| !d.is_empty())
        .collect();
    assert!(domains.len() >= 10, "{domains:?}");
    // Answers without report ids: the same from all three.
    let mut paths = vec![
        format!("/api/v1/domains?{w}&per_page=1000"),
        format!("/api/v1/domains?{w}&per_page=5&page=2&sort=failed&order=desc"),
        format!("/?{w}"),
    ];
    for domain in &domains {
        for api in ["", "/timeseries", "/breakdowns"] {
            paths.push(format!("/api/v1/domains/{domain}{api}?{w}"));
        }
        paths.push(format!("/domains/{domain}?{w}"));
    }
    let mut failed_sessions = 0;
    for path in &paths {
        let want = get(&sqlite, path);
        assert_eq!(get(&copy, path), want, "{path} (copied)");
        assert_eq!(get(&own, path), want, "{path} (imported)");
        if path.contains("/breakdowns?") {
            failed_sessions += want.matches("\"failed\"").count();
        }
    }
    assert!(
        failed_sessions > 0,
        "breakdowns with failures were compared"
    );

    // Answers naming report ids: the same bytes from the copy.
    let listing = sqlite.get("/api/v1/reports?limit=500", &[]).json();
    let ids: Vec<i64> = listing["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), seeded.reports.len());
    let mut paths = vec![
        "/api/v1/reports?limit=500".to_owned(),
        format!(
            "/api/v1/reports?limit=50&before={}&has_failures=true",
            ids[10]
        ),
        format!("/api/v1/reports?domain={}&limit=500", domains[0]),
        "/reports".to_owned(),
        "/api/v1/export/failures.csv".to_owned(),
        "/api/v1/export/policies.ndjson".to_owned(),
        format!("/api/v1/export/failures.ndjson?domain={}", domains[1]),
    ];
    for id in ids.iter().step_by(37) {
        paths.push(format!("/api/v1/reports/{id}"));
        paths.push(format!("/reports/{id}"));
    }
    for path in &paths {
        assert_eq!(get(&copy, path), get(&sqlite, path), "{path} (copied)");
    }

    // And, ids left out, from PostgreSQL's own writes.
    let without_ids = |server: &WebServer, path: &str| -> Vec<String> {
        let mut lines: Vec<String> = get(server, path)
            .lines()
            .map(|line| {
                let mut row: serde_json::Value = serde_json::from_str(line).unwrap();
                for key in ["id", "submission_id"] {
                    row.as_object_mut().unwrap().remove(key);
                }
                if let Some(report) = row.get_mut("report").and_then(|r| r.as_object_mut()) {
                    report.remove("report");
                }
                row.to_string()
            })
            .collect();
        lines.sort();
        lines
    };
    for path in [
        "/api/v1/export/failures.ndjson",
        "/api/v1/export/policies.ndjson",
    ] {
        let want = without_ids(&sqlite, path);
        assert!(want.len() > 100, "{path}");
        assert_eq!(without_ids(&own, path), want, "{path} (imported)");
    }
}
