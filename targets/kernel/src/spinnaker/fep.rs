//! The free-energy synapse rule (Kappel & Tetzlaff, arXiv:2103.12649v1) in
//! integer arithmetic for the `spinnaker` profile (ARM968: 32×32→64 multiplies,
//! no divider, no FPU).
//!
//! The rule, its event structure and the float64 reference are described in
//! `docs/fep-rule.md` and `fep-synapse-rule.md`; the tables are built on the
//! host by [`super::fep_host`].
//!
//! # LUT design: C (1-D tables only)
//!
//! The reference measures three designs (fep-synapse-rule.md §4.2, N = 256,
//! 16-bit entries): A (two 2-D tables) 262,144 B, B (one 2-D table) 132,608 B,
//! C (1-D tables) 2,048–3,584 B. A and B do not fit a core's 64 KB DTCM and
//! would put a 2-D table in SDRAM (one SDRAM read per triplet, shared between
//! 16–18 cores); their accuracy gain over C is nil on the acceptance grid
//! (A 1.17e-4 FS, B 1.16e-4, C 1.31e-4 FS, all inside 2^-12 = 2.44e-4 FS,
//! with no sign flips). Design C is chosen, with 32-bit entries instead of
//! 16-bit ones and a *normalised* reciprocal (mantissa-indexed, so its
//! relative error is uniform, ≤ 3.8e-6, instead of being largest at small
//! `den`). Per core ([`FepTables::bytes`], reported by the host):
//!
//! | table | entries | format | bytes |
//! |---|---|---|---|
//! | `E[k] = exp(−k/tau)` | N = 256 | [`U032`] | 1,024 |
//! | `F[T]` | 2N = 512 | [`Uq8p24`] | 2,048 |
//! | `1/m`, m ∈ [1, 2] | 257 | [`Uq1p31`] | 1,028 |
//! | `sqrt(m)`, m ∈ [1, 4] | 193 | [`Uq2p30`] | 772 |
//! | half-normal inverse CDF | 1,024 | [`Uq3p13`] | 2,048 |
//! | constants | | | 40 |
//! | **total** | | | **6,960** |
//!
//! i.e. 10.6 % of the 64 KB DTCM; per synapse the state is the weight
//! ([`Uq8p24`], 4 B) plus the folded accumulator ([`Sq39p24`], 8 B) and a
//! 2-byte count; the pre spike history (≤ N − 1 times of 4 B, or 1-byte ages)
//! is per pre-synaptic neuron, shared by its synaptic row. The error measured
//! on the full acceptance grid is given in `docs/fep-rule.md` (it is
//! dominated by the table depth N = 256 ms, as for designs A and B).
//!
//! # Evaluation of `dw(dt1, dt2, w)` (all integer, round-half-up at every shift)
//!
//! With `i = clamp(dt1, 1, N−1)`, `j = clamp(dt2 − dt1, 1, N−1)`,
//! `T = min(i + j, 2N − 1)`:
//!
//! 1. `Ex = E[i]`, `Es = E[j]` ([`U032`]).
//! 2. `gEx = γ·Ex`, `gEs = γ·Es`: [`Uq8p24`] × [`U032`] → `>> 32` → [`Uq8p24`].
//! 3. `D = 1 + gEs + gEx`, `den = 2 + 3·gEs + gEx` ([`Uq8p24`], exact adds).
//! 4. `1/den` by [`recip`]: `den = m·2^e`, m ∈ [1, 2) from the leading-zero
//!    count, 8 index bits + 23 interpolation bits, `r = 1/m` ([`Uq1p31`]).
//! 5. `q = D·r` → `>> 32` → UQ9.23; `D²·r = q·D` (Q17.47, u64);
//!    `X = D²/den` → `>> (30 − clz(den))` → [`Uq8p24`].
//! 6. `W_LTD = K·X`, `K = r0²·tau/(kappa²·sigma0²)` ([`Uq4p28`]) → `>> 28` → [`Uq8p24`].
//! 7. `W_LTP = Ex·(F[T]·W_LTD)`: [`Uq8p24`]×[`Uq8p24`] `>> 24`, then ×[`U032`] `>> 32` → [`Uq8p24`].
//! 8. `dw = W_LTP − ((c + w)·W_LTD >> 24) + 1/(2w)` in [`Sq39p24`], `c = (1−r0)/(2 r0)`,
//!    `w ≥ w_min ≥ 2^-8`, `1/(2w)` from the same reciprocal table.
//!
//! # Weights: 32-bit accumulator
//!
//! `eta·|dw|` spans 4e-7 … 2.5e-5 per triplet (reference §3), below any
//! 16-bit LSB, so the weight is a 32-bit [`Uq8p24`] (LSB 6.0e-8, range
//! [0, 256)); the update `w ← clamp(w + eta·Σdw, w_min, w_max)` is applied
//! once per post spike to the *sum* over its triplets, rounded half up,
//! with `eta = mant·2^-shift` ([`EtaScale`], 32-bit mantissa, relative
//! precision 2^-31). No stochastic rounding is needed; the worst rounding
//! error, 3e-8 per post spike, is 1.5e-5 of w = 2 after 1000 post spikes.
//!
//! # Release (ad-hoc path)
//!
//! `y = r0·w + sqrt(s0·w)·eps`, truncated at 0 ([`release`]): `sqrt` from a
//! normalised table on [1, 4) ([`sqrt_uq8p24`], relative error ≤ 7.6e-6),
//! `eps` from [`FepRng`] (Marsaglia xorshift32, seeded, deterministic): the
//! top bit is the sign, the next 10 bits index the inverse CDF of the
//! half-normal at the bin mid-points `Phi^-1(0.5 + (k + 0.5)/2048)`, so
//! `|eps| ≤ 3.49` (the discrete source's variance is reported by the host).
//!
//! # Bounded pending state
//!
//! [`FepSynapse`] keeps the pre spikes of the current post ISI younger than
//! `N − 1` steps. A pre spike whose age reaches `N − 1` has `dt1 ≥ N − 1` at the
//! next post spike, where the table index saturates (`i = N − 1`), and its
//! `j = min(t_pre − t1, N − 1)` is already known; `w` is constant until the next
//! post spike. Its complete `dw` is therefore computed at that moment and added
//! to a per-synapse accumulator: the fold is **bit-identical** to evaluating
//! it at the post spike (the float reference folds at 256 ms and drops
//! `W_LTP`; here nothing is dropped).

use crate::fixed::U032;

/// Table depth N (steps of 1 ms): `E` has N entries, `F` has 2N.
pub const FEP_N: usize = 256;
/// Entries of the `F[T]` table (T = i + j ≤ 2N − 2).
pub const FEP_F_LEN: usize = 2 * FEP_N;
/// Segments of the reciprocal table on m ∈ [1, 2] (257 entries).
pub const FEP_RECIP_SEGMENTS: usize = 256;
/// Segments of the square-root table on m ∈ [1, 4] (width 1/64; 193 entries).
pub const FEP_SQRT_SEGMENTS: usize = 192;
/// Entries of the half-normal inverse-CDF table (10 index bits).
pub const FEP_GAUSS_LEN: usize = 1024;
/// Capacity of the pending pre-spike list: ages 0 … N − 2.
pub const FEP_PENDING_CAP: usize = FEP_N - 1;

/// Unsigned Q8.24 in a `u32` (value = raw·2^-24, range [0, 256), LSB 5.96e-8):
/// weights, `gamma`, `F[T]`, `D`, `den`, `W_LTP`, `W_LTD`, releases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uq8p24(pub u32);
/// Unsigned Q4.28 in a `u32` (value = raw·2^-28, range [0, 16)): `K`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uq4p28(pub u32);
/// Unsigned Q1.31 in a `u32` (value = raw·2^-31, range [0, 2)): reciprocal table, values in [0.5, 1].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uq1p31(pub u32);
/// Unsigned Q2.30 in a `u32` (value = raw·2^-30, range [0, 4)): square-root table, values in [1, 2].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uq2p30(pub u32);
/// Unsigned Q3.13 in a `u16` (value = raw·2^-13, range [0, 8)): half-normal inverse-CDF table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uq3p13(pub u16);
/// Signed Q39.24 in an `i64` (value = raw·2^-24): per-triplet `dw`, its sums and the folded accumulator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sq39p24(pub i64);

/// The learning rate as `eta = mant·2^-shift` (`mant` normalised to [2^31, 2^32) by the host).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EtaScale {
    pub mant: u32,
    pub shift: u32,
}

impl Uq8p24 {
    /// Fractional bits.
    pub const FRAC_BITS: u32 = 24;
    /// 1.0
    pub const ONE: Uq8p24 = Uq8p24(1 << 24);
    /// Value as f64 (exact; host and tests only).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / (1u64 << 24) as f64
    }
}

impl Sq39p24 {
    /// Value as f64 (exact for |raw| < 2^53; host and tests only).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / (1u64 << 24) as f64
    }
}

/// `(a·b + 2^(s−1)) >> s` on the 64-bit product, `1 ≤ s ≤ 63` (round half up).
#[inline]
const fn mul_rnd(a: u32, b: u32, s: u32) -> u64 {
    ((a as u64) * (b as u64) + (1u64 << (s - 1))) >> s
}

/// `(x + 2^(s−1)) >> s` for `s ≥ 1`, `x` for `s = 0` (round half up).
#[inline]
const fn shr_rnd(x: u64, s: u32) -> u64 {
    if s == 0 {
        x
    } else {
        (x + (1u64 << (s - 1))) >> s
    }
}

/// Every table and constant the rule needs on a core (built by
/// [`super::fep_host::build`]; see the module docs for the formats).
#[derive(Clone, Debug, PartialEq)]
pub struct FepTables {
    /// `E[k] = exp(−max(k, 1)/tau_m)`, k < N.
    pub exp: [U032; FEP_N],
    /// `F[T] = kappa·(2/tau)·[(theta − u0) + (u0 − u_reset)·e^(−T/tau)]/(1 − e^(−2T/tau))/r0`, T ≥ 2.
    pub f: [Uq8p24; FEP_F_LEN],
    /// `1/(1 + k/256)`, k = 0 … 256.
    pub recip: [Uq1p31; FEP_RECIP_SEGMENTS + 1],
    /// `sqrt(1 + k/64)`, k = 0 … 192.
    pub sqrt: [Uq2p30; FEP_SQRT_SEGMENTS + 1],
    /// `Phi^-1(0.5 + (k + 0.5)/2048)`, k < 1024.
    pub gauss: [Uq3p13; FEP_GAUSS_LEN],
    /// `gamma` of Eq. 14.
    pub gamma: Uq8p24,
    /// `K = r0²·tau_m/(kappa²·sigma0²)`: `W_LTD = K·D²/den`.
    pub k_ltd: Uq4p28,
    /// `c = (1 − r0)/(2·r0)`.
    pub ltd_offset: Uq8p24,
    /// Release mean scale `r0`.
    pub r0: U032,
    /// Release variance scale `s0 = r0·(1 − r0)`.
    pub s0: U032,
    /// Learning rate.
    pub eta: EtaScale,
    /// Lower weight clamp (≥ 2^-8).
    pub w_min: Uq8p24,
    /// Upper weight clamp.
    pub w_max: Uq8p24,
}

impl FepTables {
    /// Bytes of the tables and constants as stored on a core.
    pub const fn bytes() -> usize {
        FEP_N * 4 + FEP_F_LEN * 4 + (FEP_RECIP_SEGMENTS + 1) * 4 + (FEP_SQRT_SEGMENTS + 1) * 4 + FEP_GAUSS_LEN * 2 + 10 * 4
    }
}

/// Words of [`FepTables`] as stored in a program image (`FepTables::to_words`):
/// `E[256]`, `F[512]`, `1/m[257]`, `sqrt[193]`, the half-normal table two
/// `u16` per word (low half first, 512 words), then `gamma`, `K`, `c`, `r0`,
/// `s0`, `eta.mant`, `eta.shift`, `w_min`, `w_max` and one zero word.
pub const FEP_TABLE_WORDS: usize = FEP_N + FEP_F_LEN + (FEP_RECIP_SEGMENTS + 1) + (FEP_SQRT_SEGMENTS + 1) + FEP_GAUSS_LEN / 2 + 10;

impl FepTables {
    /// Writes the tables as [`FEP_TABLE_WORDS`] words into `out` (the layout of [`FEP_TABLE_WORDS`]).
    pub fn to_words(&self, out: &mut [u32; FEP_TABLE_WORDS]) {
        let mut k = 0;
        let mut put = |v: u32| {
            out[k] = v;
            k += 1;
        };
        self.exp.iter().for_each(|e| put(e.0));
        self.f.iter().for_each(|e| put(e.0));
        self.recip.iter().for_each(|e| put(e.0));
        self.sqrt.iter().for_each(|e| put(e.0));
        self.gauss.chunks(2).for_each(|p| put(p[0].0 as u32 | (p[1].0 as u32) << 16));
        for v in [self.gamma.0, self.k_ltd.0, self.ltd_offset.0, self.r0.0, self.s0.0, self.eta.mant, self.eta.shift, self.w_min.0, self.w_max.0, 0] {
            put(v);
        }
    }

    /// Reads tables written by [`FepTables::to_words`]; `None` if `w` has
    /// another length, the padding word is not 0, or `eta.shift > 100`.
    pub fn from_words(w: &[u32]) -> Option<FepTables> {
        if w.len() != FEP_TABLE_WORDS || w[FEP_TABLE_WORDS - 1] != 0 {
            return None;
        }
        let mut t = FepTables {
            exp: [U032(0); FEP_N],
            f: [Uq8p24(0); FEP_F_LEN],
            recip: [Uq1p31(0); FEP_RECIP_SEGMENTS + 1],
            sqrt: [Uq2p30(0); FEP_SQRT_SEGMENTS + 1],
            gauss: [Uq3p13(0); FEP_GAUSS_LEN],
            gamma: Uq8p24(0),
            k_ltd: Uq4p28(0),
            ltd_offset: Uq8p24(0),
            r0: U032(0),
            s0: U032(0),
            eta: EtaScale::default(),
            w_min: Uq8p24(0),
            w_max: Uq8p24(0),
        };
        let mut it = w.iter().copied();
        let mut next = || it.next().unwrap_or(0);
        t.exp.iter_mut().for_each(|e| e.0 = next());
        t.f.iter_mut().for_each(|e| e.0 = next());
        t.recip.iter_mut().for_each(|e| e.0 = next());
        t.sqrt.iter_mut().for_each(|e| e.0 = next());
        for p in t.gauss.chunks_mut(2) {
            let v = next();
            p[0].0 = v as u16;
            p[1].0 = (v >> 16) as u16;
        }
        t.gamma.0 = next();
        t.k_ltd.0 = next();
        t.ltd_offset.0 = next();
        t.r0.0 = next();
        t.s0.0 = next();
        t.eta = EtaScale { mant: next(), shift: next() };
        t.w_min.0 = next();
        t.w_max.0 = next();
        if t.eta.shift > 100 {
            return None;
        }
        Some(t)
    }
}

/// Normalised reciprocal of a positive raw value: returns `(r, shift)` with
/// `1/x ≈ r·2^-shift`, `r` a [`Uq1p31`] in [0.5, 1] and `shift = 62 − clz(x)`.
/// `x = m·2^(31 − clz)`, m ∈ [1, 2); bits 30…23 of the normalised value index
/// the table, bits 22…0 interpolate linearly. `x = 0` returns `(0, 0)`.
#[inline]
pub fn recip(t: &FepTables, x: u32) -> (Uq1p31, u32) {
    if x == 0 {
        return (Uq1p31(0), 0);
    }
    let z = x.leading_zeros();
    let m = x << z;
    let k = ((m >> 23) & 0xFF) as usize;
    let frac = m << 9;
    let (a, b) = (t.recip[k].0, t.recip[k + 1].0);
    let r = a - mul_rnd(a - b, frac, 32) as u32;
    (Uq1p31(r), 62 - z)
}

/// Square root of a [`Uq8p24`] by the normalised table: `x = m·2^(6 − s)` with
/// even `s = clz & !1` and m ∈ [1, 4); 192 segments of width 1/64, linear
/// interpolation on the low 24 bits, result `S >> (3 + s/2)` rounded.
#[inline]
pub fn sqrt_uq8p24(t: &FepTables, x: Uq8p24) -> Uq8p24 {
    if x.0 == 0 {
        return Uq8p24(0);
    }
    let s = x.0.leading_zeros() & !1;
    let m = x.0 << s;
    let k = ((m >> 24) - 64) as usize;
    let frac = m << 8;
    let (a, b) = (t.sqrt[k].0, t.sqrt[k + 1].0);
    let v = a + mul_rnd(b - a, frac, 32) as u32;
    Uq8p24(shr_rnd(v as u64, 3 + s / 2) as u32)
}

/// `1/(2w)` in [`Sq39p24`] for `w ≥ 2^-8` (raw ≥ 2^16; smaller `w` is treated as 2^-8).
#[inline]
pub fn half_inv(t: &FepTables, w: Uq8p24) -> Sq39p24 {
    let x = w.0.max(1 << 16);
    let (r, _) = recip(t, x);
    // 1/(2w) = 2^23/x = r·2^-31·2^-(31−clz)·2^47 → raw24 = r >> (15 − clz).
    let z = x.leading_zeros();
    Sq39p24(shr_rnd(r.0 as u64, 15 - z) as i64)
}

/// `(W_LTP, W_LTD)` of a triplet with `dt1 = t2 − t_pre`, `dt2 = t2 − t1` in
/// steps (`1 ≤ dt1 < dt2`; out-of-range values are clamped to the table).
#[inline]
pub fn parts(t: &FepTables, dt1: u32, dt2: u32) -> (Uq8p24, Uq8p24) {
    let n = FEP_N as u32 - 1;
    let i = dt1.clamp(1, n);
    let j = dt2.saturating_sub(dt1).clamp(1, n);
    parts_ij(t, i, j)
}

/// `(W_LTP, W_LTD)` at table indices `1 ≤ i, j ≤ N − 1`.
#[inline]
pub fn parts_ij(t: &FepTables, i: u32, j: u32) -> (Uq8p24, Uq8p24) {
    let ex = t.exp[i as usize].0;
    let es = t.exp[j as usize].0;
    let g = t.gamma.0;
    let gex = mul_rnd(g, ex, 32) as u32;
    let ges = mul_rnd(g, es, 32) as u32;
    let d = (1u32 << 24) + ges + gex;
    let den = (2u32 << 24) + 3 * ges + gex;
    let (r, _) = recip(t, den);
    let z = den.leading_zeros();
    let q = mul_rnd(d, r.0, 32) as u32; // UQ9.23 = D/m
    let d2r = (q as u64) * (d as u64); // Q17.47
    let x = shr_rnd(d2r, 30 - z) as u32; // UQ8.24 = D²/den
    let ltd = mul_rnd(t.k_ltd.0, x, 28) as u32;
    let tt = ((i + j) as usize).min(FEP_F_LEN - 1);
    let fw = mul_rnd(t.f[tt].0, ltd, 24) as u32;
    let ltp = mul_rnd(ex, fw, 32) as u32;
    (Uq8p24(ltp), Uq8p24(ltd))
}

/// `dw = W_LTP − (c + w)·W_LTD + 1/(2w)` from parts and `1/(2w)`.
#[inline]
pub fn dw_from_parts(t: &FepTables, ltp: Uq8p24, ltd: Uq8p24, w: Uq8p24, half_inv_w: Sq39p24) -> Sq39p24 {
    let cw = t.ltd_offset.0 as u64 + w.0 as u64;
    let dep = shr_rnd(cw * ltd.0 as u64, 24) as i64;
    Sq39p24(ltp.0 as i64 - dep + half_inv_w.0)
}

/// Per-triplet `dw` (steps; `w` clamped to `[w_min, w_max]`).
#[inline]
pub fn dw(t: &FepTables, dt1: u32, dt2: u32, w: Uq8p24) -> Sq39p24 {
    let w = clamp_w(t, w);
    let (ltp, ltd) = parts(t, dt1, dt2);
    dw_from_parts(t, ltp, ltd, w, half_inv(t, w))
}

#[inline]
fn clamp_w(t: &FepTables, w: Uq8p24) -> Uq8p24 {
    Uq8p24(w.0.clamp(t.w_min.0, t.w_max.0.max(t.w_min.0)))
}

/// `eta·Σdw` in [`Sq39p24`] (64×32-bit product, rounded half up).
#[inline]
pub fn scaled_update(t: &FepTables, sum: Sq39p24) -> Sq39p24 {
    let p = (sum.0 as i128) * (t.eta.mant as i128);
    let s = t.eta.shift;
    let v = if s == 0 { p } else { (p + (1i128 << (s - 1))) >> s };
    Sq39p24(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Marsaglia xorshift32 (13, 17, 5): period 2^32 − 1, a nonzero seed (0 is
/// replaced by `0x9E37_79B9`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FepRng {
    state: u32,
}

impl FepRng {
    /// Seeded generator.
    pub const fn new(seed: u32) -> Self {
        FepRng { state: if seed == 0 { 0x9E37_79B9 } else { seed } }
    }
    /// The generator's state (the seed that continues the sequence).
    pub const fn state(&self) -> u32 {
        self.state
    }
    /// Next 32-bit output, a uniform on [0, 1) as [`U032`].
    #[inline]
    pub fn next_u032(&mut self) -> U032 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        U032(x)
    }
    /// Standard normal deviate from the inverse-CDF table: `(negative, |eps|)`.
    #[inline]
    pub fn gaussian(&mut self, t: &FepTables) -> (bool, Uq3p13) {
        let u = self.next_u032().0;
        (u >> 31 == 1, t.gauss[((u >> 21) & 0x3FF) as usize])
    }
}

/// Stochastic release at a pre spike: `y = max(0, r0·w + sqrt(s0·w)·eps)` ([`Uq8p24`]).
pub fn release(t: &FepTables, w: Uq8p24, rng: &mut FepRng) -> Uq8p24 {
    let r0w = mul_rnd(t.r0.0, w.0, 32) as i64;
    let s0w = Uq8p24(mul_rnd(t.s0.0, w.0, 32) as u32);
    let sd = sqrt_uq8p24(t, s0w);
    let (neg, e) = rng.gaussian(t);
    let noise = mul_rnd(sd.0, e.0 as u32, 13) as i64;
    let y = if neg { r0w - noise } else { r0w + noise };
    Uq8p24(y.clamp(0, u32::MAX as i64) as u32)
}

/// What a post spike committed ([`FepSynapse::on_post`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FepCommit {
    /// Post spike step `t2`.
    pub t_post: u32,
    /// `Σ dw` over the triplets ending at `t2` (before `eta`).
    pub dw: Sq39p24,
    /// Weight before and after the update.
    pub w_before: Uq8p24,
    pub w_after: Uq8p24,
    /// Triplets evaluated at `t2` and folded earlier.
    pub n_live: u32,
    pub n_folded: u32,
    /// Whether the update was clamped at `w_min` or `w_max`.
    pub clamped: bool,
}

/// Event-driven state of one synapse (times in steps of 1 ms, non-decreasing).
///
/// State: `w`, the last post spike `t1`, the pending pre spikes of the current
/// post ISI (ring of ≤ [`FEP_PENDING_CAP`] steps) and the folded accumulator
/// (see the module docs). Pre spikes before the first post spike, or at the
/// step of the last post spike, form no triplet and are dropped. Two pre spikes
/// in one step can overflow the ring; the oldest is then folded early with its
/// current age as `dt1` lower bound (`early_folds` counts them).
#[derive(Clone, Debug)]
pub struct FepSynapse {
    w: Uq8p24,
    t1: Option<u32>,
    pending: [u32; FEP_PENDING_CAP],
    head: usize,
    len: usize,
    fold: Sq39p24,
    n_folded: u32,
    /// Pre spikes folded before reaching the table depth (ring overflow).
    pub early_folds: u32,
}

impl FepSynapse {
    /// New synapse with weight `w0` (clamped to `[w_min, w_max]`).
    pub fn new(t: &FepTables, w0: Uq8p24) -> Self {
        FepSynapse { w: clamp_w(t, w0), t1: None, pending: [0; FEP_PENDING_CAP], head: 0, len: 0, fold: Sq39p24(0), n_folded: 0, early_folds: 0 }
    }
    /// Current weight.
    pub fn w(&self) -> Uq8p24 {
        self.w
    }
    /// Pending pre spikes and folded count.
    pub fn pending(&self) -> (usize, u32) {
        (self.len, self.n_folded)
    }

    fn fold_front(&mut self, t: &FepTables) {
        let tp = self.pending[self.head];
        self.head = (self.head + 1) % FEP_PENDING_CAP;
        self.len -= 1;
        let t1 = self.t1.unwrap_or(tp);
        let n = FEP_N as u32 - 1;
        let (ltp, ltd) = parts_ij(t, n, (tp - t1).clamp(1, n));
        let d = dw_from_parts(t, ltp, ltd, self.w, half_inv(t, self.w));
        self.fold = Sq39p24(self.fold.0 + d.0);
        self.n_folded += 1;
    }

    /// Folds every pending pre spike whose age at step `now` is ≥ N − 1.
    pub fn advance(&mut self, t: &FepTables, now: u32) {
        while self.len > 0 && now.saturating_sub(self.pending[self.head]) >= FEP_N as u32 - 1 {
            self.fold_front(t);
        }
    }

    /// Pre-synaptic spike at step `tp`; returns whether it was queued.
    pub fn on_pre(&mut self, t: &FepTables, tp: u32) -> bool {
        match self.t1 {
            Some(t1) if tp > t1 => {
                self.advance(t, tp);
                if self.len == FEP_PENDING_CAP {
                    self.fold_front(t);
                    self.early_folds += 1;
                }
                self.pending[(self.head + self.len) % FEP_PENDING_CAP] = tp;
                self.len += 1;
                true
            }
            _ => false,
        }
    }

    /// Post-synaptic spike at step `t2`: commits every triplet `(t1, t_pre, t2)`
    /// and applies `w ← clamp(w + eta·Σdw, w_min, w_max)`.
    pub fn on_post(&mut self, t: &FepTables, t2: u32) -> FepCommit {
        let w = self.w;
        let mut c = FepCommit { t_post: t2, dw: Sq39p24(0), w_before: w, w_after: w, n_live: 0, n_folded: 0, clamped: false };
        if let Some(t1) = self.t1 {
            self.advance(t, t2);
            let hi = half_inv(t, w);
            let mut sum = self.fold.0;
            for k in 0..self.len {
                let tp = self.pending[(self.head + k) % FEP_PENDING_CAP];
                if tp < t2 {
                    let (ltp, ltd) = parts(t, t2 - tp, t2 - t1);
                    sum += dw_from_parts(t, ltp, ltd, w, hi).0;
                    c.n_live += 1;
                }
            }
            c.n_folded = self.n_folded;
            c.dw = Sq39p24(sum);
            let nw = w.0 as i64 + scaled_update(t, c.dw).0;
            let lo = t.w_min.0 as i64;
            let hi_w = (t.w_max.0 as i64).max(lo);
            c.clamped = nw < lo || nw > hi_w;
            self.w = Uq8p24(nw.clamp(lo, hi_w) as u32);
            c.w_after = self.w;
        }
        self.t1 = Some(t2);
        self.len = 0;
        self.head = 0;
        self.fold = Sq39p24(0);
        self.n_folded = 0;
        c
    }
}
