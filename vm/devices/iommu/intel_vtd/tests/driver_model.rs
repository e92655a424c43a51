//! Drives the unit the way Linux's `drivers/iommu/intel/` does at boot (IR setup in
//! `intel_setup_irq_remapping` / `iommu_enable_irq_remapping`, then `init_dmars`,
//! `dmar_set_interrupt`, context mapping and `iommu_enable_translation`), then
//! translates DMA, remaps MSIs and IOAPIC messages, and handles a fault the way
//! `dmar_fault` does.

mod common;

use common::Harness;
use intel_vtd::spec::irte::Irte;
use intel_vtd::spec::qi::ContextInvDesc;
use intel_vtd::spec::qi::IecInvDesc;
use intel_vtd::spec::qi::IotlbInvDesc;
use intel_vtd::spec::regs;
use intel_vtd::spec::regs::Cap;
use intel_vtd::spec::regs::Ecap;
use intel_vtd::spec::tables::ContextEntry;
use intel_vtd::spec::tables::RootEntry;
use intel_vtd::spec::tables::SlPte;
use intel_vtd::VtdConfig;
use iommu_common::DmaAccess;
use iommu_common::DmaFaultKind;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::MsiMessage;
use iommu_common::MsiRemapper;
use iommu_common::RequesterId;

const TE: u32 = 1 << 31;
const SRTP: u32 = 1 << 30;
const QIE: u32 = 1 << 26;
const IRE: u32 = 1 << 25;
const SIRTP: u32 = 1 << 24;
const CFI: u32 = 1 << 23;

const DEV_A: u16 = 0x0018; // 00:03.0, translated
const DEV_B: u16 = 0x0020; // 00:04.0, identity (iommu=pt style)
const IOAPIC_SID: u16 = 0xf0f8; // f0:1f.0, as in the DMAR IOAPIC scope

fn rid(bdf: u16) -> RequesterId {
    RequesterId::new(0, bdf)
}

/// Builds a 4-level second-level table mapping `iova` → `gpa` (4 KiB).
fn map_4k(h: &Harness, root: u64, iova: u64, gpa: u64, w: bool) {
    let mut table = root;
    for level in (2..=4u32).rev() {
        let slot = table + ((iova >> (12 + 9 * (level - 1))) & 511) * 8;
        let mut b = [0; 8];
        h.mem.read_at(slot, &mut b).unwrap();
        let pte = SlPte::from(u64::from_le_bytes(b));
        table = if pte.present() {
            pte.addr() << 12
        } else {
            let t = h.alloc();
            h.write_u64(
                slot,
                SlPte::new()
                    .with_r(true)
                    .with_w(true)
                    .with_addr(t >> 12)
                    .into_bits(),
            );
            t
        };
    }
    let slot = table + ((iova >> 12) & 511) * 8;
    h.write_u64(
        slot,
        SlPte::new()
            .with_r(true)
            .with_w(w)
            .with_addr(gpa >> 12)
            .into_bits(),
    );
}

fn iec_index(index: u16, mask: u8) -> u128 {
    IecInvDesc::new()
        .with_type_lo(4)
        .with_g(true)
        .with_iidx(index)
        .with_im(mask)
        .into_bits()
}

fn remappable_msi(index: u16) -> MsiMessage {
    // Linux's MSI_ADDR_IR_EXT_INT | MSI_ADDR_IR_SHV | index, subhandle 0.
    let address = 0xfee0_0000
        | (1 << 4)
        | (1 << 3)
        | (u64::from(index & 0x7fff) << 5)
        | (u64::from(index >> 15) << 2);
    MsiMessage { address, data: 0 }
}

#[test]
fn linux_boot_order_then_dma_msi_and_faults() {
    let h = Harness::new(VtdConfig::default());

    // --- alloc_iommu / map_iommu: capabilities.
    let cap = Cap::from(h.r64(regs::CAP));
    let ecap = Ecap::from(h.r64(regs::ECAP));
    assert!(ecap.qi() && ecap.ir() && ecap.eim() && ecap.pt() && ecap.c());
    assert_eq!(cap.sagaw() & 0b100, 0b100, "4-level tables");
    assert_eq!(u64::from(cap.fro()) * 16, regs::FRCD_BASE);
    assert_eq!(u64::from(ecap.iro()) * 16, regs::IVA);
    let nfr = usize::from(cap.nfr()) + 1;
    assert!(nfr >= 8);
    let mut gcmd = h.gsts() & (TE | QIE | IRE);
    assert_eq!(gcmd, 0);

    // --- intel_setup_irq_remapping: clear faults, (re)enable QI, set the table.
    assert_eq!(h.r32(regs::FSTS), 0, "no 'DRHD: handling fault' at boot");
    h.enable_qi(&mut gcmd);
    let ir_table = h.alloc_pages(256); // 65536 entries × 16 bytes
    h.w64(regs::IRTA, ir_table | (1 << 11) | 0xf);
    h.w32(regs::GCMD, gcmd | SIRTP);
    assert_ne!(h.gsts() & SIRTP, 0, "IRTPS");
    let changes = h.changes();
    assert!(changes >= 1, "SIRTP re-translates routes");
    assert!(
        h.qi_submit(&[IecInvDesc::new().with_type_lo(4).into_bits()]),
        "qi_global_iec"
    );
    assert_eq!(h.changes(), changes + 1);

    // --- iommu_enable_irq_remapping: IRE, then block compatibility format.
    gcmd |= IRE;
    h.w32(regs::GCMD, gcmd);
    let sts = h.gsts();
    assert_ne!(sts & IRE, 0);
    assert_eq!(sts & CFI, 0, "CFIS is clear at reset, nothing to block");
    assert_eq!(h.changes(), changes + 2);

    // --- init_dmars: root table, SRTP, global context + IOTLB flushes.
    let root = h.alloc();
    h.w64(regs::RTADDR, root);
    h.w32(regs::GCMD, gcmd | SRTP);
    assert_ne!(h.gsts() & SRTP, 0, "RTPS");
    assert!(h.qi_submit(&[ContextInvDesc::new().with_type_lo(1).with_g(1).into_bits()]));
    assert!(h.qi_submit(&[IotlbInvDesc::new().with_type_lo(2).with_g(1).into_bits()]));

    // --- dmar_set_interrupt: program and unmask the fault event, clear faults.
    h.w32(regs::FEDATA, 0x24);
    h.w32(regs::FEADDR, 0xfee0_1000);
    h.w32(regs::FEUADDR, 0);
    h.w32(regs::FECTL, 0);
    assert_eq!(h.r32(regs::FECTL), 0);
    assert_eq!(h.r32(regs::FSTS), 0);

    // --- domain_context_mapping_one: a translated domain and an identity one.
    let ctx = h.alloc();
    h.write_u128(
        root,
        RootEntry::new()
            .with_p(true)
            .with_ctp(ctx >> 12)
            .into_bits(),
    );
    let pgd = h.alloc();
    let buffer = 0x80_0000;
    map_4k(&h, pgd, 0xffff_f000, buffer, true);
    h.write_u128(
        ctx + u64::from(DEV_A & 0xff) * 16,
        ContextEntry::new()
            .with_p(true)
            .with_aw(2)
            .with_did(1)
            .with_slptptr(pgd >> 12)
            .into_bits(),
    );
    h.write_u128(
        ctx + u64::from(DEV_B & 0xff) * 16,
        ContextEntry::new()
            .with_p(true)
            .with_aw(2)
            .with_did(2)
            .with_tt(2)
            .into_bits(),
    );
    // CM = 0: no flush is needed for not-present → present.

    // --- iommu_enable_translation.
    gcmd |= TE;
    h.w32(regs::GCMD, gcmd);
    assert_eq!(
        h.gsts() & (TE | QIE | IRE | SRTP | SIRTP),
        TE | QIE | IRE | SRTP | SIRTP
    );

    // --- DMA.
    let t = h
        .vtd
        .translate(&DmaRequest::new(rid(DEV_A), 0xffff_f123, DmaAccess::Write))
        .unwrap();
    assert_eq!(t.gpa, buffer + 0x123);
    assert_eq!(t.valid_len(), 0x1000 - 0x123);
    let t = h
        .vtd
        .translate(&DmaRequest::new(rid(DEV_B), 0x1234_5678, DmaAccess::Read))
        .unwrap();
    assert_eq!(t.gpa, 0x1234_5678);

    // --- MSI: intel_irq_remapping_alloc + modify_irte + qi_flush_iec.
    let before = h.changes();
    let irte = Irte::new()
        .with_p(true)
        .with_vector(0x41)
        .with_dst(0x105) // x2APIC id 0x105
        .with_svt(1)
        .with_sid(DEV_A);
    h.write_u128(ir_table + 7 * 16, irte.into_bits());
    assert!(h.qi_submit(&[iec_index(7, 0)]));
    assert_eq!(h.changes(), before + 1);
    let out = h.vtd.remap(rid(DEV_A), remappable_msi(7)).unwrap();
    assert_eq!(out.msg.address, (1 << 40) | 0xfee0_5000);
    assert_eq!(out.msg.data, 0x41);
    assert!(
        h.vtd.remap(rid(DEV_B), remappable_msi(7)).is_err(),
        "source validation"
    );
    // Compatibility format is blocked (x2APIC mode).
    assert!(h
        .vtd
        .remap(
            rid(DEV_A),
            MsiMessage {
                address: 0xfee0_0000,
                data: 0x41
            }
        )
        .is_err());

    // --- IOAPIC pin: RTE bits 63:48 → address 19:4, RTE bit 11 → address 2.
    let ioapic_irte = Irte::new()
        .with_p(true)
        .with_vector(0x30)
        .with_tm(true)
        .with_svt(1)
        .with_sid(IOAPIC_SID);
    h.write_u128(ir_table + 0x8002 * 16, ioapic_irte.into_bits());
    assert!(h.qi_submit(&[iec_index(0x8002, 0)]));
    let rte: u64 = (1 << 48) | ((0x8002 & 0x7fff) << 49) | (1 << 11) | 0x30;
    let ioapic_addr = 0xfee0_0000 | (((rte >> 48) & 0xffff) << 4) | (((rte >> 11) & 1) << 2);
    let out = h
        .vtd
        .remap(
            rid(IOAPIC_SID),
            MsiMessage {
                address: ioapic_addr,
                data: 0x30,
            },
        )
        .unwrap();
    assert_eq!(out.msg.data, 0x30 | (1 << 14) | (1 << 15));
    assert!(h
        .vtd
        .remap(
            rid(DEV_A),
            MsiMessage {
                address: ioapic_addr,
                data: 0x30
            }
        )
        .is_err());

    // Those two blocked requests were recorded; service them like dmar_fault.
    let faults = dmar_fault(&h, nfr);
    assert_eq!(
        faults,
        [
            (0x26, DEV_B, 7 << 48, false),
            (0x25, DEV_A, 0, false),
            (0x26, DEV_A, 0x8002 << 48, false)
        ]
    );
    assert_eq!(h.take_msis().len(), 1, "one fault event for the batch");

    // --- A DMA fault: device reads an unmapped bus address.
    let err = h
        .vtd
        .translate(&DmaRequest::new(rid(DEV_A), 0xdead_b000, DmaAccess::Read))
        .unwrap_err();
    assert_eq!(err.kind, DmaFaultKind::Permission);
    assert_eq!(
        h.take_msis(),
        [MsiMessage {
            address: 0xfee0_1000,
            data: 0x24
        }]
    );
    assert_eq!(dmar_fault(&h, nfr), [(0x6, DEV_A, 0xdead_b000, true)]);

    // --- Unmap with a page-selective flush (strict mode), then the IOVA faults.
    let pte_clear = [0u8; 8];
    // Clear the leaf entirely.
    let leaf = {
        let mut t = pgd;
        for level in (2..=4u32).rev() {
            let mut b = [0; 8];
            h.mem
                .read_at(
                    t + ((0xffff_f000u64 >> (12 + 9 * (level - 1))) & 511) * 8,
                    &mut b,
                )
                .unwrap();
            t = SlPte::from(u64::from_le_bytes(b)).addr() << 12;
        }
        t + ((0xffff_f000u64 >> 12) & 511) * 8
    };
    h.mem.write_at(leaf, &pte_clear).unwrap();
    assert!(h.qi_submit(&[IotlbInvDesc::new()
        .with_type_lo(2)
        .with_g(3)
        .with_did(1)
        .with_am(0)
        .with_addr(0xffff_f000 >> 12)
        .into_bits()]));
    assert!(h
        .vtd
        .translate(&DmaRequest::new(rid(DEV_A), 0xffff_f000, DmaAccess::Write))
        .is_err());
    assert_eq!(dmar_fault(&h, nfr), [(0x5, DEV_A, 0xffff_f000, false)]);

    // --- Freeing the vector: clear the IRTE, flush, and the MSI is blocked.
    h.write_u128(ir_table + 7 * 16, 0);
    let before = h.changes();
    assert!(h.qi_submit(&[iec_index(7, 0)]));
    assert_eq!(h.changes(), before + 1);
    assert!(h.vtd.remap(rid(DEV_A), remappable_msi(7)).is_err());
    assert_eq!(dmar_fault(&h, nfr), [(0x22, DEV_A, 7 << 48, false)]);

    // The unit's own interrupts were delivered exactly as programmed.
    assert!(h.take_msis().iter().all(|m| *m
        == MsiMessage {
            address: 0xfee0_1000,
            data: 0x24
        }));
    // Status bits are clear (FRI is only meaningful while PPF is set).
    assert_eq!(h.r32(regs::FSTS) & 0xff, 0);
}

/// Linux's `dmar_fault`: walk records from FRI while F is set, clear each with a
/// dword write to offset 12, then write PFO|PPF|PRO to FSTS. Returns (reason, sid,
/// fault info, read).
fn dmar_fault(h: &Harness, nfr: usize) -> Vec<(u8, u16, u64, bool)> {
    let fsts = h.r32(regs::FSTS);
    let mut out = Vec::new();
    if fsts & 2 == 0 {
        return out;
    }
    let mut index = ((fsts >> 8) & 0xff) as usize;
    loop {
        let base = regs::FRCD_BASE + index as u64 * 16;
        let d3 = h.r32(base + 12);
        if d3 & (1 << 31) == 0 {
            break;
        }
        let reason = (d3 & 0xff) as u8;
        let read = (d3 >> 30) & 1 == 1;
        let sid = (h.r32(base + 8) & 0xffff) as u16;
        let addr = h.r64(base) & !0xfff;
        h.w32(base + 12, 1 << 31);
        out.push((reason, sid, addr, read));
        index = (index + 1) % nfr;
    }
    h.w32(regs::FSTS, 0b1000_0011);
    assert_eq!(h.r32(regs::FSTS) & 0b11, 0);
    out
}

#[test]
fn intremap_off_and_register_invalidation() {
    // intremap=off: Linux enables QI in init_dmars only if it likes; a driver
    // without QI uses CCMD / IOTLB registers.
    let h = Harness::new(VtdConfig {
        intremap: false,
        eim: false,
        ..Default::default()
    });
    let ecap = Ecap::from(h.r64(regs::ECAP));
    assert!(!ecap.ir() && !ecap.eim());
    let root = h.alloc();
    h.w64(regs::RTADDR, root);
    h.w32(regs::GCMD, SRTP);
    // __iommu_flush_context (global) and __iommu_flush_iotlb (global, then PSI).
    h.w64(regs::CCMD, (1 << 63) | (1 << 61));
    let ccmd = h.r64(regs::CCMD);
    assert_eq!((ccmd >> 63, (ccmd >> 59) & 3), (0, 1));
    h.w64(regs::IOTLB, (1 << 63) | (1 << 60));
    let iotlb = h.r64(regs::IOTLB);
    assert_eq!((iotlb >> 63, (iotlb >> 57) & 3), (0, 1));
    h.w64(regs::IVA, 0x1000_0000 | 4);
    h.w64(regs::IOTLB, (1 << 63) | (3 << 60) | (5 << 32));
    assert_eq!((h.r64(regs::IOTLB) >> 57) & 3, 3);
    // IR commands are ignored; MSIs pass untouched.
    h.w32(regs::GCMD, IRE | SIRTP);
    assert_eq!(h.gsts() & (IRE | SIRTP), 0);
    let m = MsiMessage {
        address: 0xfee0_0000,
        data: 0x33,
    };
    assert_eq!(h.vtd.remap(rid(8), m).unwrap().msg, m);
    assert_eq!(h.changes(), 0);
}

#[test]
fn dma_translation_off_still_remaps() {
    // SAGAW = 0: Linux prints "No supported address widths" and uses the unit for
    // interrupt remapping only.
    let h = Harness::new(VtdConfig {
        dma_translation: false,
        ..Default::default()
    });
    assert_eq!(Cap::from(h.r64(regs::CAP)).sagaw(), 0);
    assert!(!Ecap::from(h.r64(regs::ECAP)).pt());
    let mut gcmd = 0;
    h.enable_qi(&mut gcmd);
    let ir_table = h.alloc();
    h.w64(regs::IRTA, ir_table | (1 << 11) | 7);
    h.w32(regs::GCMD, gcmd | SIRTP);
    gcmd |= IRE;
    h.w32(regs::GCMD, gcmd);
    h.write_u128(
        ir_table + 16,
        Irte::new()
            .with_p(true)
            .with_vector(0x50)
            .with_dst(3)
            .into_bits(),
    );
    assert!(h.qi_submit(&[iec_index(1, 0)]));
    let out = h.vtd.remap(rid(0x10), remappable_msi(1)).unwrap();
    assert_eq!(
        out.msg,
        MsiMessage {
            address: 0xfee0_3000,
            data: 0x50
        }
    );
    // DMA is untranslated while TE is clear.
    let t = h
        .vtd
        .translate(&DmaRequest::new(rid(0x10), 0x4000, DmaAccess::Read))
        .unwrap();
    assert_eq!(t.gpa, 0x4000);
}
