//! Fixed-point formats of the SpiNNaker profile.
//!
//! Goldens marked "measured" come from a scratch C program (not in the repo)
//! compiled with Debian `arm-none-eabi-gcc` 12.2.1 using the spinnaker_tools
//! flags `-mthumb-interwork -march=armv5te -std=gnu99 -ffreestanding -O2`
//! plus `-marm` (ARM state, the spinnaker_tools default) or `-mthumb`, and run
//! under `qemu-arm` (newlib `rdimon.specs`). It multiplied `accum`s with the
//! plain C `*` through a `noinline` function over the xorshift sequence
//! re-created in `product_sequence` below and hashed the result bits with
//! FNV-1a (32-bit, little-endian bytes).

mod common;
use common::{fnv, XorShift};

use spikeforge_kernel::fixed::{EncodeError, S1615, S411, U032};

/// The operand pairs of the C probe, in order.
fn product_sequence() -> Vec<(i32, i32)> {
    let mut r = XorShift(12345);
    let mut v = Vec::with_capacity(200_000);
    for i in 0..200_000 {
        let mut x = r.next() as i32;
        let mut y = r.next() as i32;
        match i % 4 {
            1 => {
                x >>= 12;
                y >>= 8;
            }
            2 => {
                x >>= 16;
                y >>= 16;
            }
            3 => {
                x = (r.next() % 65536) as i32 - 32768;
                y = (r.next() as i32) >> 10;
            }
            _ => {}
        }
        v.push((x, y));
    }
    v
}

#[test]
fn accum_mul_arm_state_matches_measured_gcc() {
    let mut h = 2166136261u32;
    for (x, y) in product_sequence() {
        h = fnv(h, S1615(x).mul_arm(S1615(y)).0 as u32);
    }
    assert_eq!(h, 0xace3912d, "measured hash of ARM-state accum*accum");
    // measured single cases (ARM state)
    let cases = [
        (-3, 1, -1),
        (3, 1, 0),
        (-1, 16384, -1),
        (-3, 16384, -2),
        (1, 16384, 0),
        (3, 16384, 1),
        (-32768, -1, 1),
        (i32::MAX, i32::MAX, -131072),
        (i32::MIN, i32::MIN, 0),
        (6553600, 26214400, 947912704),
    ];
    for (x, y, r) in cases {
        assert_eq!(S1615(x).mul_arm(S1615(y)).0, r, "{x} * {y}");
    }
}

#[test]
fn accum_mul_thumb_state_matches_measured_gcc() {
    let mut h = 2166136261u32;
    for (x, y) in product_sequence() {
        h = fnv(h, S1615(x).mul_thumb(S1615(y)).0 as u32);
    }
    assert_eq!(h, 0xc8a65989, "measured hash of Thumb-state accum*accum (libgcc __mulsa3)");
    assert_eq!(S1615(-3).mul_thumb(S1615(1)).0, 0);
    assert_eq!(S1615(-3).mul_thumb(S1615(16384)).0, -1);
    assert_eq!(S1615(1).mul_thumb(S1615(16384)).0, 1);
    assert_eq!(S1615(3).mul_thumb(S1615(16384)).0, 2);
}

#[test]
fn accum_add_sub_neg_wrap_as_measured() {
    assert_eq!(S1615::MAX.wrapping_add(S1615(1)), S1615::MIN);
    assert_eq!(S1615::MIN.wrapping_sub(S1615(1)), S1615::MAX);
    assert_eq!(S1615::MIN.wrapping_neg(), S1615::MIN);
    assert_eq!(S1615::MAX.saturating_add(S1615(1)), S1615::MAX);
    assert_eq!(S1615::MIN.saturating_sub(S1615(1)), S1615::MIN);
}

#[test]
fn mult_round_nearest_accum() {
    // round.h: round half up at bit 14, saturate
    assert_eq!(S1615(1).mul_round_nearest(S1615(16384)).0, 1); // 0.5 -> 1
    assert_eq!(S1615(-1).mul_round_nearest(S1615(16384)).0, 0); // -0.5 -> 0
    assert_eq!(S1615(-3).mul_round_nearest(S1615(16384)).0, -1); // -1.5 -> -1
    assert_eq!(S1615(1).mul_round_nearest(S1615(16383)).0, 0);
    assert_eq!(S1615::MAX.mul_round_nearest(S1615::MAX), S1615::MAX);
    assert_eq!(S1615::MIN.mul_round_nearest(S1615::MAX), S1615::MIN);
    assert_eq!(S1615::MIN.mul_round_nearest(S1615::MIN), S1615::MAX);
    assert_eq!(S1615::from_int(3).mul_round_nearest(S1615::from_int(-7)), S1615::from_int(-21));
}

#[test]
fn host_encoding_rounds_half_to_even_and_checks_range() {
    assert_eq!(S1615::from_f64_host(1.0).unwrap(), S1615(32768));
    assert_eq!(S1615::from_f64_host(-65.0).unwrap(), S1615(-65 * 32768));
    assert_eq!(S1615::from_f64_host(0.1).unwrap(), S1615(3277)); // 3276.8
    // exact ties: k + 0.5 in units of 2^-15 round to even
    assert_eq!(S1615::from_f64_host(0.5 / 32768.0).unwrap(), S1615(0));
    assert_eq!(S1615::from_f64_host(1.5 / 32768.0).unwrap(), S1615(2));
    assert_eq!(S1615::from_f64_host(2.5 / 32768.0).unwrap(), S1615(2));
    assert_eq!(S1615::from_f64_host(-2.5 / 32768.0).unwrap(), S1615(-2));
    assert_eq!(S1615::from_f64_host(65536.0 - 1.0 / 32768.0).unwrap(), S1615::MAX);
    assert_eq!(S1615::from_f64_host(-65536.0).unwrap(), S1615::MIN);
    assert!(matches!(S1615::from_f64_host(65536.0), Err(EncodeError::OutOfRange { .. })));
    assert_eq!(S1615::from_f64_host(f64::NAN), Err(EncodeError::NotANumber));
    assert_eq!(S1615(-98304).to_f64(), -3.0);

    assert_eq!(U032::from_f64_host(0.5).unwrap(), U032(1 << 31));
    assert!(U032::from_f64_host(1.0).is_err());
    assert!(U032::from_f64_host(-0.1).is_err());

    // plasticity/stdp/common.py float_to_fixed: int(round(v * 2048))
    assert_eq!(S411::from_f64_host(1.0).unwrap(), S411(2048));
    assert_eq!(S411::from_f64_host(0.01).unwrap(), S411(20)); // 20.48
    assert_eq!(S411::from_f64_host(0.5 / 2048.0).unwrap(), S411(0));
    assert_eq!(S411::from_f64_host(1.5 / 2048.0).unwrap(), S411(2));
    assert!(S411::from_f64_host(16.0).is_err());
}

#[test]
fn ulr_literal_one_and_wrapping_sub_as_measured() {
    // measured: bitsulr(1.0ulr) = 4294967295; 1.0ulr - ulrbits(3e9) = 1294967295
    assert_eq!(U032::ONE_SAT.to_bits(), 4294967295);
    assert_eq!(U032::ONE_SAT.wrapping_sub(U032(3_000_000_000)).0, 1294967295);
    assert_eq!(U032(5).wrapping_sub(U032(6)).0, u32::MAX);
}

#[test]
fn decay_and_division_helpers() {
    // decay_s1615: (x*d) >> 32, floor (negative values move away from zero)
    assert_eq!(S1615(100).decay(U032(1 << 31)).0, 50);
    assert_eq!(S1615(-101).decay(U032(1 << 31)).0, -51);
    assert_eq!(S1615(i32::MAX).decay(U032(u32::MAX)).0, i32::MAX - 1);
    // kdivk: floor(a*2^15/b) for positive operands
    assert_eq!(S1615::from_int(20).kdivk(S1615::from_int(1)), Some(S1615(655360)));
    assert_eq!(S1615(32768).kdivk(S1615(3 * 32768)), Some(S1615(10922)));
    assert_eq!(S1615(1).kdivk(S1615(0)), None);
    // negative dividend: sign-extended then divided unsigned (chip behaviour)
    let expect = ((((-32768i64) as u64) << 15) / 32768) as u32 as i32;
    assert_eq!(S1615(-32768).kdivk(S1615(32768)), Some(S1615(expect)));
    assert_eq!(S1615(32768).kdivui(4), Some(S1615(8192)));
    assert_eq!(S1615(32768).kdivui(0), None);
    // lif_ceil_accum
    assert_eq!(S1615(32768).ceil_to_int(), 1);
    assert_eq!(S1615(32769).ceil_to_int(), 2);
    assert_eq!(S1615(0).ceil_to_int(), 0);
    assert_eq!(S1615(-1).ceil_to_int(), 0);
    // decay_s1615_to_u032
    assert_eq!(S1615::from_int(5).mul_u032_to_u032(U032(1 << 30)).0, (5u64 << 30) as u32);
}

#[test]
fn s411_ops() {
    assert_eq!(S411(2048).mul(S411(1948)), 1948);
    assert_eq!(S411(-3).mul(S411(1024)), -2); // floor
    assert_eq!(S411(32767).wrapping_add_i32(1), S411(-32768));
    assert_eq!(S411(2048).to_s1615(), S1615::ONE);
    assert_eq!(S411(-1).to_s1615(), S1615(-16));
}

#[test]
fn formats_are_pod_with_expected_sizes() {
    assert_eq!(core::mem::size_of::<S1615>(), 4);
    assert_eq!(core::mem::size_of::<U032>(), 4);
    assert_eq!(core::mem::size_of::<S411>(), 2);
    let v = [S1615(-1), S1615(2)];
    assert_eq!(bytemuck::cast_slice::<S1615, u8>(&v), &[0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0]);
}
