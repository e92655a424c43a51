//! Every AMD-Vi entry of shared/hostile-inputs.md (and the "All" section) as a
//! regression test: the device answers architecturally and nothing outside guest RAM
//! is touched.

mod common;

use amd_iommu::spec::dte::Dte0;
use amd_iommu::spec::dte::Dte2;
use amd_iommu::spec::event::code;
use amd_iommu::spec::event::flags;
use amd_iommu::spec::irte::Irte128Lo;
use amd_iommu::spec::pte::Pte;
use amd_iommu::spec::regs::*;
use common::*;
use iommu_common::DmaAccess;
use iommu_common::DmaRequest;
use iommu_common::DmaTranslator;
use iommu_common::MsiMessage;
use iommu_common::MsiRemapper;
use iommu_common::RequesterId;

const DEV: u16 = 0x0020;
const BEYOND: u64 = 0xff_0000_0000;

fn up() -> Harness {
    let mut h = Harness::new(false);
    h.linux_init();
    h
}

fn dma(h: &Harness, iova: u64, access: DmaAccess) -> bool {
    h.iommu
        .translate(&DmaRequest::new(RequesterId::new(0, DEV), iova, access))
        .is_ok()
}

fn msi(h: &Harness, data: u32) -> bool {
    h.iommu
        .remap(
            RequesterId::new(0, DEV),
            MsiMessage {
                address: 0xfee0_0000,
                data,
            },
        )
        .is_ok()
}

#[test]
fn dte_with_ir_iw_clear_faults_every_time() {
    let h = up();
    // Linux's blocked DTE: V = TV = 1, mode 0, IR = IW = 0.
    for i in 0..1000u64 {
        assert!(!dma(&h, i << 12, DmaAccess::Read));
        assert!(!dma(&h, i << 12, DmaAccess::Write));
    }
    let ev = h.events();
    assert_eq!(ev.len(), 511, "log holds 511 events; the rest overflowed");
    assert!(ev
        .iter()
        .all(|e| e.code == code::IO_PAGE_FAULT && e.flags & flags::PE != 0));
    assert!(h.status().event_overflow());
}

#[test]
fn device_table_beyond_ram() {
    let h = up();
    h.write64(DEV_TABLE_BASE, BEYOND | 0x1ff);
    assert!(!dma(&h, 0, DmaAccess::Read));
    assert!(!msi(&h, 0));
    let ev = h.events();
    assert_eq!(ev[0].code, code::DEV_TAB_HARDWARE_ERROR);
    assert_eq!(ev[0].address, BEYOND + u64::from(DEV) * 32);
    // A table too small for the DeviceID.
    h.write64(DEV_TABLE_BASE, DEV_TABLE);
    let far = DmaRequest::new(RequesterId::new(0, 0x0300), 0, DmaAccess::Read);
    assert!(h.iommu.translate(&far).is_err());
    assert_eq!(h.events()[0].code, code::ILLEGAL_DEV_TABLE_ENTRY);
}

#[test]
fn command_buffer_beyond_ram() {
    let h = up();
    h.feature(12, false);
    h.write64(CMD_BUF_BASE, BEYOND | (8 << 56));
    h.write32(CMD_BUF_HEAD, 0);
    h.write32(CMD_BUF_TAIL, 0);
    h.feature(12, true);
    h.write32(CMD_BUF_TAIL, 16);
    assert!(!h.status().cmd_buf_run());
    let ev = h.events();
    assert_eq!(
        (ev[0].code, ev[0].address),
        (code::COMMAND_HARDWARE_ERROR, BEYOND)
    );
}

#[test]
fn event_log_beyond_ram() {
    let h = up();
    h.feature(2, false);
    h.write64(EVENT_LOG_BASE, BEYOND | (8 << 56));
    h.feature(2, true);
    assert!(!dma(&h, 0, DmaAccess::Read));
    // The event could not be written: the log stops with EventOverflow.
    let st = h.status();
    assert!(st.event_overflow() && !st.event_log_run());
}

#[test]
fn ring_lengths_below_minimum_or_absurd() {
    let mut h = up();
    // ComLen 0 acts as the minimum 256 entries; reads back as written.
    h.feature(12, false);
    h.write64(CMD_BUF_BASE, CMD_BUF);
    assert_eq!(h.read64(CMD_BUF_BASE), CMD_BUF);
    h.write32(CMD_BUF_HEAD, 0);
    h.write32(CMD_BUF_TAIL, 0);
    h.cmd_tail = 0;
    h.feature(12, true);
    assert!(h.sync());
    // Reserved high bits are not writable; the largest length works.
    h.write64(EVENT_LOG_BASE, EVT_LOG | (0xffu64 << 56));
    assert_eq!(h.read64(EVENT_LOG_BASE) >> 56, 0xf);
}

#[test]
fn command_tail_beyond_length() {
    let h = up();
    // 512 entries = 8 KiB; a tail of 16 KiB is outside the ring.
    h.write32(CMD_BUF_TAIL, 0x4000);
    assert!(!h.status().cmd_buf_run());
    let ev = h.events();
    assert_eq!(ev[0].code, code::COMMAND_HARDWARE_ERROR);
    // Garbage bits outside 18:4 are dropped.
    h.write32(CMD_BUF_TAIL, 0xffff_ffff);
    assert_eq!(h.read32(CMD_BUF_TAIL), 0x7_fff0);
}

#[test]
fn unknown_opcodes_log_illegal_command_and_stop() {
    for op in [0u64, 6, 7, 9, 0xa, 0xf] {
        let mut h = up();
        let head = h.read32(CMD_BUF_HEAD) as u64;
        h.queue([op << 60, 0]);
        h.queue([1 | (SEM) | (1 << 60), 99]); // a completion wait behind it
        assert!(!h.status().cmd_buf_run(), "opcode {op}");
        assert_eq!(
            h.read32(CMD_BUF_HEAD) as u64,
            head,
            "head stays on the bad command"
        );
        assert_ne!(h.mem.read_plain::<u64>(SEM).unwrap(), 99);
        let ev = h.events();
        assert_eq!(
            (ev[0].code, ev[0].address),
            (code::ILLEGAL_COMMAND_ERROR, CMD_BUF + head)
        );
        // Linux's amd_iommu_reset_cmd_buffer restarts it.
        h.feature(12, false);
        h.write32(CMD_BUF_HEAD, 0);
        h.write32(CMD_BUF_TAIL, 0);
        h.cmd_tail = 0;
        h.feature(12, true);
        assert!(h.status().cmd_buf_run());
        assert!(h.sync());
    }
}

#[test]
fn completion_wait_store_beyond_ram() {
    let mut h = up();
    h.queue([BEYOND | 1 | (1 << 60), 5]);
    assert!(!h.status().cmd_buf_run());
    let ev = h.events();
    assert_eq!(
        (ev[0].code, ev[0].address),
        (code::COMMAND_HARDWARE_ERROR, BEYOND)
    );
}

#[test]
fn dte_mode_seven() {
    let h = up();
    let q0 = Dte0::new()
        .with_v(true)
        .with_tv(true)
        .with_mode(7)
        .with_ir(true)
        .with_iw(true);
    h.set_dte_q(DEV, 0, q0.into_bits());
    assert!(!dma(&h, 0x1000, DmaAccess::Read));
    let ev = h.events();
    assert_eq!(ev[0].code, code::ILLEGAL_DEV_TABLE_ENTRY);
    assert_ne!(ev[0].flags & flags::RZ, 0);
}

#[test]
fn illegal_next_level_and_cycles() {
    let mut h = up();
    let root = h.alloc_table();
    h.set_dte(DEV, 4, root, 3);
    // NextLevel above the current level, then a PDE pointing at its own table with
    // the same level.
    for nl in [6u8, 4] {
        let pde = Pte::new()
            .with_pr(true)
            .with_next_level(nl)
            .with_addr(root >> 12)
            .with_ir(true);
        h.mem.write_plain(root, &pde.into_bits()).unwrap();
        assert!(!dma(&h, 0, DmaAccess::Read));
        let ev = h.events();
        assert_eq!(ev[0].code, code::IO_PAGE_FAULT);
        assert_eq!(ev[0].flags & (flags::RZ | flags::PR), flags::RZ | flags::PR);
    }
    // Descending cycle through the same table: ends after four levels.
    let pde = Pte::new()
        .with_pr(true)
        .with_next_level(3)
        .with_addr(root >> 12)
        .with_ir(true);
    h.mem.write_plain(root, &pde.into_bits()).unwrap();
    let _ = dma(&h, 0, DmaAccess::Read);
}

#[test]
fn irte_index_beyond_int_tab_len() {
    let h = up();
    h.set_irt(DEV, IRT, 1); // two entries
    let ok = Irte128Lo::new().with_remap_en(true).into_bits();
    h.mem.write_plain(IRT, &[ok, 0x30u64]).unwrap();
    assert!(msi(&h, 0));
    assert!(!msi(&h, 2));
    let ev = h.events();
    assert_eq!(ev[0].code, code::IO_PAGE_FAULT);
    assert_ne!(ev[0].flags & flags::I, 0);
    // A table at the top of RAM: the entry read fails cleanly (index 0x1ff is an
    // arbitrated message; higher indices encode other message types).
    h.set_irt(DEV, RAM - 64, 11);
    assert!(!msi(&h, 0x1ff));
    assert_eq!(h.events()[0].code, code::PAGE_TAB_HARDWARE_ERROR);
}

#[test]
fn int_ctl_reserved_value() {
    let h = up();
    let q2 = Dte2::new()
        .with_iv(true)
        .with_int_tab_len(9)
        .with_int_ctl(3);
    h.set_dte_q(DEV, 2, q2.into_bits());
    assert!(!msi(&h, 0));
    let ev = h.events();
    assert_eq!(ev[0].code, code::ILLEGAL_DEV_TABLE_ENTRY);
    assert_ne!(ev[0].flags & flags::I, 0);
}

#[test]
fn ga_irte_with_guest_mode() {
    let h = up();
    h.set_irt(DEV, IRT, 9);
    let lo = Irte128Lo::new().with_remap_en(true).with_guest_mode(true);
    h.mem
        .write_plain(IRT + 16 * 5, &[lo.into_bits(), 0x40u64])
        .unwrap();
    assert!(!msi(&h, 5));
    let ev = h.events();
    assert_eq!(ev[0].code, code::IO_PAGE_FAULT);
    assert_eq!(ev[0].flags & (flags::I | flags::RZ), flags::I | flags::RZ);
}

#[test]
fn event_log_full_sets_overflow_and_writes_nothing_past_it() {
    let h = up();
    // Poison the bytes after the 8 KiB log.
    h.mem.fill_at(EVT_LOG + 0x2000, 0xa5, 0x1000).unwrap();
    for i in 0..600u64 {
        let _ = dma(&h, i << 12, DmaAccess::Read);
    }
    let st = h.status();
    assert!(st.event_overflow() && !st.event_log_run());
    let mut after = [0u8; 0x1000];
    h.mem.read_at(EVT_LOG + 0x2000, &mut after).unwrap();
    assert!(after.iter().all(|&b| b == 0xa5));
    assert_eq!(h.read32(EVENT_LOG_TAIL), 511 * 16);
    // amd_iommu_restart_event_logging: disable, clear overflow, enable.
    assert_eq!(h.events().len(), 511);
    h.feature(2, false);
    h.feature(3, false);
    h.write32(STATUS, 1);
    h.feature(3, true);
    h.feature(2, true);
    assert!(h.status().event_log_run());
    let _ = dma(&h, 0, DmaAccess::Read);
    assert_eq!(h.events().len(), 1);
}

#[test]
fn event_log_pointers_outside_ring() {
    let h = up();
    h.feature(2, false);
    h.write32(EVENT_LOG_TAIL, 0x7_fff0);
    h.feature(2, true);
    let _ = dma(&h, 0, DmaAccess::Read);
    assert!(h.status().event_overflow());
}

#[test]
fn odd_mmio_accesses_are_harmless() {
    let h = up();
    let ctrl = h.read64(CONTROL);
    // Misaligned, odd sizes, beyond the region.
    h.iommu.mmio_write(CONTROL + 1, &[0xff; 4]);
    h.iommu.mmio_write(CONTROL, &[0xff; 3]);
    h.iommu.mmio_write(0x4000, &[0xff; 8]);
    h.iommu.mmio_write(u64::MAX - 3, &[0xff; 4]);
    let mut b = [0xffu8; 16];
    h.iommu.mmio_read(CONTROL, &mut b);
    assert_eq!(b, [0; 16]);
    h.iommu.mmio_read(u64::MAX, &mut b[..1]);
    assert_eq!(h.read64(CONTROL), ctrl);
    // The EFR is read-only.
    h.write64(EXT_FEATURES, !0);
    assert_eq!(h.read64(EXT_FEATURES), h.iommu.efr());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Random register writes and random guest memory never panic and every access
    /// stays answerable.
    #[test]
    fn random_register_and_table_garbage(
        writes in proptest::collection::vec((0u64..0x2100, proptest::prelude::any::<u64>()), 1..40),
        garbage in proptest::collection::vec(proptest::prelude::any::<u64>(), 64),
        iova in proptest::prelude::any::<u64>(),
        data in proptest::prelude::any::<u32>(),
    ) {
        let h = Harness::new(true);
        for (i, g) in garbage.iter().enumerate() {
            h.mem.write_plain(DEV_TABLE + u64::from(DEV) * 32 + (i as u64 % 4) * 8, g).unwrap();
            h.mem.write_plain(CMD_BUF + i as u64 * 8, g).unwrap();
            h.mem.write_plain(TABLES + i as u64 * 8, g).unwrap();
        }
        for (off, v) in writes {
            h.write64(off & !7, v);
        }
        let _ = dma(&h, iova, DmaAccess::Write);
        let _ = msi(&h, data);
        let _ = h.read64(STATUS);
    }
}
