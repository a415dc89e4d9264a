//! What a mail admin reads for every real-world report: reviewed snapshots of `show`.

use crate::{corpus, run, stderr, stdout};

#[test]
fn every_corpus_report_is_explained() {
    let dir = corpus("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 11, "the corpus ran {} cases", names.len());
    for name in names {
        let output = run(&["show", dir.join(&name).to_str().unwrap()]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let text = stdout(&output).replace(dir.to_str().unwrap(), "corpus/");
        insta::assert_snapshot!(name.clone(), text);
    }
}
