//! The run-output directory: round trip, byte-identical output, the exact
//! summary.json layout, file-name sanitising, and read/write errors.

mod common;

use common::{sample, scratch, snapshot};
use spikeforge_results::names::{is_safe, sanitize};
use spikeforge_results::npy::{self, DType};
use spikeforge_results::{
    compare_exact, NpyError, ResultsError, RunResult, SpikeRecord, StateRecord, WeightRecord,
};

#[test]
fn round_trip_is_exact() {
    let r = sample();
    let d = scratch("rt");
    r.write_dir(&d).unwrap();
    let back = RunResult::read_dir(&d).unwrap();
    assert_eq!(back, r);
    // PartialEq treats -0.0 == 0.0; check bits too.
    compare_exact(&r, &back).unwrap();
    assert_eq!(back.states[0].values[4].to_bits(), (-0.0f64).to_bits());
}

#[test]
fn round_trip_keeps_nan_payloads_and_awkward_floats() {
    for dt in [
        0.1,
        1.0 / 3.0,
        5e-324,
        f64::MAX,
        1e-7,
        123456789012345680.0,
        0.025,
        -0.0,
    ] {
        let mut r = sample();
        r.dt_ms = dt;
        r.states[1].values[1] = f64::from_bits(0x7ff8_0000_dead_beef);
        r.weights[0].values[0] = f64::NEG_INFINITY;
        let d = scratch("rt-floats");
        r.write_dir(&d).unwrap();
        let back = RunResult::read_dir(&d).unwrap();
        assert_eq!(back.dt_ms.to_bits(), dt.to_bits(), "dt_ms {dt:e}");
        compare_exact(&r, &back).unwrap();
    }
}

#[test]
fn empty_result_round_trips() {
    let r = RunResult::default();
    let d = scratch("rt-empty");
    r.write_dir(&d).unwrap();
    assert_eq!(RunResult::read_dir(&d).unwrap(), r);
    for sub in ["spikes", "states", "weights"] {
        assert!(d.join(sub).is_dir(), "{sub}/ always exists");
    }
}

#[test]
fn equal_results_give_byte_identical_directories() {
    let (d1, d2) = (scratch("same-1"), scratch("same-2"));
    sample().write_dir(&d1).unwrap();
    sample().write_dir(&d2).unwrap();
    let (s1, s2) = (snapshot(&d1), snapshot(&d2));
    assert_eq!(
        s1.len(),
        16,
        "{:?}",
        s1.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    assert_eq!(s1, s2);
    // Writing again over the same directory changes nothing.
    sample().write_dir(&d1).unwrap();
    assert_eq!(snapshot(&d1), s2);
    // A different value gives a different directory.
    let mut r = sample();
    r.states[0].raw.as_mut().unwrap()[2] = 2;
    r.write_dir(&d1).unwrap();
    assert_ne!(snapshot(&d1), s2);
}

#[test]
fn file_layout_dtypes_and_shapes() {
    let r = sample();
    let d = scratch("layout");
    r.write_dir(&d).unwrap();
    let names: Vec<String> = snapshot(&d).into_iter().map(|x| x.0).collect();
    assert_eq!(
        names,
        [
            "spikes/exc.npy",
            "spikes/in_put___.npy",
            "spikes/silent.npy",
            "states/exc.u.npy",
            "states/exc.u.steps.npy",
            "states/exc.v.npy",
            "states/exc.v.raw.npy",
            "states/exc.v.steps.npy",
            "summary.json",
            "weights/exc-_exc.npy",
            "weights/exc-_exc.raw.npy",
            "weights/exc-_exc.steps.npy",
            "weights/exc-_exc.synapses.npy",
            "weights/never_sampled.npy",
            "weights/never_sampled.steps.npy",
            "weights/never_sampled.synapses.npy",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
    );
    let check = |f: &str, dt: DType, shape: &[usize]| {
        let a = npy::read(&d.join(f)).unwrap();
        assert_eq!((a.dtype(), a.shape.as_slice()), (dt, shape), "{f}");
        a
    };
    let spikes = check("spikes/exc.npy", DType::I4, &[7, 2]);
    assert_eq!(
        spikes.into_vec::<i32>().unwrap()[..6],
        [1, 0, 1, 3, 7, 1],
        "rows are [step, neuron]"
    );
    check("spikes/silent.npy", DType::I4, &[0, 2]);
    check("states/exc.v.npy", DType::F8, &[2, 3]);
    check("states/exc.v.raw.npy", DType::I8, &[2, 3]);
    let steps = check("states/exc.v.steps.npy", DType::U4, &[2]);
    assert_eq!(steps.into_vec::<u32>().unwrap(), [10, 20]);
    check("states/exc.u.npy", DType::F8, &[3, 1]);
    check("weights/exc-_exc.npy", DType::F8, &[2, 3]);
    check("weights/exc-_exc.raw.npy", DType::I8, &[2, 3]);
    let syn = check("weights/exc-_exc.synapses.npy", DType::I4, &[3, 2]);
    assert_eq!(
        syn.into_vec::<i32>().unwrap(),
        [0, 1, 1, 0, 2, 3],
        "rows are [pre, post]"
    );
    check("weights/never_sampled.npy", DType::F8, &[0, 1]);
    check("weights/never_sampled.steps.npy", DType::U4, &[0]);
}

fn small() -> RunResult {
    let mut r = RunResult {
        network: "net".to_string(),
        backend: "reference".to_string(),
        dt_ms: 0.1,
        n_steps: 1000,
        ..RunResult::default()
    };
    r.spikes.push(SpikeRecord {
        population: "pop a".to_string(),
        neurons: vec![0, 1],
        events: vec![(5, 0), (9, 1), (700, 1)],
    });
    r.states.push(StateRecord {
        population: "pop a".to_string(),
        variable: "v".to_string(),
        unit: "mV".to_string(),
        neurons: vec![1],
        steps: vec![500, 1000],
        values: vec![-65.0, -52.25],
        raw: None,
        raw_format: None,
    });
    r.weights.push(WeightRecord {
        projection: "ab".to_string(),
        synapses: vec![(0, 1), (1, 1)],
        steps: vec![1000],
        values: vec![1e-7, 2.5],
        raw: Some(vec![1, 2]),
        raw_format: Some("s16.15".to_string()),
    });
    r.counters.insert("z".to_string(), 1);
    r.counters.insert("a".to_string(), 0);
    r
}

#[test]
fn summary_json_layout_is_fixed() {
    let d = scratch("golden");
    small().write_dir(&d).unwrap();
    let got = std::fs::read_to_string(d.join("summary.json")).unwrap();
    assert_eq!(got, GOLDEN_SUMMARY);
    // docs/run-output.md shows this very file.
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/run-output.md"
    ))
    .unwrap();
    assert!(
        doc.contains(&format!("```json\n{GOLDEN_SUMMARY}```")),
        "docs/run-output.md is out of date"
    );
}

const GOLDEN_SUMMARY: &str = r#"{
  "format": "spikeforge-run-output",
  "format_version": 1,
  "network": "net",
  "backend": "reference",
  "dt_ms": 0.1,
  "n_steps": 1000,
  "duration_ms": 100.0,
  "counters": {
    "a": 0,
    "z": 1
  },
  "spikes": [
    {
      "population": "pop a",
      "file": "spikes/pop_a.npy",
      "n_neurons": 2,
      "neurons": [0, 1],
      "n_spikes": 3,
      "mean_rate_hz": 15.0
    }
  ],
  "states": [
    {
      "population": "pop a",
      "variable": "v",
      "unit": "mV",
      "n_neurons": 1,
      "neurons": [1],
      "n_samples": 2,
      "raw_format": null,
      "files": {
        "values": "states/pop_a.v.npy",
        "steps": "states/pop_a.v.steps.npy",
        "raw": null
      }
    }
  ],
  "weights": [
    {
      "projection": "ab",
      "n_synapses": 2,
      "n_samples": 1,
      "raw_format": "s16.15",
      "files": {
        "values": "weights/ab.npy",
        "synapses": "weights/ab.synapses.npy",
        "steps": "weights/ab.steps.npy",
        "raw": "weights/ab.raw.npy"
      },
      "final_weights": {
        "step": 1000,
        "min": 1e-7,
        "mean": 1.25000005,
        "max": 2.5
      }
    }
  ]
}
"#;

#[test]
fn summary_json_floats_and_nulls() {
    let mut r = small();
    r.dt_ms = 1e-300;
    r.n_steps = 0;
    r.weights[0].values = vec![f64::NAN, 1.0];
    let d = scratch("golden-nulls");
    r.write_dir(&d).unwrap();
    let got = std::fs::read_to_string(d.join("summary.json")).unwrap();
    assert!(got.contains("\"dt_ms\": 1e-300,"), "{got}");
    assert!(got.contains("\"duration_ms\": 0.0,"), "{got}");
    assert!(got.contains("\"mean_rate_hz\": null"), "{got}");
    assert!(
        got.contains("\"min\": null,\n        \"mean\": null,\n        \"max\": null"),
        "{got}"
    );
    let back = RunResult::read_dir(&d).unwrap();
    compare_exact(&r, &back).unwrap();
}

#[test]
fn stale_arrays_are_removed_other_files_kept() {
    let d = scratch("stale");
    sample().write_dir(&d).unwrap();
    std::fs::write(d.join("timing.json"), "{}\n").unwrap();
    std::fs::write(d.join("states/notes.txt"), "mine").unwrap();
    let r = small();
    r.write_dir(&d).unwrap();
    let names: Vec<String> = snapshot(&d).into_iter().map(|x| x.0).collect();
    assert!(names.contains(&"timing.json".to_string()));
    assert!(names.contains(&"states/notes.txt".to_string()));
    assert!(!names.contains(&"spikes/exc.npy".to_string()), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".npy")).count(),
        7,
        "{names:?}"
    );
    assert_eq!(RunResult::read_dir(&d).unwrap(), r);
}

#[test]
fn sanitize_rules() {
    assert_eq!(sanitize("exc"), "exc");
    assert_eq!(sanitize("Exc-1.a_b"), "Exc-1.a_b");
    assert_eq!(sanitize("in/put"), "in_put");
    assert_eq!(sanitize("a b\tc"), "a_b_c");
    assert_eq!(sanitize("../../etc/passwd"), "_._.._etc_passwd");
    assert_eq!(sanitize(".hidden"), "_hidden");
    assert_eq!(sanitize(".."), "_.");
    assert_eq!(sanitize(""), "_");
    assert_eq!(sanitize("ä→€"), "___");
    assert_eq!(sanitize("a\\b:c*d?e\"f<g>h|i"), "a_b_c_d_e_f_g_h_i");
    assert_eq!(sanitize(&"x".repeat(300)).len(), 100);
    assert!(is_safe("exc.v-2"));
    assert!(!is_safe("exc v"));
}

fn spikes_of(pops: &[&str]) -> RunResult {
    RunResult {
        spikes: pops
            .iter()
            .map(|p| SpikeRecord {
                population: p.to_string(),
                ..SpikeRecord::default()
            })
            .collect(),
        ..RunResult::default()
    }
}

#[test]
fn name_collisions_are_resolved_deterministically() {
    // Names that need no change keep it, whatever the record order.
    let r = spikes_of(&["a/b", "a_b", "a b", "a_b-2"]);
    assert_eq!(
        r.file_names().spikes,
        [
            "spikes/a_b-3.npy",
            "spikes/a_b.npy",
            "spikes/a_b-4.npy",
            "spikes/a_b-2.npy"
        ]
    );
    // Case-insensitive file systems: `Exc` and `exc` never share a file.
    let r = spikes_of(&["exc", "Exc", "EXC"]);
    assert_eq!(
        r.file_names().spikes,
        ["spikes/exc.npy", "spikes/Exc-2.npy", "spikes/EXC-3.npy"]
    );
    // A projection named like another's steps file.
    let mut r = RunResult::default();
    for p in ["p.steps", "p", "p.raw"] {
        r.weights.push(WeightRecord {
            projection: p.to_string(),
            ..WeightRecord::default()
        });
    }
    let f = r.file_names();
    assert_eq!(f.weights[0][0], "weights/p.steps.npy");
    assert_eq!(f.weights[1][0], "weights/p-2.npy", "{f:?}");
    assert_eq!(f.weights[2][0], "weights/p.raw.npy");
    let mut all: Vec<String> = f
        .weights
        .concat()
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "no two files coincide");
    // States combine population and variable; `a.b`+`c` vs `a`+`b.c`.
    let mut r = RunResult::default();
    for (p, v) in [("a.b", "c"), ("a", "b.c"), ("x/y", "v")] {
        r.states.push(StateRecord {
            population: p.to_string(),
            variable: v.to_string(),
            ..StateRecord::default()
        });
    }
    let f = r.file_names();
    assert_eq!(f.states[0][0], "states/a.b.c.npy");
    assert_eq!(f.states[1][0], "states/a.b.c-2.npy");
    assert_eq!(
        f.states[2],
        [
            "states/x_y.v.npy",
            "states/x_y.v.steps.npy",
            "states/x_y.v.raw.npy"
        ]
    );

    // And they round trip, keeping the user-given names.
    let mut r = spikes_of(&["a/b", "a_b", "A_B", "", ".", ".."]);
    r.dt_ms = 1.0;
    r.states = vec![
        StateRecord {
            population: "a.b".into(),
            variable: "c".into(),
            ..StateRecord::default()
        },
        StateRecord {
            population: "a".into(),
            variable: "b.c".into(),
            ..StateRecord::default()
        },
    ];
    let d = scratch("collisions");
    r.write_dir(&d).unwrap();
    assert_eq!(RunResult::read_dir(&d).unwrap(), r);
    let summary = std::fs::read_to_string(d.join("summary.json")).unwrap();
    assert!(
        summary.contains("\"population\": \"a/b\",\n      \"file\": \"spikes/a_b-2.npy\""),
        "{summary}"
    );
    assert!(
        summary.contains("\"population\": \".\",\n      \"file\": \"spikes/_-2.npy\""),
        "{summary}"
    );
    assert!(
        summary.contains("\"population\": \"..\",\n      \"file\": \"spikes/_..npy\""),
        "{summary}"
    );
}

#[test]
fn invalid_results_are_refused_before_writing() {
    let d = scratch("invalid");
    let cases: Vec<(RunResult, &str)> = vec![
        (
            {
                let mut r = sample();
                r.states[0].values.pop();
                r
            },
            "values has 5 elements, expected 2 samples x 3 neurons = 6",
        ),
        (
            {
                let mut r = sample();
                r.weights[0].raw.as_mut().unwrap().push(1);
                r
            },
            "raw has 7 elements",
        ),
        (
            {
                let mut r = sample();
                r.spikes[0].events.push((u32::MAX, 0));
                r
            },
            "step 4294967295 does not fit the file's int32",
        ),
        (
            {
                let mut r = sample();
                r.weights[0].synapses[0].1 = 1 << 31;
                r
            },
            "post index 2147483648 does not fit",
        ),
        (
            {
                let mut r = sample();
                r.dt_ms = f64::NAN;
                r
            },
            "dt_ms is NaN",
        ),
    ];
    for (r, want) in cases {
        let e = r.write_dir(&d).unwrap_err();
        assert!(matches!(e, ResultsError::Invalid { .. }), "{e}");
        assert!(e.to_string().contains(want), "{e} / {want}");
        assert!(!d.exists(), "nothing written");
    }
}

/// Writes `sample()` and applies `edit` to the directory; returns the read error.
fn read_error(name: &str, edit: impl FnOnce(&std::path::Path)) -> ResultsError {
    let d = scratch(name);
    sample().write_dir(&d).unwrap();
    edit(&d);
    RunResult::read_dir(&d).unwrap_err()
}

fn edit_summary(d: &std::path::Path, from: &str, to: &str) {
    let p = d.join("summary.json");
    let s = std::fs::read_to_string(&p).unwrap();
    assert!(s.contains(from), "{from}");
    std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
}

#[test]
fn read_errors_are_typed_and_name_the_file() {
    let e = RunResult::read_dir(scratch("nothing-here")).unwrap_err();
    assert!(
        matches!(e, ResultsError::Io { .. }) && e.to_string().contains("summary.json"),
        "{e}"
    );

    let e = read_error("bad-json", |d| {
        std::fs::write(d.join("summary.json"), "{").unwrap()
    });
    assert!(matches!(e, ResultsError::Json { .. }), "{e}");

    let e = read_error("bad-version", |d| {
        edit_summary(d, "\"format_version\": 1", "\"format_version\": 2")
    });
    assert!(e.to_string().contains("format_version is 2"), "{e}");

    let e = read_error("traversal", |d| {
        edit_summary(d, "\"spikes/exc.npy\"", "\"spikes/../../secret.npy\"")
    });
    assert!(matches!(e, ResultsError::Format { .. }), "{e}");
    assert!(e.to_string().contains("is not of the form spikes/"), "{e}");

    let e = read_error("missing-file", |d| {
        std::fs::remove_file(d.join("states/exc.v.raw.npy")).unwrap()
    });
    assert!(
        matches!(e, ResultsError::Io { .. }) && e.to_string().contains("exc.v.raw.npy"),
        "{e}"
    );

    let e = read_error("wrong-dtype", |d| {
        npy::write(&d.join("spikes/exc.npy"), &[7, 2], &[0i64; 14]).unwrap()
    });
    assert!(
        matches!(&e, ResultsError::Npy { source: NpyError::WrongDtype { .. }, path } if path.ends_with("spikes/exc.npy")),
        "{e}"
    );
    assert!(
        e.to_string().contains("dtype is '<i8' (expected '<i4')"),
        "{e}"
    );

    let e = read_error("wrong-shape", |d| {
        npy::write(&d.join("states/exc.v.npy"), &[3, 2], &[0f64; 6]).unwrap()
    });
    assert!(
        e.to_string()
            .contains("shape is (3, 2) (expected (2, 3) (from summary.json))"),
        "{e}"
    );

    let e = read_error("count-mismatch", |d| {
        edit_summary(d, "\"n_spikes\": 7", "\"n_spikes\": 8")
    });
    assert!(e.to_string().contains("expected (8, 2)"), "{e}");

    let e = read_error("neuron-count", |d| {
        edit_summary(d, "\"n_neurons\": 4", "\"n_neurons\": 5")
    });
    assert!(
        e.to_string()
            .contains("n_neurons of spikes 'exc' is 5 but the list has 4 entries"),
        "{e}"
    );

    let e = read_error("negative", |d| {
        npy::write(
            &d.join("spikes/exc.npy"),
            &[7, 2],
            &[1i32, 0, 1, 3, 7, -1, 7, 2, 20, 0, 49, 3, 50, 3],
        )
        .unwrap()
    });
    assert!(e.to_string().contains("row 2 is [7, -1]"), "{e}");

    let e = read_error("truncated", |d| {
        let p = d.join("weights/exc-_exc.raw.npy");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 1]).unwrap();
    });
    assert!(
        matches!(
            e,
            ResultsError::Npy {
                source: NpyError::Truncated { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("exc-_exc.raw.npy: truncated"), "{e}");
}

#[test]
fn steps_may_be_int32() {
    let d = scratch("i4-steps");
    let r = sample();
    r.write_dir(&d).unwrap();
    npy::write(&d.join("states/exc.v.steps.npy"), &[2], &[10i32, 20]).unwrap();
    assert_eq!(RunResult::read_dir(&d).unwrap(), r);
    npy::write(&d.join("states/exc.v.steps.npy"), &[2], &[10i32, -20]).unwrap();
    let e = RunResult::read_dir(&d).unwrap_err();
    assert!(e.to_string().contains("element 1 is -20"), "{e}");
}
