//! `expk` / `expulr` against the upstream C library.
//!
//! Goldens were produced by compiling spinn_common @1e3a090
//! (`src/stdfix-exp.c`, headers from `include/`) in a scratch folder outside
//! the repo with Debian `arm-none-eabi-gcc` 12.2.1
//! (`-mthumb-interwork -march=armv5te -std=gnu99 -ffreestanding -marm`, at
//! -O2 and -Ofast; Thumb gave identical exp results) and running it under
//! `qemu-arm`. The hashes are FNV-1a (32-bit, little-endian bytes of each
//! result's raw bits) over every argument in the stated range, so the port is
//! checked exhaustively, including both saturation boundaries.

mod common;
use common::fnv;

use spikeforge_kernel::fixed::S1615;
use spikeforge_kernel::spinnaker::exp::{expk, expulr};

#[test]
fn expk_exhaustive_hash() {
    let mut h = 2166136261u32;
    for n in -400_000..=400_000 {
        h = fnv(h, expk(S1615(n)).0 as u32);
    }
    assert_eq!(h, 0xc92e18fc);
}

#[test]
fn expulr_exhaustive_hash_nonpositive() {
    let mut h = 2166136261u32;
    for n in -400_000..=0 {
        h = fnv(h, expulr(S1615(n)).0);
    }
    assert_eq!(h, 0x635b45e1);
}

#[test]
fn expk_expulr_single_values() {
    // (argument bits, expk bits, expulr bits) printed by the C program
    let golden: [(i32, i32, u32); 29] = [
        (0, 32768, 0),
        (-1, 32766, 4294830979),
        (-2, 32765, 4294699960),
        (-3276, 29650, 3886339153),
        (-3277, 29649, 3886220541),
        (-32768, 12054, 1580030169),
        (-32767, 12055, 1580080444),
        (-1638, 31170, 4085544196),
        (-1639, 31169, 4085419524),
        (-6553, 26828, 3516490311),
        (-6554, 26827, 3516383004),
        (-65536, 4434, 581260615),
        (-327680, 1, 194991),
        (-340695, 1, 131075),
        (-340696, 0, 0),
        (-10923, 23479, 3077450523),
        (-16384, 19874, 2605026136),
        (-4096, 28917, 3790290663),
        (-2048, 30782, 4034743409),
        (-1092, 31693, 4154194238),
        (-164, 32604, 4273526007),
        (-33, 32734, 4290640281),
        (1, 32769, 136662),
        (32768, 89072, 3084996963),
        (363408, 2147433656, 2037480179),
        (363409, 2147483647, 2147483647),
        (-200000, 73, 9599227),
        (-6554, 26827, 3516383004),
        (-3277 * 2, 26827, 3516383004),
    ];
    for (n, k, ulr) in golden {
        assert_eq!(expk(S1615(n)).0, k, "expk({n})");
        assert_eq!(expulr(S1615(n)).0, ulr, "expulr({n})");
    }
}
