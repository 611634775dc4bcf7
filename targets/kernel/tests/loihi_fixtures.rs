//! Bit-exact replay of the Lava 0.10.0 learning fixtures
//! (`shared/fixtures/lava-learning/{default,epoch1,multifactor}`).
//!
//! For each case the oracle network is rebuilt from `result.json`'s `config`
//! with the kernel's Loihi profile and run for all steps; every logged value
//! is compared exactly: LIF u/v of both populations, x1, y1, tx, ty, the
//! plastic weights, both spike rasters, every random draw of `randoms.jsonl`
//! (in consumption order) and the final weights.
//!
//! Network (see `shared/reference/lava/lava_stdp_oracle.py`):
//! RingBuffer(pre) → Dense(w_in·I) → LIF_pre → LearningDense(w_plastic, rule)
//! → LIF_post ← Dense(diag w_teach) ← RingBuffer(teacher);
//! LIF_post's spikes are the LearningDense's back-propagated post spikes.
//! Every Dense output reaches its LIF one step later.
//!
//! The shared folder is `$SPIKEFORGE_SHARED`, else
//! `<CARGO_MANIFEST_DIR>/../../../shared`; if it is missing the tests fail.

mod common;
use common::parse_hex_f64;
use std::path::PathBuf;

use serde_json::Value;
use spikeforge_kernel::loihi::dense::{
    dense_step, prepare_dense_weights, prepare_learning_weights, DenseParams, SignMode,
};
use spikeforge_kernel::loihi::learning::{
    history_scratch_len, is_learning_step, learning_phase, spike_phase, LearningParams,
    LearningState, Rules, TraceParams,
};
use spikeforge_kernel::loihi::lif::{lif_step, LifParams};
use spikeforge_kernel::loihi::rule::{ProductSeries, Target};
use spikeforge_kernel::rng::LearningRandoms;

fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("SPIKEFORGE_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    assert!(
        dir.join("fixtures/lava-learning").is_dir(),
        "shared reference folder not found at {} (set SPIKEFORGE_SHARED to the folder holding \
         fixtures/lava-learning); these fixture tests cannot run without it",
        dir.display()
    );
    dir
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(int)
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<i64>> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(ints)
        .collect()
}

fn lif_params(v: &Value) -> LifParams {
    let p = LifParams {
        du: int(&v["du"]) as i16,
        dv: int(&v["dv"]) as u16,
        vth: int(&v["vth"]) as i32,
        bias_mant: int(&v["bias_mant"]) as i16,
        bias_exp: int(&v["bias_exp"]) as i16,
    };
    p.validate().expect("fixture LIF parameters are valid");
    p
}

/// Closed-form input raster: channel i spikes at step t (1-based) when
/// `(t + offset[i]) % period[i] == 0`.
fn raster(steps: usize, period: &[i64], offset: &[i64]) -> Vec<Vec<bool>> {
    (1..=steps as i64)
        .map(|t| {
            period
                .iter()
                .zip(offset)
                .map(|(p, o)| (t + o) % p == 0)
                .collect()
        })
        .collect()
}

fn as_i64<T: Copy + Into<i64>>(s: &[T]) -> Vec<i64> {
    s.iter().map(|&v| v.into()).collect()
}

struct Mismatches(Vec<String>);

impl Mismatches {
    fn check(&mut self, t: usize, field: &str, mine: Vec<i64>, lava: Vec<i64>) {
        if mine != lava {
            self.0.push(format!(
                "step {t}: {field}: kernel {mine:?} != lava {lava:?}"
            ));
        }
    }
}

fn run_case(name: &str) {
    let dir = shared_dir().join("fixtures/lava-learning").join(name);
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("result.json")).expect("read result.json"),
    )
    .expect("parse result.json");
    let log: Vec<Value> = std::fs::read_to_string(dir.join("randoms.jsonl"))
        .expect("read randoms.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("parse randoms.jsonl line"))
        .collect();
    assert_eq!(
        log.len() as i64,
        int(&r["n_random_records"]),
        "{name}: randoms.jsonl length"
    );
    let c = &r["config"];
    let steps = int(&c["steps"]) as usize;
    let n_pre = 3usize;
    let n_post = 2usize;

    // ---- inputs: closed form from the config, checked against the logged rasters
    let pre_in = raster(steps, &ints(&c["pre_period"]), &ints(&c["pre_offset"]));
    let teach_in = raster(steps, &ints(&c["teach_period"]), &ints(&c["teach_offset"]));
    let to_bool = |m: Vec<Vec<i64>>| -> Vec<Vec<bool>> {
        m.into_iter()
            .map(|row| row.into_iter().map(|v| v != 0).collect())
            .collect()
    };
    assert_eq!(
        pre_in,
        to_bool(matrix(&r["input_pre"])),
        "{name}: pre input raster"
    );
    assert_eq!(
        teach_in,
        to_bool(matrix(&r["input_teach"])),
        "{name}: teacher input raster"
    );

    // ---- static Dense projections (sign mode determined from the weights, as Lava's Dense)
    let w_in = int(&c["w_in"]);
    let mut d_in_w: Vec<i16> = (0..n_pre * n_pre)
        .map(|k| {
            if k / n_pre == k % n_pre {
                w_in as i16
            } else {
                0
            }
        })
        .collect();
    let d_in_p = DenseParams::new(SignMode::determine(&d_in_w));
    let rep = prepare_dense_weights(&mut d_in_w, &d_in_p).unwrap();
    assert!(rep.is_lossless(), "{name}: d_in weights changed: {rep:?}");
    let w_teach = ints(&c["w_teach"]);
    let mut d_teach_w: Vec<i16> = (0..n_post * n_post)
        .map(|k| {
            if k / n_post == k % n_post {
                w_teach[k / n_post] as i16
            } else {
                0
            }
        })
        .collect();
    let d_teach_p = DenseParams::new(SignMode::determine(&d_teach_w));
    let rep = prepare_dense_weights(&mut d_teach_w, &d_teach_p).unwrap();
    assert!(
        rep.is_lossless(),
        "{name}: d_teach weights changed: {rep:?}"
    );

    // ---- LearningDense: Mixed, 8 bits -> odd weights truncated to even, no clip
    let mut w: Vec<i16> = matrix(&c["w_plastic"])
        .concat()
        .iter()
        .map(|&v| v as i16)
        .collect();
    let odd = w.iter().filter(|&&v| v % 2 != 0).count();
    let pl_p = DenseParams::new(SignMode::Mixed);
    let rep = prepare_learning_weights(&mut w, &pl_p).unwrap();
    assert_eq!(
        (rep.truncated, rep.clipped, rep.out_of_range),
        (odd, 0, 0),
        "{name}: truncation"
    );

    // ---- the learning rule, parsed here, printed like Lava
    let rule_src = c["dw"].as_str().expect("dw string");
    let dw = ProductSeries::parse(Target::Dw, rule_src)
        .unwrap_or_else(|e| panic!("{name}: rule {rule_src:?} rejected: {e}"));
    assert_eq!(
        dw.to_string(),
        r["product_series"].as_str().unwrap(),
        "{name}: parsed rule differs from Lava's ProductSeries"
    );
    let rules = Rules {
        dw: Some(&dw),
        dd: None,
        dt: None,
    };

    // ---- learning parameters; decay factors from the recorded float64 bits
    let decay = |tau: i64| -> f64 {
        if tau == 0 {
            return 0.0;
        }
        let hex = r["trace_decay_factor_hex"][tau.to_string()]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no decay factor for tau {tau}"));
        parse_hex_f64(hex)
    };
    let trace = |imp: &str, tau: &str| {
        TraceParams::from_impulse(c[imp].as_f64().unwrap(), decay(int(&c[tau])))
            .expect("valid trace parameters")
    };
    let lp = LearningParams {
        x: [trace("x1_impulse", "x1_tau"), TraceParams::OFF],
        y: [
            trace("y1_impulse", "y1_tau"),
            TraceParams::OFF,
            TraceParams::OFF,
        ],
        rng_seed: int(&c["rng_seed"]) as u64,
        t_epoch: int(&c["t_epoch"]) as u8,
        sign_mode: SignMode::Mixed as u8,
        _pad: [0; 6],
    };
    lp.validate().expect("valid learning parameters");
    let mut rnd = LearningRandoms::new(lp.rng_seed);

    // ---- state
    let lif_pre = lif_params(&c["lif_pre"]);
    let lif_post = lif_params(&c["lif_post"]);
    let (mut pre_u, mut pre_v) = (vec![0i32; n_pre], vec![0i32; n_pre]);
    let (mut post_u, mut post_v) = (vec![0i32; n_post], vec![0i32; n_post]);
    let (mut abuf_in, mut abuf_pl, mut abuf_teach) =
        (vec![0i32; n_pre], vec![0i32; n_post], vec![0i32; n_post]);
    let (mut x1, mut x2, mut tx) = (vec![0u8; n_pre], vec![0u8; n_pre], vec![0u8; n_pre]);
    let (mut y1, mut y2, mut y3, mut ty) = (
        vec![0u8; n_post],
        vec![0u8; n_post],
        vec![0u8; n_post],
        vec![0u8; n_post],
    );
    let mut scratch = vec![0u8; history_scratch_len(lp.t_epoch, n_pre, n_post)];
    let (mut sp_pre, mut sp_post) = (vec![false; n_pre], vec![false; n_post]);

    let per_step = r["per_step"].as_array().expect("per_step");
    assert_eq!(per_step.len(), steps);
    let spikes_pre = matrix(&r["spikes_pre"]);
    let spikes_post = matrix(&r["spikes_post"]);
    let mut mm = Mismatches(Vec::new());
    let mut logi = 0usize;
    let mut epochs = 0usize;
    let mut max_abs_a = 0i32;

    for t in 1..=steps {
        // pre population: d_in's buffer from t-1, then this step's input spikes
        let mut a_pre = vec![0i32; n_pre];
        dense_step(
            &d_in_w,
            d_in_p.weight_exp,
            &pre_in[t - 1],
            &mut abuf_in,
            &mut a_pre,
        );
        lif_step(&lif_pre, &mut pre_u, &mut pre_v, &a_pre, &mut sp_pre);
        // post population: plastic and teacher buffers from t-1
        let mut a_post = vec![0i32; n_post];
        dense_step(&w, pl_p.weight_exp, &sp_pre, &mut abuf_pl, &mut a_post);
        dense_step(
            &d_teach_w,
            d_teach_p.weight_exp,
            &teach_in[t - 1],
            &mut abuf_teach,
            &mut a_post,
        );
        max_abs_a = max_abs_a.max(a_post.iter().map(|a| a.abs()).max().unwrap());
        lif_step(&lif_post, &mut post_u, &mut post_v, &a_post, &mut sp_post);

        // learning engine
        let mut st = LearningState {
            x: [&mut x1, &mut x2],
            tx: &mut tx,
            y: [&mut y1, &mut y2, &mut y3],
            ty: &mut ty,
            w: &mut w,
            d: &mut [],
            t: &mut [],
        };
        let sp = spike_phase(&lp, t as u32, &sp_pre, &sp_post, &mut st, &mut rnd).unwrap();
        if let Some(r_imp) = sp.multi_spike_y_impulse {
            let rec = log
                .get(logi)
                .unwrap_or_else(|| panic!("{name}: step {t}: randoms.jsonl exhausted"));
            logi += 1;
            assert_eq!(
                rec["what"], "y_impulse_multispike",
                "{name}: step {t}: random record order"
            );
            assert_eq!(
                int(&rec["t"]) as usize,
                t,
                "{name}: step {t}: random record step"
            );
            assert_eq!(
                int(&rec["y_imp"]),
                r_imp as i64,
                "{name}: step {t}: y impulse random (multi-spike)"
            );
        }
        if is_learning_step(&lp, t as u32) {
            epochs += 1;
            let ep =
                learning_phase(&lp, &rules, t as u32, &mut st, &mut rnd, &mut scratch).unwrap();
            let rec = log
                .get(logi)
                .unwrap_or_else(|| panic!("{name}: step {t}: randoms.jsonl exhausted"));
            logi += 1;
            assert_eq!(
                rec["what"], "epoch_traces",
                "{name}: step {t}: random record order"
            );
            assert_eq!(
                int(&rec["t"]) as usize,
                t,
                "{name}: step {t}: random record step"
            );
            let f = |k: &str| parse_hex_f64(rec[k].as_str().unwrap()).to_bits();
            assert_eq!(
                ep.x_decay.to_bits(),
                f("x_decay"),
                "{name}: step {t}: x decay random"
            );
            assert_eq!(
                ep.y_decay.to_bits(),
                f("y_decay"),
                "{name}: step {t}: y decay random"
            );
            assert_eq!(
                ep.x_impulse as i64,
                int(&rec["x_imp"]),
                "{name}: step {t}: x impulse random"
            );
            assert_eq!(
                ep.y_impulse as i64,
                int(&rec["y_imp"]),
                "{name}: step {t}: y impulse random"
            );
            let rec = log
                .get(logi)
                .unwrap_or_else(|| panic!("{name}: step {t}: randoms.jsonl exhausted"));
            logi += 1;
            assert_eq!(
                rec["what"], "epoch_weights",
                "{name}: step {t}: random record order"
            );
            assert_eq!(
                int(&rec["t"]) as usize,
                t,
                "{name}: step {t}: random record step"
            );
            assert_eq!(
                ep.w_round.to_bits(),
                parse_hex_f64(rec["w_round"].as_str().unwrap()).to_bits(),
                "{name}: step {t}: weight rounding random"
            );
        }

        // compare everything Lava logged after step t
        let l = &per_step[t - 1];
        assert_eq!(int(&l["t"]) as usize, t);
        mm.check(
            t,
            "spikes_pre",
            sp_pre.iter().map(|&s| s as i64).collect(),
            spikes_pre[t - 1].clone(),
        );
        mm.check(
            t,
            "spikes_post",
            sp_post.iter().map(|&s| s as i64).collect(),
            spikes_post[t - 1].clone(),
        );
        mm.check(t, "pre_u", as_i64(&pre_u), ints(&l["pre_u"]));
        mm.check(t, "pre_v", as_i64(&pre_v), ints(&l["pre_v"]));
        mm.check(t, "post_u", as_i64(&post_u), ints(&l["post_u"]));
        mm.check(t, "post_v", as_i64(&post_v), ints(&l["post_v"]));
        mm.check(t, "x1", as_i64(&x1), ints(&l["x1"]));
        mm.check(t, "y1", as_i64(&y1), ints(&l["y1"]));
        mm.check(t, "tx", as_i64(&tx), ints(&l["tx"]));
        mm.check(t, "ty", as_i64(&ty), ints(&l["ty"]));
        mm.check(t, "w", as_i64(&w), matrix(&l["w"]).concat());
        // the unused traces stay 0
        mm.check(
            t,
            "x2/y2/y3",
            [as_i64(&x2), as_i64(&y2), as_i64(&y3)].concat(),
            vec![0; n_pre + 2 * n_post],
        );
    }
    assert_eq!(
        logi,
        log.len(),
        "{name}: not every logged random was consumed"
    );
    assert_eq!(epochs, steps / lp.t_epoch as usize);
    assert!(
        mm.0.is_empty(),
        "{name}: {} mismatches with Lava, first ones:\n{}",
        mm.0.len(),
        mm.0.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(
        as_i64(&w),
        matrix(&r["final_weights"]).concat(),
        "{name}: final weights"
    );
    eprintln!("{name}: {steps} steps, {epochs} epochs, {} random records, max |a_in(post)| = {max_abs_a}: bit-exact", log.len());
}

#[test]
fn lava_fixture_default() {
    run_case("default");
}

#[test]
fn lava_fixture_epoch1() {
    run_case("epoch1");
}

#[test]
fn lava_fixture_multifactor() {
    run_case("multifactor");
}
