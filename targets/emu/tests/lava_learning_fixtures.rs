//! Lava's sum-of-products learning through the whole toolchain: YAML →
//! IR → compile (loihi profile) → emulate, compared bit for bit with what
//! lava-nc 0.10.0 produced.
//!
//! Cases: the three shared fixtures (`default`, `epoch1`, `multifactor` in
//! `shared/fixtures/lava-learning/`) and `seed7` in
//! `tests/data/lava-learning/` (another seed, epoch length and rule, with a
//! `u0` dependency, a `sgn(w − 20)` factor and a `(w + 8)` factor; the
//! command that generated it is in that folder's README).
//!
//! The network is `examples/lava_learning.yaml` (the oracle's network,
//! checked here against each case's `config`), with the learning rule, the
//! epoch length and the seed taken from the case's `config`. Every value
//! the emulator records is compared for all 100 steps: `u` and `v` of both
//! LIF populations, both spike rasters, the plastic weights after every
//! step, and the final weights. The first mismatch is reported.
//!
//! Also: the result does not depend on the number of threads, nor on how
//! the populations are split over cores (one neuron per core: every post
//! core keeps its own copy of Lava's random streams and x traces).

use serde_json::Value;
use spikeforge_compiler::ir;
use spikeforge_compiler::lower::{compile, CompileOptions, TargetProfile};
use spikeforge_compiler::yaml;
use spikeforge_emu::Emulator;
use spikeforge_results::RunResult;
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    let p = std::env::var_os("SPIKEFORGE_SHARED").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(p.join("fixtures/lava-learning").is_dir(), "shared fixtures not found at {} (set SPIKEFORGE_SHARED)", p.display());
    p
}

fn fixture(case: &str) -> Value {
    let path = match case {
        "default" | "epoch1" | "multifactor" => shared().join("fixtures/lava-learning").join(case).join("result.json"),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lava-learning").join(case).join("result.json"),
    };
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(int).collect()
}

fn matrix(v: &Value) -> Vec<Vec<i64>> {
    v.as_array().unwrap().iter().map(ints).collect()
}

/// The example network with the case's rule, epoch and seed; the static
/// part of the YAML is checked against the case's configuration.
fn network(cfg: &Value) -> ir::Network {
    use ir::plasticity_rule::Rule;
    use ir::population::Model;
    use ir::projection::Connectivity;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lava_learning.yaml");
    let mut net = yaml::parse(&std::fs::read_to_string(&path).unwrap(), "lava_learning.yaml").unwrap();
    let steps = int(&cfg["steps"]);
    // spike sources: channel i fires at t when (t + offset_i) % period_i == 0
    for (pop, period, offset) in [("pre_input", "pre_period", "pre_offset"), ("teacher", "teach_period", "teach_offset")] {
        let p = net.populations.iter().find(|p| p.name == pop).unwrap();
        let Some(Model::SpikeSourceArray(s)) = &p.model else { panic!("{pop} is not a spike source array") };
        for (i, (per, off)) in ints(&cfg[period]).into_iter().zip(ints(&cfg[offset])).enumerate() {
            let want: Vec<f64> = (1..=steps).filter(|t| (t + off) % per == 0).map(|t| t as f64).collect();
            assert_eq!(s.trains[i].times_ms, want, "{pop} channel {i}");
        }
    }
    for (pop, key) in [("lif_pre", "lif_pre"), ("lif_post", "lif_post")] {
        let p = net.populations.iter().find(|p| p.name == pop).unwrap();
        let Some(Model::LavaLif(m)) = &p.model else { panic!("{pop} is not a lava_lif") };
        let c = &cfg[key];
        assert_eq!(
            (m.du as i64, m.dv as i64, m.vth, m.bias_mant, m.bias_exp as i64),
            (int(&c["du"]), int(&c["dv"]), int(&c["vth"]), int(&c["bias_mant"]), int(&c["bias_exp"])),
            "{pop} parameters"
        );
    }
    let proj = |name: &str| net.projections.iter().find(|p| p.name == name).unwrap().clone();
    let w_in = proj("input").weight.and_then(|d| d.kind).unwrap();
    assert_eq!(w_in, ir::distribution::Kind::Constant(int(&cfg["w_in"]) as f64), "input weight");
    let Some(Connectivity::FromList(l)) = proj("teach").connectivity else { panic!("teach is not from_list") };
    assert_eq!(l.connections.iter().map(|c| c.weight.unwrap() as i64).collect::<Vec<_>>(), ints(&cfg["w_teach"]), "teacher weights");
    let Some(Connectivity::DenseMatrix(m)) = proj("plastic").connectivity else { panic!("plastic is not a dense_matrix") };
    assert_eq!(m.weights.iter().map(|&w| w as i64).collect::<Vec<_>>(), matrix(&cfg["w_plastic"]).concat(), "plastic weights");
    // the rule of the case
    let rule = net.plasticity_rules.iter_mut().find(|r| r.name == "lava_stdp").unwrap();
    let Some(Rule::SumOfProducts(s)) = &mut rule.rule else { panic!("lava_stdp is not a sum_of_products rule") };
    s.dw = cfg["dw"].as_str().unwrap().to_string();
    s.t_epoch = int(&cfg["t_epoch"]) as u32;
    s.rng_seed = Some(int(&cfg["rng_seed"]) as u64);
    s.x1 = Some(ir::Trace { impulse: cfg["x1_impulse"].as_f64().unwrap(), tau: cfg["x1_tau"].as_f64().unwrap() });
    s.y1 = Some(ir::Trace { impulse: cfg["y1_impulse"].as_f64().unwrap(), tau: cfg["y1_tau"].as_f64().unwrap() });
    net
}

fn run(net: &ir::Network, max_neurons_per_core: u32, threads: usize) -> RunResult {
    let compiled = compile(net, &CompileOptions { profile: TargetProfile::Loihi, max_neurons_per_core, n_steps: 100 }).unwrap_or_else(|d| panic!("compile failed: {d:?}"));
    let mut emu = Emulator::new(compiled.program, threads).unwrap();
    emu.run(100, |_| {}).unwrap().0
}

/// Compares every recorded value with the fixture, step by step; the first
/// mismatch (in step order) is the error.
fn compare(r: &RunResult, fx: &Value) -> Result<(), String> {
    let steps = fx["per_step"].as_array().unwrap().len();
    let state = |pop: &str, var: &str| r.states.iter().find(|s| s.population == pop && s.variable == var).unwrap_or_else(|| panic!("no {pop}.{var} recording"));
    let raster = |pop: &str, n: usize| {
        let rec = r.spikes.iter().find(|s| s.population == pop).unwrap_or_else(|| panic!("no {pop} spikes"));
        let mut m = vec![vec![0i64; n]; steps];
        for &(t, i) in &rec.events {
            m[t as usize - 1][i as usize] = 1;
        }
        m
    };
    let (spk_pre, spk_post) = (raster("lif_pre", 3), raster("lif_post", 2));
    let w = r.weights.iter().find(|w| w.projection == "plastic").expect("no weight recording");
    let n_syn = w.synapses.len();
    if w.steps != (1..=steps as u32).collect::<Vec<_>>() || n_syn != 6 {
        return Err(format!("weight recording: steps {:?}, {n_syn} synapses; expected every step 1..={steps}, 6 synapses", w.steps));
    }
    let w_raw = w.raw.as_ref().unwrap();
    for t in 0..steps {
        let l = &fx["per_step"][t];
        let mut fields: Vec<(&str, Vec<i64>, Vec<i64>)> = Vec::new();
        for (name, pop, var) in [("pre_u", "lif_pre", "u"), ("pre_v", "lif_pre", "v"), ("post_u", "lif_post", "u"), ("post_v", "lif_post", "v")] {
            let s = state(pop, var);
            if s.steps.get(t) != Some(&(t as u32 + 1)) {
                return Err(format!("{pop}.{var}: sample {t} is not step {}", t + 1));
            }
            let k = s.neurons.len();
            fields.push((name, s.raw.as_ref().unwrap()[t * k..(t + 1) * k].to_vec(), ints(&l[name])));
        }
        fields.push(("spikes_pre", spk_pre[t].clone(), ints(&fx["spikes_pre"][t])));
        fields.push(("spikes_post", spk_post[t].clone(), ints(&fx["spikes_post"][t])));
        // weights: the recording lists synapses by (pre, post); Lava's w is [post][pre]
        let lava_w = matrix(&l["w"]);
        let mine: Vec<i64> = w.synapses.iter().zip(&w_raw[t * n_syn..(t + 1) * n_syn]).map(|(_, &x)| x).collect();
        let theirs: Vec<i64> = w.synapses.iter().map(|&(pre, post)| lava_w[post as usize][pre as usize]).collect();
        fields.push(("w", mine, theirs));
        for (name, mine, lava) in fields {
            if mine != lava {
                return Err(format!("step {}: {name}: emulator {mine:?} != lava {lava:?}", t + 1));
            }
        }
    }
    let fin = matrix(&fx["final_weights"]);
    let last: Vec<i64> = w_raw[(steps - 1) * n_syn..].to_vec();
    let want: Vec<i64> = w.synapses.iter().map(|&(pre, post)| fin[post as usize][pre as usize]).collect();
    if last != want {
        return Err(format!("final weights: emulator {last:?} != lava {want:?}"));
    }
    Ok(())
}

fn check_case(case: &str) {
    let fx = fixture(case);
    let net = network(&fx["config"]);
    let r = run(&net, 256, 1);
    if let Err(e) = compare(&r, &fx) {
        panic!("{case}: {e}");
    }
    // the run is not trivially static: the weights change
    let w = &r.weights[0];
    let raw = w.raw.as_ref().unwrap();
    assert_ne!(raw[..6], raw[raw.len() - 6..], "{case}: the weights never changed");
}

#[test]
fn lava_learning_default() {
    check_case("default");
}

#[test]
fn lava_learning_epoch1() {
    check_case("epoch1");
}

#[test]
fn lava_learning_multifactor() {
    check_case("multifactor");
}

/// Generated with the Lava oracle for this test (see the data folder's README).
#[test]
fn lava_learning_seed7_u0_sgn() {
    check_case("seed7");
}

#[test]
fn result_does_not_depend_on_thread_count() {
    for case in ["default", "multifactor"] {
        let net = network(&fixture(case)["config"]);
        for per_core in [256, 1] {
            let one = run(&net, per_core, 1);
            assert_eq!(run(&net, per_core, 2), one, "{case}: 2 threads, {per_core} neurons per core");
            assert_eq!(run(&net, per_core, 3), one, "{case}: 3 threads, {per_core} neurons per core");
        }
    }
}

/// One neuron per core: lif_pre on 3 cores, lif_post on 2, so the plastic
/// projection has two target cores, each with its own random streams and
/// x traces, and three source cores. Nothing the network records changes.
#[test]
fn splitting_over_cores_does_not_change_the_result() {
    for case in ["default", "epoch1", "multifactor", "seed7"] {
        let fx = fixture(case);
        let net = network(&fx["config"]);
        let whole = run(&net, 256, 1);
        let split = run(&net, 1, 2);
        if let Err(e) = compare(&split, &fx) {
            panic!("{case}, one neuron per core: {e}");
        }
        assert_eq!((&split.spikes, &split.states, &split.weights), (&whole.spikes, &whole.states, &whole.weights), "{case}");
        assert_eq!(split.counters, whole.counters, "{case}: counters");
    }
}
