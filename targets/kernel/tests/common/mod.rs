//! Helpers shared by the kernel's integration tests.

// Each test file is its own crate and uses a part of these.
#![allow(dead_code)]

/// Parses a Python `float.hex()` string of a finite double ("0x1.8p-1",
/// "0x0.0p+0", "-0x1.0p+3") into its exact value.
pub fn parse_hex_f64(s: &str) -> f64 {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let body = body
        .strip_prefix("0x")
        .unwrap_or_else(|| panic!("not a hex float: {s}"));
    let (mant, exp) = body
        .split_once('p')
        .unwrap_or_else(|| panic!("no exponent: {s}"));
    let exp: i32 = exp.parse().unwrap_or_else(|_| panic!("bad exponent: {s}"));
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    assert!(
        int_part == "0" || int_part == "1",
        "unexpected leading digit: {s}"
    );
    assert!(frac_part.len() <= 13, "too many hex digits: {s}");
    let mut frac_bits: u64 = 0;
    for (k, c) in frac_part.chars().enumerate() {
        let d = c
            .to_digit(16)
            .unwrap_or_else(|| panic!("bad hex digit in {s}")) as u64;
        frac_bits |= d << (48 - 4 * k as u32);
    }
    let bits = if int_part == "1" {
        let biased = exp + 1023;
        assert!(
            (1..2047).contains(&biased),
            "exponent out of normal range: {s}"
        );
        ((biased as u64) << 52) | frac_bits
    } else {
        assert!(
            frac_bits == 0 || exp == -1022,
            "unexpected subnormal form: {s}"
        );
        frac_bits
    };
    let v = f64::from_bits(bits);
    if neg {
        -v
    } else {
        v
    }
}

/// FNV-1a (32-bit) of `v`'s little-endian bytes, continuing from `h`: the
/// hash the upstream C goldens were taken with (start from 2166136261).
pub fn fnv(mut h: u32, v: u32) -> u32 {
    for b in v.to_le_bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(16777619);
    }
    h
}

/// Marsaglia's xorshift32 (13, 17, 5): the operand and input streams the
/// upstream C goldens were generated from.
pub struct XorShift(pub u32);

impl XorShift {
    pub fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}
