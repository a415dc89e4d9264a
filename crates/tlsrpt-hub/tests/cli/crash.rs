//! Crash safety: SIGKILL the importer at a random moment; the database must open cleanly and
//! hold only whole reports, and a rerun must finish the job.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tlsrpt_core::extract::Limits;
use tlsrpt_core::read::read_reports;
use tlsrpt_core::report::dedup_key;

use crate::{corpus, gzip, hub, run, stderr, with_store};

const REPORTS: usize = 3000;
const APPENDIX_B_ID: &str = "5065427c-23d3-47ca-b6e0-946ea0e8c4be";

/// Distinct reports (Appendix B with a fresh report-id each), half of them gzipped.
fn write_reports(dir: &Path) {
    let template = std::fs::read_to_string(corpus("rfc8460-appendix-b.json")).unwrap();
    for i in 0..REPORTS {
        let json = template.replace(APPENDIX_B_ID, &format!("crash-{i}"));
        if i % 2 == 0 {
            std::fs::write(dir.join(format!("{i:05}.json")), json).unwrap();
        } else {
            std::fs::write(dir.join(format!("{i:05}.json.gz")), gzip(json.as_bytes())).unwrap();
        }
    }
}

fn random_delay() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Duration::from_millis(50 + u64::from(nanos % 1500))
}

#[test]
fn killed_import_leaves_only_whole_reports_and_a_rerun_completes() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    write_reports(&dir);
    let db = work.path().join("hub.db");

    let mut child = hub()
        .args([
            "--db",
            db.to_str().unwrap(),
            "import",
            dir.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let delay = random_delay();
    std::thread::sleep(delay);
    child.kill().unwrap();
    child.wait().unwrap();

    let stored = with_store(&db, async |store| {
        store
            .check_integrity()
            .await
            .unwrap_or_else(|e| panic!("killed after {delay:?}: {e}"));
        let counts = store.counts().await.unwrap();
        assert_eq!(counts.submissions, counts.reports, "one report per file");
        assert_eq!(counts.policies, counts.reports, "every report whole");
        assert_eq!(
            counts.failure_details,
            3 * counts.reports,
            "every report whole"
        );
        assert_all_stored_reports_are_whole(store).await;
        counts.reports
    });
    eprintln!("killed after {delay:?} with {stored} of {REPORTS} reports stored");

    let rerun = run(&[
        "--db",
        db.to_str().unwrap(),
        "import",
        dir.to_str().unwrap(),
    ]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let counts = with_store(&db, async |store| {
        store.check_integrity().await.unwrap();
        store.counts().await.unwrap()
    });
    assert_eq!(counts.reports, REPORTS as u64);
    assert_eq!(counts.duplicates_seen, stored);
}

/// Each stored report equals what its own stored raw bytes parse to.
async fn assert_all_stored_reports_are_whole(store: &tlsrpt_store::Store) {
    let mut after = None;
    loop {
        let page = store.submissions(after, 500).await.unwrap();
        let Some(last) = page.last() else { return };
        after = Some(last.id);
        for submission in page {
            let read = read_reports(&submission.raw, &Limits::default())
                .unwrap()
                .remove(0)
                .unwrap();
            let stored = store
                .report_by_dedup_key(&dedup_key(&read.parsed.report))
                .await
                .unwrap()
                .expect("a stored submission has its report");
            assert_eq!(stored.parsed, read.parsed);
        }
    }
}
