//! The fast path of a SpiNNaker `IF_curr_exp` core: the same numbers as the
//! kernel's [`step_core`](spikeforge_kernel::spinnaker::lif::step_core), laid
//! out as a structure of arrays and computed in one branch-free pass per
//! step, so that the compiler vectorises it.
//!
//! Bit-exactness with the kernel (the oracle, kept as the emulator's
//! reference path and compared in `tests/fast_path.rs`):
//!
//! * **Transfer.** `step_core` first walks the ring-buffer slot of `t` and,
//!   for each non-zero entry, adds `decay_s1615(w << shift, init)` to the
//!   synaptic value; every entry of the slot is then zero. Here the entry of
//!   neuron `i` is added unconditionally: a zero entry adds
//!   `decay_s1615(0, init) = 0`, which leaves the value unchanged. Entries of
//!   padding neurons and of synapse types beyond the second are cleared
//!   without delivery, as the kernel does.
//! * **Update.** Per neuron the kernel's order: `add_input` (exc, inh), then
//!   `n_steps_per_timestep` times { membrane update or refractory count-down,
//!   threshold (raw-bit compare), reset, decay of both synaptic values }.
//!   Neurons do not interact within a step, so the per-neuron order is kept
//!   while each pass runs over all neurons (a transfer pass, then one update
//!   pass per sub-step).
//! * **Arithmetic.** `mul_arm` (floor, wrap) and `decay_s1615` (floor) are
//!   the kernel's own `const fn`s; additions wrap.

use crate::lined::Lined;
use spikeforge_kernel::fixed::{S1615, U032};
use spikeforge_kernel::spinnaker::lif::{LifState, ThresholdParams};
use spikeforge_kernel::spinnaker::ring_buffer::RingBufferLayout;
use spikeforge_kernel::spinnaker::synapse::{ExpSynState, ExpSynapseState};

/// The constant parameters of one neuron (both receptors included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct NeuronParams {
    v_rest: i32,
    r_membrane: i32,
    exp_tc: i32,
    i_offset: i32,
    v_reset: i32,
    t_refract: i32,
    v_thresh: i32,
    exc_decay: u32,
    exc_init: u32,
    inh_decay: u32,
    inh_init: u32,
}

/// Parameters of every neuron, one array per field.
#[derive(Clone, Debug, Default)]
struct ParamArrays {
    v_rest: Vec<i32>,
    r_membrane: Vec<i32>,
    exp_tc: Vec<i32>,
    i_offset: Vec<i32>,
    v_reset: Vec<i32>,
    t_refract: Vec<i32>,
    v_thresh: Vec<i32>,
    exc_decay: Vec<u32>,
    exc_init: Vec<u32>,
    inh_decay: Vec<u32>,
    inh_init: Vec<u32>,
}

/// A core's parameters: one set shared by every neuron (the usual case: a
/// population slice with constant parameters), or one per neuron.
#[derive(Clone, Debug)]
enum Params {
    Uniform(NeuronParams),
    PerNeuron(ParamArrays),
}

/// Read access to the parameters of neuron `i`, for the generic pass.
trait ParamSource {
    fn at(&self, i: usize) -> NeuronParams;
}

impl ParamSource for NeuronParams {
    #[inline(always)]
    fn at(&self, _: usize) -> NeuronParams {
        *self
    }
}

/// [`ParamArrays`] cut to exactly `n` entries (so indexing below `n` needs
/// no bounds check).
struct ParamSlices<'a> {
    v_rest: &'a [i32],
    r_membrane: &'a [i32],
    exp_tc: &'a [i32],
    i_offset: &'a [i32],
    v_reset: &'a [i32],
    t_refract: &'a [i32],
    v_thresh: &'a [i32],
    exc_decay: &'a [u32],
    exc_init: &'a [u32],
    inh_decay: &'a [u32],
    inh_init: &'a [u32],
}

impl ParamArrays {
    #[inline(always)]
    fn slices(&self, n: usize) -> ParamSlices<'_> {
        ParamSlices {
            v_rest: &self.v_rest[..n],
            r_membrane: &self.r_membrane[..n],
            exp_tc: &self.exp_tc[..n],
            i_offset: &self.i_offset[..n],
            v_reset: &self.v_reset[..n],
            t_refract: &self.t_refract[..n],
            v_thresh: &self.v_thresh[..n],
            exc_decay: &self.exc_decay[..n],
            exc_init: &self.exc_init[..n],
            inh_decay: &self.inh_decay[..n],
            inh_init: &self.inh_init[..n],
        }
    }
}

impl ParamSource for ParamSlices<'_> {
    #[inline(always)]
    fn at(&self, i: usize) -> NeuronParams {
        NeuronParams {
            v_rest: self.v_rest[i],
            r_membrane: self.r_membrane[i],
            exp_tc: self.exp_tc[i],
            i_offset: self.i_offset[i],
            v_reset: self.v_reset[i],
            t_refract: self.t_refract[i],
            v_thresh: self.v_thresh[i],
            exc_decay: self.exc_decay[i],
            exc_init: self.exc_init[i],
            inh_decay: self.inh_decay[i],
            inh_init: self.inh_init[i],
        }
    }
}

/// The state and parameters of one core's neurons, one array per field.
#[derive(Clone, Debug)]
pub struct LifSoa {
    n: usize,
    n_steps: u32,
    /// `left_shifts[type] & 31` (the kernel's `convert_weight_to_input`).
    shift_exc: u32,
    shift_inh: u32,
    // State, written every step: on lines of its own (the core's worker
    // shares none of them with another worker's cores).
    v: Lined<i32>,
    refract: Lined<i32>,
    exc: Lined<i32>,
    inh: Lined<i32>,
    params: Params,
    /// Per neuron: spiked in the current step (0 or 1).
    flags: Lined<u8>,
    /// Run uniform-parameter cores through [`avx512::passes_uniform`]
    /// (set when the CPU has AVX-512F).
    simd: bool,
}

/// `mul_arm` (`accum * accum` in ARM state: floor, wrap), the kernel's.
#[inline(always)]
fn mul_arm(a: i32, b: i32) -> i32 {
    S1615(a).mul_arm(S1615(b)).0
}

/// `decay_s1615(x, d) = (x · d) >> 32` (floor) with an unsigned 32 × 32 → 64
/// multiply, which vectorises where the kernel's signed 64 × 64 one does
/// not: for `x < 0`, `x = x_u − 2^32`, so `x · d = x_u · d − d · 2^32` and the
/// high word drops by exactly `d`. The true result fits in an `i32`, so the
/// wrapping 32-bit subtraction gives it. Tested against
/// [`S1615::decay`] below.
#[inline(always)]
fn decay(x: i32, d: u32) -> i32 {
    let hi = ((x as u32 as u64 * d as u64) >> 32) as u32;
    hi.wrapping_sub(if x < 0 { d } else { 0 }) as i32
}

impl LifSoa {
    /// Whether a core with this layout can take the fast path: at least the
    /// two synapse types the transfer delivers.
    pub fn supports(layout: &RingBufferLayout, n_neurons: usize, n_steps_per_timestep: u32) -> bool {
        layout.log_n_synapse_types >= 1 && n_neurons <= layout.neurons_per_type() && n_steps_per_timestep >= 1
    }

    /// From the kernel's initialised state (so initialisation is shared with
    /// the reference path).
    pub fn new(neurons: &[LifState], synapses: &[ExpSynapseState], thresholds: &[ThresholdParams], n_steps: u32, left_shifts: [u32; 2]) -> LifSoa {
        let n = neurons.len();
        let each: Vec<NeuronParams> = (0..n)
            .map(|i| NeuronParams {
                v_rest: neurons[i].v_rest.0,
                r_membrane: neurons[i].r_membrane.0,
                exp_tc: neurons[i].exp_tc.0,
                i_offset: neurons[i].i_offset.0,
                v_reset: neurons[i].v_reset.0,
                t_refract: neurons[i].t_refract,
                v_thresh: thresholds[i].v_thresh.0,
                exc_decay: synapses[i].exc.decay.0,
                exc_init: synapses[i].exc.init.0,
                inh_decay: synapses[i].inh.decay.0,
                inh_init: synapses[i].inh.init.0,
            })
            .collect();
        let params = match each.first() {
            Some(p0) if each.iter().all(|p| p == p0) => Params::Uniform(*p0),
            _ => Params::PerNeuron(ParamArrays {
                v_rest: each.iter().map(|p| p.v_rest).collect(),
                r_membrane: each.iter().map(|p| p.r_membrane).collect(),
                exp_tc: each.iter().map(|p| p.exp_tc).collect(),
                i_offset: each.iter().map(|p| p.i_offset).collect(),
                v_reset: each.iter().map(|p| p.v_reset).collect(),
                t_refract: each.iter().map(|p| p.t_refract).collect(),
                v_thresh: each.iter().map(|p| p.v_thresh).collect(),
                exc_decay: each.iter().map(|p| p.exc_decay).collect(),
                exc_init: each.iter().map(|p| p.exc_init).collect(),
                inh_decay: each.iter().map(|p| p.inh_decay).collect(),
                inh_init: each.iter().map(|p| p.inh_init).collect(),
            }),
        };
        LifSoa {
            n,
            n_steps,
            shift_exc: left_shifts[0] & 31,
            shift_inh: left_shifts[1] & 31,
            v: neurons.iter().map(|s| s.v_membrane.0).collect(),
            refract: neurons.iter().map(|s| s.refract_timer).collect(),
            exc: synapses.iter().map(|s| s.exc.value.0).collect(),
            inh: synapses.iter().map(|s| s.inh.value.0).collect(),
            params,
            flags: Lined::zeroed(n),
            simd: avx512::available(),
        }
    }

    /// Chooses the portable passes even where AVX-512 is available (both
    /// give the same bits; tests run both).
    #[cfg(test)]
    fn set_simd(&mut self, on: bool) {
        self.simd = on && avx512::available();
    }

    fn param(&self, i: usize) -> NeuronParams {
        match &self.params {
            Params::Uniform(p) => *p,
            Params::PerNeuron(a) => a.slices(self.n).at(i),
        }
    }

    /// Whether every neuron shares one parameter set.
    #[cfg(test)]
    fn uniform(&self) -> bool {
        matches!(self.params, Params::Uniform(_))
    }

    /// The state in the kernel's layout.
    pub fn to_kernel(&self) -> (Vec<LifState>, Vec<ExpSynapseState>) {
        let neurons = (0..self.n)
            .map(|i| {
                let p = self.param(i);
                LifState {
                    v_membrane: S1615(self.v[i]),
                    v_rest: S1615(p.v_rest),
                    r_membrane: S1615(p.r_membrane),
                    exp_tc: S1615(p.exp_tc),
                    i_offset: S1615(p.i_offset),
                    refract_timer: self.refract[i],
                    v_reset: S1615(p.v_reset),
                    t_refract: p.t_refract,
                }
            })
            .collect();
        let synapses = (0..self.n)
            .map(|i| {
                let p = self.param(i);
                ExpSynapseState {
                    exc: ExpSynState { decay: U032(p.exc_decay), init: U032(p.exc_init), value: S1615(self.exc[i]) },
                    inh: ExpSynState { decay: U032(p.inh_decay), init: U032(p.inh_init), value: S1615(self.inh[i]) },
                }
            })
            .collect();
        (neurons, synapses)
    }

    /// Membrane voltage (raw s16.15) of neuron `i`.
    #[inline]
    pub fn v(&self, i: usize) -> i32 {
        self.v[i]
    }

    /// Excitatory synaptic value (raw s16.15) of neuron `i`.
    #[inline]
    pub fn exc(&self, i: usize) -> i32 {
        self.exc[i]
    }

    /// Inhibitory synaptic value (raw s16.15) of neuron `i`.
    #[inline]
    pub fn inh(&self, i: usize) -> i32 {
        self.inh[i]
    }

    /// One timestep at time `t`: transfer the ring-buffer slot of `t`, update
    /// every neuron, and append the neurons that spiked (ascending) to `out`.
    /// Returns the number of neurons that spiked.
    pub fn step(&mut self, buffer: &mut [u16], layout: &RingBufferLayout, t: u32, out: &mut Vec<u32>) -> u32 {
        let n = self.n;
        let per_type = layout.neurons_per_type();
        let first = layout.first_index(t);
        let slot = &mut buffer[first..first + layout.slot_len()];
        let (rb_exc, rest) = slot.split_at_mut(per_type);
        let (rb_inh, rest) = rest.split_at_mut(per_type);
        // Padding neurons and further synapse types: cleared, never delivered.
        rb_exc[n..].fill(0);
        rb_inh[n..].fill(0);
        rest.fill(0);
        let shifts = (self.shift_exc, self.shift_inh);
        // Neurons `..done` are stepped by the AVX-512 pass (whole groups of
        // 16, spikes pushed to `out`), the rest by the portable passes.
        let mut done = 0;
        let mut fired = 0;
        if let (true, Params::Uniform(p)) = (self.simd, &self.params) {
            done = n / avx512::LANES * avx512::LANES;
            let st = State { v: &mut self.v[..done], refract: &mut self.refract[..done], exc: &mut self.exc[..done], inh: &mut self.inh[..done], flags: &mut [] };
            fired = avx512::passes_uniform(st, &mut rb_exc[..done], &mut rb_inh[..done], shifts, p, self.n_steps, out);
        }
        let (rb_exc, rb_inh) = (&mut rb_exc[done..n], &mut rb_inh[done..n]);
        let st = State {
            v: &mut self.v[done..n],
            refract: &mut self.refract[done..n],
            exc: &mut self.exc[done..n],
            inh: &mut self.inh[done..n],
            flags: &mut self.flags[done..n],
        };
        let rest = match &self.params {
            Params::Uniform(p) => passes(st, rb_exc, rb_inh, shifts, p, self.n_steps),
            // (the AVX-512 pass takes only uniform cores: here `done` is 0)
            Params::PerNeuron(a) => passes(st, rb_exc, rb_inh, shifts, &a.slices(n), self.n_steps),
        };
        if rest > 0 {
            for (c, chunk) in self.flags[done..n].chunks(8).enumerate() {
                if chunk.iter().any(|&f| f != 0) {
                    for (k, &f) in chunk.iter().enumerate() {
                        if f != 0 {
                            out.push((done + c * 8 + k) as u32);
                        }
                    }
                }
            }
        }
        fired + rest
    }
}

/// The state arrays of a core, cut to its `n` neurons.
struct State<'a> {
    v: &'a mut [i32],
    refract: &'a mut [i32],
    exc: &'a mut [i32],
    inh: &'a mut [i32],
    flags: &'a mut [u8],
}

/// One timestep: the transfer pass, then `n_steps` update passes. (Two
/// passes rather than one fused loop: the compiler vectorises each of them,
/// but not the fused loop.)
#[inline(always)]
fn passes<P: ParamSource>(st: State<'_>, rb_exc: &mut [u16], rb_inh: &mut [u16], (se, si): (u32, u32), params: &P, n_steps: u32) -> u32 {
    let State { v, refract, exc, inh, flags } = st;
    let n = v.len();
    let (refract, exc, inh, flags) = (&mut refract[..n], &mut exc[..n], &mut inh[..n], &mut flags[..n]);
    let (rb_exc, rb_inh) = (&mut rb_exc[..n], &mut rb_inh[..n]);
    for i in 0..n {
        let p = params.at(i);
        let in_e = ((rb_exc[i] as u32) << se) as i32;
        let in_i = ((rb_inh[i] as u32) << si) as i32;
        rb_exc[i] = 0;
        rb_inh[i] = 0;
        exc[i] = exc[i].wrapping_add(decay(in_e, p.exc_init));
        inh[i] = inh[i].wrapping_add(decay(in_i, p.inh_init));
        flags[i] = 0;
    }
    for _ in 0..n_steps {
        for i in 0..n {
            let p = params.at(i);
            let (e, h) = (exc[i], inh[i]);
            let timer = refract[i];
            let mut nv = v[i];
            let mut nt = timer;
            if timer <= 0 {
                let input = e.wrapping_sub(h).wrapping_add(p.i_offset);
                let alpha = mul_arm(input, p.r_membrane).wrapping_add(p.v_rest);
                nv = alpha.wrapping_sub(mul_arm(p.exp_tc, alpha.wrapping_sub(nv)));
            } else {
                nt = timer - 1;
            }
            if nv >= p.v_thresh {
                nv = p.v_reset;
                nt = p.t_refract;
                flags[i] = 1;
            }
            v[i] = nv;
            refract[i] = nt;
            exc[i] = decay(e, p.exc_decay);
            inh[i] = decay(h, p.inh_decay);
        }
    }
    flags.iter().map(|&f| f as u32).sum()
}

/// The 16-lane `mul_arm`, for the STDP lanes too.
#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::mul_arm as mul_arm_lanes;

/// The passes of a uniform-parameter core, 16 neurons per AVX-512 vector:
/// the transfer and every sub-step of a group of 16 neurons run on
/// registers before the next group (neurons do not interact within a step,
/// so this is the per-neuron order of the kernel). The same arithmetic as
/// the portable passes, lane by lane:
///
/// * `mul_arm(a, b)` (bits 15..46 of the signed 64-bit product):
///   `vpmuldq` multiplies the even lanes, and the odd lanes after a 32-bit
///   right shift of each quadword; the even products shifted right by 15
///   and the odd ones left by 17 carry the wanted word in the even and odd
///   dwords, which one blend joins.
/// * `decay(x, d)`: the same with the unsigned `vpmuludq` and shifts of 32
///   and 0, then `− d` where `x < 0` (see [`decay`]).
///
/// Both are tested against the kernel with the portable passes
/// (`fast_pass_equals_kernel_step_core` runs each core both ways).
mod avx512 {
    use super::{NeuronParams, State};

    /// Neurons per vector.
    pub const LANES: usize = 16;

    /// `S1615::mul_arm` in 16 lanes: bits 15..46 of each signed 64-bit
    /// product, truncated to 32 bits (see the module's notes). Used here and
    /// by the STDP lanes (`stdp_fast`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) fn mul_arm(a: core::arch::x86_64::__m512i, b: core::arch::x86_64::__m512i) -> core::arch::x86_64::__m512i {
        use core::arch::x86_64::*;
        // even lanes: the signed products of the low halves of each 64-bit
        // pair; odd lanes: of the high halves, moved down first
        let even = _mm512_srli_epi64::<15>(_mm512_mul_epi32(a, b));
        let odd = _mm512_slli_epi64::<17>(_mm512_mul_epi32(_mm512_srli_epi64::<32>(a), _mm512_srli_epi64::<32>(b)));
        _mm512_mask_blend_epi32(0xAAAA, even, odd)
    }

    /// Whether this CPU can run [`passes_uniform`].
    pub fn available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Steps `st.v.len()` neurons (a multiple of [`LANES`]) with parameters
    /// `p`, pushes those that spiked to `out` in ascending order and returns
    /// their number. Only called when [`available`] (it panics otherwise).
    #[cfg(target_arch = "x86_64")]
    pub fn passes_uniform(st: State<'_>, rb_exc: &mut [u16], rb_inh: &mut [u16], shifts: (u32, u32), p: &NeuronParams, n_steps: u32, out: &mut Vec<u32>) -> u32 {
        assert!(available(), "the AVX-512 pass needs AVX-512F");
        let Arithmetic { high, integer_r, narrow } = Arithmetic::of(p, shifts);
        macro_rules! pass {
            ($h:literal, $r:literal, $n:literal) => {
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe { passes_uniform_avx512::<$h, $r, $n>(st, rb_exc, rb_inh, shifts, p, n_steps, out) }
            };
        }
        match (high, integer_r, narrow) {
            (true, true, true) => pass!(true, true, true),
            (true, true, false) => pass!(true, true, false),
            (true, false, true) => pass!(true, false, true),
            (true, false, false) => pass!(true, false, false),
            (false, true, true) => pass!(false, true, true),
            (false, true, false) => pass!(false, true, false),
            (false, false, true) => pass!(false, false, true),
            (false, false, false) => pass!(false, false, false),
        }
    }

    /// Which exact shortcuts a uniform core's parameters allow (each
    /// monomorphised into its own pass, see [`passes_uniform_avx512`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) struct Arithmetic {
        /// Every decay factor is at least 2^31: signed-product `decay`.
        pub high: bool,
        /// `R` (s16.15) is a whole number (its 15 fraction bits are zero,
        /// e.g. τ_m = 20 ms over c_m = 1 nF): `mul_arm(I, R)` is the
        /// wrapping 32-bit product `I · (R >> 15)`.
        pub integer_r: bool,
        /// Both weight shifts are at most 15: a ring-buffer entry shifted
        /// into the input is below 2^31, and the transfer's `decay` takes
        /// 16 × 16-bit limbs (`transfer` below).
        pub narrow: bool,
    }

    impl Arithmetic {
        pub(super) fn of(p: &NeuronParams, (se, si): (u32, u32)) -> Arithmetic {
            Arithmetic {
                high: [p.exc_decay, p.inh_decay, p.exc_init, p.inh_init].iter().all(|&d| d >= 1 << 31),
                integer_r: p.r_membrane & 0x7FFF == 0,
                narrow: se <= 15 && si <= 15,
            }
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn passes_uniform(_: State<'_>, _: &mut [u16], _: &mut [u16], _: (u32, u32), _: &NeuronParams, _: u32, _: &mut Vec<u32>) -> u32 {
        unreachable!("AVX-512 is never available on this architecture")
    }

    /// `HIGH`: every decay factor is at least 2^31 (`exp(−dt/τ) >= 1/2`, and
    /// the input factors: the usual case), so `decay` takes signed products
    /// without a sign fix-up (below). `INTEGER_R` and `NARROW`: see
    /// [`Arithmetic`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn passes_uniform_avx512<const HIGH: bool, const INTEGER_R: bool, const NARROW: bool>(st: State<'_>, rb_exc: &mut [u16], rb_inh: &mut [u16], (se, si): (u32, u32), p: &NeuronParams, n_steps: u32, out: &mut Vec<u32>) -> u32 {
        use std::arch::x86_64::*;
        let State { v, refract, exc, inh, .. } = st;
        let n = v.len();
        assert!(n % LANES == 0 && refract.len() == n && exc.len() == n && inh.len() == n && rb_exc.len() == n && rb_inh.len() == n);
        let odd = 0xAAAAu16;
        let zero = _mm512_setzero_si512();
        let one = _mm512_set1_epi32(1);
        // The weight shifts: left shifts of the entry, or (`NARROW`) the
        // right shifts `16 − shift` of `transfer`.
        let (sh_e, sh_i) = if NARROW {
            (_mm_cvtsi32_si128(16 - se as i32), _mm_cvtsi32_si128(16 - si as i32))
        } else {
            (_mm_cvtsi32_si128(se as i32), _mm_cvtsi32_si128(si as i32))
        };
        let limbs = |d: u32| (_mm512_set1_epi32((d >> 16) as i32), _mm512_set1_epi32((d & 0xFFFF) as i32));
        let (exc_init_limbs, inh_init_limbs) = (limbs(p.exc_init), limbs(p.inh_init));
        let r_whole = _mm512_set1_epi32(p.r_membrane >> 15);
        let i_offset = _mm512_set1_epi32(p.i_offset);
        let r_membrane = _mm512_set1_epi32(p.r_membrane);
        let v_rest = _mm512_set1_epi32(p.v_rest);
        let exp_tc = _mm512_set1_epi32(p.exp_tc);
        let v_thresh = _mm512_set1_epi32(p.v_thresh);
        let v_reset = _mm512_set1_epi32(p.v_reset);
        let t_refract = _mm512_set1_epi32(p.t_refract);
        let (exc_decay, inh_decay) = (_mm512_set1_epi32(p.exc_decay as i32), _mm512_set1_epi32(p.inh_decay as i32));
        let (exc_init, inh_init) = (_mm512_set1_epi32(p.exc_init as i32), _mm512_set1_epi32(p.inh_init as i32));
        // decay with a constant `d` broadcast to every lane. With every
        // `d >= 2^31` (`HIGH`): `d` as `i32` is `d − 2^32`, so `x · d =
        // x · (d − 2^32) + x · 2^32` and `floor(x · d / 2^32)` is the high
        // word of the signed product plus `x` — exact, for either sign of `x`.
        let decay = |x: __m512i, d: __m512i| {
            if HIGH {
                let even = _mm512_srli_epi64::<32>(_mm512_mul_epi32(x, d));
                let odd_p = _mm512_mul_epi32(_mm512_srli_epi64::<32>(x), d);
                return _mm512_add_epi32(_mm512_mask_blend_epi32(odd, even, odd_p), x);
            }
            let even = _mm512_srli_epi64::<32>(_mm512_mul_epu32(x, d));
            let odd_p = _mm512_mul_epu32(_mm512_srli_epi64::<32>(x), d);
            let hi = _mm512_mask_blend_epi32(odd, even, odd_p);
            _mm512_mask_sub_epi32(hi, _mm512_cmplt_epi32_mask(x, zero), hi, d)
        };
        // `NARROW`: the transfer `decay(w << s, d)` of a 16-bit entry `w`
        // with `s <= 15` (so `w << s < 2^31` is the non-negative `x`):
        // `floor(w · d / 2^(32 − s))` from the limbs `d = dh · 2^16 + dl` —
        // `w · dh` and `w · dl` are below 2^32 (16-lane `vpmulld`), and
        // `floor((w · dh + floor(w · dl / 2^16)) / 2^(16 − s))` is that
        // floor (`floor(floor(y) / k) = floor(y / k)`); the sum stays below
        // `(2^16 − 1)^2 + 2^16 < 2^32`.
        let transfer = |w: __m512i, (dh, dl): (__m512i, __m512i), right: __m128i| {
            let sum = _mm512_add_epi32(_mm512_mullo_epi32(w, dh), _mm512_srli_epi32::<16>(_mm512_mullo_epi32(w, dl)));
            _mm512_srl_epi32(sum, right)
        };
        // One group of 16 neurons: load and transfer its ring-buffer
        // entries; one sub-step; store. The loop below runs two groups side
        // by side: one group's sub-step is a chain of dependent products
        // (input → α → V → threshold), and two independent chains keep the
        // multipliers busy where one leaves them waiting.
        // SAFETY (every load and store in `load` and `store`): `g` is below
        // `n / LANES`, so group `g`'s 16 elements lie within each slice (n
        // is a multiple of LANES and every slice has n elements); the
        // pointers are the slices' own, used one group at a time;
        // unaligned loads and stores.
        let state = [exc.as_mut_ptr(), inh.as_mut_ptr(), v.as_mut_ptr(), refract.as_mut_ptr()];
        let mut load = |g: usize| -> [__m512i; 4] {
            let r = g * LANES..(g + 1) * LANES;
            let [e, h, vv, timer] = state.map(|p| unsafe { _mm512_loadu_si512(p.add(r.start).cast_const().cast()) });
            let (we, wi) = unsafe {
                let pe = rb_exc[r.clone()].as_mut_ptr().cast::<__m256i>();
                let pi = rb_inh[r.clone()].as_mut_ptr().cast::<__m256i>();
                let w = (_mm256_loadu_si256(pe), _mm256_loadu_si256(pi));
                _mm256_storeu_si256(pe, _mm256_setzero_si256());
                _mm256_storeu_si256(pi, _mm256_setzero_si256());
                w
            };
            let (we, wi) = (_mm512_cvtepu16_epi32(we), _mm512_cvtepu16_epi32(wi));
            if NARROW {
                return [_mm512_add_epi32(e, transfer(we, exc_init_limbs, sh_e)), _mm512_add_epi32(h, transfer(wi, inh_init_limbs, sh_i)), vv, timer];
            }
            let in_e = _mm512_sll_epi32(we, sh_e);
            let in_i = _mm512_sll_epi32(wi, sh_i);
            [_mm512_add_epi32(e, decay(in_e, exc_init)), _mm512_add_epi32(h, decay(in_i, inh_init)), vv, timer]
        };
        let substep = |[e, h, vv, timer]: &mut [__m512i; 4]| -> u16 {
            let active = _mm512_cmple_epi32_mask(*timer, zero);
            let input = _mm512_add_epi32(_mm512_sub_epi32(*e, *h), i_offset);
            // `INTEGER_R`: `R = m · 2^15`, so `I · R / 2^15 = I · m` exactly
            // and `mul_arm`'s wrap to 32 bits is the wrapping product's.
            let i_r = if INTEGER_R { _mm512_mullo_epi32(input, r_whole) } else { mul_arm(input, r_membrane) };
            let alpha = _mm512_add_epi32(i_r, v_rest);
            let nv = _mm512_sub_epi32(alpha, mul_arm(_mm512_sub_epi32(alpha, *vv), exp_tc));
            *vv = _mm512_mask_mov_epi32(*vv, active, nv);
            *timer = _mm512_mask_sub_epi32(*timer, !active, *timer, one);
            let fire = _mm512_cmpge_epi32_mask(*vv, v_thresh);
            *vv = _mm512_mask_mov_epi32(*vv, fire, v_reset);
            *timer = _mm512_mask_mov_epi32(*timer, fire, t_refract);
            *e = decay(*e, exc_decay);
            *h = decay(*h, inh_decay);
            fire
        };
        let store = |g: usize, values: [__m512i; 4], spiked: u16, out: &mut Vec<u32>| -> u32 {
            let r = g * LANES..(g + 1) * LANES;
            for (p, x) in state.into_iter().zip(values) {
                unsafe { _mm512_storeu_si512(p.add(r.start).cast(), x) };
            }
            let mut m = spiked as u32;
            while m != 0 {
                out.push((r.start as u32) + m.trailing_zeros());
                m &= m - 1;
            }
            spiked.count_ones()
        };
        let (groups, mut g, mut fired) = (n / LANES, 0, 0);
        while g + 2 <= groups {
            let (mut a, mut b) = (load(g), load(g + 1));
            let (mut fa, mut fb) = (0u16, 0u16);
            for _ in 0..n_steps {
                fa |= substep(&mut a);
                fb |= substep(&mut b);
            }
            fired += store(g, a, fa, out);
            fired += store(g + 1, b, fb, out);
            g += 2;
        }
        if g < groups {
            let mut a = load(g);
            let mut fa = 0u16;
            for _ in 0..n_steps {
                fa |= substep(&mut a);
            }
            fired += store(g, a, fa, out);
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeforge_kernel::spinnaker::lif::{initialise_core, step_core, CoreConfig, CoreIo, LifParams};
    use spikeforge_kernel::spinnaker::ring_buffer::add_saturating;
    use spikeforge_kernel::spinnaker::synapse::{ExpParams, ExpSynapseParams};

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u32 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 32) as u32
        }
        fn range(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * (self.next() as f64 / 4294967296.0)
        }
    }

    fn s(x: f64) -> S1615 {
        S1615::from_f64_host(x).unwrap()
    }

    /// The unsigned decay equals the kernel's signed 64-bit one.
    #[test]
    fn unsigned_decay_equals_kernel_decay() {
        let edges = [0i32, 1, -1, 2, -2, i32::MAX, i32::MIN, i32::MIN + 1, 1 << 15, -(1 << 15), 0x7FFF, -0x8000];
        let ds = [0u32, 1, 2, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF, 0xF000_0001];
        let mut rng = Lcg(12345);
        let mut xs: Vec<i32> = edges.to_vec();
        let mut dv: Vec<u32> = ds.to_vec();
        for _ in 0..2000 {
            xs.push(rng.next() as i32);
            dv.push(rng.next());
        }
        for &x in &xs {
            for &d in &dv {
                assert_eq!(decay(x, d), S1615(x).decay(U032(d)).0, "x {x}, d {d}");
            }
        }
    }

    /// The fast pass against the kernel's `step_core`, step by step, on
    /// heterogeneous neurons (offset currents, refractory periods, initial
    /// timers and synaptic values), random ring-buffer contents (with shifts
    /// that make large weights negative), padding neurons, a third synapse
    /// type, and 1 or 3 sub-steps. Uniform-parameter cores run both on the
    /// AVX-512 pass (where the CPU has it; a core of 53 neurons also
    /// exercises the portable tail) and on the portable passes. The cases
    /// at dt = 1 ms with synaptic τ below 1.4 ms have decay factors below
    /// 2^31 (the AVX-512 pass's general `decay`); the others all above (its
    /// signed-product `decay`).
    #[test]
    fn fast_pass_equals_kernel_step_core() {
        let l8 = RingBufferLayout { log_n_neurons: 8, log_n_synapse_types: 1, log_max_delay: 1 };
        let l6 = RingBufferLayout { log_n_neurons: 6, log_n_synapse_types: 2, log_max_delay: 2 };
        let l6a = RingBufferLayout { log_n_neurons: 6, log_n_synapse_types: 1, log_max_delay: 2 };
        // `integer_r`: τ_m a whole number of ms and c_m 0.5 or 1 nF, so R
        // is whole (the AVX-512 pass's 32-bit `I · R`).
        for (n, uniform, layout, n_steps, shifts, simd, dt, integer_r) in [
            (256usize, true, l8, 1u32, [3u32, 5u32], false, 0.1, false),
            (256, true, l8, 1, [3, 5], true, 0.1, false),
            (256, true, l8, 1, [3, 5], true, 0.1, true),
            (53, true, l6, 3, [16, 31], true, 0.1, false),
            (53, true, l6, 3, [16, 31], false, 0.1, false),
            (53, true, l6, 3, [16, 2], true, 0.1, true),
            (64, true, l6a, 1, [16, 31], true, 1.0, false),
            (64, true, l6a, 1, [15, 0], true, 1.0, true),
            (64, true, l6a, 1, [3, 4], true, 1.0, false),
            (100, false, RingBufferLayout { log_n_neurons: 7, log_n_synapse_types: 2, log_max_delay: 3 }, 1, [16, 17], true, 0.1, false),
            (37, false, l6a, 3, [2, 31], true, 0.1, false),
        ] {
            let tau_syn = if dt == 1.0 { (0.6, 1.3) } else { (1.0, 10.0) };
            let mut rng = Lcg(n as u64 * 7919 + n_steps as u64 + shifts[0] as u64);
            let lif: Vec<LifParams> = (0..n)
                .map(|_| LifParams {
                    v_init: s(rng.range(-70.0, -49.0)),
                    v_rest: s(rng.range(-65.0, -45.0)),
                    c_m: if integer_r { s([0.5, 1.0][rng.next() as usize % 2]) } else { s(rng.range(0.2, 1.5)) },
                    tau_m: if integer_r { s(rng.range(5.0, 30.0).round()) } else { s(rng.range(5.0, 30.0)) },
                    i_offset: s(rng.range(-0.5, 1.0)),
                    v_reset: s(rng.range(-70.0, -60.0)),
                    t_refract_ms: s(rng.range(0.0, 5.0)),
                    refract_timer_init: (rng.next() % 5) as i32 - 1,
                    time_step: s(dt),
                })
                .collect();
            let syn: Vec<ExpSynapseParams> = (0..n)
                .map(|_| ExpSynapseParams {
                    exc: ExpParams { tau: s(rng.range(tau_syn.0, tau_syn.1)), init_input: s(rng.range(0.0, 2.0)) },
                    inh: ExpParams { tau: s(rng.range(tau_syn.0, tau_syn.1)), init_input: s(rng.range(-1.0, 2.0)) },
                    time_step_ms: s(dt),
                })
                .collect();
            let thr: Vec<ThresholdParams> = (0..n).map(|_| ThresholdParams { v_thresh: s(rng.range(-55.0, -48.0)) }).collect();
            // Uniform cases have one parameter set for every neuron (only
            // initial values differ): the uniform-parameter passes.
            let (lif, syn, thr) = if uniform {
                let lif: Vec<LifParams> = lif.iter().map(|p| LifParams { v_init: p.v_init, refract_timer_init: p.refract_timer_init, ..lif[0] }).collect();
                let syn: Vec<ExpSynapseParams> = syn
                    .iter()
                    .map(|p| ExpSynapseParams { exc: ExpParams { init_input: p.exc.init_input, ..syn[0].exc }, inh: ExpParams { init_input: p.inh.init_input, ..syn[0].inh }, ..syn[0] })
                    .collect();
                (lif, syn, vec![thr[0]; n])
            } else {
                (lif, syn, thr)
            };
            let mut neurons = vec![LifState::default(); n];
            let mut synapses = vec![ExpSynapseState::default(); n];
            assert!(initialise_core(n_steps, &lif, &syn, &mut neurons, &mut synapses));
            let mut soa = LifSoa::new(&neurons, &synapses, &thr, n_steps, shifts);
            soa.set_simd(simd);
            if uniform {
                // Each case runs the AVX-512 pass it was written for.
                let p = soa.param(0);
                let expected = avx512::Arithmetic { high: dt != 1.0, integer_r, narrow: shifts.iter().all(|&s| s <= 15) };
                assert_eq!(avx512::Arithmetic::of(&p, (shifts[0], shifts[1])), expected, "n {n}: {p:?}");
            }
            assert_eq!(soa.uniform(), uniform);
            if simd && uniform && !avx512::available() {
                eprintln!("this CPU has no AVX-512F: the n = {n} case runs the portable passes");
            }
            let mut rb_ref = vec![0u16; layout.len()];
            let mut rb_fast = rb_ref.clone();
            let mut spiked = vec![0u32; n.div_ceil(32)];
            let mut total = 0;
            for t in 1..=3000u32 {
                // Random adds anywhere in the buffer, including padding neurons and type 2/3.
                for _ in 0..(rng.next() % 64) {
                    let idx = rng.next() as usize % layout.len();
                    let w = (rng.next() >> 24) as u16 * if rng.next().is_multiple_of(50) { 200 } else { 1 };
                    let (mut c1, mut c2) = (0, 0);
                    add_saturating(&mut rb_ref[idx], w, &mut c1);
                    add_saturating(&mut rb_fast[idx], w, &mut c2);
                }
                let cfg = CoreConfig { n_steps_per_timestep: n_steps, thresholds: &thr, layout, left_shifts: &shifts };
                let mut io = CoreIo { neurons: &mut neurons, synapses: &mut synapses, ring_buffer: &mut rb_ref, spiked: &mut spiked };
                step_core(&cfg, &mut io, t);
                let expected: Vec<u32> = (0..n as u32).filter(|&i| spiked[i as usize / 32] >> (i % 32) & 1 == 1).collect();
                let mut out = Vec::new();
                let fired = soa.step(&mut rb_fast, &layout, t, &mut out);
                assert_eq!(out, expected, "n {n}, step {t}");
                assert_eq!(fired as usize, out.len());
                total += out.len();
                let (fn_, fs) = soa.to_kernel();
                assert_eq!(fn_, neurons, "n {n}, step {t}");
                assert_eq!(fs, synapses, "n {n}, step {t}");
                assert_eq!(rb_fast, rb_ref, "n {n}, step {t}");
            }
            assert!(total > 100, "n {n}: only {total} spikes; the test should exercise resets");
        }
    }
}
