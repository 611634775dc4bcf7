//! `spikeforge import` end to end: what it prints, JSON output, exit codes,
//! the plasticity overlay and `--export-nir`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spikeforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn shared() -> PathBuf {
    let dir = match std::env::var_os("SPIKEFORGE_SHARED") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    let probe = dir.join("fixtures/lava-dl/lava_oxford.net");
    assert!(probe.is_file(), "fixtures not found: {} does not exist; set SPIKEFORGE_SHARED to the directory holding fixtures/", probe.display());
    dir
}

fn fixture(rel: &str) -> String {
    shared().join("fixtures").join(rel).to_str().unwrap().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spikeforge-import-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn import_prints_layers_neurons_synapses_and_every_note() {
    let o = spikeforge(&["import", &fixture("lava-dl/lava_oxford.net")]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let s = text(&o.stdout);
    assert!(s.contains("lava-dl netx, 2 layers"), "{s}");
    assert!(s.contains("populations  3 (456 neurons, 200 inputs)"), "{s}");
    assert!(s.contains("projections  2 (102400 synapses, 0 plastic)"), "{s}");
    assert!(s.contains("/layer/0 (dense): the file has no input layer"), "{s}");
    assert!(s.contains("optimize_weight_bits"), "{s}");
}

#[test]
fn json_output_and_sfir_that_check_reads() {
    let out = scratch("braille.sfir");
    let o = spikeforge(&["import", &fixture("nir/nirpaper_braille_noDelay_bias_zero.nir"), "--dt-ms", "0.1", "-o", out.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["format"], "nir");
    assert_eq!(v["layers"], 7);
    assert_eq!(v["neurons"], 45);
    assert_eq!(v["inputs"], 12);
    assert_eq!(v["synapses"], 456 + 1444 + 266 + 7);
    assert!(v["notes"][0]["message"].as_str().unwrap().contains("dt = 0.1 ms"));
    assert_eq!(v["output"], out.to_str().unwrap());
    let c = spikeforge(&["check", out.to_str().unwrap(), "--format", "json"]);
    assert!(c.status.success(), "{}", text(&c.stdout));
    let v: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
    assert_eq!(v["summary"]["dt_ms"], 0.1);
}

#[test]
fn plasticity_overlay_is_attached_and_reported() {
    let rules = scratch("rules.yaml");
    std::fs::write(
        &rules,
        "plasticity:\n  - name: lava_stdp\n    sum_of_products:\n      dw: \"2^-2 * x1 * y0 - 2^-2 * y1 * x0\"\n      x1: {impulse: 16, tau: 10}\n      y1: {impulse: 16, tau: 10}\nattach:\n  - {projection: layer1, rule: lava_stdp}\n",
    )
    .unwrap();
    let o = spikeforge(&["import", &fixture("lava-dl/lava_mnist_trained.net"), "--plasticity", rules.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["plastic_projections"], 1);
    assert_eq!(v["rules"][0]["projections"][0], "layer1");
    // A rule that cannot serve the projection: a validation error naming it, exit 1.
    let bad = scratch("bad_rules.yaml");
    std::fs::write(&bad, "plasticity:\n  - name: stdp\n    pair_stdp: {}\nattach:\n  - {projection: layer1, rule: stdp}\n").unwrap();
    let o = spikeforge(&["import", &fixture("lava-dl/lava_mnist_trained.net"), "--plasticity", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = text(&o.stderr);
    assert!(e.contains("V031") && e.contains("projection 'layer1'"), "{e}");
    // An unknown projection: named with the overlay file and line.
    std::fs::write(&bad, "plasticity:\n  - name: stdp\n    pair_stdp: {}\nattach:\n  - {projection: layer7, rule: stdp}\n").unwrap();
    let o = spikeforge(&["import", &fixture("lava-dl/lava_mnist_trained.net"), "--plasticity", bad.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["diagnostics"][0]["code"], "I010");
    assert_eq!(v["diagnostics"][0]["location"]["line"], 5);
}

#[test]
fn bad_inputs_exit_1_with_the_path_inside_the_file() {
    // Truncated HDF5.
    let bytes = std::fs::read(fixture("nir/nirpaper_lif_norse.nir")).unwrap();
    let cut = scratch("cut.nir");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = spikeforge(&["import", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("error[I001]"), "{}", text(&o.stderr));
    // A netx file named .nir: the reader says where it looked.
    let wrong = scratch("oxford.nir");
    std::fs::copy(fixture("lava-dl/lava_oxford.net"), &wrong).unwrap();
    let o = spikeforge(&["import", wrong.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["field"], "/node");
    // Not an importable file, a missing file, a bad time step.
    assert_eq!(spikeforge(&["import", "examples/cuba.yaml"]).status.code(), Some(1));
    assert_eq!(spikeforge(&["import", "no/such/file.net"]).status.code(), Some(1));
    assert_eq!(spikeforge(&["import", &fixture("nir/nirpaper_lif_norse.nir"), "--dt-ms", "0"]).status.code(), Some(1));
}

#[test]
fn export_nir_from_an_import_and_from_a_yaml_network() {
    let out = scratch("cnn.nir");
    let o = spikeforge(&["import", &fixture("nir/nirpaper_cnn_sinabs.nir"), "--export-nir", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(std::fs::read(&out).unwrap().starts_with(b"\x89HDF\r\n\x1a\n"));
    let out = scratch("song.nir");
    let o = spikeforge(&["import", "examples/song2000.yaml", "--export-nir", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let s = text(&o.stdout);
    assert!(s.contains("plasticity rule 'song_stdp' not exported"), "{s}");
    assert!(out.is_file());
    // netx networks have no NIR form.
    let o = spikeforge(&["import", &fixture("lava-dl/lava_oxford.net"), "--export-nir", scratch("x.nir").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("netx populations cannot be exported"), "{}", text(&o.stderr));
}

/// The raster used by the run tests: 40 steps x 200 neurons, deterministic.
fn oxford_raster() -> Vec<Vec<i64>> {
    (0..40).map(|t| (0..200).map(|i| i64::from((t * 7 + i * 3) % 11 == 0)).collect()).collect()
}

fn counters_spikes(o: &Output) -> u64 {
    assert!(o.status.success(), "{}\n{}", text(&o.stdout), text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["counters"]["spikes"].as_u64().unwrap()
}

#[test]
fn run_imported_netx_network_with_an_input_raster() {
    let sfir = scratch("oxford_run.sfir");
    let o = spikeforge(&["import", &fixture("lava-dl/lava_oxford.net"), "-o", sfir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let rows = oxford_raster();
    let json = scratch("oxford_raster.json");
    std::fs::write(&json, serde_json::to_string(&rows).unwrap()).unwrap();
    let npy = scratch("oxford_raster.npy");
    spikeforge_results::npy::write::<i64>(&npy, &[40, 200], &rows.concat()).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", sfir.to_str().unwrap(), "--target", "emu", "--steps", "40", "--format", "json"];
        args.extend_from_slice(extra);
        spikeforge(&args)
    };
    let with_json = counters_spikes(&run(&["--input", &format!("input={}", json.display())]));
    let with_npy = counters_spikes(&run(&["--input", npy.to_str().unwrap()]));
    assert_eq!(with_json, with_npy);
    // The same run through the library (peer-checked against Lava in
    // targets/emu/tests/netx_lava_peer.rs): input spikes plus neuron spikes.
    let (net, _) = spikeforge_compiler::import::netx::import_netx(Path::new(&fixture("lava-dl/lava_oxford.net"))).unwrap();
    let mut stimuli = spikeforge_compiler::expand::Stimuli::default();
    stimuli.insert_raster("input", &rows).unwrap();
    let opts = spikeforge_compiler::lower::CompileOptions { profile: spikeforge_compiler::lower::TargetProfile::Loihi, max_neurons_per_core: 256, n_steps: 40 };
    let program = spikeforge_compiler::lower::compile_with(&net, &opts, &stimuli).unwrap().program;
    let (_, counters) = spikeforge_emu::Emulator::new(program, 1).unwrap().run(40, |_| {}).unwrap();
    assert_eq!(with_npy, counters.spikes);
    let input_spikes = rows.iter().flatten().filter(|&&x| x != 0).count() as u64;
    assert!(with_npy > input_spikes, "{with_npy} spikes, {input_spikes} of them input: the network did not respond");
    // Without an input the network is silent, with a warning naming the input population.
    let o = spikeforge(&["run", sfir.to_str().unwrap(), "--steps", "40"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("warning[L011]: population 'input'"), "{}", text(&o.stderr));
    // A raster of the wrong width, an unknown population and a compiled program are user errors.
    let narrow = scratch("narrow.json");
    std::fs::write(&narrow, "[[1, 0, 1]]").unwrap();
    let o = run(&["--input", &format!("input={}", narrow.display())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("has 3 neurons; the input population has 200"), "{}", text(&o.stdout));
    let o = run(&["--input", &format!("layer0={}", json.display())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("names a population that is not an input"), "{}", text(&o.stdout));
    let prog = scratch("oxford.sfp");
    let o = spikeforge(&["compile", sfir.to_str().unwrap(), "--steps", "40", "--input", npy.to_str().unwrap(), "-o", prog.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = spikeforge(&["run", prog.to_str().unwrap(), "--steps", "40", "--format", "json"]);
    assert_eq!(counters_spikes(&o), with_npy, "the compiled program carries the stimulus");
    let o = spikeforge(&["run", prog.to_str().unwrap(), "--input", npy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("E005") || text(&o.stdout).contains("E005"), "{}{}", text(&o.stdout), text(&o.stderr));
}
