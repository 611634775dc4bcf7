//! The `spikeforge` binary end to end: exit codes, messages that name the
//! file and the field, JSON output, and no panics on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spikeforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spikeforge-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn examples() -> Vec<String> {
    let mut v: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| format!("examples/{}", p.file_name().unwrap().to_str().unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_passes_check() {
    for ex in examples() {
        let o = spikeforge(&["check", &ex]);
        assert!(o.status.success(), "{ex}: {}", text(&o.stderr));
        assert!(text(&o.stdout).contains(": ok"), "{ex}: {}", text(&o.stdout));
    }
}

#[test]
fn check_json_reports_the_summary() {
    let o = spikeforge(&["check", "examples/song2000.yaml", "--format", "json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    let s = &v["summary"];
    assert_eq!(s["populations"], 2);
    assert_eq!(s["neurons"], 1);
    assert_eq!(s["sources"], 1000);
    assert_eq!(s["synapses"], 1000);
    assert_eq!(s["plastic_synapses"], 1000);
    assert_eq!(s["rules"][0]["kind"], "pair_stdp");
    assert_eq!(s["rules"][0]["projections"][0], "inputs_to_neuron");
}

#[test]
fn ir_writes_sfir_that_check_and_dump_read_back() {
    let out = scratch("lava.sfir");
    let o = spikeforge(&["ir", "examples/lava_learning.yaml", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = spikeforge(&["check", out.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["plastic_synapses"], 6);
    let o = spikeforge(&["ir", "--dump", out.to_str().unwrap()]);
    assert!(o.status.success());
    let dump = text(&o.stdout);
    assert!(dump.contains("projection plastic: lif_pre -> lif_post receptor=RECEPTOR_SIGNED plasticity=lava_stdp"), "{dump}");
    assert!(dump.contains("dw: \"2^-2 * x1 * y0 - 2^-2 * y1 * x0\""), "{dump}");
    let o = spikeforge(&["ir", "--dump", out.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["populations"][2]["model"]["LavaLif"]["du"], 1024);
}

#[test]
fn bad_yaml_is_a_user_error_naming_file_line_and_field() {
    let o = spikeforge(&["check", "compiler/tests/cases/invalid/yaml_unknown_field.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let e = text(&o.stderr);
    assert!(e.contains("yaml_unknown_field.yaml:6:19"), "{e}");
    assert!(e.contains("populations[0].if_curr_exp.tau_m"), "{e}");
    assert!(e.contains("expected one of `tau_m_ms`"), "{e}");
}

#[test]
fn invalid_network_json_lists_diagnostics() {
    let o = spikeforge(&["check", "compiler/tests/cases/invalid/v027_delay.yaml", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "V027");
    assert_eq!(d["object"], "projection 'p'");
    assert_eq!(d["field"], "delay_ms");
    assert!(d["location"]["file"].as_str().unwrap().ends_with("v027_delay.yaml"));
}

#[test]
fn every_invalid_case_exits_1_without_panicking() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("compiler/tests/cases/invalid");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "expected") {
            continue;
        }
        n += 1;
        for args in [vec!["check"], vec!["ir", "--dump"]] {
            let mut a = args.clone();
            a.push(p.to_str().unwrap());
            let o = spikeforge(&a);
            let err = text(&o.stderr);
            assert!(!err.contains("panicked") && !err.contains("internal error"), "{}: {err}", p.display());
            // Dumping a file that reads but does not validate is allowed.
            if args[0] == "check" || o.status.code() != Some(0) {
                assert_eq!(o.status.code(), Some(1), "{} {args:?}: {err}", p.display());
                assert!(err.contains(p.file_name().unwrap().to_str().unwrap()), "{}: error does not name the file: {err}", p.display());
            }
        }
    }
    assert!(n >= 40, "expected the invalid corpus, found {n}");
}

#[test]
fn missing_file_and_unwritable_output_are_user_errors() {
    let o = spikeforge(&["check", "no/such/file.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no/such/file.yaml"));
    let o = spikeforge(&["ir", "examples/song2000.yaml", "-o", "/nonexistent-dir/x.sfir"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("/nonexistent-dir/x.sfir"));
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let o = spikeforge(&["ir", "examples/song2000.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("--output"));
    assert_eq!(spikeforge(&["--help"]).status.code(), Some(0));
    assert_eq!(spikeforge(&["frobnicate"]).status.code(), Some(1));
}

#[test]
fn run_output_is_identical_for_one_and_two_threads() {
    // CUBA is large enough for two workers (smaller networks run on one);
    // with its delays at 1 ms (10 steps) the workers exchange every 10 steps.
    let cuba = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cuba.yaml")).unwrap();
    let delayed = scratch("cuba_delay_1ms.yaml");
    assert!(cuba.contains("delay_ms: 0.1"));
    std::fs::write(&delayed, cuba.replace("delay_ms: 0.1", "delay_ms: 1.0")).unwrap();
    for (net, window) in [("examples/cuba.yaml", 1), (delayed.to_str().unwrap(), 10)] {
        let dir1 = scratch(&format!("run-t1-w{window}"));
        let dir2 = scratch(&format!("run-t2-w{window}"));
        for (t, d) in [("1", &dir1), ("2", &dir2)] {
            let o = spikeforge(&["run", net, "--steps", "300", "--threads", t, "-o", d.to_str().unwrap()]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            let timing: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("timing.json")).unwrap()).unwrap();
            assert_eq!(timing["workers"], serde_json::json!(t.parse::<u32>().unwrap()), "{timing}");
            assert_eq!(timing["exchange_window"], serde_json::json!(if t == "1" { 1 } else { window }), "{timing}");
        }
        same_files(&dir1, &dir2);
    }
}

/// Every file of two result directories but timing.json is byte-identical.
fn same_files(dir1: &Path, dir2: &Path) {
    let mut files = Vec::new();
    fn walk(root: &Path, rel: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(root.join(rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                walk(root, &r, out);
            } else {
                out.push(r);
            }
        }
    }
    walk(dir1, Path::new(""), &mut files);
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        if f.file_name().unwrap() == "timing.json" {
            continue;
        }
        assert_eq!(std::fs::read(dir1.join(f)).unwrap(), std::fs::read(dir2.join(f)).unwrap(), "{} differs between 1 and 2 threads", f.display());
    }
    let mut files2 = Vec::new();
    walk(dir2, Path::new(""), &mut files2);
    files2.sort();
    assert_eq!(files, files2);
}

#[test]
fn compile_then_run_the_program_and_reference_run() {
    let prog = scratch("lava.sfprog");
    let o = spikeforge(&["compile", "examples/lava_learning.yaml", "--target", "emu", "-o", prog.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("profile loihi"), "{}", text(&o.stdout));
    let o = spikeforge(&["run", prog.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["backend"], "emu/loihi");
    assert_eq!(v["n_steps"], 100);
    let o = spikeforge(&["run", "examples/ei_triplet.yaml", "--reference", "--steps", "200", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["backend"], "reference");
    // A corrupted program is a user error naming the file.
    let mut bytes = std::fs::read(&prog).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    let bad = scratch("bad.sfprog");
    std::fs::write(&bad, bytes).unwrap();
    let o = spikeforge(&["run", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("bad.sfprog") && text(&o.stderr).contains("checksum"), "{}", text(&o.stderr));
}
