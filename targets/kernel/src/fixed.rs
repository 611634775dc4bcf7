//! Named fixed-point formats of the SpiNNaker profile.
//!
//! Every on-chip number format used by sPyNNaker is a distinct type here. Each
//! type is a `#[repr(transparent)]` wrapper around its raw integer, so it is
//! `bytemuck::Pod` and can sit directly in a binary program image with the
//! same bytes the C code reads (`bitsk`/`kbits`, `bitsulr`/`ulrbits` are plain
//! union reinterpretations in spinn_common `include/stdfix-full-iso.h`).
//!
//! Two kinds of operations exist:
//!
//! * **on-chip** operations (`const fn`, integer only, no float): they give
//!   exactly the bits the ARM968 code gives. Where the C relies on the compiler
//!   (plain `accum * accum`, `+`, `-`) the behaviour was measured with
//!   `arm-none-eabi-gcc` 12.2 (`-mthumb-interwork -march=armv5te -std=gnu99
//!   -ffreestanding -marm`, the spinnaker_tools `make/spinnaker_tools.mk`
//!   flags with its default `THUMB := 0`) under `qemu-arm`; where a library
//!   routine is used the routine's source is named.
//! * **host** conversions (`from_f64_host`), which reproduce what sPyNNaker's
//!   Python writes into SDRAM. They use `libm` and are meant for the compiler's
//!   quantization pass, never for the per-step path.

use bytemuck::{Pod, Zeroable};

/// Why a host value could not be encoded in a fixed-point format.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EncodeError {
    /// The value is NaN.
    NotANumber,
    /// The value lies outside the representable range of the format
    /// (sPyNNaker's `DataType.encode_as_int` raises `ValueError` here).
    OutOfRange {
        /// The offending value.
        value: f64,
        /// Smallest representable value.
        min: f64,
        /// Largest representable value.
        max: f64,
    },
}

/// Round half to even, as Python's `round()` on a `Decimal` and numpy's
/// `round`/`rint` do.
#[inline]
fn rint(x: f64) -> f64 {
    // libm::rint rounds to nearest, ties to even, independent of any FP
    // environment (it is a software routine).
    libm::rint(x)
}

// ---------------------------------------------------------------------------
// S1615
// ---------------------------------------------------------------------------

/// `s16.15`, ISO/IEC TR 18037 `accum` on ARM GCC (`REAL` in sPyNNaker's
/// `neural_modelling/src/common/maths-util.h`).
///
/// * **Layout:** one `i32`, two's complement, value = `bits / 2^15`.
/// * **Range:** `[-65536, 65536 - 2^-15]`, resolution `2^-15 ≈ 3.05e-5`.
/// * **Host encoding** ([`S1615::from_f64_host`]): `rint(x · 32768)` with ties
///   to even, after a range check. This is `DataType.S1615.encode_as_int` of
///   SpiNNFrontEndCommon (`int(round(Decimal(str(x)) * 32768))`, whose
///   `Decimal` rounding is half-even; the exact binary product `x · 2^15`
///   rounds to the same integer because a tie is always an exactly
///   representable double) and `encode_as_numpy_int_array`
///   (`numpy.round`, also half-even). Out-of-range values are an error, as in
///   the Python (`ValueError`).
/// * **`+`, `-`, unary `-`** ([`wrapping_add`](S1615::wrapping_add) etc.): the
///   C code uses plain non-saturating `accum` arithmetic, which GCC compiles to
///   32-bit integer add/sub; overflow **wraps** (measured: `MAX + ε = MIN`).
/// * **`accum * accum` as compiled on chip** ([`mul_arm`](S1615::mul_arm)):
///   in ARM state GCC expands `mulsa3` inline as `smull` + shifts; the 64-bit
///   product is shifted right by 15 (**floor**, i.e. rounding toward −∞) and
///   the low 32 bits are kept (**wraps**, no saturation). Measured on 200 000
///   random pairs, all equal to `(x·y) >> 15`; `(2^31-1)² → -131072`.
///   In Thumb state the same C calls libgcc `__mulsa3`, which **rounds half
///   up** (`(x·y + 2^14) >> 15`) and also wraps: [`mul_thumb`](S1615::mul_thumb).
///   sPyNNaker builds ARM code by default, so the kernel uses `mul_arm`.
/// * **`MULT_ROUND_NEAREST_ACCUM`** ([`mul_round_nearest`](S1615::mul_round_nearest)):
///   spinn_common `include/round.h` `__stdfix_smul_k_round_nearest`: round half
///   up at bit 14, then saturate to the `i32` range.
/// * **`kdivk`, `kdivui`** (sPyNNaker `maths-util.h`, with `udiv64` from
///   `neuron/c_main_neuron_common.h`, an exact unsigned 64-bit long division):
///   see [`kdivk`](S1615::kdivk).
/// * **`decay_s1615(x, d)`** (`neuron/decay.h`): `(x · d) >> 32` with `x`
///   sign-extended and `d` an unsigned `u0.32`: floor, result fits in `i32`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Pod, Zeroable)]
pub struct S1615(pub i32);

impl S1615 {
    /// Number of fractional bits.
    pub const FRAC_BITS: u32 = 15;
    /// 0.0
    pub const ZERO: S1615 = S1615(0);
    /// 1.0
    pub const ONE: S1615 = S1615(1 << 15);
    /// Largest value, `65536 - 2^-15`.
    pub const MAX: S1615 = S1615(i32::MAX);
    /// Smallest value, `-65536`.
    pub const MIN: S1615 = S1615(i32::MIN);

    /// Reinterpret raw bits (`kbits`).
    #[inline]
    pub const fn from_bits(bits: i32) -> Self {
        S1615(bits)
    }

    /// Raw bits (`bitsk`).
    #[inline]
    pub const fn to_bits(self) -> i32 {
        self.0
    }

    /// An integer value (exact for `-65536..=65535`; wraps outside).
    #[inline]
    pub const fn from_int(i: i32) -> Self {
        S1615(i.wrapping_shl(15))
    }

    /// Host encoding as sPyNNaker writes it: `rint(x · 2^15)` (ties to even)
    /// with a range check. See the type documentation.
    pub fn from_f64_host(x: f64) -> Result<Self, EncodeError> {
        if x.is_nan() {
            return Err(EncodeError::NotANumber);
        }
        let min = -65536.0;
        let max = 65536.0 - 1.0 / 32768.0;
        if !(min..=max).contains(&x) {
            return Err(EncodeError::OutOfRange { value: x, min, max });
        }
        // x * 2^15 is exact in f64; the rounded result is within i32 range
        // because of the check above (max * 2^15 = 2^31 - 1).
        Ok(S1615(rint(x * 32768.0) as i32))
    }

    /// The represented value (exact).
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / 32768.0
    }

    /// Non-saturating `accum + accum` as GCC compiles it: wraps.
    #[inline]
    pub const fn wrapping_add(self, rhs: Self) -> Self {
        S1615(self.0.wrapping_add(rhs.0))
    }

    /// Non-saturating `accum - accum`: wraps.
    #[inline]
    pub const fn wrapping_sub(self, rhs: Self) -> Self {
        S1615(self.0.wrapping_sub(rhs.0))
    }

    /// Non-saturating unary minus: wraps (`-MIN == MIN`).
    #[inline]
    pub const fn wrapping_neg(self) -> Self {
        S1615(self.0.wrapping_neg())
    }

    /// Saturating add (`__stdfix_sadd_k`, spinn_common `stdfix-full-iso.h`).
    #[inline]
    pub const fn saturating_add(self, rhs: Self) -> Self {
        S1615(self.0.saturating_add(rhs.0))
    }

    /// Saturating subtract (`__stdfix_ssub_k`).
    #[inline]
    pub const fn saturating_sub(self, rhs: Self) -> Self {
        S1615(self.0.saturating_sub(rhs.0))
    }

    /// `accum * accum` in ARM state (GCC inline `mulsa3`): floor, wrap.
    #[inline]
    pub const fn mul_arm(self, rhs: Self) -> Self {
        S1615(((self.0 as i64 * rhs.0 as i64) >> 15) as i32)
    }

    /// `accum * accum` in Thumb state (libgcc `__mulsa3`): round half up, wrap.
    #[inline]
    pub const fn mul_thumb(self, rhs: Self) -> Self {
        S1615(((self.0 as i64 * rhs.0 as i64 + (1 << 14)) >> 15) as i32)
    }

    /// `MULT_ROUND_NEAREST_ACCUM(x, y)` for two `accum`s
    /// (`__stdfix_smul_k_round_nearest`): add bit 14 of the product (round
    /// half up), shift by 15, saturate to `i32`; `MIN · MIN` gives `MAX`.
    #[inline]
    pub const fn mul_round_nearest(self, rhs: Self) -> Self {
        if self.0 == i32::MIN && rhs.0 == i32::MIN {
            return S1615::MAX;
        }
        let p = self.0 as i64 * rhs.0 as i64;
        let c = (p >> 14) & 1;
        let r = (p >> 15) + c;
        S1615(if r > i32::MAX as i64 {
            i32::MAX
        } else if r < i32::MIN as i64 {
            i32::MIN
        } else {
            r as i32
        })
    }

    /// `decay_s1615(x, d)` (`neuron/decay.h`): `(x · d) >> 32`, floor.
    /// Never overflows (`|x · d| < 2^63`, result magnitude `< |x|`).
    #[inline]
    pub const fn decay(self, d: U032) -> Self {
        S1615(((self.0 as i64 * d.0 as i64) >> 32) as i32)
    }

    /// `kdivk(a, b)` (sPyNNaker `maths-util.h`):
    /// `(u32) udiv64((u64)(i64) bits(a) << 15, (u64)(i64) bits(b))`.
    ///
    /// Both operands are sign-extended to 64 bits and then divided as
    /// **unsigned** numbers, floor; the quotient is truncated to 32 bits. For
    /// positive operands this is `floor(a · 2^15 / b)` (wrapping if it exceeds
    /// 32 bits); negative operands give the same garbage as the chip. `None`
    /// for a zero divisor (the chip executes a deliberate division by zero).
    #[inline]
    pub const fn kdivk(self, rhs: Self) -> Option<Self> {
        let num = (self.0 as i64 as u64) << 15;
        let den = rhs.0 as i64 as u64;
        if den == 0 {
            return None;
        }
        Some(S1615((num / den) as u32 as i32))
    }

    /// `kdivui(a, n)` (sPyNNaker `maths-util.h`):
    /// `(u32) udiv64((u64)(i64) bits(a), n)`; `None` for `n == 0`.
    #[inline]
    pub const fn kdivui(self, n: u32) -> Option<Self> {
        if n == 0 {
            return None;
        }
        Some(S1615(((self.0 as i64 as u64) / n as u64) as u32 as i32))
    }

    /// `lif_ceil_accum` (`neuron_model_lif_impl.h`): integer part
    /// (`bits >> 15`, floor) plus one if any fractional bit is set.
    #[inline]
    pub const fn ceil_to_int(self) -> i32 {
        let int = self.0 >> 15;
        if self.0 & 0x7FFF > 0 {
            int + 1
        } else {
            int
        }
    }

    /// `decay_s1615_to_u032(x, d)` (`neuron/decay.h`):
    /// `(u32)(((u64)(i64) bits(x) · d) >> 15)` — x sign-extended, then an
    /// unsigned 64-bit multiply (wrapping), floor, truncated to 32 bits.
    #[inline]
    pub const fn mul_u032_to_u032(self, d: U032) -> U032 {
        let s = self.0 as i64 as u64;
        U032((s.wrapping_mul(d.0 as u64) >> 15) as u32)
    }
}

// ---------------------------------------------------------------------------
// U032
// ---------------------------------------------------------------------------

/// `u0.32`, ISO `unsigned long fract` (`UFRACT`, `decay_t` in sPyNNaker's
/// `neuron/decay.h`).
///
/// * **Layout:** one `u32`, value = `bits / 2^32`.
/// * **Range:** `[0, 1 - 2^-32]`.
/// * **`1.0ulr`** is not representable; GCC saturates the literal to
///   `0xFFFF_FFFF` (measured): [`U032::ONE_SAT`].
/// * **`ulr - ulr`**: non-saturating, wraps like `u32` (measured
///   `1.0ulr - ulrbits(3e9) = 1294967295`).
/// * **Host encoding** ([`U032::from_f64_host`]): `rint(x · 2^32)`, ties to
///   even, range-checked (`DataType.U032`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Pod, Zeroable)]
pub struct U032(pub u32);

impl U032 {
    /// The value of the C literal `1.0ulr` (saturated): `0xFFFF_FFFF`.
    pub const ONE_SAT: U032 = U032(u32::MAX);

    /// Reinterpret raw bits (`ulrbits`).
    #[inline]
    pub const fn from_bits(bits: u32) -> Self {
        U032(bits)
    }

    /// Raw bits (`bitsulr`).
    #[inline]
    pub const fn to_bits(self) -> u32 {
        self.0
    }

    /// Non-saturating subtraction, wraps.
    #[inline]
    pub const fn wrapping_sub(self, rhs: Self) -> Self {
        U032(self.0.wrapping_sub(rhs.0))
    }

    /// Host encoding `rint(x · 2^32)` (ties to even) with a range check.
    pub fn from_f64_host(x: f64) -> Result<Self, EncodeError> {
        if x.is_nan() {
            return Err(EncodeError::NotANumber);
        }
        let max = 1.0 - 1.0 / 4294967296.0;
        if !(0.0..=max).contains(&x) {
            return Err(EncodeError::OutOfRange { value: x, min: 0.0, max });
        }
        Ok(U032(rint(x * 4294967296.0) as u32))
    }

    /// The represented value (exact).
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / 4294967296.0
    }
}

// ---------------------------------------------------------------------------
// S411
// ---------------------------------------------------------------------------

/// `s4.11` STDP trace / LUT value (`int16_t`, `STDP_FIXED_POINT = 11`,
/// sPyNNaker `neuron/plasticity/stdp/stdp_typedefs.h`).
///
/// * **Layout:** one `i16`, value = `bits / 2048`; one = 2048.
/// * **Range:** `[-16, 16 - 2^-11]`.
/// * **Product** ([`mul`](S411::mul), `STDP_FIXED_MUL_16X16` in
///   `stdp/maths.h`): signed 16×16→32 multiply (`smulbb`), arithmetic shift
///   right by 11 (**floor**); the 32-bit result is returned, callers truncate
///   to `i16` where the C stores into an `int16_t`.
/// * **Trace update add** ([`wrapping_add_i32`](S411::wrapping_add_i32)):
///   int arithmetic then stored to `int16_t`, i.e. **wraps** to 16 bits.
/// * **To the weight domain** ([`to_s1615`](S411::to_s1615)): shift left by
///   `S1615_TO_STDP_RIGHT_SHIFT = 4` (exact).
/// * **Host encoding** ([`from_f64_host`](S411::from_f64_host)): Python
///   `float_to_fixed` in `plasticity/stdp/common.py`,
///   `int(round(v · 2048))`, ties to even.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Pod, Zeroable)]
pub struct S411(pub i16);

impl S411 {
    /// Number of fractional bits.
    pub const FRAC_BITS: u32 = 11;
    /// 1.0 = 2048.
    pub const ONE: S411 = S411(1 << 11);
    /// 0.0
    pub const ZERO: S411 = S411(0);

    /// Raw bits.
    #[inline]
    pub const fn to_bits(self) -> i16 {
        self.0
    }

    /// `(a · b) >> 11` on 32 bits (floor), as `STDP_FIXED_MUL_16X16`.
    #[inline]
    pub const fn mul(self, rhs: S411) -> i32 {
        (self.0 as i32 * rhs.0 as i32) >> 11
    }

    /// `(int16_t)(self + add)`: wraps to 16 bits.
    #[inline]
    pub const fn wrapping_add_i32(self, add: i32) -> S411 {
        S411((self.0 as i32).wrapping_add(add) as i16)
    }

    /// s4.11 → s16.15 (`<< 4`), exact.
    #[inline]
    pub const fn to_s1615(self) -> S1615 {
        S1615((self.0 as i32) << 4)
    }

    /// Host encoding `int(round(v · 2048))` (ties to even), range-checked to
    /// `i16`.
    pub fn from_f64_host(x: f64) -> Result<Self, EncodeError> {
        if x.is_nan() {
            return Err(EncodeError::NotANumber);
        }
        let r = rint(x * 2048.0);
        if !(-32768.0..=32767.0).contains(&r) {
            return Err(EncodeError::OutOfRange {
                value: x,
                min: -16.0,
                max: 32767.0 / 2048.0,
            });
        }
        Ok(S411(r as i16))
    }

    /// The represented value (exact).
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / 2048.0
    }
}
