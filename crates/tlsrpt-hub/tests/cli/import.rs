use std::path::Path;

use crate::{corpus, gzip, run, stderr, stdout, with_store};

/// A report-shaped message with no report in it.
const NOT_A_REPORT_MAIL: &str = "From: alice@example.net\r\nTo: tlsrpt@example.com\r\n\
Subject: hello\r\nMessage-ID: <1@example.net>\r\n\r\nJust saying hi, no report attached.\r\n";

/// Builds the mixed directory the issue describes; returns (dir, expected rejected names).
fn mixed_directory(dir: &Path) -> Vec<&'static str> {
    let copy = |from: &str, to: &str| std::fs::copy(corpus(from), dir.join(to)).unwrap();
    copy("google-2022.eml", "good-google.eml");
    copy("rfc8460-appendix-b.json", "good-appendix-b.json");
    let microsoft = std::fs::read(corpus("microsoft-2025-sts-and-tlsa.json")).unwrap();
    std::fs::write(dir.join("good-microsoft.json.gz"), gzip(&microsoft)).unwrap();
    // The synthetic message carries the Appendix B report again: a duplicate by content.
    copy("synthetic-rpt01.eml", "dup-appendix-b.eml");
    copy("google-2022.eml", "dup-google-again.eml");

    let gz = gzip(&microsoft);
    std::fs::write(dir.join("truncated.json.gz"), &gz[..gz.len() / 2]).unwrap();
    let bomb = gzip(&vec![b' '; 3 * 1024 * 1024]);
    std::fs::write(dir.join("bomb.json.gz"), bomb).unwrap();
    std::fs::write(dir.join("not-a-report.eml"), NOT_A_REPORT_MAIL).unwrap();
    std::fs::write(dir.join("empty.json"), b"").unwrap();
    vec![
        "bomb.json.gz",
        "empty.json",
        "not-a-report.eml",
        "truncated.json.gz",
    ]
}

fn import(db: &Path, dir: &Path, rejects: &Path) -> std::process::Output {
    run(&[
        "--db",
        db.to_str().unwrap(),
        "--max-decompressed",
        "1048576",
        "import",
        "--rejects",
        rejects.to_str().unwrap(),
        dir.to_str().unwrap(),
    ])
}

#[test]
fn mixed_directory_stores_exactly_the_good_reports_and_a_rerun_stores_nothing() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    let expected_rejects = mixed_directory(&dir);
    let db = work.path().join("hub.db");
    let rejects = work.path().join("rejects.tsv");

    let first = import(&db, &dir, &rejects);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(
        stdout(&first).starts_with("Read 9 inputs: 3 stored, 2 duplicates, 4 rejected."),
        "{}",
        stdout(&first)
    );
    let listed = std::fs::read_to_string(&rejects).unwrap();
    let mut names: Vec<&str> = listed
        .lines()
        .map(|line| {
            let (source, reason) = line.split_once('\t').unwrap();
            assert!(!reason.is_empty());
            Path::new(source).file_name().unwrap().to_str().unwrap()
        })
        .collect();
    names.sort();
    assert_eq!(names, expected_rejects);
    assert!(
        listed.contains("exceeds the limit of 1048576 bytes"),
        "{listed}"
    );
    assert!(listed.contains("no TLS-RPT report part"), "{listed}");

    let counts = with_store(&db, async |store| {
        store.check_integrity().await.unwrap();
        store.counts().await.unwrap()
    });
    assert_eq!((counts.submissions, counts.reports), (3, 3));
    assert_eq!(counts.policies, 1 + 1 + 2);
    assert_eq!(counts.failure_details, 3);
    assert_eq!(counts.duplicates_seen, 2);

    let second = import(&db, &dir, &rejects);
    assert!(
        stdout(&second).starts_with("Read 9 inputs: 0 stored, 5 duplicates, 4 rejected."),
        "{}",
        stdout(&second)
    );
    let again = with_store(&db, async |store| store.counts().await.unwrap());
    assert_eq!((again.submissions, again.reports), (3, 3));
    assert_eq!(again.duplicates_seen, 7);
}

#[test]
fn mbox_and_maildir_messages_are_separate_submissions() {
    let work = tempfile::tempdir().unwrap();
    let maildir = work.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::copy(corpus("google-2022.eml"), maildir.join("new/1.host:2,")).unwrap();
    std::fs::copy(
        corpus("microsoft-2023-no-timezone.eml"),
        maildir.join("cur/2.host:2,S"),
    )
    .unwrap();
    // A message still being delivered must not be read.
    std::fs::write(maildir.join("tmp/3.host"), b"From: half").unwrap();
    let mbox = work.path().join("reports.mbox");
    let mut text = Vec::new();
    for name in ["google-2024-gateway-banner.eml", "synthetic-rpt01.eml"] {
        text.extend_from_slice(b"From MAILER-DAEMON Mon Nov 23 10:00:00 2026\n");
        text.extend(std::fs::read(corpus(name)).unwrap());
        text.extend_from_slice(b"\n");
    }
    std::fs::write(&mbox, text).unwrap();
    let db = work.path().join("hub.db");
    let output = run(&[
        "--db",
        db.to_str().unwrap(),
        "import",
        maildir.to_str().unwrap(),
        mbox.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).starts_with("Read 4 inputs: 4 stored, 0 duplicates, 0 rejected."),
        "{}",
        stdout(&output)
    );
}

#[test]
fn database_defaults_to_a_file_in_the_working_directory() {
    let work = tempfile::tempdir().unwrap();
    let output = crate::hub()
        .current_dir(work.path())
        .args(["import", corpus("google-2022.eml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(work.path().join("tlsrpt-hub.db").is_file());
}

#[test]
fn config_file_sets_the_database() {
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("hub.toml");
    let db = work.path().join("from-config.db");
    std::fs::write(&config, format!("database = {:?}\n", db.to_str().unwrap())).unwrap();
    let output = run(&[
        "--config",
        config.to_str().unwrap(),
        "import",
        corpus("google-2022.eml").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(db.is_file());
}
