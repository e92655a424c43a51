//! Property test over the whole device: random stage 1 mappings for 4K, 16K and 64K
//! granules (and a nested variant whose stage 1 tables and CD sit behind a random
//! stage 2), built in guest memory with a real STE and CD, then random DMA through
//! `DmaTranslator` against a reference model of "VA page → PA page, read-only?".
//! The SMMU must never return a GPA the model would not, and never panic, whatever
//! invalid garbage sits in unused descriptor slots.

mod common;

use common::*;
use iommu_common::DmaFaultKind;
use proptest::prelude::*;
use smmu::walk::Granule;
use std::collections::HashMap;

const SID: u64 = 0x10;
const CD_PA: u64 = 0x30_0000;
const S2_TABLES: u64 = 0x40_0000;
const S1_TABLES_PA: u64 = 0x80_0000;
const S1_IPA: u64 = 0x40_0000_0000;
const CD_IPA: u64 = 0x48_0000_0000;
const DATA_IPA: u64 = 0x50_0000_0000;
const DATA: u64 = 0x10_0000_0000;

/// How stage 2 treats one data page in the nested variant.
#[derive(Debug, Clone, Copy)]
enum S2 {
    Rw,
    Ro,
    Unmapped,
}

fn s2_mode() -> impl Strategy<Value = S2> {
    prop_oneof![4 => Just(S2::Rw), 1 => Just(S2::Ro), 1 => Just(S2::Unmapped)]
}

/// VA of mapping `n`: spread so that mappings share some tables and not others.
fn va_of(g: Granule, n: u64) -> u64 {
    (n * 0x203 + (n % 3) * 0x4_0000) << g.shift()
}

fn run(
    g: Granule,
    nested: bool,
    maps: &[(u64, u64, bool, S2)],
    garbage: &[(u64, u64)],
    probes: &[(u64, u64, bool)],
) -> Result<(), TestCaseError> {
    let mut rig = Rig::up();
    let page = 1u64 << g.shift();
    let (s1_space, s1_pa) = if nested {
        (S1_IPA, S1_TABLES_PA)
    } else {
        (S1_TABLES_PA, S1_TABLES_PA)
    };
    let mut s1 = Tables::new(g, 48, g.start_level(48), s1_space, s1_pa);
    let mut s2 = Tables::new(Granule::K4, 40, 1, S2_TABLES, S2_TABLES);
    // Stage 1: VA page → (PA page, read-only); stage 2: PA page → last mode (wins).
    let mut s1_model: HashMap<u64, (u64, bool)> = HashMap::new();
    let mut s2_model: HashMap<u64, S2> = HashMap::new();
    for &(n, pa_page, ro, mode) in maps {
        let va = va_of(g, n);
        let final_pa = DATA + pa_page * page;
        let oa = if nested {
            DATA_IPA + pa_page * page
        } else {
            final_pa
        };
        s1.map(&rig.mem, va, oa, 3, if ro { S1_RO } else { S1_RW });
        s1_model.insert(va, (final_pa, ro));
        if nested {
            for off in (0..page).step_by(0x1000) {
                match mode {
                    S2::Rw => s2.map(&rig.mem, oa + off, final_pa + off, 3, s2_attrs(0b11)),
                    S2::Ro => s2.map(&rig.mem, oa + off, final_pa + off, 3, s2_attrs(0b01)),
                    S2::Unmapped => {
                        let slot = s2.slot(&rig.mem, oa + off, 3);
                        rig.w64(s2.pa(slot), 0);
                    }
                }
            }
            s2_model.insert(final_pa, mode);
        }
    }
    let model: HashMap<u64, Option<(u64, bool)>> = s1_model
        .into_iter()
        .map(|(va, (pa, ro))| {
            let entry = match s2_model.get(&pa).copied().unwrap_or(S2::Rw) {
                S2::Rw => Some((pa, ro)),
                S2::Ro => Some((pa, true)),
                S2::Unmapped => None,
            };
            (va, entry)
        })
        .collect();
    // Invalid garbage (V = 0, other bits random) in every unused slot it lands on.
    let used = s1.used();
    for &(off, v) in garbage {
        let pa = s1_pa + (off % (used / 8)) * 8;
        if rig.r64(pa) & 1 == 0 {
            rig.w64(pa, v & !1);
        }
    }
    let cd_words = cd(g, 48, s1.root, 3);
    if nested {
        for off in (0..used).step_by(0x1000) {
            s2.map(
                &rig.mem,
                S1_IPA + off,
                S1_TABLES_PA + off,
                3,
                s2_attrs(0b01),
            );
        }
        s2.map(&rig.mem, CD_IPA, CD_PA, 3, s2_attrs(0b01));
        let [w2, w3] = ste_s2(Granule::K4, 40, 1, s2.root);
        rig.write_ste(SID, [ste0(0b111, CD_IPA, 0), 0, w2, w3, 0, 0, 0, 0]);
    } else {
        rig.write_ste(SID, [ste0(0b101, CD_PA, 0), 0, 0, 0, 0, 0, 0, 0]);
    }
    rig.w64(CD_PA, cd_words[0]);
    rig.w64(CD_PA + 8, cd_words[1]);
    rig.cfgi_ste(SID);

    let mut hits = 0;
    for &(n, off, write) in probes {
        // Even probe numbers aim at a mapping, odd ones anywhere.
        let n = if n % 2 == 0 {
            maps[(n / 2) as usize % maps.len()].0
        } else {
            n / 2
        };
        let va = va_of(g, n) + off % page;
        let r = rig.dma(SID as u16, va, write);
        match (model.get(&(va & !(page - 1))).copied().flatten(), r) {
            (Some((pa, ro)), Ok(t)) => {
                prop_assert!(!(write && ro), "write allowed to read-only {va:#x}");
                prop_assert_eq!(t.gpa, pa + off % page, "va {:#x}", va);
                prop_assert!(t.page_size <= page && t.valid_len() >= 1);
                hits += 1;
            }
            (Some((_, ro)), Err(f)) => {
                prop_assert!(write && ro, "mapped {va:#x} faulted {f:?}");
                prop_assert_eq!(f.kind, DmaFaultKind::Permission);
                hits += 1;
            }
            (None, Ok(t)) => prop_assert!(false, "unmapped {va:#x} -> {:#x}", t.gpa),
            (None, Err(_)) => {}
        }
    }
    // The stage 1-only variant always reaches a mapping when a probe aims at one.
    prop_assert!(nested || hits > 0 || probes.iter().all(|p| p.0 % 2 == 1));
    let _ = rig.take_events();
    Ok(())
}

fn maps() -> impl Strategy<Value = Vec<(u64, u64, bool, S2)>> {
    proptest::collection::vec((0u64..48, 0u64..0x100, any::<bool>(), s2_mode()), 1..12)
}

fn garbage() -> impl Strategy<Value = Vec<(u64, u64)>> {
    proptest::collection::vec((any::<u64>(), any::<u64>()), 0..24)
}

fn probes() -> impl Strategy<Value = Vec<(u64, u64, bool)>> {
    proptest::collection::vec((0u64..112, any::<u64>(), any::<bool>()), 1..24)
}

fn granule() -> impl Strategy<Value = Granule> {
    prop_oneof![Just(Granule::K4), Just(Granule::K16), Just(Granule::K64)]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn device_stage1_matches_model(
        g in granule(),
        maps in maps(),
        garbage in garbage(),
        probes in probes(),
    ) {
        run(g, false, &maps, &garbage, &probes)?;
    }

    #[test]
    fn device_nested_matches_model(
        g in granule(),
        maps in maps(),
        garbage in garbage(),
        probes in probes(),
    ) {
        run(g, true, &maps, &garbage, &probes)?;
    }
}
