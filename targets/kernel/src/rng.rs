//! Deterministic random streams (owned by the Loihi-profile work).
//!
//! A port of the parts of numpy's random module that Lava 0.10's learning
//! engine consumes, bit for bit (checked against numpy 1.26.4 and 2.4.6):
//!
//! * [`SeedSequence`] — numpy's `SeedSequence(seed)` (pool of four `u32`
//!   words, `hashmix`/`mix` entropy mixing) and its `generate_state`.
//! * [`Pcg64`] — numpy's `PCG64` bit generator (128-bit LCG, XSL-RR 64-bit
//!   output) seeded from a `SeedSequence`, i.e. `np.random.default_rng(seed)`,
//!   with `random()`, the buffered 32-bit output and the bounded integers of
//!   `Generator.integers`.
//! * [`TraceRandom`] and [`ConnVarRandom`] — the two generator holders of
//!   `lava.magma.core.learning.random`, with the seeds and draw order Lava uses
//!   (see `loihi-lava.md` §3.4).
//!
//! Everything is plain integer arithmetic on `u32`/`u64`/`u128` plus one exact
//! `u64 → f64` conversion; no heap, no `std`.

/// numpy `SeedSequence` constants (`numpy/random/bit_generator.pyx`).
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
const XSHIFT: u32 = 16;

/// numpy's `SeedSequence` with an integer entropy, no spawn key and the
/// default pool size of four 32-bit words.
///
/// The entropy is the seed split into `u32` words, least significant first,
/// at least one word (seed 0 is the single word `0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedSequence {
    pool: [u32; SeedSequence::POOL_SIZE],
}

/// The running `hashmix` multiplier state (`hash_const` in numpy), carried
/// across every call in call order.
struct HashMix(u32);

impl HashMix {
    fn hash(&mut self, value: u32) -> u32 {
        let mut v = value ^ self.0;
        self.0 = self.0.wrapping_mul(MULT_A);
        v = v.wrapping_mul(self.0);
        v ^ (v >> XSHIFT)
    }
}

fn mix(x: u32, y: u32) -> u32 {
    let r = MIX_MULT_L
        .wrapping_mul(x)
        .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    r ^ (r >> XSHIFT)
}

impl SeedSequence {
    /// Number of `u32` words in the entropy pool (numpy's default).
    pub const POOL_SIZE: usize = 4;

    /// Mixes an entropy given as `u32` words, least significant first. An
    /// empty slice is the same as `[0]`.
    pub fn from_entropy_words(entropy: &[u32]) -> Self {
        let mut hm = HashMix(INIT_A);
        let mut pool = [0u32; Self::POOL_SIZE];
        for (i, slot) in pool.iter_mut().enumerate() {
            *slot = hm.hash(entropy.get(i).copied().unwrap_or(0));
        }
        for src in 0..Self::POOL_SIZE {
            for dst in 0..Self::POOL_SIZE {
                if src != dst {
                    let h = hm.hash(pool[src]);
                    pool[dst] = mix(pool[dst], h);
                }
            }
        }
        for &e in entropy.iter().skip(Self::POOL_SIZE) {
            for slot in pool.iter_mut() {
                let h = hm.hash(e);
                *slot = mix(*slot, h);
            }
        }
        SeedSequence { pool }
    }

    /// `SeedSequence(seed)` for a non-negative integer seed below 2^128.
    pub fn new(seed: u128) -> Self {
        let mut words = [0u32; 4];
        let mut n = 0;
        let mut s = seed;
        loop {
            words[n] = s as u32;
            n += 1;
            s >>= 32;
            if s == 0 {
                break;
            }
        }
        Self::from_entropy_words(&words[..n])
    }

    /// The mixed entropy pool.
    pub fn pool(&self) -> [u32; Self::POOL_SIZE] {
        self.pool
    }

    /// `generate_state(out.len(), np.uint32)`.
    pub fn generate_state_u32(&self, out: &mut [u32]) {
        let mut hash_const = INIT_B;
        for (i, o) in out.iter_mut().enumerate() {
            let mut v = self.pool[i % Self::POOL_SIZE] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_const);
            *o = v ^ (v >> XSHIFT);
        }
    }

    /// `generate_state(out.len(), np.uint64)`: each `u64` is two consecutive
    /// `u32` output words, the first one as the low half.
    pub fn generate_state_u64(&self, out: &mut [u64]) {
        let mut hash_const = INIT_B;
        let mut word = |i: usize| {
            let mut v = self.pool[i % Self::POOL_SIZE] ^ hash_const;
            hash_const = hash_const.wrapping_mul(MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> XSHIFT)
        };
        for (k, o) in out.iter_mut().enumerate() {
            let lo = word(2 * k) as u64;
            let hi = word(2 * k + 1) as u64;
            *o = lo | (hi << 32);
        }
    }
}

/// numpy's `PCG64` bit generator plus the parts of `Generator` Lava uses.
///
/// State: a 128-bit LCG `state`, its odd increment `inc`, and numpy's one-word
/// buffer for 32-bit outputs (`has_uint32`/`uinteger`), which persists across
/// calls on the same generator and is not touched by 64-bit draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    buffered_u32: Option<u32>,
}

impl Pcg64 {
    /// The 128-bit LCG multiplier of PCG64 (not the "cheap" DXSM one).
    pub const MULTIPLIER: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

    /// `pcg_setseq_128_srandom_r(initstate, initseq)`.
    pub fn from_state_and_sequence(initstate: u128, initseq: u128) -> Self {
        let mut g = Pcg64 {
            state: 0,
            inc: (initseq << 1) | 1,
            buffered_u32: None,
        };
        g.step();
        g.state = g.state.wrapping_add(initstate);
        g.step();
        g
    }

    /// PCG64 seeded from a `SeedSequence` the way numpy does it:
    /// `generate_state(4, uint64) = [v0, v1, v2, v3]`,
    /// `initstate = v0 << 64 | v1`, `initseq = v2 << 64 | v3`.
    pub fn from_seed_sequence(seq: &SeedSequence) -> Self {
        let mut v = [0u64; 4];
        seq.generate_state_u64(&mut v);
        let initstate = ((v[0] as u128) << 64) | v[1] as u128;
        let initseq = ((v[2] as u128) << 64) | v[3] as u128;
        Self::from_state_and_sequence(initstate, initseq)
    }

    /// `np.random.default_rng(seed)` for a non-negative integer seed.
    pub fn new(seed: u128) -> Self {
        Self::from_seed_sequence(&SeedSequence::new(seed))
    }

    fn step(&mut self) {
        self.state = self
            .state
            .wrapping_mul(Self::MULTIPLIER)
            .wrapping_add(self.inc);
    }

    /// Next raw 64-bit output (`bit_generator.random_raw()`): step, then
    /// XSL-RR of the new state.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let hi = (self.state >> 64) as u64;
        let lo = self.state as u64;
        (hi ^ lo).rotate_right((self.state >> 122) as u32)
    }

    /// Next 32-bit output with numpy's buffering: a fresh 64-bit output
    /// yields its low half now and its high half on the next call.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(v) = self.buffered_u32.take() {
            return v;
        }
        let x = self.next_u64();
        self.buffered_u32 = Some((x >> 32) as u32);
        x as u32
    }

    /// `Generator.random()`: `(next_u64 >> 11) * 2^-53`, a double in [0, 1)
    /// (exact: a 53-bit integer times a power of two).
    pub fn random_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// numpy's bounded integer in `[0, range_incl]` for ranges that fit in
    /// 32 bits (`Generator.integers(low, low + range_incl + 1)` with the
    /// default, non-masked method, for any integer dtype of 32 bits or more):
    /// Lemire's multiply-shift on buffered 32-bit outputs, with rejection.
    /// `range_incl == 0` consumes nothing; `u32::MAX` returns the raw word.
    pub fn bounded_u32(&mut self, range_incl: u32) -> u32 {
        if range_incl == 0 {
            return 0;
        }
        if range_incl == u32::MAX {
            return self.next_u32();
        }
        let rng_excl = range_incl + 1;
        let mut m = self.next_u32() as u64 * rng_excl as u64;
        let mut leftover = m as u32;
        if leftover < rng_excl {
            let threshold = rng_excl.wrapping_neg() % rng_excl;
            while leftover < threshold {
                m = self.next_u32() as u64 * rng_excl as u64;
                leftover = m as u32;
            }
        }
        (m >> 32) as u32
    }

    /// `Generator.integers(0, 2^bits)` for `bits` in 1..=31: with a
    /// power-of-two range Lemire never rejects and the value is the top
    /// `bits` bits of one buffered 32-bit output.
    pub fn integers_pow2(&mut self, bits: u32) -> u32 {
        debug_assert!((1..=31).contains(&bits));
        self.bounded_u32((1u32 << bits) - 1)
    }
}

/// Width of Lava's trace impulse random integer: draws are in `0..2^7`.
pub const TRACE_RANDOM_BITS: u32 = 7;

/// Lava's `TraceRandom`: one generator for the stochastic rounding of the
/// trace decay (a float in [0, 1)) and one for the impulse addition (an
/// integer in 0..=127), each holding its current value.
///
/// Construction draws once from each; [`TraceRandom::advance`] draws once
/// more from each. One value is shared by all neurons of a population.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceRandom {
    decay_gen: Pcg64,
    impulse_gen: Pcg64,
    decay: f64,
    impulse: u8,
}

impl TraceRandom {
    /// `TraceRandom(seed_trace_decay, seed_impulse_addition)`.
    pub fn new(seed_decay: u128, seed_impulse: u128) -> Self {
        let mut t = TraceRandom {
            decay_gen: Pcg64::new(seed_decay),
            impulse_gen: Pcg64::new(seed_impulse),
            decay: 0.0,
            impulse: 0,
        };
        t.advance();
        t
    }

    /// Draws the next decay float (`random()`) and the next impulse integer
    /// (`integers(0, 128)`).
    pub fn advance(&mut self) {
        self.decay = self.decay_gen.random_f64();
        self.impulse = self.impulse_gen.integers_pow2(TRACE_RANDOM_BITS) as u8;
    }

    /// Current decay random, a float64 in [0, 1).
    pub fn decay(&self) -> f64 {
        self.decay
    }

    /// Current impulse random, an integer in 0..=127.
    pub fn impulse(&self) -> u8 {
        self.impulse
    }
}

/// Seed of Lava's weight-rounding generator (`ConnVarRandom()` default; not
/// configurable through Lava's API).
pub const CONN_VAR_RANDOM_SEED: u128 = 2;

/// Lava's `ConnVarRandom`: the float in [0, 1) used for the stochastic
/// rounding of w, d and t after a learning epoch. Draws once at construction
/// and once per [`ConnVarRandom::advance`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConnVarRandom {
    gen: Pcg64,
    value: f64,
}

impl ConnVarRandom {
    /// `ConnVarRandom(seed)`.
    pub fn new(seed: u128) -> Self {
        let mut gen = Pcg64::new(seed);
        let value = gen.random_f64();
        ConnVarRandom { gen, value }
    }

    /// `ConnVarRandom()` as Lava constructs it: seed 2.
    pub fn lava_default() -> Self {
        Self::new(CONN_VAR_RANDOM_SEED)
    }

    /// Draws the next value.
    pub fn advance(&mut self) {
        self.value = self.gen.random_f64();
    }

    /// Current value, a float64 in [0, 1).
    pub fn value(&self) -> f64 {
        self.value
    }
}

/// All random streams of one Lava `LearningDense` with learning-rule seed
/// `S`: x traces (decay seed S, impulse seed S+1), y traces (S+2, S+3) and
/// the weight rounding (seed 2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearningRandoms {
    /// Pre-synaptic (x) trace randoms.
    pub x: TraceRandom,
    /// Post-synaptic (y) trace randoms.
    pub y: TraceRandom,
    /// Weight/tag stochastic rounding random.
    pub w: ConnVarRandom,
}

impl LearningRandoms {
    /// The streams Lava creates for `rng_seed = seed`.
    pub fn new(seed: u64) -> Self {
        let s = seed as u128;
        LearningRandoms {
            x: TraceRandom::new(s, s + 1),
            y: TraceRandom::new(s + 2, s + 3),
            w: ConnVarRandom::lava_default(),
        }
    }

    /// Advances the x and the y trace randoms (Lava's
    /// `_update_trace_randoms`; runs twice per time step).
    pub fn advance_traces(&mut self) {
        self.x.advance();
        self.y.advance();
    }
}
