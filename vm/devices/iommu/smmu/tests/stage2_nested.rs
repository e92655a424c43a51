//! Stage 2-only and nested (stage 1 + stage 2) streams through the whole device, and
//! invalidation: after the guest edits an STE, CD or PTE and issues the matching
//! CFGI/TLBI + CMD_SYNC, translation reflects the edit (this SMMU caches nothing, which
//! the architecture allows; the test pins the guest-visible contract).

mod common;

use common::*;
use iommu_common::DmaFaultKind;
use iommu_common::DmaPerms;
use smmu::spec::event::id;
use smmu::spec::event::FaultClass;
use smmu::walk::Granule;

const SID: u64 = 0x42;
const S2_TABLES: u64 = 0x40_0000;
const S1_TABLES_PA: u64 = 0x60_0000;
const CD_PA: u64 = 0x70_0000;
const DATA: u64 = 0x100_0000;

/// (granule, IPA bits, start level) for the stage 2 configurations tested, including
/// concatenated start-level tables for 4K and 64K.
const S2_CONFIGS: [(Granule, u32, u8); 4] = [
    (Granule::K4, 40, 1),
    (Granule::K4, 39, 1),
    (Granule::K16, 36, 2),
    (Granule::K64, 42, 2),
];

#[test]
fn stage2_only_every_granule() {
    for (g, ipa_bits, level) in S2_CONFIGS {
        let mut rig = Rig::up();
        let mut t = Tables::new(g, ipa_bits, level, S2_TABLES, S2_TABLES);
        let page = 1u64 << g.shift();
        let ipa = 0x12_3450_0000 & ((1 << ipa_bits) - 1) & !(page - 1);
        t.map(&rig.mem, ipa, DATA, 3, s2_attrs(0b11));
        t.map(&rig.mem, ipa + page, DATA + page, 3, s2_attrs(0b01));
        // A block at level 2.
        let block = 1u64 << g.level_shift(2);
        let bipa = (ipa + 4 * block) & !(block - 1);
        t.map(&rig.mem, bipa, 2 * block, 2, s2_attrs(0b11));
        let [w2, w3] = ste_s2(g, ipa_bits, level, t.root);
        rig.write_ste(SID, [ste0(0b110, 0, 0), 0, w2, w3, 0, 0, 0, 0]);
        rig.cfgi_ste(SID);
        let tr = rig.dma(SID as u16, ipa + 0x18, true).unwrap();
        assert_eq!((tr.gpa, tr.page_size), (DATA + 0x18, page), "{g:?}");
        assert_eq!(tr.perms, DmaPerms::RW);
        let tr = rig.dma(SID as u16, bipa + 0x1234, false).unwrap();
        assert_eq!((tr.gpa, tr.page_size), (2 * block + 0x1234, block), "{g:?}");
        // Read-only page: write is a stage 2 permission fault, CLASS = IN, IPA given.
        assert_eq!(
            rig.dma(SID as u16, ipa + page, false).unwrap().perms,
            DmaPerms::RO
        );
        let f = rig.dma(SID as u16, ipa + page + 8, true).unwrap_err();
        assert_eq!(f.kind, DmaFaultKind::Permission);
        let e = rig.one_event();
        assert_eq!(e.event_type(), id::F_PERMISSION);
        assert!(e.fault().s2() && !e.fault().rnw());
        assert_eq!(e.fault().class(), FaultClass::In as u8);
        assert_eq!(e.input_addr(), ipa + page + 8);
        assert_eq!(e.addr3(), (ipa + page) & !0xfff);
        // Unmapped IPA, and an IPA beyond S2T0SZ.
        rig.dma(SID as u16, ipa + 2 * page, false).unwrap_err();
        let e = rig.one_event();
        assert_eq!(e.event_type(), id::F_TRANSLATION);
        assert!(e.fault().s2());
        assert_eq!(e.addr3(), ipa + 2 * page);
        rig.dma(SID as u16, 1 << ipa_bits, false).unwrap_err();
        assert_eq!(rig.one_event().event_type(), id::F_TRANSLATION);
    }
}

/// IPA window holding the stage 1 tables (backed by S1_TABLES_PA) and the CD.
const S1_IPA: u64 = 0x80_0000_0000;
const CD_IPA: u64 = 0x80_0040_0000;
const DATA_IPA: u64 = 0x90_0000_0000;

/// A nested stream: stage 2 (4K, 40-bit IPA) maps the stage 1 table window, the CD and
/// a data page; stage 1 (`g1`, 48-bit VA) maps VA 0x7f00_0000_0000 → DATA_IPA.
fn nested_rig(g1: Granule) -> (Rig, Tables, Tables) {
    let mut rig = Rig::up();
    let mut s2 = Tables::new(Granule::K4, 40, 1, S2_TABLES, S2_TABLES);
    let mut s1 = Tables::new(g1, 48, g1.start_level(48), S1_IPA, S1_TABLES_PA);
    let va = 0x7f00_0000_0000;
    s1.map(&rig.mem, va, DATA_IPA, 3, S1_RW);
    let window = s1.used();
    for off in (0..window).step_by(0x1000) {
        s2.map(
            &rig.mem,
            S1_IPA + off,
            S1_TABLES_PA + off,
            3,
            s2_attrs(0b01),
        );
    }
    s2.map(&rig.mem, CD_IPA, CD_PA, 3, s2_attrs(0b01));
    let page1 = 1u64 << g1.shift();
    for off in (0..page1).step_by(0x1000) {
        s2.map(&rig.mem, DATA_IPA + off, DATA + off, 3, s2_attrs(0b11));
    }
    let [c0, c1] = cd(g1, 48, s1.root, 9);
    rig.w64(CD_PA, c0);
    rig.w64(CD_PA + 8, c1);
    let [w2, w3] = ste_s2(Granule::K4, 40, 1, s2.root);
    rig.write_ste(SID, [ste0(0b111, CD_IPA, 0), 0, w2, w3, 0, 0, 0, 0]);
    rig.cfgi_ste(SID);
    (rig, s1, s2)
}

#[test]
fn nested_every_stage1_granule() {
    for g1 in [Granule::K4, Granule::K16, Granule::K64] {
        let (rig, _, _) = nested_rig(g1);
        let t = rig.dma(SID as u16, 0x7f00_0000_0ff0, true).unwrap();
        assert_eq!((t.gpa, t.page_size), (DATA + 0xff0, 0x1000), "{g1:?}");
        assert!(rig.take_events().is_empty());
    }
}

#[test]
fn nested_stage2_fault_on_cd_fetch() {
    let (mut rig, _, mut s2) = nested_rig(Granule::K4);
    // Unmap the CD's IPA at stage 2, then invalidate as a hypervisor would.
    let slot = s2.slot(&rig.mem, CD_IPA, 3);
    rig.w64(s2.pa(slot), 0);
    rig.cmd(0x2a, CD_IPA); // TLBI_S2_IPA
    rig.sync();
    let f = rig.dma(SID as u16, 0x7f00_0000_0000, false).unwrap_err();
    assert_eq!(f.kind, DmaFaultKind::NotMapped);
    let e = rig.one_event();
    assert_eq!(e.event_type(), id::F_TRANSLATION);
    assert!(e.fault().s2() && e.fault().rnw());
    assert_eq!(e.fault().class(), FaultClass::Cd as u8);
    assert_eq!(e.addr3(), CD_IPA);
}

#[test]
fn invalidation_after_pte_changes() {
    let (mut rig, mut s1, mut s2) = nested_rig(Granule::K4);
    let va = 0x7f00_0000_0000u64;
    // Stage 1 PTE now points at another IPA page; TLBI_NH_VA (ASID 9) + SYNC.
    s2.map(
        &rig.mem,
        DATA_IPA + 0x5000,
        DATA + 0x5000,
        3,
        s2_attrs(0b11),
    );
    s1.map(&rig.mem, va, DATA_IPA + 0x5000, 3, S1_RW);
    rig.cmd(0x12 | (9 << 48), va);
    rig.sync();
    assert_eq!(rig.dma(SID as u16, va, false).unwrap().gpa, DATA + 0x5000);
    // Stage 2 PTE now read-only; TLBI_S2_IPA + SYNC.
    s2.map(
        &rig.mem,
        DATA_IPA + 0x5000,
        DATA + 0x5000,
        3,
        s2_attrs(0b01),
    );
    rig.cmd(0x2a, DATA_IPA + 0x5000);
    rig.sync();
    assert_eq!(rig.dma(SID as u16, va, false).unwrap().perms, DmaPerms::RO);
    assert!(rig.dma(SID as u16, va, true).is_err());
    assert_eq!(rig.one_event().event_type(), id::F_PERMISSION);
    // Unmap at stage 1; TLBI_NH_ASID + SYNC.
    let slot = s1.slot(&rig.mem, va, 3);
    rig.w64(s1.pa(slot), 0);
    rig.cmd(0x11 | (9 << 48), 0);
    rig.sync();
    rig.dma(SID as u16, va, false).unwrap_err();
    let e = rig.one_event();
    assert_eq!(e.event_type(), id::F_TRANSLATION);
    assert!(!e.fault().s2());
}

#[test]
fn invalidation_after_ste_and_cd_changes() {
    let (mut rig, _, mut s2) = nested_rig(Granule::K4);
    let va = 0x7f00_0000_0000u64;
    assert_eq!(rig.dma(SID as u16, va, false).unwrap().gpa, DATA);
    // New stage 1 tables (another IPA window) installed by rewriting the CD's TTB0;
    // CFGI_CD + TLBI_NH_ASID + SYNC.
    let mut s1b = Tables::new(Granule::K4, 48, 0, S1_IPA + 0x10_0000, 0x68_0000);
    s1b.map(&rig.mem, va, DATA_IPA + 0x7000, 3, S1_RO);
    for off in (0..s1b.used()).step_by(0x1000) {
        let ipa = S1_IPA + 0x10_0000 + off;
        s2.map(&rig.mem, ipa, 0x68_0000 + off, 3, s2_attrs(0b01));
    }
    s2.map(
        &rig.mem,
        DATA_IPA + 0x7000,
        DATA + 0x7000,
        3,
        s2_attrs(0b11),
    );
    rig.w64(CD_PA + 8, s1b.root);
    rig.cfgi_cd(SID);
    rig.cmd(0x11 | (9 << 48), 0);
    rig.sync();
    let t = rig.dma(SID as u16, va + 4, false).unwrap();
    assert_eq!((t.gpa, t.perms), (DATA + 0x7004, DmaPerms::RO));
    // STE switched to abort; CFGI_STE + SYNC: traffic terminated silently.
    rig.w64(STRTAB + SID * 64, ste0(0b000, 0, 0));
    rig.cfgi_ste(SID);
    assert_eq!(
        rig.dma(SID as u16, va, false).unwrap_err().kind,
        DmaFaultKind::Blocked
    );
    assert!(rig.take_events().is_empty());
    // STE switched to bypass; CFGI_ALL + SYNC.
    rig.w64(STRTAB + SID * 64, ste0(0b100, 0, 0));
    rig.cmd(0x04, 31);
    rig.sync();
    assert_eq!(rig.dma(SID as u16, va, false).unwrap().gpa, va);
}
