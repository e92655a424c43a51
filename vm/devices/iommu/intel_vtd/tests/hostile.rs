//! Regression tests for every VT-d entry of `shared/hostile-inputs.md` (and the
//! "All" section): the unit answers architecturally and keeps running.

mod common;

use common::Harness;
use common::RAM;
use intel_vtd::spec::irte::Irte;
use intel_vtd::spec::qi::IotlbInvDesc;
use intel_vtd::spec::qi::WaitDesc;
use intel_vtd::spec::regs;
use intel_vtd::spec::tables::ContextEntry;
use intel_vtd::spec::tables::RootEntry;
use intel_vtd::spec::tables::SlPte;
use intel_vtd::VtdConfig;
use iommu_common::DmaAccess;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::MsiMessage;
use iommu_common::MsiRemapper;
use iommu_common::RequesterId;

const TE: u32 = 1 << 31;
const SRTP: u32 = 1 << 30;
const WBF: u32 = 1 << 27;
const QIE: u32 = 1 << 26;
const IRE: u32 = 1 << 25;
const SIRTP: u32 = 1 << 24;
const IQE: u32 = 1 << 4;

fn rid(bdf: u16) -> RequesterId {
    RequesterId::new(0, bdf)
}

fn read(h: &Harness, bdf: u16, iova: u64) -> Result<u64, iommu_common::DmaFault> {
    h.vtd
        .translate(&DmaRequest::new(rid(bdf), iova, DmaAccess::Read))
        .map(|t| t.gpa)
}

/// Reason of fault record `i`.
fn reason(h: &Harness, i: u64) -> u32 {
    h.r32(regs::FRCD_BASE + i * 16 + 12) & 0xff
}

fn wait_desc(addr: u64, data: u32) -> WaitDesc {
    WaitDesc::new()
        .with_type_lo(5)
        .with_sw(true)
        .with_status_addr(addr >> 2)
        .with_status_data(data)
}

#[test]
fn eight_byte_access_to_32_bit_registers() {
    let h = Harness::new(VtdConfig::default());
    // FECTL+FEDATA as one qword: two dword writes; IM cleared, data set.
    h.w64(regs::FECTL, 0x0000_0041_0000_0000);
    assert_eq!((h.r32(regs::FECTL), h.r32(regs::FEDATA)), (0, 0x41));
    // IECTL+IEDATA likewise; IEADDR+IEUADDR.
    h.w64(regs::IECTL, 0x0000_0042_8000_0000);
    assert_eq!((h.r32(regs::IECTL), h.r32(regs::IEDATA)), (1 << 31, 0x42));
    h.w64(regs::IEADDR, 0x0000_0001_fee0_0003);
    assert_eq!(
        (h.r32(regs::IEADDR), h.r32(regs::IEUADDR)),
        (0xfee0_0000, 1)
    );
    assert_eq!(h.r64(regs::IEADDR), 0x1_fee0_0000);
    // FEDATA is not qword aligned: the access is ignored.
    h.w64(regs::FEDATA, u64::MAX);
    assert_eq!(h.r32(regs::FEDATA), 0x41);
    // FSTS sits in the upper half of qword 0x30: RW1C still applies.
    h.w64(0x30, u64::MAX);
    assert_eq!(h.r32(regs::FSTS), 0);
}

#[test]
fn narrow_misaligned_and_out_of_range_accesses() {
    let h = Harness::new(VtdConfig::default());
    for (off, len) in [
        (regs::GCMD, 1),
        (regs::GCMD, 2),
        (regs::GCMD + 1, 4),
        (regs::RTADDR + 4, 8),
        (regs::GCMD, 3),
        (regs::GCMD, 16),
    ] {
        h.vtd.mmio_write(off, &vec![0xff; len]);
        let mut b = vec![0xaa; len];
        h.vtd.mmio_read(off, &mut b);
        assert!(b.iter().all(|&x| x == 0), "{off:#x}/{len}");
    }
    assert_eq!(h.gsts(), 0);
    assert_eq!(h.r64(regs::RTADDR), 0);
    // Past the last register and past the page.
    let last_frcd_end = regs::FRCD_BASE + 8 * 16;
    for off in [
        last_frcd_end,
        last_frcd_end + 8,
        0xff8,
        0x1000,
        0x1_0000,
        u64::MAX - 7,
        u64::MAX,
    ] {
        h.vtd.mmio_write(off, &[0xff; 8]);
        h.vtd.mmio_write(off, &[0xff; 4]);
        let mut b = [0xaa; 8];
        h.vtd.mmio_read(off, &mut b);
        assert_eq!(b, [0; 8], "{off:#x}");
    }
    assert!(h.vtd.stats().bad_accesses >= 6);
}

#[test]
fn wait_with_both_status_write_and_interrupt() {
    let h = Harness::new(VtdConfig::default());
    let mut gcmd = 0;
    h.enable_qi(&mut gcmd);
    h.w32(regs::IEDATA, 0x55);
    h.w32(regs::IEADDR, 0xfee0_0000);
    h.w32(regs::IECTL, 0);
    let status = h.alloc();
    h.write_u128(
        h.iq_base,
        wait_desc(status, 0x1234).with_if_flag(true).into_bits(),
    );
    h.w32(regs::IQT, 0x10);
    assert_eq!(h.read_u32(status), 0x1234, "status written");
    assert_eq!(
        h.take_msis(),
        [MsiMessage {
            address: 0xfee0_0000,
            data: 0x55
        }],
        "interrupt sent"
    );
    assert_eq!(h.r32(regs::ICS), 1);
    h.w32(regs::ICS, 1);
    assert_eq!(h.r32(regs::ICS), 0);
    // Masked: IP held until unmasked.
    h.w32(regs::IECTL, 1 << 31);
    h.write_u128(
        h.iq_base + 16,
        wait_desc(status, 7).with_if_flag(true).into_bits(),
    );
    h.w32(regs::IQT, 0x20);
    assert!(h.take_msis().is_empty());
    assert_eq!(h.r32(regs::IECTL), 0xc000_0000);
    h.w32(regs::IECTL, 0);
    assert_eq!(h.take_msis().len(), 1);
}

/// Enables IR with a table of `2^(s+1)` entries at `base`.
fn enable_ir(h: &Harness, base: u64, s: u64) {
    h.w64(regs::IRTA, base | (1 << 11) | s);
    h.w32(regs::GCMD, SIRTP);
    h.w32(regs::GCMD, IRE);
}

#[test]
fn irte_index_beyond_table_size_is_not_read() {
    let h = Harness::new(VtdConfig::default());
    // A 2-entry table in the last 32 bytes of RAM: reading entry 2 would fail with
    // reason 0x23, so 0x21 proves it was never read.
    let base = RAM - 0x1000;
    enable_ir(&h, base, 0);
    h.write_u128(
        base + 0xfe0 - 0xfe0,
        Irte::new().with_p(true).with_vector(0x20).into_bits(),
    );
    let addr = |index: u64| 0xfee0_0010 | (index << 5);
    assert!(h
        .vtd
        .remap(
            rid(0),
            MsiMessage {
                address: addr(0),
                data: 0
            }
        )
        .is_ok());
    for index in [2, 255, 0x7fff] {
        assert!(h
            .vtd
            .remap(
                rid(0),
                MsiMessage {
                    address: addr(index),
                    data: 0
                }
            )
            .is_err());
    }
    // Subhandle arithmetic past 16 bits.
    let shv = MsiMessage {
        address: addr(0x7fff) | (1 << 2) | (1 << 3),
        data: 0xffff,
    };
    assert!(h.vtd.remap(rid(0), shv).is_err());
    for i in 0..4 {
        assert_eq!(reason(&h, i), 0x21);
    }
    assert_eq!(h.r64(regs::FRCD_BASE + 16) >> 48, 255);
}

#[test]
fn queue_tail_hostility() {
    let h = Harness::new(VtdConfig::default());
    let status = h.alloc();
    // Tail written before QIE: held, processed when QIE is set.
    h.write_u128(h.iq_base, wait_desc(status, 1).into_bits());
    h.w64(regs::IQA, h.iq_base);
    h.w32(regs::IQT, 0x10);
    assert_eq!(h.read_u32(status), 0);
    h.w32(regs::GCMD, QIE);
    assert_eq!(h.read_u32(status), 1);
    assert_eq!(h.r64(regs::IQH), 0x10);
    // Tail not a multiple of the descriptor size: bits 3:0 are RsvdZ.
    h.write_u128(h.iq_base + 16, wait_desc(status, 2).into_bits());
    h.w64(regs::IQT, 0x2f);
    assert_eq!(h.r64(regs::IQT), 0x20);
    assert_eq!(h.read_u32(status), 2);
    // Tail ≥ queue size (256 entries): IQE, head unchanged.
    h.w64(regs::IQT, 256 << 4);
    assert_ne!(h.r32(regs::FSTS) & IQE, 0);
    assert_eq!(h.r64(regs::IQH), 0x20);
    // Clearing IQE with the bad tail still there faults again; fix the tail first.
    h.w32(regs::FSTS, IQE);
    assert_ne!(h.r32(regs::FSTS) & IQE, 0);
    h.w64(regs::IQT, 0x20);
    h.w32(regs::FSTS, IQE);
    assert_eq!(h.r32(regs::FSTS) & IQE, 0);
    // DW=1 asks for 256-bit descriptors: RsvdZ here, the queue stays 128-bit.
    h.w32(regs::GCMD, 0);
    h.w64(regs::IQA, h.iq_base | (1 << 11));
    assert_eq!(h.r64(regs::IQA) & (1 << 11), 0);
    h.w32(regs::IQT, 0);
    h.w32(regs::GCMD, QIE);
    h.write_u128(h.iq_base + 16, wait_desc(status, 3).into_bits());
    h.w32(regs::IQT, 0x10);
    h.w32(regs::IQT, 0x20);
    assert_eq!(h.read_u32(status), 3);
    assert_eq!(h.r32(regs::FSTS) & IQE, 0);
}

#[test]
fn bad_descriptors_raise_iqe_with_head_on_them() {
    let h = Harness::new(VtdConfig::default());
    h.w32(regs::FEDATA, 0x21);
    h.w32(regs::FEADDR, 0xfee0_0000);
    h.w32(regs::FECTL, 0);
    let mut gcmd = 0;
    h.enable_qi(&mut gcmd);
    let status = h.alloc();
    let good = wait_desc(status, 9).into_bits();
    for (i, bad) in [
        0xf_u128,                     // unknown type
        0x3,                          // device-TLB without ECAP.DT
        good | (1 << 8),              // reserved bit in a wait descriptor
        good | (1u128 << 64),         // reserved status address bit 0
        (1 << 4) | 2 | (1u128 << 72), // IOTLB with reserved bit 72 (hi bit 8)
    ]
    .into_iter()
    .enumerate()
    {
        let head = h.r64(regs::IQH) >> 4;
        h.write_u128(h.iq_base + head * 16, bad);
        h.write_u128(h.iq_base + (head + 1) * 16, good);
        h.w32(regs::IQT, ((head + 2) << 4) as u32);
        assert_ne!(h.r32(regs::FSTS) & IQE, 0, "case {i}");
        assert_eq!(
            h.r64(regs::IQH) >> 4,
            head,
            "head stays on the bad descriptor"
        );
        assert_eq!(h.take_msis().len(), 1, "IQE raises the fault event");
        // Linux's fix-up: overwrite the bad descriptor, clear IQE; the queue resumes.
        h.write_u128(h.iq_base + head * 16, good);
        h.w32(regs::FSTS, IQE);
        assert_eq!(h.r64(regs::IQH) >> 4, head + 2);
    }
}

#[test]
fn page_selective_mask_above_mamv() {
    let h = Harness::new(VtdConfig::default());
    let mamv = (h.r64(regs::CAP) >> 48) & 0x3f;
    // Register-based: rejected with IAIG = 0.
    h.w64(regs::IVA, mamv + 1);
    h.w64(regs::IOTLB, (1 << 63) | (3 << 60));
    let iotlb = h.r64(regs::IOTLB);
    assert_eq!((iotlb >> 63, (iotlb >> 57) & 3), (0, 0), "done, rejected");
    h.w64(regs::IVA, mamv);
    h.w64(regs::IOTLB, (1 << 63) | (3 << 60));
    assert_eq!(h.r64(regs::IOTLB) >> 57 & 3, 3);
    // Queued: IQE.
    let mut gcmd = 0;
    h.enable_qi(&mut gcmd);
    let psi = IotlbInvDesc::new()
        .with_type_lo(2)
        .with_g(3)
        .with_am(mamv as u8 + 1);
    assert!(!h.qi_submit(&[psi.into_bits()]));
    assert_ne!(h.r32(regs::FSTS) & IQE, 0);
}

/// A unit with translation on and root table `root`.
fn translating(h: &Harness, root: u64) {
    h.w64(regs::RTADDR, root);
    h.w32(regs::GCMD, SRTP);
    h.w32(regs::GCMD, TE);
}

#[test]
fn pointers_beyond_ram_and_reserved_bits() {
    let h = Harness::new(VtdConfig {
        fault_records: 32,
        ..Default::default()
    });
    // Root table beyond RAM.
    translating(&h, 0x40_0000_0000);
    assert!(read(&h, 0x10, 0).is_err());
    assert_eq!(reason(&h, 0), 0x8);
    // Context table beyond RAM; reserved root bits; reserved context bits; bad AW;
    // page table beyond RAM; reserved PTE bits.
    let root = h.alloc();
    let ctx = h.alloc();
    translating(&h, root);
    h.write_u128(
        root + 16,
        RootEntry::new()
            .with_p(true)
            .with_ctp(0x40_0000)
            .into_bits(),
    );
    h.write_u128(
        root + 2 * 16,
        RootEntry::new()
            .with_p(true)
            .with_ctp(ctx >> 12)
            .with_rsvd_lo(0x10)
            .into_bits(),
    );
    h.write_u128(
        root,
        RootEntry::new()
            .with_p(true)
            .with_ctp(ctx >> 12)
            .into_bits(),
    );
    let pt = h.alloc();
    h.write_u128(
        ctx,
        ContextEntry::new()
            .with_p(true)
            .with_aw(2)
            .with_slptptr(pt >> 12)
            .with_rsvd2(1)
            .into_bits(),
    );
    h.write_u128(
        ctx + 16,
        ContextEntry::new()
            .with_p(true)
            .with_aw(4)
            .with_slptptr(pt >> 12)
            .into_bits(),
    );
    h.write_u128(
        ctx + 32,
        ContextEntry::new()
            .with_p(true)
            .with_aw(2)
            .with_slptptr(0x40_0000)
            .into_bits(),
    );
    h.write_u128(
        ctx + 48,
        ContextEntry::new()
            .with_p(true)
            .with_aw(2)
            .with_slptptr(pt >> 12)
            .into_bits(),
    );
    h.write_u64(pt, SlPte::new().with_r(true).with_addr(1 << 39).into_bits());
    for (bdf, expect) in [
        (0x0100, 0x9),
        (0x0200, 0xa),
        (0x0000, 0xb),
        (0x0001, 0x3),
        (0x0002, 0x7),
        (0x0003, 0xc),
    ] {
        assert!(read(&h, bdf, 0).is_err(), "{bdf:#x}");
        let n = h.vtd.stats().faults_recorded - 1;
        assert_eq!(reason(&h, n), expect, "{bdf:#x}");
    }
}

#[test]
fn page_tables_pointing_at_themselves() {
    let h = Harness::new(VtdConfig::default());
    let root = h.alloc();
    let ctx = h.alloc();
    let pt = h.alloc();
    translating(&h, root);
    h.write_u128(
        root,
        RootEntry::new()
            .with_p(true)
            .with_ctp(ctx >> 12)
            .into_bits(),
    );
    h.write_u128(
        ctx,
        ContextEntry::new()
            .with_p(true)
            .with_aw(2)
            .with_slptptr(pt >> 12)
            .into_bits(),
    );
    // Every slot of the table points back at the table.
    for i in 0..512 {
        h.write_u64(
            pt + i * 8,
            SlPte::new()
                .with_r(true)
                .with_w(true)
                .with_addr(pt >> 12)
                .into_bits(),
        );
    }
    // Four reads, then the walk ends: the loop maps the table page itself.
    assert_eq!(read(&h, 0, 0xffff_ffff_f123).unwrap(), pt + 0x123);
    // A root entry whose context pointer is the root table: bounded too.
    h.write_u128(
        root + 16,
        RootEntry::new()
            .with_p(true)
            .with_ctp(root >> 12)
            .into_bits(),
    );
    assert!(read(&h, 0x0100, 0).is_err());
}

#[test]
fn several_one_shots_and_te_before_srtp() {
    let h = Harness::new(VtdConfig::default());
    // TE before SRTP: enabled, but DMA is blocked and recorded (reason 8).
    h.w32(regs::GCMD, TE);
    assert_eq!(h.gsts() & (TE | SRTP), TE);
    assert!(read(&h, 0x10, 0x1000).is_err());
    assert_eq!(reason(&h, 0), 0x8);
    // All one-shots in one write: every pointer latched, WBF completes at once.
    let root = h.alloc();
    h.w64(regs::RTADDR, root);
    h.w64(regs::IRTA, h.alloc() | 3);
    let before = h.changes();
    h.w32(regs::GCMD, TE | SRTP | SIRTP | WBF);
    assert_eq!(h.gsts(), TE | SRTP | SIRTP);
    assert_eq!(h.changes(), before + 1);
    // Root now latched: the same request faults on the root entry instead.
    assert!(read(&h, 0x10, 0x1000).is_err());
    assert_eq!(reason(&h, 1), 0x1);
}

#[test]
fn fault_storm_overflows_and_masked_faults_pend() {
    let h = Harness::new(VtdConfig::default());
    h.w32(regs::FEDATA, 0x30);
    h.w32(regs::FEADDR, 0xfee0_0000);
    // IM is set at reset: faults pend with IP.
    h.w32(regs::GCMD, TE);
    for i in 0..1000u64 {
        assert!(read(&h, (i & 0xffff) as u16, i << 12).is_err());
    }
    assert!(h.take_msis().is_empty());
    assert_eq!(h.r32(regs::FECTL), 0xc000_0000);
    let fsts = h.r32(regs::FSTS);
    assert_eq!(fsts & 0b11, 0b11, "PPF and PFO");
    let stats = h.vtd.stats();
    assert_eq!(stats.faults_recorded, 8);
    assert_eq!(stats.faults_overflowed, 992);
    // Unmasking delivers the one pending interrupt.
    h.w32(regs::FECTL, 0);
    assert_eq!(h.take_msis().len(), 1);
    // Guest-triggered log lines were rate-limited.
    let json = inspect::inspect_to_json(&*h.vtd);
    assert!(json["log"]["suppressed"].as_u64().unwrap() > 900, "{json}");
    // Service everything; the next fault records again and interrupts.
    for i in 0..8 {
        h.w32(regs::FRCD_BASE + i * 16 + 12, 1 << 31);
    }
    h.w32(regs::FSTS, 1);
    assert_eq!(h.r32(regs::FSTS) & 0b11, 0);
    assert!(read(&h, 1, 0).is_err());
    assert_eq!(h.take_msis().len(), 1);
}

#[test]
fn other_devices_unaffected_by_a_hostile_one() {
    let h = Harness::new(VtdConfig::default());
    let root = h.alloc();
    let ctx = h.alloc();
    translating(&h, root);
    h.write_u128(
        root,
        RootEntry::new()
            .with_p(true)
            .with_ctp(ctx >> 12)
            .into_bits(),
    );
    h.write_u128(
        ctx + 8 * 16,
        ContextEntry::new()
            .with_p(true)
            .with_aw(2)
            .with_tt(2)
            .into_bits(),
    );
    h.write_u128(
        ctx + 9 * 16,
        ContextEntry::new()
            .with_p(true)
            .with_aw(2)
            .with_slptptr(0x40_0000)
            .into_bits(),
    );
    for _ in 0..100 {
        assert!(read(&h, 9, 0).is_err());
    }
    assert_eq!(read(&h, 8, 0x1234).unwrap(), 0x1234);
    let _ = IRE;
}
