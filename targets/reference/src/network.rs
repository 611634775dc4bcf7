//! float64 network reference simulator: the IR's own semantics, without fixed point.
//!
//! This is the yardstick for "how far does the fixed-point emulator drift": it
//! runs the network on **exactly the same stimuli and synapses** as the
//! emulator, because both take them from [`spikeforge_compiler::expand`]
//! (nothing is redrawn here), and does every computation in `f64` with the
//! exact (closed-form) solution of the IR's linear dynamics.
//!
//! # Time
//!
//! * Steps are numbered `1..=n_steps`; step `t` covers `((t - 1)·dt, t·dt]`.
//!   State recorded "at step `t`" is the state **after** step `t`.
//! * A spike emitted in step `s` over a synapse with delay `d >= 1` (whole
//!   steps, from [`Synapse::delay`](spikeforge_compiler::expand::Synapse)) is
//!   input to the target in step `s + d`. Source neurons emit in the steps
//!   [`ExpModel::Source`] lists. Spikes whose input would land after the last
//!   simulated step are never applied (they stay in the ring buffer).
//! * Within step `t`, every population first takes the inputs of step `t`,
//!   then integrates one `dt`, then tests its threshold (a spike in step `t`).
//!   Spikes of step `t` are delivered after all populations have been updated;
//!   since `d >= 1` the order of populations does not matter.
//!
//! # IF_curr_exp (PyNN units: ms, nF, mV, nA)
//!
//! `R = tau_m / cm` (MΩ, so `R·I[nA]` is mV). State: `v` (mV), `i_syn_e`,
//! `i_syn_i` (nA). Within step `t`:
//!
//! 1. inputs of step `t` jump the currents: excitatory `I_e += w`, inhibitory
//!    `I_i += |w|` (PyNN accepts negative inhibitory weights; the receptor
//!    gives the sign);
//! 2. `V`, `I_e`, `I_i` are integrated **exactly** over `h = dt` (the NEST
//!    `iaf_psc_exp` propagators) for
//!    `tau_m dV/dt = -(V - v_rest) + R·(I_e - I_i + i_offset)`,
//!    `dI_x/dt = -I_x / tau_syn_x`:
//!    ```text
//!    V   <- v_rest + (V - v_rest)·P22 + P21e·I_e - P21i·I_i + P20·i_offset
//!    I_x <- I_x·P11x
//!    P22  = exp(-h/tau_m)              P11x = exp(-h/tau_syn_x)
//!    P20  = R·(1 - P22)                (computed as -R·expm1(-h/tau_m))
//!    P21x = (1/cm)·tau_m·tau_x/(tau_x - tau_m)·(exp(-h/tau_x) - exp(-h/tau_m))
//!         = (h/cm)·exp(-h/tau_m)·expm1(h·δ)/(h·δ),   δ = 1/tau_m - 1/tau_x
//!    ```
//!    The second form of `P21x` is the one computed: it has no cancellation
//!    for `tau_x ≈ tau_m` and its limit `δ = 0` (`tau_x == tau_m`) is
//!    `(h/cm)·exp(-h/tau_m)`, the exact solution of the degenerate case;
//! 3. if the neuron is refractory, `V` is not integrated (it stays at
//!    `v_reset`) and the refractory counter is decremented; the currents still
//!    decay and receive input;
//! 4. otherwise, `V >= v_thresh` is a spike in step `t`: `V = v_reset` and the
//!    neuron is refractory for the next `ceil(tau_refrac / dt)` steps (the
//!    quotient is taken with a relative tolerance of 1e-9, so `0.6 / 0.2`
//!    counts as 3 steps, not 4). With `tau_refrac = 0` it integrates again in
//!    the next step.
//!
//! Initial state: `V` = the per-neuron draw of `v_init_distribution_mv`
//! ([`ExpPopulation::v_init`], drawn by the expansion) when the IR has one,
//! else `v_init_mv`, else `v_rest`; `I_e = I_i = 0`; not refractory.
//!
//! # LavaLif
//!
//! The IR's `LavaLif` holds the integer parameters of Lava's bit-accurate
//! `PyLifModelBitAcc`. The reference runs Lava's floating-point model
//! `PyLifModelFloat` (`lava/proc/lif/models.py`, `AbstractPyLifModelFloat`):
//!
//! ```text
//! u = u·(1 - du_f) + a_in
//! v = v·(1 - dv_f) + u + bias
//! spike when v > vth;  then v = 0          (no refractory period, no clamp, no wrap)
//! ```
//!
//! with `a_in` the sum of the weights (Lava integer units) arriving in the
//! step, each scaled by `2^weight_exp` of its projection (Lava `Dense` shifts
//! the summed input by `weight_exp`). The float parameters are chosen so that
//! this model is the exact-arithmetic counterpart of the bit-accurate model
//! the IR describes (`loihi-lava.md` §1, checked against Lava's source at
//! `lava-nc/lava@b6822fb`):
//!
//! | bit-accurate (IR) | float model here |
//! |---|---|
//! | `u = rtz(u·(4096 - (du + 1)) / 4096) + (a_in << 6)` | `du_f = (du + 1) / 4096` |
//! | `v = rtz(v·(4096 - dv) / 4096) + u + bias_eff` | `dv_f = dv / 4096` |
//! | `bias_eff = bias_mant << bias_exp` (unscaled!) | `bias = bias_mant·2^bias_exp / 64` |
//! | `v > vth << 6` | `v > vth` |
//! | `u`, `v` (24-bit) | `u / 64`, `v / 64` |
//!
//! The bit-accurate model MSB-aligns the input and the threshold by `2^6`
//! (`a_in << 6`, `vth << 6`) but adds the bias unscaled, and its current
//! decay carries Loihi's `ds_offset = 1` (`du = 4095` zeroes `u`). Hence the
//! `du + 1` and the `/ 64` of the bias: with `du_f = du / 4096` or an
//! unscaled `bias_mant·2^bias_exp` the float model would not describe the
//! same network (its bias would be 64 times too large), and the "drift"
//! would measure a parameter mismatch instead of quantization. What the
//! reference deliberately does *not* reproduce is exactly the fixed-point
//! part: the rounding toward zero of the decays, the arithmetic shift of a
//! negative `bias_exp`, the 24-bit wrap of `u` and clamp of `v`, and the
//! weight truncation `(w >> k) << k` of the projection's encoding.
//!
//! Because multiplying by 64 is exact in binary floating point, the float
//! model in Lava's float units and the same model in the bit-accurate units
//! (everything times 64) give bit-identical trajectories up to that factor.
//! [`LavaUnits`] selects which one is reported: [`LavaUnits::BitAccurate`]
//! (default; unit `lava`, directly comparable with the emulator's integer
//! `u`, `v`) or [`LavaUnits::Float`] (unit `lava_float`, Lava's
//! `PyLifModelFloat` units). Initial state: `u_init`, `v_init` (bit-accurate
//! units, divided by 64 for [`LavaUnits::Float`]).
//!
//! Receptors onto a LavaLif population: `signed` and `excitatory` add `w`,
//! `inhibitory` adds `-|w|`. `signed` onto IF_curr_exp is rejected
//! ([`SimError::Unsupported`]).
//!
//! # Recordings ([`simulate`])
//!
//! * spikes: `(step, neuron)` of the listed neurons (empty list = all),
//!   sorted by step, then neuron; spike sources can be recorded too;
//! * states: every `every_n_steps` steps (`0` or `1` = every step; otherwise
//!   the steps `k·N <= n_steps`, `k >= 1`), `values` row-major
//!   `[sample][neuron]`; IF_curr_exp: `v` (mV), `i_syn_e`, `i_syn_i` (nA);
//!   LavaLif: `u`, `v` (see [`LavaUnits`]); spike sources have no state;
//! * weights: the projection's synapse weights (IR units) in
//!   [`ExpProjection::synapses`] order, at the end of the run
//!   (`every_n_steps == 0`, step `n_steps`) or at the steps `k·N`.
//!
//! # Plasticity
//!
//! Every IR rule is simulated in float64 ([`PlasticityPolicy::Simulate`], the
//! default; [`PlasticityPolicy::Static`] keeps the initial weights, with a
//! note per plastic projection). The rules see the same spikes, at the same
//! steps, as the emulator's:
//!
//! * **Order within step `t`**: every population updates (the step's spikes);
//!   then the STDP and free-energy rules process the step's **post** events,
//!   then its **pre** events (post before pre: a same-step pair is
//!   pre-after-post, depression with Δt = 0, as the sPyNNaker core, whose
//!   neuron update at the timer tick precedes the processing of the step's
//!   pre spikes); then the step's spikes are delivered **with the updated
//!   weights** (sPyNNaker adds the weight a row update has just stored);
//!   finally the sum-of-products rules run their spike phase and, every
//!   `t_epoch` steps, their learning phase (Lava's LearningDense sends the
//!   step's spikes with the weights before learning).
//! * **Event times**: a pre spike emitted in step `s` is a pre event at `s`;
//!   a post spike in step `t` reaches a synapse of delay `d` at `t + d`
//!   (sPyNNaker's default `backprop_delay`: the dendritic delay applies to
//!   the back-propagating spike too), so a pair's Δt is
//!   `t_post + d − t_pre`. Sum-of-products rules use the spike steps
//!   themselves (Lava's LearningDense sees the pre and post LIF outputs of
//!   the same step; there is no back-propagation delay).
//! * **Pair STDP** (all-to-all and nearest) and **triplet STDP**: one
//!   [`crate::stdp::Synapse`] per synapse — exact exponential traces,
//!   evaluated at events, the per-synapse semantics documented there
//!   (potentiation at the post event, depression at the pre event, hard
//!   bounds after each).
//! * **Free energy**: one [`crate::fep::FepSynapse`] per synapse (depth
//!   `depth` steps × dt, pending pre spikes folded beyond it), times in ms
//!   (`step · dt`); at every post event `w ← clamp(w + eta·Σdw, w_min, w_max)`.
//!   **Release**: the reference delivers the **mean** release, `r0·w`, as the
//!   weight of every spike of the projection (in the projection's weight
//!   units, i.e. nA onto IF_curr_exp). The release noise
//!   `sqrt(s0·w)·ε` is the rule's ad-hoc path; it is not part of `dw` and
//!   the reference does not draw it, so the float run is noise-free and
//!   deterministic.
//! * **Sum of products** (float twin of Lava's rule): the same rule strings,
//!   epochs and dependencies, without rounding: traces decay by exactly
//!   `exp(-1/tau)` per step (`tau = 0` zeroes them) and every spike adds its
//!   full impulse (continuous, no stochastic rounding; several spikes in an
//!   epoch each add theirs at their own time — Lava adds all but the last
//!   one at once), saturating at 127 (the trace range); a product is
//!   `dep · m·2^e·2^-max(0, width − 15) · Π factors`, each factor clipped to
//!   its width's range as in Lava (the `2^-(width − 15)` is Lava's width
//!   normalisation, a scaling, kept); the sum is added to the weight without
//!   the 16-bit accumulator's clip or rounding; the weight is then floored at
//!   0 (excitatory) / capped at 0 (inhibitory) and clipped to the sign mode's
//!   range. The tag `t` (rule `dt`) is learned the same way; learned delays
//!   (`dd`) are rejected ([`SimError::Plasticity`]).
//! * **Weight recordings** sample the weights every N steps (see below), so
//!   a run records trajectories.
//!
//! # Data layout
//!
//! Structure of arrays per population; synapses in CSR order by pre neuron;
//! event-driven delivery into per-population ring buffers of `max_delay + 1`
//! slots of `f64` per receptor channel.
//!
//! [`ExpModel::Source`]: spikeforge_compiler::expand::ExpModel::Source
//! [`ExpProjection::synapses`]: spikeforge_compiler::expand::ExpProjection
//! [`ExpPopulation::v_init`]: spikeforge_compiler::expand::ExpPopulation

mod error;
mod neuron;
mod record;
mod sim;

pub use error::SimError;
pub use neuron::{refractory_steps, IfCurrExpProp, LavaLifFloat, LavaUnits, LAVA_SCALE};
pub use sim::{fep_rule_from_ir, stdp_rule_from_ir, FepRule, Simulator, StateVar};

use spikeforge_compiler::expand::Expanded;
use spikeforge_compiler::ir;
use spikeforge_results::RunResult;

/// What to do with projections that carry a plasticity rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlasticityPolicy {
    /// Learn with the rule (see "Plasticity" in the module docs).
    #[default]
    Simulate,
    /// Run them with their initial weights and return a note per projection.
    Static,
}

/// Options of a reference run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimOptions {
    /// Units of the LavaLif state variables.
    pub lava_units: LavaUnits,
    /// Handling of plastic projections.
    pub plasticity: PlasticityPolicy,
}

/// The `backend` name of reference results.
pub const BACKEND: &str = "reference";

/// Runs `net` (expanded as `exp`, for at least `n_steps` steps) for `n_steps`
/// steps and returns what `net.recordings` ask for, plus human-readable notes
/// (one per plastic projection run static under [`PlasticityPolicy::Static`]).
pub fn simulate(
    net: &ir::Network,
    exp: &Expanded,
    n_steps: u32,
    opts: &SimOptions,
) -> Result<(RunResult, Vec<String>), SimError> {
    check_matches(net, exp)?;
    let notes = plasticity_notes(net, exp, opts.plasticity)?;
    let mut sim = Simulator::with_plasticity(net, exp, opts)?;
    let mut rec = record::Recorder::new(net, exp, &sim, n_steps)?;
    rec.sample(&sim);
    for _ in 0..n_steps {
        sim.try_step()?;
        rec.sample(&sim);
    }
    let (spikes, states, weights) = rec.finish();
    let result = RunResult {
        network: net.name.clone(),
        backend: BACKEND.to_string(),
        dt_ms: exp.dt_ms,
        n_steps,
        spikes,
        states,
        weights,
        counters: Default::default(),
    };
    Ok((result, notes))
}

/// `exp` must be the expansion of `net`: same populations and projections, same dt.
fn check_matches(net: &ir::Network, exp: &Expanded) -> Result<(), SimError> {
    let mismatch = |m: String| Err(SimError::Mismatch(m));
    if net.dt_ms.to_bits() != exp.dt_ms.to_bits() {
        return mismatch(format!("network dt {} ms, expansion dt {} ms", net.dt_ms, exp.dt_ms));
    }
    let pops_n = net.populations.iter().map(|p| p.name.as_str());
    let pops_e = exp.populations.iter().map(|p| p.name.as_str());
    if !pops_n.eq(pops_e) {
        return mismatch("the populations differ from the network's".into());
    }
    let projs_n = net.projections.iter().map(|p| p.name.as_str());
    let projs_e = exp.projections.iter().map(|p| p.name.as_str());
    if !projs_n.eq(projs_e) {
        return mismatch("the projections differ from the network's".into());
    }
    Ok(())
}

fn rule_kind(rule: &ir::PlasticityRule) -> &'static str {
    use ir::plasticity_rule::Rule;
    match rule.rule {
        Some(Rule::PairStdp(_)) => "pair_stdp",
        Some(Rule::TripletStdp(_)) => "triplet_stdp",
        Some(Rule::SumOfProducts(_)) => "sum_of_products",
        Some(Rule::FreeEnergy(_)) => "free_energy",
        None => "empty rule",
    }
}

fn plasticity_notes(net: &ir::Network, exp: &Expanded, policy: PlasticityPolicy) -> Result<Vec<String>, SimError> {
    let mut notes = Vec::new();
    for p in &exp.projections {
        let Some(idx) = p.plasticity else { continue };
        let (name, kind) = match net.plasticity_rules.get(idx) {
            Some(r) => (r.name.clone(), rule_kind(r)),
            None => return Err(SimError::Mismatch(format!("projection '{}' refers to plasticity rule #{idx}, which the network does not have", p.name))),
        };
        if policy == PlasticityPolicy::Static {
            notes.push(format!("plasticity on projection '{}' (rule '{name}', {kind}) is not simulated in this run; its weights stay at their initial values", p.name));
        }
    }
    Ok(notes)
}
