use super::*;
use crate::device::AmdIommuConfig;
use guestmem::GuestMemory;

fn state(xtsup: bool) -> State {
    State::new(
        AmdIommuConfig {
            intremap: true,
            xtsup,
            segment: 0,
            iommu_bdf: 0x10,
        },
        GuestMemory::new(&[(0, 0x10_0000)]).unwrap(),
    )
}

fn r64(s: &mut State, off: u64) -> u64 {
    let mut b = [0; 8];
    s.mmio_read(off, &mut b);
    u64::from_le_bytes(b)
}

fn r32(s: &mut State, off: u64) -> u32 {
    let mut b = [0; 4];
    s.mmio_read(off, &mut b);
    u32::from_le_bytes(b)
}

#[test]
fn reset_values() {
    let mut s = state(false);
    for off in [
        DEV_TABLE_BASE,
        CMD_BUF_BASE,
        EVENT_LOG_BASE,
        CONTROL,
        EXCL_BASE,
        STATUS,
    ] {
        assert_eq!(r64(&mut s, off), 0, "{off:#x}");
    }
    assert_eq!(r64(&mut s, EXCL_LIMIT), 0xfff);
    assert_eq!(r64(&mut s, EXT_FEATURES), 0x8c0);
    assert_eq!(r64(&mut s, EXT_FEATURES2), 0);
}

#[test]
fn split_32_bit_accesses_compose() {
    let mut s = state(false);
    s.mmio_write(DEV_TABLE_BASE, &0x0012_3fffu32.to_le_bytes());
    s.mmio_write(DEV_TABLE_BASE + 4, &0x0000_0004u32.to_le_bytes());
    // Bits 11:9 are reserved.
    assert_eq!(r64(&mut s, DEV_TABLE_BASE), 0x4_0012_31ff);
    assert_eq!(r32(&mut s, DEV_TABLE_BASE + 4), 4);
    assert_eq!(s.dev_table().len_bytes(), 0x200 * 0x1000);
    // Byte write into the middle of a register.
    s.mmio_write(EXCL_LIMIT + 2, &[0xab]);
    assert_eq!(r64(&mut s, EXCL_LIMIT), 0xab_0fff);
}

#[test]
fn control_writable_bits() {
    let mut s = state(false);
    s.mmio_write(CONTROL, &u64::MAX.to_le_bytes());
    assert_eq!(r64(&mut s, CONTROL), CONTROL_WRITABLE);
    let mut s = state(true);
    s.mmio_write(CONTROL, &u64::MAX.to_le_bytes());
    assert_eq!(r64(&mut s, CONTROL), CONTROL_WRITABLE | CONTROL_XT_WRITABLE);
    // INTCAPXT exists only with XTSup.
    s.mmio_write(INTCAPXT_EVT, &u64::MAX.to_le_bytes());
    assert_eq!(r64(&mut s, INTCAPXT_EVT), INTCAPXT_WRITABLE);
    let mut s = state(false);
    s.mmio_write(INTCAPXT_EVT, &u64::MAX.to_le_bytes());
    assert_eq!(r64(&mut s, INTCAPXT_EVT), 0);
}

#[test]
fn status_rw1c_and_run_bits() {
    let mut s = state(false);
    s.status_w1c = STATUS_W1C;
    // A byte write touching only bit 1 clears only bit 1.
    s.mmio_write(STATUS, &[0x02]);
    assert_eq!(r32(&mut s, STATUS), 0b101);
    // Run bits are read-only and follow the control register.
    s.mmio_write(STATUS, &0x18u32.to_le_bytes());
    assert_eq!(r32(&mut s, STATUS) & 0x18, 0);
    let c = Control::new()
        .with_iommu_en(true)
        .with_cmd_buf_en(true)
        .with_event_log_en(true);
    s.mmio_write(CONTROL, &c.into_bits().to_le_bytes());
    assert_eq!(r32(&mut s, STATUS), 0b1_1101);
    s.mmio_write(STATUS, &u32::MAX.to_le_bytes());
    assert_eq!(r32(&mut s, STATUS), 0b1_1000);
}

#[test]
fn head_tail_masks() {
    let mut s = state(false);
    s.mmio_write(EVENT_LOG_HEAD, &u64::MAX.to_le_bytes());
    assert_eq!(r64(&mut s, EVENT_LOG_HEAD), HEAD_TAIL_MASK);
    s.mmio_write(CMD_BUF_HEAD, &0x123u32.to_le_bytes());
    assert_eq!(r64(&mut s, CMD_BUF_HEAD), 0x120);
}

#[test]
fn remap_relevant_writes_notify() {
    let mut s = state(true);
    s.mmio_write(
        CONTROL,
        &Control::new()
            .with_ht_tun_en(true)
            .into_bits()
            .to_le_bytes(),
    );
    assert!(!std::mem::take(&mut s.remap_changed));
    for c in [
        Control::new().with_iommu_en(true),
        Control::new().with_iommu_en(true).with_ga_en(true),
        Control::new()
            .with_iommu_en(true)
            .with_ga_en(true)
            .with_xt_en(true),
    ] {
        s.mmio_write(CONTROL, &c.into_bits().to_le_bytes());
        assert!(std::mem::take(&mut s.remap_changed));
    }
    s.mmio_write(DEV_TABLE_BASE, &0x1000u64.to_le_bytes());
    assert!(s.remap_changed);
}
