//! Every event type the translation pipeline produces, end to end through the device:
//! tables and STEs/CDs in guest memory, DMA through `DmaTranslator`, records read back
//! from the event queue and checked field by field (IHI 0070 §7.3).

mod common;

use common::*;
use iommu_common::DmaFaultKind;
use smmu::spec::event::id;
use smmu::spec::event::EventRecord;
use smmu::spec::event::FaultClass;
use smmu::spec::regs::*;
use smmu::walk::Granule;

const SID: u64 = 0x21;
const CD_TABLE: u64 = 0x30_0000;
const TABLES: u64 = 0x40_0000;
const DATA: u64 = 0x80_0000;

/// A stage 1 stream (4K, 39-bit VA) for SID with `cdmax` and `s1dss`, CD 0 (and 1)
/// pointing at fresh tables mapping VA 0x1000 → DATA read/write.
fn s1_rig(cdmax: u64, s1dss: u64) -> (Rig, Tables) {
    let mut rig = Rig::up();
    let mut t = Tables::new(Granule::K4, 39, 1, TABLES, TABLES);
    t.map(&rig.mem, 0x1000, DATA, 3, S1_RW);
    let [c0, c1] = cd(Granule::K4, 39, t.root, 1);
    for n in 0..2 {
        rig.w64(CD_TABLE + n * 64, c0);
        rig.w64(CD_TABLE + n * 64 + 8, c1);
    }
    rig.write_ste(SID, [ste0(0b101, CD_TABLE, cdmax), s1dss, 0, 0, 0, 0, 0, 0]);
    rig.cfgi_ste(SID);
    let ok = if cdmax == 0 {
        rig.dma(SID as u16, 0x1008, true)
    } else {
        rig.dma_ssid(SID as u16, 1, 0x1008, true)
    };
    assert_eq!(ok.unwrap().gpa, DATA + 8);
    (rig, t)
}

/// Word 0 of a record: type, StreamID, SSV, SubstreamID.
fn w0(e: &EventRecord, ty: u8, sid: u64, ssid: Option<u32>) {
    assert_eq!(e.event_type(), ty, "{e:x?}");
    assert_eq!(e.w0().sid() as u64, sid, "StreamID");
    assert_eq!(e.w0().ssv(), ssid.is_some(), "SSV");
    assert_eq!(e.w0().ssid(), ssid.unwrap_or(0), "SubstreamID");
}

/// Words 1-3 of a translation-class record.
fn fault(e: &EventRecord, s2: bool, class: FaultClass, write: bool, iova: u64, addr3: u64) {
    let f = e.fault();
    assert_eq!((f.s2(), f.class()), (s2, class as u8), "S2/CLASS {e:x?}");
    assert_eq!(f.rnw(), !write, "RnW");
    assert!(!f.ind(), "InD: data");
    assert!(!f.pnu(), "PnU: unprivileged");
    assert_eq!(e.input_addr(), iova, "InputAddr");
    assert_eq!(e.addr3(), addr3, "IPA/FetchAddr");
}

#[test]
fn f_translation_with_and_without_substream() {
    let (rig, _) = s1_rig(1, 0b10);
    assert_eq!(
        rig.dma(SID as u16, 0x5000, false).unwrap_err().kind,
        DmaFaultKind::NotMapped
    );
    let e = rig.one_event();
    w0(&e, id::F_TRANSLATION, SID, None);
    fault(&e, false, FaultClass::In, false, 0x5000, 0);
    rig.dma_ssid(SID as u16, 1, 0x6000, true).unwrap_err();
    let e = rig.one_event();
    w0(&e, id::F_TRANSLATION, SID, Some(1));
    fault(&e, false, FaultClass::In, true, 0x6000, 0);
    // The event MSI went to the doorbell.
    assert!(rig
        .irqs
        .msis
        .lock()
        .iter()
        .any(|(s, m)| *s == smmu::SmmuIrq::EventQueue && m.data == 0x21));
}

#[test]
fn f_permission_f_access_f_addr_size() {
    let (rig, mut t) = s1_rig(0, 0);
    t.map(&rig.mem, 0x2000, DATA, 3, S1_RO);
    t.map(&rig.mem, 0x3000, DATA, 3, S1_RW & !AF);
    t.map(&rig.mem, 0x4000, 0x1_0000_0000, 3, S1_RW);
    t.map(&rig.mem, 0x5000, DATA, 3, AF); // privileged only
    assert!(rig.dma(SID as u16, 0x2000, false).is_ok());
    assert_eq!(
        rig.dma(SID as u16, 0x2010, true).unwrap_err().kind,
        DmaFaultKind::Permission
    );
    let e = rig.one_event();
    w0(&e, id::F_PERMISSION, SID, None);
    fault(&e, false, FaultClass::In, true, 0x2010, 0);
    rig.dma(SID as u16, 0x5000, false).unwrap_err();
    fault(&rig.one_event(), false, FaultClass::In, false, 0x5000, 0);
    assert_eq!(
        rig.dma(SID as u16, 0x3000, false).unwrap_err().kind,
        DmaFaultKind::Access
    );
    let e = rig.one_event();
    w0(&e, id::F_ACCESS, SID, None);
    fault(&e, false, FaultClass::In, false, 0x3000, 0);
    // Within 48 bits, beyond a 32-bit IPS.
    assert!(rig.dma(SID as u16, 0x4000, false).is_ok());
    let [c0, _] = cd(Granule::K4, 39, t.root, 1);
    rig.w64(CD_TABLE, c0 & !(7 << 32));
    assert_eq!(
        rig.dma(SID as u16, 0x4000, true).unwrap_err().kind,
        DmaFaultKind::AddressSize
    );
    let e = rig.one_event();
    w0(&e, id::F_ADDR_SIZE, SID, None);
    fault(&e, false, FaultClass::In, true, 0x4000, 0);
}

#[test]
fn f_walk_eabt() {
    let (rig, t) = s1_rig(0, 0);
    // Point the level 2 table descriptor for VA 0 beyond RAM.
    let l1_slot = t.root;
    rig.w64(l1_slot, (RAM + 0x1000) | 3);
    assert_eq!(
        rig.dma(SID as u16, 0x1000, false).unwrap_err().kind,
        DmaFaultKind::WalkError
    );
    let e = rig.one_event();
    w0(&e, id::F_WALK_EABT, SID, None);
    // Stage 1 walk abort: S2 = 0, CLASS = TT, FetchAddr = L2 descriptor PA.
    fault(&e, false, FaultClass::Ttd, false, 0x1000, RAM + 0x1000);
}

#[test]
fn f_ste_fetch() {
    let rig = Rig::up();
    // Move the stream table past the end of RAM.
    rig.cr0(0b1100);
    rig.smmu.write64(STRTAB_BASE, RAM);
    rig.cr0(0b1101);
    assert_eq!(
        rig.dma(SID as u16, 0, false).unwrap_err().kind,
        DmaFaultKind::WalkError
    );
    let e = rig.one_event();
    w0(&e, id::F_STE_FETCH, SID, None);
    assert_eq!(e.addr3(), RAM + SID * 64, "FetchAddr");
}

#[test]
fn c_bad_ste_and_c_bad_streamid() {
    let rig = Rig::up();
    // Zeroed STE: V = 0.
    assert_eq!(
        rig.dma(5, 0, false).unwrap_err().kind,
        DmaFaultKind::BadConfig
    );
    w0(&rig.one_event(), id::C_BAD_STE, 5, None);
    // Reserved Config.
    rig.write_ste(5, [1 | (0b010 << 1), 0, 0, 0, 0, 0, 0, 0]);
    rig.dma(5, 0, false).unwrap_err();
    w0(&rig.one_event(), id::C_BAD_STE, 5, None);
    // StreamID ≥ 2^LOG2SIZE: recorded only with CR2.RECINVSID.
    let big = 1u16 << STRTAB_LOG2;
    rig.dma(big, 0, false).unwrap_err();
    assert!(rig.take_events().is_empty());
    rig.smmu.write32(CR2, 0b010);
    assert_eq!(
        rig.dma(big + 3, 0, false).unwrap_err().kind,
        DmaFaultKind::BadConfig
    );
    let e = rig.one_event();
    w0(&e, id::C_BAD_STREAMID, big as u64 + 3, None);
    assert_eq!(e.0[1..], [0, 0, 0]);
}

#[test]
fn c_bad_cd_and_f_cd_fetch() {
    let (rig, _) = s1_rig(0, 0);
    rig.w64(CD_TABLE, 0);
    assert_eq!(
        rig.dma(SID as u16, 0x1000, false).unwrap_err().kind,
        DmaFaultKind::BadConfig
    );
    w0(&rig.one_event(), id::C_BAD_CD, SID, None);
    rig.write_ste(SID, [ste0(0b101, RAM + 0x40, 0), 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        rig.dma(SID as u16, 0x1000, false).unwrap_err().kind,
        DmaFaultKind::WalkError
    );
    let e = rig.one_event();
    w0(&e, id::F_CD_FETCH, SID, None);
    assert_eq!(e.addr3(), RAM + 0x40, "FetchAddr");
}

#[test]
fn c_bad_substreamid_and_f_stream_disabled() {
    // S1CDMax = 0: any SubstreamID is bad.
    let (rig, _) = s1_rig(0, 0);
    rig.dma_ssid(SID as u16, 3, 0x1000, false).unwrap_err();
    let e = rig.one_event();
    assert_eq!(e.event_type(), id::C_BAD_SUBSTREAMID);
    assert_eq!((e.w0().sid() as u64, e.w0().ssid()), (SID, 3));
    assert!(!e.w0().ssv(), "bit 11 is RES0 in C_BAD_SUBSTREAMID");
    // S1CDMax = 1, S1DSS = terminate: no SubstreamID → F_STREAM_DISABLED; SSID 2 is
    // out of range; SSID 1 translates.
    let (rig, _) = s1_rig(1, 0b00);
    assert_eq!(
        rig.dma(SID as u16, 0x1000, false).unwrap_err().kind,
        DmaFaultKind::Blocked
    );
    let e = rig.one_event();
    w0(&e, id::F_STREAM_DISABLED, SID, None);
    rig.dma_ssid(SID as u16, 2, 0x1000, false).unwrap_err();
    assert_eq!(rig.one_event().event_type(), id::C_BAD_SUBSTREAMID);
    assert_eq!(
        rig.dma_ssid(SID as u16, 1, 0x1000, false).unwrap().gpa,
        DATA
    );
    // S1DSS = SUBSTREAM0: SubstreamID 0 is reserved for non-substream traffic.
    let (rig, _) = s1_rig(1, 0b10);
    rig.dma_ssid(SID as u16, 0, 0x1000, false).unwrap_err();
    w0(&rig.one_event(), id::F_STREAM_DISABLED, SID, None);
    assert_eq!(rig.dma(SID as u16, 0x1000, false).unwrap().gpa, DATA);
}

/// Abort STEs terminate silently; bypass STEs pass untouched up to the OAS.
#[test]
fn abort_and_bypass_configs() {
    let rig = Rig::up();
    rig.write_ste(6, [1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        rig.dma(6, 0x1000, false).unwrap_err().kind,
        DmaFaultKind::Blocked
    );
    assert!(rig.take_events().is_empty());
    rig.write_ste(7, [1 | (0b100 << 1), 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(rig.dma(7, 0x1234_5678, true).unwrap().gpa, 0x1234_5678);
    rig.dma(7, 1 << 48, true).unwrap_err();
    let e = rig.one_event();
    w0(&e, id::F_ADDR_SIZE, 7, None);
    fault(&e, false, FaultClass::In, true, 1 << 48, 0);
}

/// While SMMUEN = 0 with GBPA bypass, an address beyond the OAS aborts and records
/// nothing (IHI 0070 §3.4).
#[test]
fn gbpa_bypass_checks_oas() {
    let rig = Rig::new(smmu::SmmuConfig {
        oas_bits: 40,
        ..smmu::SmmuConfig::default()
    });
    assert_eq!(rig.dma(1, (1 << 40) - 8, true).unwrap().gpa, (1 << 40) - 8);
    assert_eq!(
        rig.dma(1, 1 << 40, true).unwrap_err().kind,
        DmaFaultKind::Blocked
    );
}
