//! File-based tests in the spirit of cranelift's filetests: every
//! `tests/cases/invalid/NAME.yaml` sits beside `NAME.expected`, the exact
//! diagnostics spikeforge must print for it. Run with `BLESS=1` to rewrite
//! the expected files after an intended change, then review the diff.

use spikeforge_compiler::load;
use std::path::{Path, PathBuf};

fn cases(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(dir);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "sfir"))
        .collect();
    v.sort();
    v
}

#[test]
fn invalid_inputs_give_the_expected_diagnostics() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let all = cases("invalid");
    assert!(all.len() >= 30, "expected the invalid-input corpus, found {} files", all.len());
    for case in all {
        let name = case.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(&case).unwrap();
        let actual = match load::load_and_validate(&name, &case, &bytes) {
            Ok((_, warnings)) => panic!("{name}: expected errors, but it validated (warnings: {warnings})"),
            Err(d) => {
                assert!(d.has_errors(), "{name}: diagnostics without an error: {d}");
                for diag in d.iter() {
                    assert!(diag.location.as_ref().is_some_and(|l| l.file == name), "{name}: diagnostic does not name the file: {diag}");
                    assert!(!diag.object.is_empty(), "{name}: diagnostic names no object: {diag}");
                }
                format!("{d}\n")
            }
        };
        let expected_path = case.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| format!("<missing {}>", expected_path.display()));
        if expected != actual {
            failures.push(format!("--- {name}\nexpected:\n{expected}actual:\n{actual}"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) differ (BLESS=1 to accept):\n{}", failures.len(), failures.join("\n"));
}
