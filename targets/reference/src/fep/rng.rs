//! Seeded deterministic random numbers for the FEP reference (no external dependency).
//!
//! * State: xoshiro256** (Blackman & Vigna, 2018), 256-bit state, period 2^256 − 1.
//! * Seeding: the 64-bit seed is expanded into the four state words by SplitMix64, which
//!   never yields an all-zero state in practice and decorrelates nearby seeds.
//! * Uniforms: the top 53 bits of an output, scaled by 2^-53.
//! * Gaussians: Box–Muller, `r = sqrt(−2 ln u1)`, `phi = 2π u2`, with `u1 ∈ (0, 1]`;
//!   returns `r cos phi` and caches `r sin phi` for the next call.
//! * Exponentials: inversion, `−mean·ln(u)`, `u ∈ (0, 1]`.
//!
//! The streams are reproducible across platforms (only IEEE arithmetic and `ln`, `sqrt`,
//! `sin`, `cos` of the Rust standard library are used) but are not numpy's streams, so
//! protocols that draw random numbers agree with the Python reference statistically, not
//! value by value.

/// One step of SplitMix64 on `state`, returning the next output.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** generator with Box–Muller Gaussians.
#[derive(Debug, Clone, PartialEq)]
pub struct FepRng {
    s: [u64; 4],
    spare_normal: Option<f64>,
}

impl FepRng {
    /// Generator seeded from a 64-bit seed via SplitMix64.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self::from_state(s)
    }

    /// Generator with an explicit xoshiro256** state (must not be all zero; an all-zero
    /// state is replaced by the state of seed 0).
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] {
            return Self::new(0);
        }
        FepRng {
            s,
            spare_normal: None,
        }
    }

    /// Next 64-bit output (xoshiro256**).
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on `[0, 1)` with 53-bit resolution.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform on `(0, 1]` with 53-bit resolution (safe for `ln`).
    pub fn uniform_pos(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal deviate (Box–Muller, pairs cached).
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let u1 = self.uniform_pos();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let phi = 2.0 * std::f64::consts::PI * u2;
        self.spare_normal = Some(r * phi.sin());
        r * phi.cos()
    }

    /// Exponential deviate with the given mean (same unit as `mean`).
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.uniform_pos().ln()
    }
}
