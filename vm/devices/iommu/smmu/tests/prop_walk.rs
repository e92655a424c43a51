//! Property test: random stage 1 page tables (4K, 39-bit, 3 levels) and random DMA
//! against a reference model of "which IOVA pages are mapped to what, with which
//! permission". The walker must never return a GPA the model would not, and never
//! panic, whatever garbage sits in unmapped or corrupted descriptors.

use iommu_common::DmaPerms;
use proptest::prelude::*;
use smmu::walk::*;
use std::collections::HashMap;

const TTB: u64 = 0x10_0000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn walk_matches_model(
        maps in proptest::collection::vec((0u64..64, 0u64..0x1000, any::<bool>()), 1..24),
        garbage in proptest::collection::vec((0u64..0x4000, any::<u64>()), 0..16),
        probes in proptest::collection::vec((0u64..80, 0u64..0x1000, any::<bool>()), 1..32),
    ) {
        // Model: iova page number → (pa page, read-only).
        let mut model: HashMap<u64, (u64, bool)> = HashMap::new();
        let mut mem: HashMap<u64, u64> = HashMap::new();
        // One L1 and one L2 table; L3 tables per 2 MiB region (iova pages spread
        // over several regions: page n at iova n * 0x23_1000).
        mem.insert(TTB, 0x20_0000 | 3);
        for (n, pa_page, ro) in &maps {
            let iova = n * 0x23_1000;
            let l2i = (iova >> 21) & 0x1ff;
            let l3 = 0x30_0000 + l2i * 0x1000;
            mem.insert(0x20_0000 + l2i * 8, l3 | 3);
            let l3i = (iova >> 12) & 0x1ff;
            let pa = 0x100_0000 + pa_page * 0x1000;
            let ap = if *ro { 3 << 6 } else { 1 << 6 };
            mem.insert(l3 + l3i * 8, pa | 3 | (1 << 10) | ap);
            model.retain(|k, _| (k * 0x23_1000) >> 12 != iova >> 12);
            model.insert(*n, (pa, *ro));
        }
        // Garbage in parts of memory the model never maps (leaf area beyond tables).
        for (off, v) in &garbage {
            mem.entry(0x80_0000 + off * 8).or_insert(*v);
        }
        let p = WalkParams {
            granule: Granule::K4,
            input_bits: 39,
            start_level: Granule::K4.start_level(39),
            ttb: TTB,
            output_bits: 48,
            affd: false,
            stage: Stage::One { privileged: false, had: false },
        };
        for (n, off, write) in probes {
            let iova = n * 0x23_1000 + (off & 0xff8);
            let mut fetch = |a: u64| Ok::<u64, ()>(mem.get(&a).copied().unwrap_or(0));
            let r = walk(&p, iova, write, &mut fetch);
            match (model.get(&n), r) {
                (Some((pa, ro)), Ok(out)) => {
                    prop_assert_eq!(out.oa, pa | (iova & 0xfff));
                    prop_assert!(!(write && *ro));
                    prop_assert_eq!(out.perms, if *ro { DmaPerms::RO } else { DmaPerms::RW });
                }
                (Some((_, ro)), Err(WalkError::Fault(WalkFault::Permission))) => {
                    prop_assert!(write && *ro)
                }
                (None, Ok(out)) => prop_assert!(false, "unmapped iova {iova:#x} -> {:#x}", out.oa),
                (None, Err(_)) => {}
                (Some(_), Err(e)) => prop_assert!(false, "mapped iova {iova:#x} faulted {e:?}"),
            }
        }
    }

    /// Arbitrary descriptors everywhere: the walk terminates within 4 fetches for every
    /// granule and input size, and never panics.
    #[test]
    fn arbitrary_memory_never_panics(
        seed in any::<u64>(),
        iova in any::<u64>(),
        g in 0usize..3,
        tsz in 0u8..64,
        write in any::<bool>(),
    ) {
        let granule = [Granule::K4, Granule::K16, Granule::K64][g];
        let input_bits = 64 - tsz as u32;
        let p = WalkParams {
            granule,
            input_bits,
            start_level: granule.start_level(input_bits),
            ttb: seed & 0xffff_ffff_f000,
            output_bits: 48,
            affd: seed & 1 != 0,
            stage: if seed & 2 != 0 { Stage::Two } else { Stage::One { privileged: false, had: false } },
        };
        let mut fetches = 0;
        let mut fetch = |a: u64| {
            fetches += 1;
            Ok::<u64, ()>(a.wrapping_mul(seed | 1).rotate_left(17) ^ seed)
        };
        let _ = walk(&p, iova, write, &mut fetch);
        prop_assert!(fetches <= 4);
    }
}
