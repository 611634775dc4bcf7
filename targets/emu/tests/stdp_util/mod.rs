//! Shared by the `stdp_*` tests: networks with spike-source-array inputs and
//! teacher-driven post neurons, compiled and run on the emulator, and the
//! kernel's STDP engine driven directly on the same spike trains.
#![allow(dead_code)]

use spikeforge_compiler::lower::{compile_with_profile, CompileOptions, ProfileOptions, TargetProfile};
use spikeforge_compiler::program::MachineProgram;
use spikeforge_compiler::quantize::spinnaker_stdp::PlasticWeightBits;
use spikeforge_compiler::yaml;
use spikeforge_emu::Emulator;
use spikeforge_kernel::spinnaker::host;
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use spikeforge_kernel::spinnaker::stdp::nearest::NearestPairRule;
use spikeforge_kernel::spinnaker::stdp::triplet::TripletRule;
use spikeforge_kernel::spinnaker::stdp::{
    process_post_event, process_row, AdditiveTwoTermWeights, ExpLut, OneTermWeights, PairRule, PlasticSynapse, PlasticWeight,
    PostHistory, RowConfig, TimingRule, WeightDependence, WeightRule, WideWeight,
};
use spikeforge_results::RunResult;

/// The LCG of the kernel's chip harness (`s = s·1103515245 + 12345 mod
/// 2^31`, spike at step t in `from..to` if `(s >> 8) % 1000 < p`).
pub fn lcg_train(seed: u64, p: u64, from: u32, to: u32) -> Vec<u32> {
    let mut s = seed;
    let mut out = Vec::new();
    for t in 1..to {
        s = (s.wrapping_mul(1103515245) + 12345) & 0x7fff_ffff;
        if t >= from && (s >> 8) % 1000 < p {
            out.push(t);
        }
    }
    out
}

/// An STDP rule in the IR's terms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// (nearest?, multiplicative?, tau+, tau-, A+, A-, w_min, w_max)
    Pair { nearest: bool, mult: bool, tau_plus: f64, tau_minus: f64, a_plus: f64, a_minus: f64, w_min: f64, w_max: f64 },
    /// additive triplet: taus (+, -, x, y), amplitudes (A2+, A2-, A3+, A3-) in weight units
    Triplet { taus: [f64; 4], amps: [f64; 4], w_min: f64, w_max: f64 },
}

impl Rule {
    pub fn yaml(&self) -> String {
        match *self {
            Rule::Pair { nearest, mult, tau_plus, tau_minus, a_plus, a_minus, w_min, w_max } => format!(
                "pair_stdp: {{pairing: {}, weight_dependence: {}, tau_plus_ms: {tau_plus:?}, tau_minus_ms: {tau_minus:?}, a_plus: {a_plus:?}, a_minus: {a_minus:?}, w_min: {w_min:?}, w_max: {w_max:?}}}",
                if nearest { "nearest" } else { "all_to_all" },
                if mult { "multiplicative" } else { "additive" }
            ),
            Rule::Triplet { taus, amps, w_min, w_max } => format!(
                "triplet_stdp: {{weight_dependence: additive, tau_plus_ms: {:?}, tau_minus_ms: {:?}, tau_x_ms: {:?}, tau_y_ms: {:?}, a2_plus: {:?}, a2_minus: {:?}, a3_plus: {:?}, a3_minus: {:?}, w_min: {w_min:?}, w_max: {w_max:?}}}",
                taus[0], taus[1], taus[2], taus[3], amps[0], amps[1], amps[2], amps[3]
            ),
        }
    }

    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            Rule::Pair { w_min, w_max, .. } | Rule::Triplet { w_min, w_max, .. } => (w_min, w_max),
        }
    }

    /// The float64 twin's rule.
    pub fn twin(&self) -> spikeforge_reference::stdp::Rule {
        use spikeforge_reference::stdp as r;
        match *self {
            Rule::Pair { nearest, mult, tau_plus, tau_minus, a_plus, a_minus, w_min, w_max } => r::Rule::Pair(r::PairStdp {
                pairing: if nearest { r::Pairing::Nearest } else { r::Pairing::AllToAll },
                weight_dependence: if mult { r::WeightDependence::Multiplicative } else { r::WeightDependence::Additive },
                tau_plus_ms: tau_plus,
                tau_minus_ms: tau_minus,
                a_plus,
                a_minus,
                w_min,
                w_max,
            }),
            Rule::Triplet { taus, amps, w_min, w_max } => r::Rule::Triplet(r::TripletStdp {
                weight_dependence: r::WeightDependence::Additive,
                tau_plus_ms: taus[0],
                tau_minus_ms: taus[1],
                tau_x_ms: taus[2],
                tau_y_ms: taus[3],
                a2_plus: amps[0],
                a2_minus: amps[1],
                a3_plus: amps[2],
                a3_minus: amps[3],
                w_min,
                w_max,
            }),
        }
    }
}

/// A plastic synapse of the test networks (IR units, delay in steps).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Syn {
    pub pre: u32,
    pub post: u32,
    pub w: f64,
    pub delay: u32,
}

/// A network: `pre` spike-source array → `post` IF_curr_exp through the
/// plastic projection `plastic` (from_list, `receptor`), a `teach` source
/// array driving each post neuron one-to-one with a strong static
/// excitatory weight (so post spikes follow the teacher one step later),
/// and optionally a weak static all-to-all projection `pre → post` too.
/// Records the post spikes and the plastic weights every step.
pub fn network(rule: &Rule, pre: &[Vec<u32>], teach: &[Vec<u32>], syn: &[Syn], receptor: &str, with_static: bool, steps: u32) -> String {
    let trains = |t: &[Vec<u32>]| t.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", ");
    let list = syn.iter().map(|s| format!("[{}, {}, {:?}, {}]", s.pre, s.post, s.w, s.delay)).collect::<Vec<_>>().join(", ");
    let stat = if with_static {
        "  - {name: static_same, pre: pre, post: post, connector: all_to_all, weight: 0.01, delay_ms: 2}\n".to_string()
    } else {
        String::new()
    };
    format!(
        "spikeforge: 1
name: stdp_test
dt_ms: 1.0
duration_ms: {steps}
seed: 3
populations:
  - name: pre
    size: {}
    spike_source_array: {{times_ms: [{}]}}
  - name: teach
    size: {}
    spike_source_array: {{times_ms: [{}]}}
  - name: post
    size: {}
    if_curr_exp: {{tau_m_ms: 20, cm_nf: 0.25, v_rest_mv: -65, v_reset_mv: -65, v_thresh_mv: -50, tau_refrac_ms: 0, tau_syn_e_ms: 0.2, tau_syn_i_ms: 0.2}}
projections:
  - {{name: teach_post, pre: teach, post: post, connector: one_to_one, weight: 40.0, delay_ms: 1}}
  - {{name: plastic, pre: pre, post: post, receptor: {receptor}, connector: {{from_list: [{list}]}}, plasticity: rule}}
{stat}plasticity:
  - name: rule
    {}
record:
  - spikes: {{population: post}}
  - weights: {{projection: plastic, every_n_steps: 1}}
",
        pre.len(),
        trains(pre),
        teach.len(),
        trains(teach),
        teach.len(),
        rule.yaml()
    )
}

pub fn compile(yaml_text: &str, steps: u32, bits: PlasticWeightBits) -> Result<MachineProgram, spikeforge_compiler::diag::Diagnostics> {
    let net = yaml::parse(yaml_text, "stdp_test.yaml").map_err(|e| panic!("{e:?}")).unwrap();
    let opts = CompileOptions { profile: TargetProfile::Spinnaker, max_neurons_per_core: 256, n_steps: steps };
    compile_with_profile(&net, &opts, &Default::default(), &ProfileOptions { plastic_weight_bits: bits }).map(|c| c.program)
}

pub fn run(program: MachineProgram, steps: u32, threads: usize) -> RunResult {
    let mut emu = Emulator::new(program, threads).unwrap();
    emu.run(steps, |_| {}).unwrap().0
}

/// The ring-buffer shift of the plastic projection, from the manifest's scale.
pub fn shift_of(program: &MachineProgram, bits: PlasticWeightBits) -> u32 {
    let p = program.manifest.projections.iter().find(|p| p.name == "plastic").unwrap();
    let extra = if bits == PlasticWeightBits::ThirtyTwo { 15.0 } else { 0.0 };
    (15.0 + extra + p.scale.log2()).round() as u32
}

fn lut(dt: f64, tau: f64, shift: u32) -> Vec<i16> {
    let n = host::exp_lut_len(dt, tau, shift).unwrap();
    let mut v = vec![0i16; n];
    host::exp_lut(dt, tau, shift, &mut v).unwrap();
    v
}

/// The kernel's STDP engine driven directly (no compiler, no emulator):
/// rows per pre neuron, post histories per post neuron, in the emulator's
/// order (step `t`: rows of the pre spikes emitted in `t − 1` at time
/// `t − 1`, then the post events of step `t`). Parameters come straight from
/// the host formulas. Returns the stored weights (raw, `u16` or
/// `WideWeight` bits) after every step, synapses sorted by (pre, post).
#[allow(clippy::too_many_arguments)]
pub fn engine_weights(rule: &Rule, syn: &[Syn], pre: &[Vec<u32>], post_spikes: &[(u32, u32)], n_post: u32, shift: u32, bits: PlasticWeightBits, steps: u32) -> Vec<Vec<i64>> {
    let dt = 1.0;
    let ws = host::weight_scale(shift, 1.0);
    let wide = bits == PlasticWeightBits::ThirtyTwo;
    let unit = if wide { ws } else { 1.0 };
    let layout = RingBufferLayout { log_n_neurons: 2, log_n_synapse_types: 1, log_max_delay: 4 };
    let shifts = [shift, shift];
    match *rule {
        Rule::Pair { nearest, mult, tau_plus, tau_minus, a_plus, a_minus, w_min, w_max } => {
            let (p, m) = (lut(dt, tau_plus, 0), lut(dt, tau_minus, 0));
            let region = if mult {
                host::weight_region_multiplicative(w_min * unit, w_max * unit, a_plus, a_minus, 1.0)
            } else {
                host::weight_region_additive(w_min * unit, w_max * unit, a_plus * unit, a_minus * unit, 1.0)
            }
            .unwrap();
            let regions = [region, region];
            let w = OneTermWeights { dependence: if mult { WeightDependence::Multiplicative } else { WeightDependence::Additive }, regions: &regions, left_shifts: &shifts };
            let (tp, tm) = (ExpLut { shift: 0, values: &p }, ExpLut { shift: 0, values: &m });
            if nearest {
                drive_bits(&NearestPairRule { tau_plus: tp, tau_minus: tm }, &w, &layout, syn, pre, post_spikes, n_post, ws, wide, steps)
            } else {
                drive_bits(&PairRule { tau_plus: tp, tau_minus: tm }, &w, &layout, syn, pre, post_spikes, n_post, ws, wide, steps)
            }
        }
        Rule::Triplet { taus, amps, w_min, w_max } => {
            let (p, m, x, y) = (lut(dt, taus[0], 0), lut(dt, taus[1], 0), lut(dt, taus[2], 2), lut(dt, taus[3], 2));
            let r = |a: f64| a / w_max;
            let region = host::weight_region_additive_triplet(w_min * unit, w_max * unit, r(amps[0]), r(amps[1]), r(amps[2]), r(amps[3]), 1.0).unwrap();
            let regions = [region, region];
            let w = AdditiveTwoTermWeights { regions: &regions, left_shifts: &shifts };
            let rule = TripletRule {
                tau_plus: ExpLut { shift: 0, values: &p },
                tau_minus: ExpLut { shift: 0, values: &m },
                tau_x: ExpLut { shift: 2, values: &x },
                tau_y: ExpLut { shift: 2, values: &y },
            };
            drive_bits(&rule, &w, &layout, syn, pre, post_spikes, n_post, ws, wide, steps)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn drive_bits<T: TimingRule, W: WeightRule<Terms = T::Terms>>(
    rule: &T, w: &W, layout: &RingBufferLayout, syn: &[Syn], pre: &[Vec<u32>], post_spikes: &[(u32, u32)], n_post: u32, ws: f64, wide: bool, steps: u32,
) -> Vec<Vec<i64>> {
    if wide {
        drive::<T, W, WideWeight>(rule, w, layout, syn, pre, post_spikes, n_post, steps, |x| WideWeight((x * ws * 32768.0).round_ties_even() as i32), |s| s.0 as i64)
    } else {
        drive::<T, W, u16>(rule, w, layout, syn, pre, post_spikes, n_post, steps, |x| (x * ws).round_ties_even() as u16, |s| s as i64)
    }
}

#[allow(clippy::too_many_arguments)]
fn drive<T: TimingRule, W: WeightRule<Terms = T::Terms>, S: PlasticWeight>(
    rule: &T,
    w: &W,
    layout: &RingBufferLayout,
    syn: &[Syn],
    pre: &[Vec<u32>],
    post_spikes: &[(u32, u32)],
    n_post: u32,
    steps: u32,
    enc: impl Fn(f64) -> S,
    raw: impl Fn(S) -> i64,
) -> Vec<Vec<i64>> {
    // rows: per pre neuron, its synapses sorted by post (the emulator's row order)
    let mut order: Vec<usize> = (0..syn.len()).collect();
    order.sort_by_key(|&k| (syn[k].pre, syn[k].post));
    type Row<H, S> = (H, Vec<PlasticSynapse>, Vec<S>);
    let mut rows: Vec<Row<T::PreHistory, S>> =
        (0..pre.len()).map(|_| (bytemuck::Zeroable::zeroed(), Vec::new(), Vec::new())).collect();
    for &k in &order {
        let s = syn[k];
        let r = &mut rows[s.pre as usize];
        r.1.push(PlasticSynapse { delay: s.delay, synapse_type: 0, neuron: s.post });
        r.2.push(enc(s.w));
    }
    let mut posts: Vec<T::PostHistory> = (0..n_post).map(|_| T::PostHistory::initial()).collect();
    let mut rb = vec![0u16; layout.len()];
    let cfg = RowConfig { layout, backprop_delay: true };
    let mut out = Vec::with_capacity(steps as usize);
    for t in 1..=steps {
        for (i, train) in pre.iter().enumerate() {
            if train.binary_search(&(t - 1)).is_ok() {
                let (h, s, wt) = &mut rows[i];
                process_row(rule, w, &cfg, &mut rb, &posts, h, s, wt, t - 1);
            }
        }
        for &(step, n) in post_spikes.iter().filter(|e| e.0 == t) {
            process_post_event(rule, &mut posts[n as usize], step);
        }
        let mut now = vec![0i64; syn.len()];
        let mut j = 0;
        for r in &rows {
            for &wv in &r.2 {
                now[j] = raw(wv);
                j += 1;
            }
        }
        out.push(now);
    }
    out
}
