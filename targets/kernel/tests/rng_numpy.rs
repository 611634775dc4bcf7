//! numpy golden values for `spikeforge_kernel::rng`.
//!
//! Every constant below was produced with numpy 2.4.6 (the same streams were
//! checked against numpy 1.26.4, the version Lava 0.10.0 ran with) by:
//!
//! ```python
//! import numpy as np
//! for s in [0, 1, 2, 7, 42, 123, 2**40+5]:
//!     st = np.random.SeedSequence(s).generate_state(4, np.uint64)
//!     g = np.random.Generator(np.random.PCG64(s))
//!     u64 = [int(x) for x in g.bit_generator.random_raw(4)]
//!     rnd = [float(x).hex() for x in np.random.default_rng(s).random(4)]
//!     g2 = np.random.default_rng(s)
//!     ints = [int(g2.integers(0, 128, size=1, dtype=int)[0]) for _ in range(6)]
//!     print(s, [hex(int(x)) for x in st], [hex(x) for x in u64], rnd, ints)
//! ```
//!
//! Floats are compared through their exact bit patterns (Python
//! `float.hex()` strings are parsed here).

mod common;
use common::parse_hex_f64;
use spikeforge_kernel::rng::{ConnVarRandom, LearningRandoms, Pcg64, SeedSequence, TraceRandom};

struct Golden {
    seed: u128,
    state: [u64; 4],
    raw: [u64; 4],
    random: [&'static str; 4],
    ints128: [u32; 6],
}

const GOLDEN: &[Golden] = &[
    Golden {
        seed: 0,
        state: [
            0xdb2cd7e7b0f478be,
            0xabf4641a2c71ba49,
            0x20c6ed6d9d7b8d41,
            0x2c4099de223c39d4,
        ],
        raw: [
            0xa30febcfd9c2825f,
            0x4510bdf882d9d721,
            0xa7d3da94ecde8b8,
            0x43b27b61342f01d,
        ],
        random: [
            "0x1.461fd79fb3850p-1",
            "0x1.1442f7e20b674p-2",
            "0x1.4fa7b529d9bd0p-5",
            "0x1.0ec9ed84d0bc0p-6",
        ],
        ints128: [108, 81, 65, 34, 39, 5],
    },
    Golden {
        seed: 1,
        state: [
            0x672d8ee56d6791ff,
            0x8ae19ca14eb1072c,
            0x4915796d1322fc4a,
            0xd0cc2bdcaba049bd,
        ],
        raw: [
            0x8306bdf37922e4ff,
            0xf35196bbc152a866,
            0x24e7a4f608ec18cd,
            0xf2dab0aed2ac6fd2,
        ],
        random: [
            "0x1.060d7be6f245cp-1",
            "0x1.e6a32d7782a55p-1",
            "0x1.273d27b04760cp-3",
            "0x1.e5b5615da558dp-1",
        ],
        ints128: [60, 65, 96, 121, 4, 18],
    },
    Golden {
        seed: 2,
        state: [
            0x8c8ea222a8ed588b,
            0x55aa58f36ee114ca,
            0x2dd7052ba1c415d2,
            0xe8d687cf965c6df7,
        ],
        raw: [
            0x42f90348d66b58c1,
            0x4c69ea631bfb7164,
            0xd071191f69efb11e,
            0x1787cd9d73866ffd,
        ],
        random: [
            "0x1.0be40d2359ad6p-2",
            "0x1.31a7a98c6fedcp-2",
            "0x1.a0e2323ed3df6p-1",
            "0x1.787cd9d738668p-4",
        ],
        ints128: [107, 33, 13, 38, 52, 104],
    },
    Golden {
        seed: 7,
        state: [
            0xead0f7017c326e58,
            0x879c4f0f97e037a,
            0x623a8c4b6745675f,
            0xb3443fad60386cac,
        ],
        raw: [
            0xa00641a9f1e54a8b,
            0xe5afcdbcaf266a95,
            0xc693565f940af962,
            0x39a72dabd56a2742,
        ],
        random: [
            "0x1.400c8353e3ca9p-1",
            "0x1.cb5f9b795e4cdp-1",
            "0x1.8d26acbf2815fp-1",
            "0x1.cd396d5eab510p-3",
        ],
        ints128: [120, 80, 87, 114, 74, 99],
    },
    Golden {
        seed: 42,
        state: [
            0x9f1e2e6dcd540ab7,
            0xd57873dc79fb94b6,
            0x7d282a1b64d420b7,
            0x336579714692d5ff,
        ],
        raw: [
            0xc621fbcd16d92688,
            0x705a5661a791ffc1,
            0xdbcd12c26eda1624,
            0xb286b60e1600888d,
        ],
        random: [
            "0x1.8c43f79a2db24p-1",
            "0x1.c16959869e47ep-2",
            "0x1.b79a2584ddb42p-1",
            "0x1.650d6c1c2c011p-1",
        ],
        ints128: [11, 99, 83, 56, 55, 109],
    },
    Golden {
        seed: 123,
        state: [
            0xb1383ed0295844f6,
            0xa250632e171d58af,
            0x86a7247f7443199d,
            0x136de7e3c11fce1d,
        ],
        raw: [
            0xaeae9c9903f3e9cd,
            0xdc736db97cb6d23,
            0x3869812ee8b9ea96,
            0x2f32fdb1414d8c05,
        ],
        random: [
            "0x1.5d5d393207e7dp-1",
            "0x1.b8e6db72f96d0p-5",
            "0x1.c34c097745cf4p-3",
            "0x1.7997ed8a0a6c4p-3",
        ],
        ints128: [1, 87, 75, 6, 116, 28],
    },
    Golden {
        seed: (1 << 40) + 5,
        state: [
            0xdae41755e08a170b,
            0x8415abe87ecdcb2c,
            0x2525c5b44b9118d0,
            0x42c2793f3392bed3,
        ],
        raw: [
            0x1369aef039fedeb,
            0x5f61b40473314316,
            0x9654aaeeea6ebe77,
            0x26c2209be6417518,
        ],
        random: [
            "0x1.369aef039fe80p-8",
            "0x1.7d86d011ccc50p-2",
            "0x1.2ca955ddd4dd7p-1",
            "0x1.361104df320b8p-3",
        ],
        ints128: [1, 0, 57, 47, 117, 75],
    },
];

#[test]
fn hex_parser_self_check() {
    assert_eq!(parse_hex_f64("0x1.0000000000000p+0"), 1.0);
    assert_eq!(parse_hex_f64("0x1.8p-1"), 0.75);
    assert_eq!(parse_hex_f64("-0x1.0p+3"), -8.0);
    assert_eq!(parse_hex_f64("0x0.0p+0"), 0.0);
    assert_eq!(
        parse_hex_f64("0x1.cf46d99d52b3ap-1").to_bits(),
        0x3fecf46d99d52b3a
    );
}

#[test]
fn seed_sequence_generate_state_matches_numpy() {
    for g in GOLDEN {
        let mut st = [0u64; 4];
        SeedSequence::new(g.seed).generate_state_u64(&mut st);
        assert_eq!(st, g.state, "generate_state(4, uint64), seed {}", g.seed);
    }
}

#[test]
fn seed_sequence_u32_words_and_wide_seed() {
    // np.random.SeedSequence(0).generate_state(3, np.uint32)
    let mut w = [0u32; 3];
    SeedSequence::new(0).generate_state_u32(&mut w);
    assert_eq!(w, [0xb0f478be, 0xdb2cd7e7, 0x2c71ba49]);
    // np.random.SeedSequence(2**96+3).generate_state(4, np.uint64): 4 entropy words
    let mut st = [0u64; 4];
    SeedSequence::new((1u128 << 96) + 3).generate_state_u64(&mut st);
    assert_eq!(
        st,
        [
            0x348ce4dd297a1a32,
            0xda3e5a38841dbf2c,
            0xe243b1b278a14219,
            0xf6b03f26d830eac1
        ]
    );
    // explicit entropy words give the same pool as the integer seed
    assert_eq!(
        SeedSequence::from_entropy_words(&[5, 256]).pool(),
        SeedSequence::new((1u128 << 40) + 5).pool()
    );
    assert_eq!(
        SeedSequence::from_entropy_words(&[]).pool(),
        SeedSequence::new(0).pool()
    );
}

#[test]
fn pcg64_raw_outputs_match_numpy() {
    for g in GOLDEN {
        let mut p = Pcg64::new(g.seed);
        let raw: Vec<u64> = (0..4).map(|_| p.next_u64()).collect();
        assert_eq!(raw, g.raw, "random_raw, seed {}", g.seed);
    }
}

#[test]
fn random_f64_matches_numpy() {
    for g in GOLDEN {
        let mut p = Pcg64::new(g.seed);
        for (k, want) in g.random.iter().enumerate() {
            let got = p.random_f64();
            assert_eq!(
                got.to_bits(),
                parse_hex_f64(want).to_bits(),
                "random() #{k}, seed {}",
                g.seed
            );
        }
    }
}

#[test]
fn integers_0_128_match_numpy() {
    for g in GOLDEN {
        let mut p = Pcg64::new(g.seed);
        let ints: Vec<u32> = (0..6).map(|_| p.integers_pow2(7)).collect();
        assert_eq!(ints, g.ints128, "integers(0,128), seed {}", g.seed);
        // the same values through the general bounded path
        let mut p = Pcg64::new(g.seed);
        let ints: Vec<u32> = (0..6).map(|_| p.bounded_u32(127)).collect();
        assert_eq!(ints, g.ints128);
        // value = low then high 32-bit half of each raw output, >> 25
        let mut q = Pcg64::new(g.seed);
        let mut halves = Vec::new();
        for _ in 0..3 {
            let r = q.next_u64();
            halves.push((r as u32) >> 25);
            halves.push(((r >> 32) as u32) >> 25);
        }
        assert_eq!(halves, g.ints128);
    }
}

#[test]
fn bounded_integers_other_ranges_match_numpy() {
    // g = np.random.default_rng(42)
    // [int(g.integers(0, 100, size=1, dtype=int)[0]) for _ in range(8)]
    let mut p = Pcg64::new(42);
    let v: Vec<u32> = (0..8).map(|_| p.bounded_u32(99)).collect();
    assert_eq!(v, [8, 77, 65, 43, 43, 85, 8, 69]);
    // g = np.random.default_rng(42)
    // [int(g.integers(0, 2**32, size=1, dtype=np.int64)[0]) for _ in range(3)]
    let mut p = Pcg64::new(42);
    let v: Vec<u32> = (0..3).map(|_| p.bounded_u32(u32::MAX)).collect();
    assert_eq!(v, [383329928, 3324115917, 2811363265]);
    // g = np.random.default_rng(0)
    // [int(g.integers(0, 3, size=1, dtype=int)[0]) for _ in range(8)]
    let mut p = Pcg64::new(0);
    let v: Vec<u32> = (0..8).map(|_| p.bounded_u32(2)).collect();
    assert_eq!(v, [2, 1, 1, 0, 0, 0, 0, 0]);
    // a range of one value consumes nothing
    let mut p = Pcg64::new(0);
    assert_eq!(p.bounded_u32(0), 0);
    assert_eq!(p.next_u64(), GOLDEN[0].raw[0]);
}

#[test]
fn u32_buffer_survives_random_f64() {
    // g = np.random.default_rng(7)
    // a = g.integers(0,128,...); b = g.random(); c = g.integers(0,128,...); d = g.integers(0,128,...)
    // -> 120 0x1.cb5f9b795e4cdp-1 80 74
    let mut p = Pcg64::new(7);
    assert_eq!(p.integers_pow2(7), 120);
    assert_eq!(
        p.random_f64().to_bits(),
        parse_hex_f64("0x1.cb5f9b795e4cdp-1").to_bits()
    );
    assert_eq!(p.integers_pow2(7), 80);
    assert_eq!(p.integers_pow2(7), 74);
    // next_u32 hands out the low half first
    let mut a = Pcg64::new(123);
    let mut b = Pcg64::new(123);
    let r = b.next_u64();
    assert_eq!(a.next_u32(), r as u32);
    assert_eq!(a.next_u32(), (r >> 32) as u32);
    assert_eq!(a.next_u64(), b.next_u64());
}

#[test]
fn lava_streams_follow_the_seeds() {
    // TraceRandom(S, S+1): construction draw = draw #0 of each generator.
    let mut t = TraceRandom::new(42, 43);
    assert_eq!(
        t.decay().to_bits(),
        parse_hex_f64(GOLDEN[4].random[0]).to_bits()
    );
    let mut g43 = Pcg64::new(43);
    assert_eq!(t.impulse() as u32, g43.integers_pow2(7));
    t.advance();
    assert_eq!(
        t.decay().to_bits(),
        parse_hex_f64(GOLDEN[4].random[1]).to_bits()
    );
    assert_eq!(t.impulse() as u32, g43.integers_pow2(7));
    // ConnVarRandom(): seed 2, draw #0 at construction, #1 after one advance
    let mut c = ConnVarRandom::lava_default();
    assert_eq!(
        c.value().to_bits(),
        parse_hex_f64(GOLDEN[2].random[0]).to_bits()
    );
    c.advance();
    assert_eq!(
        c.value().to_bits(),
        parse_hex_f64("0x1.31a7a98c6fedcp-2").to_bits()
    );
    // LearningRandoms(S): x = (S, S+1), y = (S+2, S+3)
    let mut l = LearningRandoms::new(5);
    let mut x = TraceRandom::new(5, 6);
    let mut y = TraceRandom::new(7, 8);
    for _ in 0..10 {
        assert_eq!(l.x, x);
        assert_eq!(l.y, y);
        l.advance_traces();
        x.advance();
        y.advance();
    }
    // y decay for S+2 = 7 is numpy default_rng(7).random()
    let l = LearningRandoms::new(5);
    assert_eq!(
        l.y.decay().to_bits(),
        parse_hex_f64(GOLDEN[3].random[0]).to_bits()
    );
    assert_eq!(l.y.impulse() as u32, Pcg64::new(8).integers_pow2(7));
}
