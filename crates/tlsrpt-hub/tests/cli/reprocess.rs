use tlsrpt_core::extract::Limits;
use tlsrpt_core::read::read_reports;
use tlsrpt_core::report::dedup_key;
use tlsrpt_store::{NewReport, RollupFilter};

use crate::{corpus, run, stderr, stdout, with_store};

/// Stands in for an older parser: what it stored for Appendix B was wrong (a stale policy
/// domain, no diagnostics). `reprocess` must restore what today's parser reads.
#[test]
fn reprocess_replaces_what_an_older_parser_stored() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("hub.db");
    let fixture = corpus("rfc8460-appendix-b.json");
    let imported = run(&[
        "--db",
        db.to_str().unwrap(),
        "import",
        fixture.to_str().unwrap(),
    ]);
    assert!(imported.status.success(), "{}", stderr(&imported));

    let raw = std::fs::read(&fixture).unwrap();
    let current = read_reports(&raw, &Limits::default())
        .unwrap()
        .remove(0)
        .unwrap();
    let key = dedup_key(&current.parsed.report);
    let mut stale = current.parsed.clone();
    stale.report.policies[0].policy.policy_domain = Some("stale.example".into());
    stale.diagnostics.clear();
    with_store(&db, async |store| {
        let submission = store.submissions(None, 10).await.unwrap().remove(0);
        let old = NewReport {
            parsed: stale,
            message: None,
            file_name: None,
            parser_version: "0.0.0".into(),
        };
        store
            .replace_reports(submission.id, vec![old])
            .await
            .unwrap();
        let rollups = store
            .daily_policy_rollups(&domain("stale.example"))
            .await
            .unwrap();
        assert_eq!(rollups.len(), 1, "the stale domain was stored");
    });

    let output = run(&["--db", db.to_str().unwrap(), "reprocess"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("Reprocessed 1 submissions: 1 reports"),
        "{}",
        stdout(&output)
    );
    with_store(&db, async |store| {
        store.check_integrity().await.unwrap();
        assert!(
            store
                .daily_policy_rollups(&domain("stale.example"))
                .await
                .unwrap()
                .is_empty()
        );
        let stored = store
            .report_by_dedup_key(&key)
            .await
            .unwrap()
            .expect("report kept");
        assert_eq!(stored.parsed, current.parsed);
        assert_eq!(stored.parser_version, tlsrpt_core::PARSER_VERSION);
        let fresh = store
            .daily_policy_rollups(&domain("company-y.example"))
            .await
            .unwrap();
        assert_eq!(fresh.len(), 1);
        assert_eq!((fresh[0].successful, fresh[0].failed), (5326, 303));
    });
}

fn domain(name: &str) -> RollupFilter {
    RollupFilter {
        policy_domain: Some(name.to_owned()),
        ..RollupFilter::default()
    }
}
