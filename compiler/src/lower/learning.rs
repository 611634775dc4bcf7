//! Lowering of plastic loihi projections — Lava's `LearningDense` with a
//! sum-of-products rule — into the `LoihiLearning*` sections of their
//! target cores (layouts: `spikeforge_kernel::program::LoihiPlastic`).
//!
//! * A plastic projection is **dense**: every (pre, post) pair of its two
//!   populations must have exactly one synapse (`all_to_all`, or a
//!   `dense_matrix`, where a zero weight is a synapse that can learn), as
//!   in Lava, where a `LearningDense` updates every entry of its matrix.
//!   Missing or repeated pairs are an error (`L020`); spikeforge does not
//!   mask absent synapses, because Lava has no such mode to be exact with.
//! * All its synapses share one delay (`L021`): the matrix is delivered as
//!   one Dense (Lava's LearningDense has a one-step delay; longer ones are
//!   noted as `Q116` and run on the core's delay line).
//! * Its synapses are *not* written into the synaptic matrix: each core of
//!   the post population gets the rows of its own neurons, `[local post][pre]`
//!   over the whole pre population, and one `PlasticSource` per core of the
//!   pre population, which also gets a route to the target core.
//! * Rules, learning parameters (traces, seed, epoch, sign mode) and the
//!   Dense parameters come from `quantize::loihi`; initial traces and tags
//!   are 0 (the IR has no initial values for them), tags are present only
//!   when a rule targets or reads `d` or `t`.
//! * A projection split over several target cores keeps one copy of Lava's
//!   scalar random streams and of the x traces per core. Both depend only
//!   on the seed, the step and the pre spikes, never on the post neurons,
//!   so every copy evolves identically and splitting does not change the
//!   result (tested with one neuron per core).

use super::{Core, LoihiQuant};
use crate::diag::{Diagnostic, Diagnostics};
use crate::expand::Expanded;
use spikeforge_kernel::loihi::encoding::RuleSet;
use spikeforge_kernel::loihi::rule::{FactorVar, ProductSeries, Target};
use spikeforge_kernel::program::{self as kp, i16_words, trace_init_words, LoihiPlastic, PlasticSource, SectionKind, PLASTIC_HAS_TAGS};

/// What the plastic projections add to the program.
pub(super) struct Plastic {
    /// Per core: the sections to append to its image (kind, count, words).
    pub sections: Vec<Vec<(SectionKind, u32, Vec<u32>)>>,
    /// (source core, target core) pairs that must be routed.
    pub routes: Vec<(usize, usize)>,
}

/// Whether projection `k` is a plastic (LearningDense) projection.
pub(super) fn is_plastic(ql: &LoihiQuant, k: usize) -> bool {
    ql.plastic.get(k).is_some_and(|p| p.is_some())
}

/// Whether the rules target or read the tags d (tag_2) or t (tag_1).
pub(super) fn uses_tags(rules: &RuleSet) -> bool {
    let reads = |s: &ProductSeries| s.products().iter().any(|p| p.factors().iter().any(|f| matches!(f.var, FactorVar::D | FactorVar::T)));
    [rules.dw.as_ref(), rules.dd.as_ref(), rules.dt.as_ref()].into_iter().flatten().any(|s| s.target() != Target::Dw || reads(s))
}

/// One core's plastic projections, accumulated section by section.
#[derive(Default)]
struct CoreSections {
    descs: Vec<LoihiPlastic>,
    rules: Vec<u32>,
    weights: Vec<u32>,
    sources: Vec<PlasticSource>,
    traces: Vec<u32>,
}

fn pack_i16(v: &[i16], out: &mut Vec<u32>) {
    let start = out.len();
    out.resize(start + i16_words(v.len()), 0);
    for (k, &w) in v.iter().enumerate() {
        out[start + k / 2] |= (w as u16 as u32) << (16 * (k % 2));
    }
}

/// Lowers every plastic projection of `exp` onto the cores of its post
/// population. `cores`/`pop_cores` are the placement.
pub(super) fn lower(exp: &Expanded, ql: &LoihiQuant, cores: &[Core], pop_cores: &[Vec<usize>], d: &mut Diagnostics) -> Plastic {
    let mut per_core: Vec<CoreSections> = (0..cores.len()).map(|_| CoreSections::default()).collect();
    let mut routes = Vec::new();
    for (k, proj) in exp.projections.iter().enumerate() {
        let Some(Some((lp, rules, dense))) = ql.plastic.get(k) else { continue };
        let obj = format!("projection '{}'", proj.name);
        let n_pre = exp.populations[proj.pre].size as usize;
        let n_post = exp.populations[proj.post].size as usize;
        // density: exactly one synapse per (pre, post) pair
        let mut index = vec![u32::MAX; n_pre * n_post];
        let mut repeated = 0usize;
        for (j, s) in proj.synapses.iter().enumerate() {
            let slot = s.post as usize * n_pre + s.pre as usize;
            if index[slot] == u32::MAX {
                index[slot] = j as u32;
            } else {
                repeated += 1;
            }
        }
        let missing = index.iter().filter(|&&j| j == u32::MAX).count();
        if missing > 0 || repeated > 0 {
            let example = index.iter().position(|&j| j == u32::MAX).map(|s| format!(" (e.g. pre {} -> post {} has none)", s % n_pre, s / n_pre)).unwrap_or_default();
            d.push(
                Diagnostic::error(
                    "L020",
                    &obj,
                    "connectivity",
                    format!(
                        "a sum-of-products rule runs on Lava's LearningDense, which learns every (pre, post) pair of a dense matrix; {missing} of the {} pairs have no synapse{example} and {repeated} synapses repeat a pair",
                        n_pre * n_post
                    ),
                )
                .with_hint("use all_to_all (with self-connections when pre = post) or dense_matrix connectivity; a zero weight is a synapse that can learn"),
            );
            continue;
        }
        let delay = proj.synapses.first().map_or(1, |s| s.delay);
        if let Some(s) = proj.synapses.iter().find(|s| s.delay != delay) {
            d.push(
                Diagnostic::error("L021", &obj, "delay_ms", format!("the synapses of a plastic projection must share one delay; found {delay} and {} steps", s.delay))
                    .with_hint("a LearningDense delivers its matrix as one Dense; give the projection a constant delay"),
            );
            continue;
        }
        let rule_words = match rules.encode() {
            Ok(w) => w,
            Err(e) => {
                d.push(Diagnostic::error("L022", &obj, "plasticity", format!("the learning rules cannot be encoded: {e}")));
                continue;
            }
        };
        let tags = uses_tags(rules);
        let weights = &ql.weights[k];
        let sources: Vec<PlasticSource> = pop_cores[proj.pre]
            .iter()
            .map(|&sc| PlasticSource { key_base: kp::key(sc as u32, 0), n: cores[sc].n, first_pre: cores[sc].first, reserved: 0 })
            .collect();
        for &tc in &pop_cores[proj.post] {
            let core = &cores[tc];
            let rows = core.n as usize;
            let first = core.first as usize;
            let mut w = vec![0i16; rows * n_pre];
            for (r, row) in w.chunks_mut(n_pre).enumerate() {
                for (i, x) in row.iter_mut().enumerate() {
                    *x = weights[index[(first + r) * n_pre + i] as usize];
                }
            }
            let cs = &mut per_core[tc];
            let desc = LoihiPlastic {
                learning: *lp,
                dense: *dense,
                projection: k as u32,
                delay,
                n_pre: n_pre as u32,
                n_post: rows as u32,
                weights_offset: cs.weights.len() as u32,
                first_source: cs.sources.len() as u32,
                n_sources: sources.len() as u32,
                traces_offset: cs.traces.len() as u32,
                flags: if tags { PLASTIC_HAS_TAGS } else { 0 },
            };
            pack_i16(&w, &mut cs.weights);
            if tags {
                let zeros = vec![0i16; w.len()];
                pack_i16(&zeros, &mut cs.weights);
                pack_i16(&zeros, &mut cs.weights);
            }
            cs.rules.extend_from_slice(&rule_words);
            cs.sources.extend_from_slice(&sources);
            cs.traces.resize(cs.traces.len() + trace_init_words(n_pre, rows), 0);
            cs.descs.push(desc);
            routes.extend(pop_cores[proj.pre].iter().map(|&sc| (sc, tc)));
        }
    }
    let sections = per_core
        .into_iter()
        .map(|cs| {
            if cs.descs.is_empty() {
                return Vec::new();
            }
            let n = cs.descs.len() as u32;
            let descs: Vec<u32> = bytemuck::cast_slice::<LoihiPlastic, u32>(&cs.descs).to_vec();
            let sources: Vec<u32> = bytemuck::cast_slice::<PlasticSource, u32>(&cs.sources).to_vec();
            vec![
                (SectionKind::LoihiLearning, n, descs),
                (SectionKind::LoihiLearningRules, n, cs.rules),
                (SectionKind::LoihiPlasticWeights, n, cs.weights),
                (SectionKind::LoihiPlasticSources, cs.sources.len() as u32, sources),
                (SectionKind::LoihiTraceInit, n, cs.traces),
            ]
        })
        .collect();
    Plastic { sections, routes }
}
