//! Follows Linux's drivers/iommu/amd/init.c bring-up, then translates DMA, remaps
//! MSIs and IOAPIC interrupts, and takes a fault through the event log and its MSI.

mod common;

use amd_iommu::spec::event::code;
use amd_iommu::spec::event::flags;
use amd_iommu::spec::irte::Irte128Hi;
use amd_iommu::spec::irte::Irte128Lo;
use amd_iommu::spec::irte::Irte32;
use amd_iommu::spec::regs::*;
use amd_iommu::IOAPIC_REQUESTER_BDF;
use common::*;
use iommu_common::DmaAccess;
use iommu_common::DmaFaultKind;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::MsiMessage;
use iommu_common::MsiRemapper;
use iommu_common::RequesterId;
use std::sync::atomic::Ordering;

const DEV: u16 = 0x0108; // 01:01.0

fn req(bdf: u16, iova: u64, access: DmaAccess) -> DmaRequest {
    DmaRequest::new(RequesterId::new(0, bdf), iova, access)
}

fn bring_up(xt: bool) -> Harness {
    let mut h = Harness::new(xt);
    h.linux_init();
    let st = h.status();
    assert!(st.cmd_buf_run() && st.event_log_run());
    let c = Control::from_bits(h.read64(CONTROL));
    assert!(c.iommu_en() && c.ga_en() && c.event_log_en() && c.event_int_en());
    assert_eq!(c.xt_en(), xt);
    assert_eq!(c.int_cap_xt_en(), xt);
    assert_eq!(c.inv_timeout(), 4);
    assert!(
        h.listener.0.load(Ordering::SeqCst) > 0,
        "enable and INVALIDATE_ALL notify"
    );
    assert!(h.events().is_empty());
    h
}

#[test]
fn linux_bring_up_then_dma_msi_and_faults_xapic() {
    let mut h = bring_up(false);
    // Blocked by init_device_table_dma until a domain is attached: a fault.
    assert_eq!(
        h.iommu
            .translate(&req(DEV, 0x1000, DmaAccess::Read))
            .unwrap_err()
            .kind,
        DmaFaultKind::Permission
    );
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].code, code::IO_PAGE_FAULT);
    assert_eq!(
        h.take_msis(),
        vec![MsiMessage {
            address: 0xfee0_0000,
            data: 0x24
        }]
    );
    // Linux's handler clears the status bits it saw.
    let st = h.read32(STATUS);
    h.write32(STATUS, st & 0x7);

    // Attach a three-level domain (Linux's default v1 mode) and translate.
    let root = h.alloc_table();
    h.map(root, 3, 0xfff0_0000, 0x50_0000, true, true);
    h.map(root, 3, 0x1000, 0x51_0000, true, false);
    h.set_dte(DEV, 3, root, 7);
    h.queue([u64::from(DEV) | (2u64 << 60), 0]); // INVALIDATE_DEVTAB_ENTRY
    assert!(h.sync());
    let t = h
        .iommu
        .translate(&req(DEV, 0xfff0_0abc, DmaAccess::Write))
        .unwrap();
    assert_eq!((t.gpa, t.page_size), (0x50_0abc, 0x1000));
    // Write to a read-only page: IO_PAGE_FAULT with RW, PR, PE, domain 7, the IOVA.
    let e = h
        .iommu
        .translate(&req(DEV, 0x1234, DmaAccess::Write))
        .unwrap_err();
    assert_eq!(e.kind, DmaFaultKind::Permission);
    // Unmapped address.
    assert!(h
        .iommu
        .translate(&req(DEV, 0x7777_0000, DmaAccess::Read))
        .is_err());
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    assert_eq!(
        (ev[0].code, ev[0].device_id, ev[0].domain_or_pasid),
        (code::IO_PAGE_FAULT, DEV, 7)
    );
    assert_eq!(ev[0].address, 0x1234);
    assert_eq!(ev[0].flags, flags::RW | flags::PR | flags::PE);
    assert_eq!((ev[1].address, ev[1].flags), (0x7777_0000, 0));
    // Status still shows EventLogInt (not cleared yet): one MSI for both events.
    assert_eq!(h.take_msis().len(), 1);

    // Interrupt remapping with 32-bit IRTEs (GA off), as irte_32_ops would program.
    h.feature(17, false);
    h.set_irt(DEV, IRT, 9);
    let irte = Irte32::new()
        .with_remap_en(true)
        .with_destination(3)
        .with_vector(0x51);
    h.mem.write_plain(IRT + 4 * 40, &irte.into_bits()).unwrap();
    h.queue([u64::from(DEV) | (5u64 << 60), 0]); // INVALIDATE_INTERRUPT_TABLE
    assert!(h.sync());
    let before = h.listener.0.load(Ordering::SeqCst);
    h.queue([u64::from(DEV) | (5u64 << 60), 0]);
    assert!(
        h.listener.0.load(Ordering::SeqCst) > before,
        "listener told"
    );
    // fill_msi_msg: data = index, address = 0xfee00000.
    let r = h
        .iommu
        .remap(
            RequesterId::new(0, DEV),
            MsiMessage {
                address: 0xfee0_0000,
                data: 40,
            },
        )
        .unwrap();
    assert_eq!(
        r.msg,
        MsiMessage {
            address: 0xfee0_3000,
            data: 0x51
        }
    );
}

#[test]
fn linux_bring_up_x2apic_ga_ioapic_and_event_msi() {
    let mut h = bring_up(true);
    // 128-bit IRTE with a 32-bit destination (XTEn).
    h.set_irt(DEV, IRT, 9);
    let lo = Irte128Lo::new()
        .with_remap_en(true)
        .with_destination_lo(0x00_0123);
    let hi = Irte128Hi::new().with_vector(0x61).with_destination_hi(0x02);
    h.mem
        .write_plain(IRT + 16 * 33, &[lo.into_bits(), hi.into_bits()])
        .unwrap();
    let r = h
        .iommu
        .remap(
            RequesterId::new(0, DEV),
            MsiMessage {
                address: 0xfee0_0000,
                data: 33,
            },
        )
        .unwrap();
    assert_eq!(r.msg.data, 0x61);
    assert_eq!(r.msg.address & 0xffff_ffff, 0xfee2_3000);
    assert_eq!(r.msg.address >> 40, 0x02_0001, "destination bits 31:8");

    // The IOAPIC: pin 4 uses IRTE 4 of 00:14.0's table; level trigger is kept.
    h.set_irt(IOAPIC_REQUESTER_BDF, IRT + 0x1_0000, 9);
    let lo = Irte128Lo::new().with_remap_en(true).with_destination_lo(1);
    let hi = Irte128Hi::new().with_vector(0x34);
    h.mem
        .write_plain(IRT + 0x1_0000 + 16 * 4, &[lo.into_bits(), hi.into_bits()])
        .unwrap();
    let ioapic_msg = MsiMessage {
        address: 0xfee0_0000,
        data: 4 | (1 << 15) | (1 << 14),
    };
    let r = h
        .iommu
        .remap(RequesterId::new(0, IOAPIC_REQUESTER_BDF), ioapic_msg)
        .unwrap();
    assert_eq!(
        r.msg,
        MsiMessage {
            address: 0xfee0_1000,
            data: 0x34 | 0xc000
        }
    );

    // A DMA fault lands in the log and the event interrupt goes through INTCAPXT.
    assert!(h
        .iommu
        .translate(&DmaRequest::new(
            RequesterId::new(0, DEV),
            0x9000,
            DmaAccess::Read
        ))
        .is_err());
    let msis = h.take_msis();
    assert_eq!(msis.len(), 1);
    assert_eq!(msis[0].data, 0x24);
    assert_eq!(msis[0].address & 0xffff_ffff, 0xfee5_6000);
    assert_eq!(msis[0].address >> 40, 0x01_1234);
    let ev = h.events();
    assert_eq!(
        (ev[0].code, ev[0].device_id, ev[0].address),
        (code::IO_PAGE_FAULT, DEV, 0x9000)
    );
    // Clearing the status and faulting again raises a new interrupt.
    h.write32(STATUS, 0x7);
    assert!(!h.status().event_log_int());
    assert!(h
        .iommu
        .translate(&DmaRequest::new(
            RequesterId::new(0, DEV),
            0xa000,
            DmaAccess::Read
        ))
        .is_err());
    assert_eq!(h.take_msis().len(), 1);

    // Completion wait with interrupt (store and interrupt together).
    h.feature(4, true);
    h.write32(STATUS, 0x7);
    h.sem_val += 1;
    h.queue([SEM | 0b11 | (1 << 60), h.sem_val]);
    assert_eq!(h.mem.read_plain::<u64>(SEM).unwrap(), h.sem_val);
    assert!(h.status().com_wait_int());
    assert_eq!(h.take_msis().len(), 1);
}

#[test]
fn iommu_pt_identity_domain() {
    // iommu=pt: Mode 0 with IR = IW = 1 passes through.
    let h = bring_up(false);
    h.set_dte(DEV, 0, 0, 1);
    let t = h
        .iommu
        .translate(&req(DEV, 0x1234_5678, DmaAccess::Write))
        .unwrap();
    assert_eq!(t.gpa, 0x1234_5678);
    assert!(h.events().is_empty());
}

#[test]
fn disabled_iommu_passes_everything() {
    let h = Harness::new(false);
    let t = h
        .iommu
        .translate(&req(DEV, 0xdead_0000, DmaAccess::Write))
        .unwrap();
    assert_eq!(t.gpa, 0xdead_0000);
    let m = MsiMessage {
        address: 0xfee0_0000,
        data: 0x41,
    };
    assert_eq!(h.iommu.remap(RequesterId::new(0, DEV), m).unwrap().msg, m);
    // Another segment is not this IOMMU's.
    assert!(h
        .iommu
        .translate(&DmaRequest::new(
            RequesterId::new(1, DEV),
            0,
            DmaAccess::Read
        ))
        .is_err());
}
