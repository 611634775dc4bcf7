//! Integer exponentials equal to spinn_common's `expk` and `expulr`
//! (`src/stdfix-exp.c`, helpers `scale64`/`round64` in `include/utils.h`,
//! spinn_common @1e3a090, 2026-01).
//!
//! Algorithm (restated): write the s16.15 argument as `n = 2^15·z + f` with
//! `0 <= f < 2^15`. If `f == 0` the result is a tabulated `e^z` in u32.32
//! (`E_INT[z + 13]`, valid for `z ∈ [-13, 12]`). Otherwise the argument is
//! rounded **up** to the next integer `z + 1` and the remainder `g = 2^15 - f`
//! is removed by two multiplicative corrections, each `t -= scale(t, c)`,
//! where `scale` multiplies a u32.32 by a u0.32 and rounds the low product
//! word (the low word counts as a carry when it is `>= 0x7FFF_FFFF`, a quirk
//! of `round64`):
//!
//! 1. `c = EXPM1_MID[g >> 11]`, the tabulated `1 - e^{-k/16}` for the top 4
//!    bits of `g`;
//! 2. `c = series(y)` with `y = (g & 0x7FF) << 17`, a quadratic approximation
//!    of `1 - e^{-y/2^32·(1/16)}` evaluated in wrapping u32 arithmetic.
//!
//! `expk` returns `t >> 17` (truncating u32.32 to s16.15) and saturates to
//! `i32::MAX` above `n = 363408` and to 0 below `n = -340695`. `expulr`
//! returns the low 32 bits of `t` (so `expulr(0) = 0` because `e^0 = 2^32`
//! wraps, and arguments above 0 wrap as well) and gives `0x7FFF_FFFF` above
//! 363408, 0 below -340695. No float is used; results are bit-exact.

use crate::fixed::{S1615, U032};

/// `e^k` for `k = -13..=12` in u32.32 (`round(e^k · 2^32)`), indexed `k + 13`.
const E_INT: [u64; 26] = [
    9708,
    26389,
    71733,
    194991,
    530041,
    1440801,
    3916503,
    10646160,
    28939262,
    78665070,
    213833830,
    581260615,
    1580030169,
    4294967296,
    11674931555,
    31735754293,
    86266724208,
    234497268814,
    637429664642,
    1732713474316,
    4710003551159,
    12803117065094,
    34802480465680,
    94602950235157,
    257157480542844,
    699026506411923,
];

/// `1 - e^{-k/16}` in u0.32 for `k = 0..16`.
const EXPM1_MID: [u32; 16] = [
    0, 260218914, 504671961, 734314346, 950043403, 1152702096, 1343082321, 1521927990,
    1689937949, 1847768698, 1996036966, 2135322113, 2266168400, 2389087112, 2504558555,
    2613033936,
];

/// Coefficients `[c0, c1, c2]` of the low-order series
/// `c0 + y·(c1 - y·c2)` (all u0.32, products truncated).
const SERIES: [u32; 3] = [5294, 4293434720, 2081624032];

/// Upper saturation bound of the argument (bits).
pub const EXP_ARG_MAX: i32 = 363408;
/// Lower saturation bound of the argument (bits).
pub const EXP_ARG_MIN: i32 = -340695;

#[inline]
const fn mul_hi(c: u32, x: u32) -> u32 {
    ((c as u64 * x as u64) >> 32) as u32
}

#[inline]
const fn series(y: u32) -> u32 {
    let t = SERIES[1].wrapping_sub(mul_hi(SERIES[2], y));
    mul_hi(t, y).wrapping_add(SERIES[0])
}

/// u32.32 × u0.32 with the `round64` carry rule on the low partial product.
#[inline]
const fn scale64(x: u64, y: u32) -> u64 {
    let lo = (x & 0xFFFF_FFFF) * y as u64;
    let carry = if (lo & 0xFFFF_FFFF) >= 0x7FFF_FFFF { 1 } else { 0 };
    (lo >> 32) + carry + (x >> 32) * y as u64
}

/// `e^{n/2^15}` in u32.32 for `EXP_ARG_MIN <= n <= EXP_ARG_MAX`.
const fn exp_u3232(n: i32) -> u64 {
    let mut z = n >> 15;
    let f = n - (z << 15);
    if f > 0 {
        z += 1;
        let g = 32768 - f;
        let mut t = E_INT[(13 + z) as usize];
        t -= scale64(t, EXPM1_MID[(g >> 11) as usize]);
        let y = ((g & 0x7FF) as u32) << 17;
        t -= scale64(t, series(y));
        t
    } else {
        E_INT[(13 + z) as usize]
    }
}

/// spinn_common `expk`: `e^x` for an `accum`, result `accum` (truncated).
pub const fn expk(x: S1615) -> S1615 {
    let n = x.0;
    if n > EXP_ARG_MAX {
        S1615(i32::MAX)
    } else if n < EXP_ARG_MIN {
        S1615(0)
    } else {
        S1615((exp_u3232(n) >> 17) as i32)
    }
}

/// spinn_common `expulr`: `e^x` for an `accum`, result `unsigned long fract`
/// (the low 32 bits of the u32.32 value; see the module notes for the
/// wrap at `x >= 0`).
pub const fn expulr(x: S1615) -> U032 {
    let n = x.0;
    if n > EXP_ARG_MAX {
        U032(i32::MAX as u32)
    } else if n < EXP_ARG_MIN {
        U032(0)
    } else {
        U032(exp_u3232(n) as u32)
    }
}
