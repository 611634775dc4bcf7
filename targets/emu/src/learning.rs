//! Lava's sum-of-products learning (`LearningDense` with
//! `PyLearningDenseModelBitApproximate`) on the emulator's Loihi cores.
//!
//! A core holds the plastic projections onto its neurons
//! (`spikeforge_kernel::program::LoihiPlastic`): the dense weight rows of
//! its neurons over the whole pre population, the traces, the in-epoch
//! spike times and its own copy of Lava's random streams.
//!
//! ## Order within step `t`
//!
//! After every core has run step `t` (received the spikes of `t − 1`,
//! updated its LIF neurons and emitted), each core with plastic projections
//! runs, per projection in image order, the learning pass of step `t`:
//!
//! 1. the Dense delivery of this step's pre spikes with the **current**
//!    weights: `(Σ_{i spiking} w[j][i]) << weight_exp` is added to the
//!    delay-line slot `t + delay` of post neuron `j` (with Lava's delay of
//!    one step it is the LIF input of step `t + 1`);
//! 2. `spike_phase(t, pre spikes of t, post spikes of t)` — the post spikes
//!    are the core's own LIF output of step `t` (Lava's `s_in_bap`);
//! 3. `learning_phase` when `t % t_epoch == 0`.
//!
//! This is the order of Lava's processes within one time step, and of the
//! kernel's fixture replay (`targets/kernel/tests/loihi_fixtures.rs`): the
//! Dense outputs of `t − 1` feed the LIF, the LIF updates and spikes, the
//! LearningDense accumulates its input with the weights learned up to step
//! `t − 1`, then learns. Recordings taken after step `t` (weights, state)
//! see the result of the whole step.
//!
//! The random streams are consumed exactly as Lava consumes them: two trace
//! advances per step in `spike_phase`, one weight-rounding draw per epoch.
//! They depend only on the seed and the step, so each target core of a
//! projection split over several cores keeps an identical copy.

use crate::EmuError;
use spikeforge_kernel::loihi::dense::scale_activation;
use spikeforge_kernel::loihi::encoding::{decode_rules, RuleSet};
use spikeforge_kernel::loihi::learning::{history_scratch_len, is_learning_step, learning_phase, spike_phase, LearningParams, LearningState};
use spikeforge_kernel::program::{CoreImage, LoihiPlasticSections};
use spikeforge_kernel::rng::LearningRandoms;

/// One plastic projection onto a core, with its learning state.
pub(crate) struct PlasticProjection {
    /// Index of the projection in the manifest.
    projection: u32,
    params: LearningParams,
    rules: RuleSet,
    weight_exp: i8,
    delay: u32,
    n_pre: usize,
    /// Per source core: (core index, neurons, first column).
    sources: Vec<(usize, u32, usize)>,
    /// Weights `[local post][pre]`, 8 bits + sign.
    w: Vec<i16>,
    /// Tags d (tag_2) and t (tag_1), same shape, or empty.
    d: Vec<i16>,
    t: Vec<i16>,
    x: [Vec<u8>; 2],
    tx: Vec<u8>,
    y: [Vec<u8>; 3],
    ty: Vec<u8>,
    rnd: LearningRandoms,
    scratch: Vec<u8>,
    /// This step's pre and post spikes (scratch).
    pre: Vec<bool>,
    post: Vec<bool>,
    /// Columns that spiked this step (scratch).
    active: Vec<usize>,
}

/// The plastic projections of one core.
pub(crate) struct Learning {
    projections: Vec<PlasticProjection>,
}

impl Learning {
    /// Reads the core's plastic-projection sections; `None` when it has none.
    pub(crate) fn load(img: &CoreImage, core: usize) -> Result<Option<Learning>, EmuError> {
        let Some(set) = LoihiPlasticSections::parse(img).map_err(|error| EmuError::Image { core, error })? else {
            return Ok(None);
        };
        let mut projections = Vec::with_capacity(set.len());
        for p in 0..set.len() {
            let v = set.view(p);
            let desc = v.desc;
            // parse() has decoded every block; a failure here cannot happen
            let rules = decode_rules(v.rules).map_err(|_| EmuError::Manifest(format!("core {core}: plastic projection {p}: the rule block does not decode")))?;
            let (n_pre, n_post) = (desc.n_pre as usize, desc.n_post as usize);
            projections.push(PlasticProjection {
                projection: desc.projection,
                params: desc.learning,
                rules,
                weight_exp: desc.dense.weight_exp,
                delay: desc.delay,
                n_pre,
                sources: v.sources.iter().map(|s| (s.core() as usize, s.n, s.first_pre as usize)).collect(),
                w: v.weights.to_vec(),
                d: v.d.to_vec(),
                t: v.t.to_vec(),
                x: [v.x_init[0].to_vec(), v.x_init[1].to_vec()],
                tx: vec![0; n_pre],
                y: [v.y_init[0].to_vec(), v.y_init[1].to_vec(), v.y_init[2].to_vec()],
                ty: vec![0; n_post],
                rnd: LearningRandoms::new(desc.learning.rng_seed),
                scratch: vec![0; history_scratch_len(desc.learning.t_epoch, n_pre, n_post)],
                pre: vec![false; n_pre],
                post: vec![false; n_post],
                active: Vec::with_capacity(n_pre),
            });
        }
        Ok(Some(Learning { projections }))
    }

    /// The learning pass of step `t` (see the module docs). `own` are the
    /// local indices of this core's neurons that spiked in step `t`,
    /// `spikes[c]` those of core `c`; `a_in` is the core's delay line
    /// (`slots × n` values, slot-major) and `dmask` its slot mask. Returns
    /// the synaptic events (delivered weights).
    pub(crate) fn step(&mut self, t: u32, own: &[u32], spikes: &[Vec<u32>], a_in: &mut [i32], n: usize, dmask: u32) -> u64 {
        let mut events = 0u64;
        for pp in &mut self.projections {
            // this step's pre spikes, by column
            pp.pre.fill(false);
            pp.active.clear();
            for &(core, count, first) in &pp.sources {
                for &i in spikes.get(core).map_or(&[][..], |s| s.as_slice()) {
                    if i < count {
                        pp.pre[first + i as usize] = true;
                        pp.active.push(first + i as usize);
                    }
                }
            }
            // (1) Dense delivery with the current weights
            if !pp.active.is_empty() {
                let slot = ((t.wrapping_add(pp.delay)) & dmask) as usize;
                let line = &mut a_in[slot * n..(slot + 1) * n];
                for (j, a) in line.iter_mut().enumerate() {
                    let row = &pp.w[j * pp.n_pre..(j + 1) * pp.n_pre];
                    let sum: i64 = pp.active.iter().map(|&i| row[i] as i64).sum();
                    *a = a.wrapping_add(scale_activation(sum, pp.weight_exp));
                }
                events += (pp.active.len() * line.len()) as u64;
            }
            // (2) spike phase, (3) learning phase
            pp.post.fill(false);
            for &j in own {
                if let Some(p) = pp.post.get_mut(j as usize) {
                    *p = true;
                }
            }
            let [x1, x2] = &mut pp.x;
            let [y1, y2, y3] = &mut pp.y;
            let mut st = LearningState { x: [x1, x2], tx: &mut pp.tx, y: [y1, y2, y3], ty: &mut pp.ty, w: &mut pp.w, d: &mut pp.d, t: &mut pp.t };
            // Every precondition of the two phases (parameters, shapes, tag
            // arrays, rule slots, one u_k) was checked when the image was
            // loaded, so neither can fail.
            spike_phase(&pp.params, t, &pp.pre, &pp.post, &mut st, &mut pp.rnd).expect("plastic projection checked at load");
            if is_learning_step(&pp.params, t) {
                learning_phase(&pp.params, &pp.rules.rules(), t, &mut st, &mut pp.rnd, &mut pp.scratch).expect("plastic projection checked at load");
            }
        }
        events
    }

    /// Whether projection `projection` (manifest index) has synapses here.
    pub(crate) fn has(&self, projection: u32) -> bool {
        self.projections.iter().any(|p| p.projection == projection)
    }

    /// The current weights of projection `projection` on this core as
    /// (pre neuron, local post neuron, weight), row by row.
    pub(crate) fn weights(&self, projection: u32) -> impl Iterator<Item = (u32, u32, i64)> + '_ {
        self.projections.iter().filter(move |p| p.projection == projection).flat_map(|p| {
            p.w.chunks(p.n_pre.max(1)).enumerate().flat_map(|(j, row)| row.iter().enumerate().map(move |(i, &w)| (i as u32, j as u32, w as i64)))
        })
    }
}
