//! Each command of #48882 §2.4, through the MMIO doorbell.

mod common;

use amd_iommu::spec::event::code;
use amd_iommu::spec::regs::*;
use common::*;
use std::sync::atomic::Ordering;

fn up() -> Harness {
    let mut h = Harness::new(false);
    h.linux_init();
    h
}

fn notified(h: &mut Harness, cmd: [u64; 2]) -> bool {
    let before = h.listener.0.load(Ordering::SeqCst);
    h.queue(cmd);
    assert!(h.status().cmd_buf_run());
    h.listener.0.load(Ordering::SeqCst) > before
}

#[test]
fn completion_wait_store_only() {
    let mut h = up();
    h.feature(4, true);
    assert!(h.sync());
    assert!(!h.status().com_wait_int());
    assert!(h.take_msis().is_empty());
}

#[test]
fn completion_wait_interrupt_only() {
    let mut h = up();
    // Without ComWaitIntEn: status bit, no interrupt.
    h.queue([2 | (1 << 60), 0]);
    assert!(h.status().com_wait_int());
    assert!(h.take_msis().is_empty());
    h.write32(STATUS, 4);
    h.feature(4, true);
    h.queue([2 | (1 << 60), 0]);
    assert!(h.status().com_wait_int());
    assert_eq!(h.take_msis().len(), 1);
}

#[test]
fn completion_wait_reserved_bits_are_illegal() {
    let mut h = up();
    h.queue([SEM | 1 | (1 << 52) | (1 << 60), 1]);
    assert!(!h.status().cmd_buf_run());
    assert_eq!(h.events()[0].code, code::ILLEGAL_COMMAND_ERROR);
}

#[test]
fn invalidations() {
    let mut h = up();
    assert!(
        notified(&mut h, [0x0108 | (2 << 60), 0]),
        "INVALIDATE_DEVTAB_ENTRY"
    );
    assert!(
        notified(&mut h, [0x0108 | (5 << 60), 0]),
        "INVALIDATE_INTERRUPT_TABLE"
    );
    assert!(notified(&mut h, [8 << 60, 0]), "INVALIDATE_IOMMU_ALL");
    // Page invalidations: nothing is cached, nothing to re-remap.
    assert!(
        !notified(&mut h, [(7 << 32) | (3 << 60), 0x7fff_ffff_ffff_f000 | 3]),
        "INVALIDATE_IOMMU_PAGES"
    );
    assert!(
        !notified(&mut h, [0x0108 | (4 << 60), 0x1000]),
        "INVALIDATE_IOTLB_PAGES"
    );
    assert!(h.sync());
    assert!(h.events().is_empty());
}

#[test]
fn commands_wait_for_enable() {
    let mut h = Harness::new(false);
    h.write64(CMD_BUF_BASE, CMD_BUF | (8 << 56));
    h.feature(12, true);
    // IommuEn = 0: nothing is fetched yet.
    assert!(!h.sync());
    assert!(!h.status().cmd_buf_run());
    h.feature(0, true);
    assert_eq!(h.mem.read_plain::<u64>(SEM).unwrap(), 1, "runs on enable");
    assert_eq!(h.read32(CMD_BUF_HEAD), 16);
}

#[test]
fn ring_wraps() {
    let mut h = up();
    for _ in 0..700 {
        assert!(h.sync());
    }
    assert_eq!(h.read32(CMD_BUF_HEAD), h.read32(CMD_BUF_TAIL));
}
