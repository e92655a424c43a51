use super::*;

const FEATURES: u64 = features::VERSION_1 | features::ACCESS_PLATFORM | features::BLK_F_FLUSH;

fn cfg() -> CommonConfig {
    CommonConfig::new(FEATURES, 2, 256, 3)
}

fn r32(c: &CommonConfig, off: u64) -> u32 {
    let mut b = [0u8; 4];
    c.read(off, &mut b, false);
    u32::from_le_bytes(b)
}

fn r16(c: &CommonConfig, off: u64) -> u16 {
    let mut b = [0u8; 2];
    c.read(off, &mut b, false);
    u16::from_le_bytes(b)
}

fn r8(c: &CommonConfig, off: u64) -> u8 {
    let mut b = [0u8; 1];
    c.read(off, &mut b, false);
    b[0]
}

fn w32(c: &mut CommonConfig, off: u64, v: u32) -> Action {
    c.write(off, &v.to_le_bytes())
}

fn w16(c: &mut CommonConfig, off: u64, v: u16) -> Action {
    c.write(off, &v.to_le_bytes())
}

fn w8(c: &mut CommonConfig, off: u64, v: u8) -> Action {
    c.write(off, &[v])
}

fn negotiate(c: &mut CommonConfig, f: u64) -> u8 {
    w8(c, DEVICE_STATUS, status::ACKNOWLEDGE);
    w8(c, DEVICE_STATUS, status::ACKNOWLEDGE | status::DRIVER);
    w32(c, DRIVER_FEATURE_SELECT, 0);
    w32(c, DRIVER_FEATURE, f as u32);
    w32(c, DRIVER_FEATURE_SELECT, 1);
    w32(c, DRIVER_FEATURE, (f >> 32) as u32);
    w8(
        c,
        DEVICE_STATUS,
        status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
    );
    r8(c, DEVICE_STATUS)
}

fn setup_queue(c: &mut CommonConfig, q: u16) -> Action {
    w16(c, QUEUE_SELECT, q);
    w16(c, QUEUE_SIZE, 64);
    c.write(QUEUE_DESC, &0x10000u64.to_le_bytes());
    // 64-bit fields written as two 32-bit halves, as Linux does.
    w32(c, QUEUE_DRIVER, 0x11000);
    w32(c, QUEUE_DRIVER + 4, 0);
    w32(c, QUEUE_DEVICE, 0x12000);
    w32(c, QUEUE_DEVICE + 4, 0);
    w16(c, QUEUE_ENABLE, 1)
}

#[test]
fn device_features_by_select() {
    let mut c = cfg();
    assert_eq!(r32(&c, DEVICE_FEATURE), FEATURES as u32);
    w32(&mut c, DEVICE_FEATURE_SELECT, 1);
    assert_eq!(r32(&c, DEVICE_FEATURE), (FEATURES >> 32) as u32);
    w32(&mut c, DEVICE_FEATURE_SELECT, 7);
    assert_eq!(r32(&c, DEVICE_FEATURE), 0);
    // Read-only.
    w32(&mut c, DEVICE_FEATURE, u32::MAX);
    w32(&mut c, DEVICE_FEATURE_SELECT, 0);
    assert_eq!(r32(&c, DEVICE_FEATURE), FEATURES as u32);
    assert_eq!(r16(&c, NUM_QUEUES), 2);
}

#[test]
fn feature_negotiation() {
    let mut c = cfg();
    let s = negotiate(&mut c, FEATURES);
    assert_ne!(s & status::FEATURES_OK, 0);
    assert_eq!(c.driver_features(), FEATURES);
    // Frozen after FEATURES_OK.
    w32(&mut c, DRIVER_FEATURE_SELECT, 0);
    assert!(matches!(w32(&mut c, DRIVER_FEATURE, 0), Action::Ignored(_)));
    assert_eq!(c.driver_features(), FEATURES);

    // Without VERSION_1: refused.
    let mut c = cfg();
    let s = negotiate(&mut c, features::BLK_F_FLUSH);
    assert_eq!(s & status::FEATURES_OK, 0);
    // Features the device did not offer: refused.
    let mut c = cfg();
    let s = negotiate(&mut c, features::VERSION_1 | features::BLK_F_RO);
    assert_eq!(s & status::FEATURES_OK, 0);
    // ... and DRIVER_OK is not accepted without FEATURES_OK.
    let a = w8(
        &mut c,
        DEVICE_STATUS,
        status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK,
    );
    assert!(matches!(a, Action::Ignored(_)));
    assert_eq!(r8(&c, DEVICE_STATUS) & status::DRIVER_OK, 0);
}

#[test]
fn status_transitions_and_reset() {
    let mut c = cfg();
    negotiate(&mut c, FEATURES);
    assert_eq!(setup_queue(&mut c, 1), Action::QueueEnabled(1));
    let ok = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK;
    assert_eq!(w8(&mut c, DEVICE_STATUS, ok), Action::DriverOk);
    assert_eq!(r8(&c, DEVICE_STATUS), ok);
    // Clearing bits is refused.
    assert!(matches!(
        w8(&mut c, DEVICE_STATUS, status::ACKNOWLEDGE),
        Action::Ignored(_)
    ));
    assert_eq!(r8(&c, DEVICE_STATUS), ok);
    // FAILED may be added; NEEDS_RESET is the device's and shows when it says so.
    w8(
        &mut c,
        DEVICE_STATUS,
        ok | status::FAILED | status::DEVICE_NEEDS_RESET,
    );
    assert_eq!(r8(&c, DEVICE_STATUS), ok | status::FAILED);
    let mut b = [0u8];
    c.read(DEVICE_STATUS, &mut b, true);
    assert_eq!(b[0], ok | status::FAILED | status::DEVICE_NEEDS_RESET);
    // Reset.
    assert_eq!(w8(&mut c, DEVICE_STATUS, 0), Action::Reset);
    c.reset();
    assert_eq!(r8(&c, DEVICE_STATUS), 0);
    assert_eq!(c.driver_features(), 0);
    w16(&mut c, QUEUE_SELECT, 1);
    assert_eq!(r16(&c, QUEUE_ENABLE), 0);
    assert_eq!(r16(&c, QUEUE_SIZE), 256);
    assert_eq!(r16(&c, QUEUE_MSIX_VECTOR), NO_VECTOR);
}

#[test]
fn queue_registers() {
    let mut c = cfg();
    w16(&mut c, QUEUE_SELECT, 1);
    assert_eq!(r16(&c, QUEUE_SIZE), 256);
    assert_eq!(r16(&c, QUEUE_NOTIFY_OFF), 1);
    w16(&mut c, QUEUE_MSIX_VECTOR, 2);
    assert_eq!(r16(&c, QUEUE_MSIX_VECTOR), 2);
    // A vector the device does not have reads back as NO_VECTOR.
    w16(&mut c, QUEUE_MSIX_VECTOR, 3);
    assert_eq!(r16(&c, QUEUE_MSIX_VECTOR), NO_VECTOR);
    w16(&mut c, CONFIG_MSIX_VECTOR, 0);
    assert_eq!(r16(&c, CONFIG_MSIX_VECTOR), 0);
    w16(&mut c, CONFIG_MSIX_VECTOR, 100);
    assert_eq!(r16(&c, CONFIG_MSIX_VECTOR), NO_VECTOR);
    assert_eq!(setup_queue(&mut c, 1), Action::QueueEnabled(1));
    let mut b = [0u8; 8];
    c.read(QUEUE_DRIVER, &mut b, false);
    assert_eq!(u64::from_le_bytes(b), 0x11000);
    assert_eq!(c.queues()[1].params.used, 0x12000);
    // Frozen while enabled; disabling is ignored.
    assert!(matches!(w16(&mut c, QUEUE_SIZE, 8), Action::Ignored(_)));
    assert_eq!(r16(&c, QUEUE_SIZE), 64);
    assert!(matches!(w16(&mut c, QUEUE_ENABLE, 0), Action::Ignored(_)));
    assert_eq!(r16(&c, QUEUE_ENABLE), 1);
    // A nonexistent queue reads as zero size and ignores writes.
    w16(&mut c, QUEUE_SELECT, 9);
    assert_eq!(r16(&c, QUEUE_SIZE), 0);
    assert_eq!(w16(&mut c, QUEUE_ENABLE, 1), Action::None);
    w16(&mut c, QUEUE_SIZE, 8);
}

#[test]
fn bad_queue_parameters() {
    let mut c = cfg();
    w16(&mut c, QUEUE_SELECT, 0);
    w16(&mut c, QUEUE_SIZE, 100);
    assert_eq!(w16(&mut c, QUEUE_ENABLE, 1), Action::BadQueue(0));
    assert_eq!(r16(&c, QUEUE_ENABLE), 0);
    w16(&mut c, QUEUE_SIZE, 512);
    assert_eq!(w16(&mut c, QUEUE_ENABLE, 1), Action::BadQueue(0));
    w16(&mut c, QUEUE_SIZE, 64);
    w32(&mut c, QUEUE_DESC, 0x1008);
    assert_eq!(w16(&mut c, QUEUE_ENABLE, 1), Action::BadQueue(0));
}

#[test]
fn odd_widths_and_offsets() {
    let mut c = cfg();
    // One 8-byte write covering config vector, num_queues, status and queue_select.
    let v: u64 = 0x0001_0001 << 32 | 0x0000_0001;
    c.write(CONFIG_MSIX_VECTOR, &v.to_le_bytes());
    assert_eq!(r16(&c, CONFIG_MSIX_VECTOR), 1);
    assert_eq!(r16(&c, NUM_QUEUES), 2);
    assert_eq!(r8(&c, DEVICE_STATUS), 1);
    assert_eq!(r16(&c, QUEUE_SELECT), 1);
    // Byte reads of a 32-bit register, reads past the end, and wrap-around offsets.
    assert_eq!(r8(&c, DEVICE_FEATURE + 1), (FEATURES >> 8) as u8);
    let mut big = [0xaau8; 16];
    c.read(0x3c, &mut big, false);
    assert!(big.iter().all(|&b| b == 0));
    c.read(u64::MAX - 3, &mut big, false);
    assert_eq!(c.write(u64::MAX - 1, &[1, 2, 3, 4]), Action::None);
    assert_eq!(c.write(0x1000, &[1]), Action::None);
}
