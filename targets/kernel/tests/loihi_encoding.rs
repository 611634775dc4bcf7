//! Tests of the learning-rule word encoding `spikeforge_kernel::loihi::encoding`
//! (the round trip over every rule the parser tests accept is in
//! `loihi_rule.rs`).

use spikeforge_kernel::loihi::encoding::{
    decode_rules, encode_rules, DecodeError, EncodeError, RuleSet, PRODUCT_WORDS,
    RULES_FORMAT_VERSION, RULES_MAGIC, RULES_WORDS, SERIES_WORDS,
};
use spikeforge_kernel::loihi::learning::Rules;
use spikeforge_kernel::loihi::rule::{ProductSeries, Target};

fn series(t: Target, s: &str) -> ProductSeries {
    ProductSeries::parse(t, s).unwrap()
}

fn fixture_set() -> RuleSet {
    RuleSet {
        dw: Some(series(
            Target::Dw,
            "3*2^-4*y0*x1*(y1+8) - 5*2^-3*x0*y1 + 2^-1*x0*y0",
        )),
        dd: None,
        dt: Some(series(Target::Dt, "y0*sgn(t-3)*(-2)*2^-1")),
    }
}

#[test]
fn sizes_are_fixed() {
    assert_eq!(PRODUCT_WORDS, 10);
    assert_eq!(SERIES_WORDS, 161);
    assert_eq!(RULES_WORDS, 484);
}

/// The documented bit layout, checked word by word on a known rule.
#[test]
fn layout_is_as_documented() {
    let w = fixture_set().encode().unwrap();
    assert_eq!(w[0], 0x4C52_0001);
    assert_eq!(w[0] >> 16, RULES_MAGIC as u32);
    assert_eq!(w[0] & 0xFFFF, RULES_FORMAT_VERSION as u32);
    // dw header: present, target 0, no u_k, 3 products
    assert_eq!(w[1], 1 | 3 << 8);
    // product 0: y0 (1), m = 3, e = -4 (stored 3), 2 factors, constant on factor 1
    let p0 = &w[2..2 + PRODUCT_WORDS];
    assert_eq!(p0[0], 1 | 3 << 2 | 3 << 6 | 2 << 10 | 0b10 << 24);
    // factor 0 = x1 (2), factor 1 = y1 (4)
    assert_eq!(p0[1], 2 | 4 << 4);
    assert_eq!(&p0[2..], &[0, 8, 0, 0, 0, 0, 0, 0]);
    // product 1: x0 (0), m = -5 (0b1011), e = -3 (stored 4), 1 factor y1
    let p1 = &w[2 + PRODUCT_WORDS..2 + 2 * PRODUCT_WORDS];
    assert_eq!(p1[0], 0b1011 << 2 | 4 << 6 | 1 << 10);
    assert_eq!(p1[1], 4);
    // product 2: x0, m = 1, e = -1 (stored 6), factor y0 (1)
    let p2 = &w[2 + 2 * PRODUCT_WORDS..2 + 3 * PRODUCT_WORDS];
    assert_eq!(p2[0], 1 << 2 | 6 << 6 | 1 << 10);
    assert_eq!(p2[1], 1);
    // unused product slots and the absent dd block are zero
    assert!(w[2 + 3 * PRODUCT_WORDS..1 + SERIES_WORDS]
        .iter()
        .all(|&x| x == 0));
    assert!(w[1 + SERIES_WORDS..1 + 2 * SERIES_WORDS]
        .iter()
        .all(|&x| x == 0));
    // dt header: present, target 2, 1 product; product: y0, m = -2 (0b1110),
    // e = -1 (stored 6), sgn(t + C) with C = -3
    let dt = 1 + 2 * SERIES_WORDS;
    assert_eq!(w[dt], 1 | 2 << 1 | 1 << 8);
    assert_eq!(
        w[dt + 1],
        1 | 0b1110 << 2 | 6 << 6 | 1 << 10 | 1 << 16 | 1 << 24
    );
    assert_eq!(w[dt + 2], 9);
    assert_eq!(w[dt + 3] as i32, -3);
}

#[test]
fn u_k_is_in_the_series_header() {
    let set = RuleSet {
        dw: Some(series(Target::Dw, "u1*x1*y1*(2^-7)")),
        ..RuleSet::default()
    };
    let w = set.encode().unwrap();
    assert_eq!(w[1], 1 | 1 << 3 | 1 << 4 | 1 << 8);
    assert_eq!(decode_rules(&w).unwrap(), set);
}

#[test]
fn no_rules_encode_to_the_header_only() {
    let w = RuleSet::default().encode().unwrap();
    assert_eq!(w[0], 0x4C52_0001);
    assert!(w[1..].iter().all(|&x| x == 0));
    assert_eq!(decode_rules(&w).unwrap(), RuleSet::default());
}

#[test]
fn encode_rejects_wrong_slots_and_mixed_u_k() {
    let dd = series(Target::Dd, "x0*d");
    let mut out = [0u32; RULES_WORDS];
    let r = Rules {
        dw: Some(&dd),
        dd: None,
        dt: None,
    };
    assert_eq!(
        encode_rules(&r, &mut out),
        Err(EncodeError::WrongTarget {
            slot: Target::Dw,
            found: Target::Dd
        })
    );
    let a = series(Target::Dw, "u1*x1");
    let b = series(Target::Dt, "u2*t");
    let r = Rules {
        dw: Some(&a),
        dd: None,
        dt: Some(&b),
    };
    assert_eq!(
        encode_rules(&r, &mut out),
        Err(EncodeError::MixedDecimateExponent)
    );
    assert!(EncodeError::MixedDecimateExponent
        .to_string()
        .contains("u_k"));
}

#[test]
fn rejects_malformed_words() {
    let good = fixture_set().encode().unwrap();
    let bad = |f: &dyn Fn(&mut [u32; RULES_WORDS])| {
        let mut w = good;
        f(&mut w);
        decode_rules(&w).unwrap_err()
    };
    assert_eq!(decode_rules(&good[..100]), Err(DecodeError::Length(100)));
    assert_eq!(decode_rules(&[]), Err(DecodeError::Length(0)));
    assert!(matches!(
        bad(&|w| w[0] = 0x1234_0001),
        DecodeError::Magic(0x1234_0001)
    ));
    assert_eq!(bad(&|w| w[0] = 0x4C52_0002), DecodeError::Version(2));
    let inv = |e: DecodeError| match e {
        DecodeError::Invalid { word, what } => (word, what),
        other => panic!("{other:?}"),
    };
    // a dw series in the dd block
    let (word, what) = inv(bad(&|w| {
        let (a, b) = w.split_at_mut(1 + SERIES_WORDS);
        b[..SERIES_WORDS].copy_from_slice(&a[1..]);
    }));
    assert_eq!((word, what), (1 + SERIES_WORDS, "series target"));
    // reserved series bits, zero products, 17 products
    assert_eq!(inv(bad(&|w| w[1] |= 1 << 20)).1, "reserved series bits");
    assert_eq!(inv(bad(&|w| w[1] &= !(0x1F << 8))).1, "number of products");
    assert_eq!(
        inv(bad(&|w| w[1] = (w[1] & !(0x1F << 8)) | 17 << 8)).1,
        "number of products"
    );
    // presence bit missing
    assert_eq!(inv(bad(&|w| w[1] &= !1)).1, "series header (presence bit)");
    // u_k flag without a u product, and k > 9
    assert!(inv(bad(&|w| w[1] |= 1 << 3)).1.starts_with("u_k flag"));
    assert_eq!(inv(bad(&|w| w[1] |= 1 << 3 | 12 << 4)).1, "u_k exponent");
    // dependency code 3
    assert_eq!(inv(bad(&|w| w[2] |= 3)), (2, "product dependency"));
    // mantissa -8 with e < 8 is not normalised
    let (word, what) = inv(bad(&|w| w[2] = (w[2] & !(0xF << 2)) | 0b1000 << 2));
    assert_eq!(word, 2);
    assert!(what.starts_with("product scaling"));
    // 9 factors, reserved product bits, masks beyond n
    assert_eq!(
        inv(bad(&|w| w[2] = (w[2] & !(0xF << 10)) | 9 << 10)).1,
        "number of factors"
    );
    assert_eq!(inv(bad(&|w| w[2] |= 1 << 14)).1, "reserved product bits");
    assert!(inv(bad(&|w| w[2] |= 1 << 26)).1.starts_with("factor masks"));
    // sgn on a trace
    assert_eq!(
        inv(bad(&|w| w[2] |= 1 << 16)).1,
        "sgn factor (only w, d, t)"
    );
    // unknown variable code 10, a nibble beyond n
    assert_eq!(
        inv(bad(&|w| w[3] = (w[3] & !0xF) | 10)),
        (3, "factor variable")
    );
    assert!(inv(bad(&|w| w[3] |= 1 << 8))
        .1
        .starts_with("factor variables beyond"));
    // a constant word for a factor without a constant, and beyond n
    assert_eq!(
        inv(bad(&|w| w[4] = 5)),
        (4, "constant of a factor without one")
    );
    assert!(inv(bad(&|w| w[6] = 5)).1.starts_with("constants beyond"));
    // an unused product slot or the absent dd block not zero
    let (word, what) = inv(bad(&|w| w[1 + 3 * PRODUCT_WORDS + 7] = 1));
    assert_eq!(word, 1 + 3 * PRODUCT_WORDS + 7);
    assert!(what.contains("unused product slot"));
    let (word, what) = inv(bad(&|w| w[1 + SERIES_WORDS + 5] = 1));
    assert_eq!(word, 1 + SERIES_WORDS + 5);
    assert!(what.contains("absent rule"));
    // two series with different u_k
    let mixed = {
        let a = RuleSet {
            dw: Some(series(Target::Dw, "u1*x1")),
            ..RuleSet::default()
        }
        .encode()
        .unwrap();
        let b = RuleSet {
            dt: Some(series(Target::Dt, "u2*t")),
            ..RuleSet::default()
        }
        .encode()
        .unwrap();
        let mut w = a;
        w[1 + 2 * SERIES_WORDS..].copy_from_slice(&b[1 + 2 * SERIES_WORDS..]);
        w
    };
    assert!(inv(decode_rules(&mixed).unwrap_err())
        .1
        .starts_with("u_k (differs"));
    assert!(DecodeError::Length(3).to_string().contains("484"));
}

/// Every single-bit corruption of valid encodings, and pseudo-random word
/// soup, decodes to an error or to rules whose encoding is exactly the
/// corrupted words (the encoding is canonical); nothing panics.
#[test]
fn corrupted_words_never_panic_and_decoding_is_canonical() {
    let sets = [
        fixture_set(),
        RuleSet {
            dw: Some(series(Target::Dw, "u1*x1*y1*(2^-7)")),
            ..RuleSet::default()
        },
        RuleSet {
            dw: Some(series(Target::Dw, "x0*(w-4)*(t+1)*(d+0) - 8*x0")),
            dd: Some(series(Target::Dd, "y0*sgn(d)")),
            dt: None,
        },
        RuleSet::default(),
    ];
    let mut accepted_mutants = 0;
    for set in &sets {
        let good = set.encode().unwrap();
        // the first product slots and headers of every block, plus the ends
        let words: Vec<usize> = (0..3 * PRODUCT_WORDS + 1)
            .flat_map(|i| [i, i + SERIES_WORDS, i + 2 * SERIES_WORDS])
            .chain([RULES_WORDS - 1])
            .filter(|&i| i < RULES_WORDS)
            .collect();
        for &i in &words {
            for bit in 0..32 {
                let mut w = good;
                w[i] ^= 1 << bit;
                if let Ok(r) = decode_rules(&w) {
                    accepted_mutants += 1;
                    assert_eq!(r.encode().unwrap(), w, "word {i} bit {bit}");
                }
            }
        }
    }
    // some flips are legal (another mantissa, another variable, a constant)
    assert!(accepted_mutants > 50, "{accepted_mutants}");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u32
    };
    for _ in 0..2000 {
        let mut w = [0u32; RULES_WORDS];
        w[0] = 0x4C52_0001;
        // a plausible header, random product words
        w[1] = 1 | (next() % 17) << 8;
        for v in w[2..2 + 3 * PRODUCT_WORDS].iter_mut() {
            *v = next() & next();
        }
        if let Ok(r) = decode_rules(&w) {
            assert_eq!(r.encode().unwrap(), w);
        }
    }
}
