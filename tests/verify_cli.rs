//! `spikeforge verify` on the command line: exit codes, diagnostics, outputs.

use std::process::Command;

fn spikeforge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spikeforge"))
}

#[test]
fn a_too_coarse_rule_fails_with_exit_1_and_a_diagnostic() {
    let dir = std::env::temp_dir().join(format!("sf-verify-cli-{}", std::process::id()));
    let out = spikeforge().args(["verify", "examples/song2000.yaml", "--protocol", "stdp-window", "-o"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("FAIL") && stdout.contains("below one trace/weight LSB"), "{stdout}");
    assert!(stderr.contains("error[V010]") && stderr.contains("protocol_error_max"), "{stderr}");
    assert!(dir.join("report.json").exists() && dir.join("stdp_window.png").exists() && dir.join("stdp_window.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_passing_verification_exits_0_and_json_is_the_report() {
    let out = spikeforge().args(["verify", "examples/free_energy.yaml", "--open-loop", "--steps", "3000", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "spikeforge-verify/1");
    assert_eq!(v["pass"], true);
    // a flag tolerance tighter than the measured error fails
    let out = spikeforge().args(["verify", "examples/free_energy.yaml", "--open-loop", "--steps", "3000", "--tol-final-max", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn plastic_weight_bits_verifies_what_run_would_run() {
    // song2000 is run with --plastic-weight-bits 32; verified the same way,
    // its STDP window passes (it fails at sPyNNaker's 16 bits, above).
    let out = spikeforge().args(["verify", "examples/song2000.yaml", "--protocol", "stdp-window", "--plastic-weight-bits", "32", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["plastic_weight_bits"], 32);
    assert_eq!(v["pass"], true);
    let out = spikeforge().args(["verify", "examples/song2000.yaml", "--plastic-weight-bits", "24"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'24' is not a plastic weight width; expected 16 or 32"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn stdp_window_pairs_and_rate_come_from_flags() {
    let out = spikeforge()
        .args(["verify", "examples/song2000.yaml", "--protocol", "stdp-window", "--plastic-weight-bits", "32", "--pairs", "20", "--pair-rate-hz", "5", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["curves"][0]["name"], "window at 5 Hz, 20 pairs");
    // 20 pairs at 5 Hz: the summed window is a third of 60 pairs at 1 Hz at
    // short lags (the pairs do not interact at 200 ms spacing)
    let at = |v: &serde_json::Value, lag: f64| {
        let x = v["curves"][0]["x"].as_array().unwrap().iter().position(|x| x.as_f64() == Some(lag)).unwrap();
        v["curves"][0]["float"][x].as_f64().unwrap()
    };
    let out60 = spikeforge().args(["verify", "examples/song2000.yaml", "--protocol", "stdp-window", "--plastic-weight-bits", "32", "--format", "json"]).output().unwrap();
    let v60: serde_json::Value = serde_json::from_slice(&out60.stdout).unwrap();
    assert!((at(&v, 5.0) / at(&v60, 5.0) - 1.0 / 3.0).abs() < 0.02, "{} vs {}", at(&v, 5.0), at(&v60, 5.0));
    // bad values: clear errors, exit 1
    for (flag, value, msg) in [("--pairs", "0", "0 is not in 1..=100000"), ("--pair-rate-hz", "0", "0 Hz is not a pairing rate"), ("--pair-rate-hz", "fast", "'fast' is not a number of Hz")] {
        let out = spikeforge().args(["verify", "examples/song2000.yaml", "--protocol", "stdp-window", flag, value]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{flag} {value}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(msg), "{flag} {value}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
