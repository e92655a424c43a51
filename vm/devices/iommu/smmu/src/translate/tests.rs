//! Pipeline tests with hand-built nested (stage 1 + stage 2) tables: stage 1 tables and
//! CDs live at IPAs that only stage 2 can reach, so every success proves the stage 1
//! walk fetched through stage 2, and every fault checks the architectural record
//! (IHI 0070 §3.4, §7.3.9-§7.3.16).

use super::*;
use crate::spec::cd::Cd0;
use crate::spec::cd::CdTtb;
use crate::spec::event::EventRecord;
use crate::spec::regs::StrtabBase;
use crate::spec::regs::StrtabBaseCfg;
use crate::spec::ste::config;
use crate::spec::ste::Ste0;
use crate::spec::ste::Ste1;
use crate::spec::ste::Ste2;
use crate::spec::ste::Ste3;
use crate::test_util::mem;

const STRTAB: u64 = 0x10_0000;
/// Stage 2 tables (4K granule, 32-bit IPA, start level 1), at PAs.
const S2_L1: u64 = 0x20_0000;
const S2_L2: u64 = 0x20_1000;
const S2_L3: u64 = 0x20_2000;
/// PA of a stage 2 L3 table beyond RAM: every IPA in 0x4040_0000.. aborts at stage 2.
const S2_L3_ABSENT: u64 = 0x1_0000_0000;
/// IPA page 0x4000_n000 is backed by PA 0x0100_n000 (far beyond RAM at the IPA).
const IPA_BASE: u64 = 0x4000_0000;
const PA_BASE: u64 = 0x0100_0000;
/// CD table (2 CDs) and stage 1 tables (4K granule, 39-bit VA), at IPAs.
const CD_IPA: u64 = IPA_BASE;
const S1_L1: u64 = IPA_BASE + 0x1000;
const S1_L2: u64 = IPA_BASE + 0x2000;
const S1_L3: u64 = IPA_BASE + 0x3000;
/// Data IPAs and their PAs.
const DATA_IPA: u64 = 0x4010_0000;
const DATA_PA: u64 = 0x0200_0000;

const AF: u64 = 1 << 10;
const TABLE: u64 = 0b11;
/// Stage 1 page, unprivileged read/write.
const S1_RW: u64 = 0b11 | AF | (1 << 6);
/// Stage 1 page, unprivileged read-only.
const S1_RO: u64 = S1_RW | (1 << 7);

struct Rig {
    mem: GuestMemory,
    caps: SmmuConfig,
}

fn s2_page(pa: u64, s2ap: u64) -> u64 {
    pa | 0b11 | AF | (s2ap << 6)
}

impl Rig {
    fn w(&self, pa: u64, v: u64) {
        self.mem.write_plain(pa, &v).unwrap();
    }

    /// Writes at an IPA of the linearly backed window.
    fn w_ipa(&self, ipa: u64, v: u64) {
        self.w(ipa - IPA_BASE + PA_BASE, v);
    }

    /// Maps one 4K IPA page at stage 2 (IPA within 0x4000_0000..0x4020_0000).
    fn s2_map(&self, ipa: u64, desc: u64) {
        self.w(S2_L3 + ((ipa >> 12) & 0x1ff) * 8, desc);
    }

    /// Maps one 4K VA page at stage 1 through the L3 table at `l3` (IPA).
    fn s1_map(&self, l3: u64, va: u64, desc: u64) {
        self.w_ipa(l3 + ((va >> 12) & 0x1ff) * 8, desc);
    }

    fn ste(&self, sid: u64, cd_ipa: u64, w1: Ste1, w2: Ste2) {
        let w0 = Ste0::new()
            .with_v(true)
            .with_config(config::NESTED)
            .with_s1_context_ptr(cd_ipa >> 6)
            .with_s1cdmax(1);
        let base = STRTAB + sid * 64;
        self.w(base, w0.into_bits());
        self.w(base + 8, w1.into_bits());
        self.w(base + 16, w2.into_bits());
        self.w(base + 24, Ste3::new().with_s2ttb(S2_L1 >> 4).into_bits());
    }

    fn cd(&self, ipa: u64, record: bool) {
        let cd0 = Cd0::new()
            .with_v(true)
            .with_aa64(true)
            .with_r(record)
            .with_t0sz(25)
            .with_epd1(true)
            .with_ips(2)
            .with_asid(7);
        self.w_ipa(ipa, cd0.into_bits());
        self.w_ipa(ipa + 8, CdTtb::new().with_ttb(S1_L1 >> 4).into_bits());
    }

    fn new() -> Self {
        let rig = Rig {
            mem: mem(),
            caps: SmmuConfig::default(),
        };
        // Stage 2.
        rig.w(S2_L1 + 8, S2_L2 | TABLE); // IPA 0x4000_0000..0x7fff_ffff
        rig.w(S2_L2, S2_L3 | TABLE); // 0x4000_0000..0x401f_ffff: pages
        rig.w(S2_L2 + 8, 0x0220_0000 | 0b01 | AF | (3 << 6)); // 0x4020_0000: 2M block
        rig.w(S2_L2 + 16, S2_L3_ABSENT | TABLE); // 0x4040_0000..: aborts
        for n in [0x0, 0x1, 0x2, 0x3] {
            rig.s2_map(IPA_BASE + n * 0x1000, s2_page(PA_BASE + n * 0x1000, 1));
        }
        // 0x4000_4000 (an S1 table) and 0x4000_7000 (a CD table) are left unmapped.
        rig.s2_map(IPA_BASE + 0x5000, s2_page(PA_BASE + 0x5000, 0b10)); // write-only
        rig.s2_map(IPA_BASE + 0x6000, s2_page(0x1_0000_1000, 1)); // PA beyond RAM
        rig.s2_map(IPA_BASE + 0x8000, s2_page(PA_BASE + 0x8000, 1) & !AF);
        rig.s2_map(IPA_BASE + 0x9000, s2_page(1 << 41, 1)); // beyond S2PS
        rig.s2_map(IPA_BASE + 0xa000, s2_page(0x1_0000_2000, 1)); // a CD beyond RAM
        rig.s2_map(DATA_IPA, s2_page(DATA_PA, 0b11));
        rig.s2_map(DATA_IPA + 0x1000, s2_page(DATA_PA + 0x1000, 0b01)); // read-only
        rig.s2_map(DATA_IPA + 0x3000, s2_page(DATA_PA + 0x3000, 0b10)); // write-only
                                                                        // Stage 1: L1[0] → L2; L2[n] → tables at various IPAs.
        rig.w_ipa(S1_L1, S1_L2 | TABLE);
        for (n, table) in [
            (0u64, S1_L3),
            (1, IPA_BASE + 0x4000),
            (2, IPA_BASE + 0x5000),
            (3, IPA_BASE + 0x6000),
            (4, IPA_BASE + 0x8000),
            (6, IPA_BASE + 0x9000),
            (7, 0x4040_1000),
        ] {
            rig.w_ipa(S1_L2 + n * 8, table | TABLE);
        }
        // L2[5]: a 2M stage 1 block onto the stage 2 block.
        rig.w_ipa(S1_L2 + 5 * 8, 0x4020_0000 | 0b01 | AF | (1 << 6));
        rig.s1_map(S1_L3, 0x0000, DATA_IPA | S1_RW);
        rig.s1_map(S1_L3, 0x1000, (DATA_IPA + 0x1000) | S1_RW);
        rig.s1_map(S1_L3, 0x2000, (DATA_IPA + 0x2000) | S1_RW); // no S2 mapping
        rig.s1_map(S1_L3, 0x3000, DATA_IPA | S1_RO);
        // 0x4000: invalid at stage 1.
        rig.s1_map(S1_L3, 0x5000, (DATA_IPA + 0x1000) | S1_RO);
        rig.s1_map(S1_L3, 0x6000, 0x1_0000_0000 | S1_RW); // beyond the S2 input range
        rig.s1_map(S1_L3, 0x7000, DATA_IPA | (S1_RW & !AF));
        rig.s1_map(S1_L3, 0x8000, 0x4040_0000 | S1_RW); // S2 walk aborts
        rig.s1_map(S1_L3, 0x9000, (DATA_IPA + 0x3000) | S1_RW);
        // CDs 0 and 1 (S1CDMax = 1).
        rig.cd(CD_IPA, true);
        rig.cd(CD_IPA + 64, true);
        rig.ste(1, CD_IPA, Rig::w1(), Rig::w2());
        rig
    }

    fn w1() -> Ste1 {
        Ste1::new().with_s1dss(s1dss::SUBSTREAM0)
    }

    fn w2() -> Ste2 {
        Ste2::new()
            .with_s2t0sz(32)
            .with_s2sl0(1)
            .with_s2tg(0)
            .with_s2ps(2)
            .with_s2aa64(true)
            .with_s2r(true)
    }

    fn pipeline(&self) -> Pipeline<'_> {
        Pipeline {
            mem: &self.mem,
            caps: &self.caps,
            strtab: Strtab::new(
                StrtabBase::new().with_addr(STRTAB >> 6),
                StrtabBaseCfg::new().with_log2size(4),
                &self.caps,
            ),
            record_invalid_sid: true,
        }
    }

    fn ok(&self, sid: u32, ssid: Option<u32>, va: u64, write: bool) -> Translation {
        self.pipeline()
            .translate(sid, ssid, va, write)
            .unwrap_or_else(|f| panic!("{va:#x}: {f:?}"))
    }

    fn fault(&self, sid: u32, ssid: Option<u32>, va: u64, write: bool) -> Fault {
        self.pipeline()
            .translate(sid, ssid, va, write)
            .expect_err("fault expected")
    }

    fn event(&self, sid: u32, va: u64, write: bool) -> EventRecord {
        self.fault(sid, None, va, write)
            .event
            .expect("event recorded")
    }
}

/// Checks a translation fault record: type, stage, class, IPA and the transaction's
/// attributes.
fn check(e: &EventRecord, ty: u8, s2: bool, class: FaultClass, ipa: u64, va: u64, write: bool) {
    assert_eq!(e.event_type(), ty, "type of {e:x?}");
    assert_eq!(e.w0().sid(), 1);
    assert!(!e.w0().ssv());
    assert_eq!(e.fault().s2(), s2, "S2 of {e:x?}");
    assert_eq!(e.fault().class(), class as u8, "CLASS of {e:x?}");
    assert_eq!(e.fault().rnw(), !write, "RnW");
    assert!(!e.fault().ind() && !e.fault().pnu());
    assert_eq!(e.input_addr(), va);
    assert_eq!(e.addr3(), ipa, "IPA/FetchAddr of {e:x?}");
}

#[test]
fn stage1_tables_are_fetched_through_stage2() {
    let rig = Rig::new();
    let t = rig.ok(1, None, 0x0abc, true);
    assert_eq!(t.gpa, DATA_PA + 0xabc);
    assert_eq!(t.page_size, 0x1000);
    assert_eq!(t.perms, DmaPerms::RW);
    // The same tables at PA = IPA would be beyond RAM: only stage 2 reaches them.
    assert!(rig.mem.read_plain::<u64>(S1_L1).is_err());
}

#[test]
fn stage1_output_goes_through_stage2_with_sizes() {
    let rig = Rig::new();
    // Stage 1 2M block onto a stage 2 2M block: a 2M mapping.
    let t = rig.ok(1, None, 0xa1_2345, false);
    assert_eq!((t.gpa, t.page_size), (0x0221_2345, 1 << 21));
    // Stage 1 output outside the stage 2 input range (32 bits): stage 2 F_TRANSLATION.
    let e = rig.event(1, 0x6010, false);
    check(
        &e,
        id::F_TRANSLATION,
        true,
        FaultClass::In,
        0x1_0000_0000,
        0x6010,
        false,
    );
    // Stage 1 output IPA with no stage 2 mapping.
    let e = rig.event(1, 0x2010, true);
    check(
        &e,
        id::F_TRANSLATION,
        true,
        FaultClass::In,
        DATA_IPA + 0x2000,
        0x2010,
        true,
    );
}

#[test]
fn permissions_intersect() {
    let rig = Rig::new();
    // S1 RW, S2 RO.
    assert_eq!(rig.ok(1, None, 0x1000, false).perms, DmaPerms::RO);
    let e = rig.event(1, 0x1008, true);
    check(
        &e,
        id::F_PERMISSION,
        true,
        FaultClass::In,
        DATA_IPA + 0x1000,
        0x1008,
        true,
    );
    assert!(
        !e.fault().ttrnw(),
        "TTRnW is only meaningful for CLASS = TT"
    );
    // S1 RO, S2 RW: the stage 1 fault comes first and has no IPA.
    assert_eq!(rig.ok(1, None, 0x3000, false).perms, DmaPerms::RO);
    let e = rig.event(1, 0x3000, true);
    check(&e, id::F_PERMISSION, false, FaultClass::In, 0, 0x3000, true);
    // S1 RO, S2 RO.
    assert_eq!(rig.ok(1, None, 0x5000, false).perms, DmaPerms::RO);
    // S1 RW, S2 write-only: writes pass with WO, reads fault at stage 2.
    assert_eq!(rig.ok(1, None, 0x9000, true).perms, DmaPerms::WO);
    let e = rig.event(1, 0x9000, false);
    check(
        &e,
        id::F_PERMISSION,
        true,
        FaultClass::In,
        DATA_IPA + 0x3000,
        0x9000,
        false,
    );
}

#[test]
fn stage1_faults_in_nested() {
    let rig = Rig::new();
    let e = rig.event(1, 0x4000, false);
    check(
        &e,
        id::F_TRANSLATION,
        false,
        FaultClass::In,
        0,
        0x4000,
        false,
    );
    let e = rig.event(1, 0x7000, true);
    check(&e, id::F_ACCESS, false, FaultClass::In, 0, 0x7000, true);
    // VA beyond T0SZ (39 bits).
    let e = rig.event(1, 1 << 40, false);
    check(
        &e,
        id::F_TRANSLATION,
        false,
        FaultClass::In,
        0,
        1 << 40,
        false,
    );
}

/// Stage 2 faults while fetching stage 1 descriptors: S2 = 1, CLASS = TT, IPA = the
/// descriptor's IPA, RnW of the incoming transaction (IHI 0070 §7.3.13-§7.3.16).
#[test]
fn stage2_faults_on_stage1_table_fetch() {
    let rig = Rig::new();
    let va = 0x20_3000;
    let e = rig.event(1, va, true);
    check(
        &e,
        id::F_TRANSLATION,
        true,
        FaultClass::Ttd,
        IPA_BASE + 0x4000,
        va,
        true,
    );
    let va = 0x40_3000;
    let e = rig.event(1, va, true);
    check(
        &e,
        id::F_PERMISSION,
        true,
        FaultClass::Ttd,
        IPA_BASE + 0x5000,
        va,
        true,
    );
    assert!(e.fault().ttrnw(), "the descriptor read faulted");
    let va = 0x80_1000;
    let e = rig.event(1, va, false);
    check(
        &e,
        id::F_ACCESS,
        true,
        FaultClass::Ttd,
        IPA_BASE + 0x8000,
        va,
        false,
    );
    let va = 0xc0_1000;
    let e = rig.event(1, va, false);
    check(
        &e,
        id::F_ADDR_SIZE,
        true,
        FaultClass::Ttd,
        IPA_BASE + 0x9000,
        va,
        false,
    );
}

/// External aborts: a stage 1 descriptor whose IPA translates to a PA that aborts
/// (S2 = 0, CLASS = TT), and stage 2 descriptors that abort while translating the
/// input IPA (CLASS = IN), a stage 1 descriptor IPA (TT) or a CD IPA (CD), all S2 = 1,
/// FetchAddr = the PA that aborted (IHI 0070 §7.3.12).
#[test]
fn walk_external_aborts() {
    let rig = Rig::new();
    let va = 0x60_2000;
    let f = rig.fault(1, None, va, false);
    assert_eq!(f.kind, DmaFaultKind::WalkError);
    let e = f.event.unwrap();
    check(
        &e,
        id::F_WALK_EABT,
        false,
        FaultClass::Ttd,
        0x1_0000_1010,
        va,
        false,
    );
    let e = rig.event(1, 0x8000, true);
    check(
        &e,
        id::F_WALK_EABT,
        true,
        FaultClass::In,
        S2_L3_ABSENT,
        0x8000,
        true,
    );
    let va = 0xe0_0000;
    let e = rig.event(1, va, false);
    check(
        &e,
        id::F_WALK_EABT,
        true,
        FaultClass::Ttd,
        S2_L3_ABSENT + 8,
        va,
        false,
    );
    rig.ste(1, 0x4040_2000, Rig::w1(), Rig::w2());
    let e = rig.event(1, 0, false);
    check(
        &e,
        id::F_WALK_EABT,
        true,
        FaultClass::Cd,
        S2_L3_ABSENT + 16,
        0,
        false,
    );
}

#[test]
fn stage2_faults_on_cd_fetch() {
    let rig = Rig::new();
    // CD table IPA not mapped at stage 2: F_TRANSLATION, CLASS = CD, IPA = CD address.
    rig.ste(1, IPA_BASE + 0x7000, Rig::w1(), Rig::w2());
    let e = rig.event(1, 0x1234, true);
    check(
        &e,
        id::F_TRANSLATION,
        true,
        FaultClass::Cd,
        IPA_BASE + 0x7000,
        0x1234,
        true,
    );
    // CD IPA translating to a PA that aborts: F_CD_FETCH with the PA.
    rig.ste(1, IPA_BASE + 0xa000, Rig::w1(), Rig::w2());
    let f = rig.fault(1, None, 0x1234, true);
    assert_eq!(f.kind, DmaFaultKind::WalkError);
    let e = f.event.unwrap();
    assert_eq!(e.event_type(), id::F_CD_FETCH);
    assert_eq!(e.addr3(), 0x1_0000_2000);
    // An invalid CD reached through stage 2: C_BAD_CD.
    rig.ste(1, CD_IPA, Rig::w1(), Rig::w2());
    rig.w_ipa(CD_IPA, 0);
    assert_eq!(rig.event(1, 0, false).event_type(), id::C_BAD_CD);
}

#[test]
fn substreams_in_nested() {
    let rig = Rig::new();
    // SSID 1 selects CD 1; its faults carry SSV and the SubstreamID.
    assert_eq!(rig.ok(1, Some(1), 0x10, true).gpa, DATA_PA + 0x10);
    let e = rig.fault(1, Some(1), 0x4000, false).event.unwrap();
    assert!(e.w0().ssv());
    assert_eq!(e.w0().ssid(), 1);
    // No SSID with S1DSS = SUBSTREAM0: CD 0.
    assert_eq!(rig.ok(1, None, 0x10, true).gpa, DATA_PA + 0x10);
    // SSID 0 with S1DSS = SUBSTREAM0: CD 0 is reserved, F_STREAM_DISABLED with only
    // the StreamID recorded.
    let f = rig.fault(1, Some(0), 0x10, true);
    assert_eq!(f.kind, DmaFaultKind::Blocked);
    let e = f.event.unwrap();
    assert_eq!(e.0, [(1u64 << 32) | id::F_STREAM_DISABLED as u64, 0, 0, 0]);
    // SSID beyond S1CDMax: C_BAD_SUBSTREAMID, SubstreamID recorded, bit 11 RES0.
    let e = rig.fault(1, Some(2), 0x10, true).event.unwrap();
    assert_eq!(e.event_type(), id::C_BAD_SUBSTREAMID);
    assert_eq!((e.w0().ssid(), e.w0().ssv()), (2, false));
}

#[test]
fn record_flags_and_privilege() {
    let rig = Rig::new();
    // S2R = 0: stage 2 faults (any class) are silent; stage 1 faults still recorded.
    rig.ste(1, CD_IPA, Rig::w1(), Rig::w2().with_s2r(false));
    let f = rig.fault(1, None, 0x1008, true);
    assert_eq!((f.kind, f.event), (DmaFaultKind::Permission, None));
    assert_eq!(rig.fault(1, None, 0x20_3000, false).event, None);
    assert!(rig.fault(1, None, 0x4000, false).event.is_some());
    // External aborts are recorded regardless of S2R.
    assert!(rig.fault(1, None, 0x8000, false).event.is_some());
    // CD.R = 0: stage 1 faults silent, stage 2 faults still recorded (S2R = 1).
    rig.ste(1, CD_IPA, Rig::w1(), Rig::w2());
    rig.cd(CD_IPA, false);
    assert_eq!(rig.fault(1, None, 0x4000, false).event, None);
    assert!(rig.fault(1, None, 0x1008, true).event.is_some());
    // STE.PRIVCFG = privileged: PnU = 1 in records.
    rig.cd(CD_IPA, true);
    rig.ste(1, CD_IPA, Rig::w1().with_privcfg(3), Rig::w2());
    let e = rig.event(1, 0x1008, true);
    assert!(e.fault().pnu());
}

/// Stage 2-only and bypass streams: an input beyond the IAS (= OAS) is a stage 1
/// Address Size fault; inside the IAS but beyond S2T0SZ a stage 2 Translation fault
/// (IHI 0070 §3.4).
#[test]
fn stage1_bypass_address_checks() {
    let rig = Rig::new();
    let w0 = Ste0::new().with_v(true).with_config(config::S2_TRANS);
    rig.w(STRTAB + 2 * 64, w0.into_bits());
    rig.w(STRTAB + 2 * 64 + 16, Rig::w2().into_bits());
    rig.w(STRTAB + 2 * 64 + 24, S2_L1);
    let t = rig.ok(2, None, DATA_IPA + 0x123, true);
    assert_eq!((t.gpa, t.perms), (DATA_PA + 0x123, DmaPerms::RW));
    let e = rig.fault(2, None, 1 << 48, false).event.unwrap();
    assert_eq!(e.event_type(), id::F_ADDR_SIZE);
    assert!(!e.fault().s2());
    assert_eq!(e.fault().class(), FaultClass::In as u8);
    assert_eq!(e.input_addr(), 1 << 48);
    let e = rig.fault(2, None, 1 << 40, false).event.unwrap();
    assert_eq!(e.event_type(), id::F_TRANSLATION);
    assert!(e.fault().s2());
    assert_eq!(e.addr3(), 1 << 40);
    // A SubstreamID without stage 1.
    let e = rig.fault(2, Some(3), 0, false).event.unwrap();
    assert_eq!(e.event_type(), id::C_BAD_SUBSTREAMID);
    // Bypass STE: the OAS still applies.
    let w0 = Ste0::new().with_v(true).with_config(config::BYPASS);
    rig.w(STRTAB + 3 * 64, w0.into_bits());
    assert_eq!(rig.ok(3, None, (1 << 48) - 1, true).gpa, (1 << 48) - 1);
    let f = rig.fault(3, None, 1 << 48, true);
    assert_eq!(f.kind, DmaFaultKind::AddressSize);
    assert_eq!(f.event.unwrap().event_type(), id::F_ADDR_SIZE);
    // S1DSS = BYPASS in a nested STE: stage 1 skipped, the input is the IPA.
    rig.ste(1, CD_IPA, Ste1::new().with_s1dss(s1dss::BYPASS), Rig::w2());
    assert_eq!(rig.ok(1, None, DATA_IPA, false).gpa, DATA_PA);
    assert_eq!(
        rig.fault(1, None, 1 << 50, false)
            .event
            .unwrap()
            .event_type(),
        id::F_ADDR_SIZE
    );
}
