use super::*;
use crate::PAGE_SIZE as P;
use proptest::prelude::*;
use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;

/// Low RAM [0x0, 0x2000) adjacent to [0x2000, 0x3000); a hole; then
/// [0x10000, 0x11000).
fn mem() -> GuestMemory {
    GuestMemory::new(&[(0, 2 * P), (0x10000, P), (0x2000, P)]).unwrap()
}

fn assert_out_of_range<T: std::fmt::Debug>(r: Result<T, GuestMemoryError>, gpa: u64, len: u64) {
    match r {
        Err(GuestMemoryError::OutOfRange { gpa: g, len: l }) => assert_eq!((g, l), (gpa, len)),
        other => panic!("expected OutOfRange({gpa:#x}, {len:#x}), got {other:?}"),
    }
}

#[test]
fn starts_zeroed_and_reports_regions() {
    let m = mem();
    let regions = m.regions();
    let spans: Vec<(u64, u64)> = regions.iter().map(|r| (r.gpa, r.len)).collect();
    assert_eq!(spans, [(0, 2 * P), (0x2000, P), (0x10000, P)]);
    for r in &regions {
        assert_ne!(r.host_addr, 0);
        assert_eq!(r.host_addr % P, 0);
    }
    let mut buf = vec![0xffu8; 3 * P as usize];
    m.read_at(0, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 0));
}

#[test]
fn clones_share_memory() {
    let m = mem();
    let c = m.clone();
    c.write_at(0x10, b"hi").unwrap();
    let mut buf = [0; 2];
    m.read_at(0x10, &mut buf).unwrap();
    assert_eq!(&buf, b"hi");
    fn send_sync<T: Send + Sync>() {}
    send_sync::<GuestMemory>();
}

#[test]
fn new_rejects_bad_layouts() {
    assert!(matches!(
        GuestMemory::new(&[(0x1001, P)]),
        Err(GuestMemoryError::InvalidRegion { .. })
    ));
    assert!(matches!(
        GuestMemory::new(&[(0, P), (0, P)]),
        Err(GuestMemoryError::Overlap { .. })
    ));
    assert!(matches!(
        GuestMemory::new(&[(!(P - 1), P)]),
        Err(GuestMemoryError::InvalidRegion { .. })
    ));
    let empty = GuestMemory::new(&[]).unwrap();
    assert!(empty.regions().is_empty());
    assert_out_of_range(empty.read_plain::<u8>(0), 0, 1);
}

#[test]
fn boundaries() {
    let m = mem();
    m.write_at(0x2fff, &[7]).unwrap();
    assert_eq!(m.read_plain::<u8>(0x2fff).unwrap(), 7);
    assert_out_of_range(m.write_at(0x2fff, &[1, 2]), 0x2fff, 2);
    assert_out_of_range(m.read_plain::<u8>(0x3000), 0x3000, 1);
    assert_out_of_range(m.read_plain::<u8>(0xffff), 0xffff, 1);
    m.write_at(0x10ffe, &[1, 2]).unwrap();
    assert_out_of_range(m.read_plain::<[u8; 3]>(0x10ffe), 0x10ffe, 3);
    // Zero-length accesses succeed anywhere.
    m.write_at(u64::MAX, &[]).unwrap();
    m.read_at(0x5000, &mut []).unwrap();
}

#[test]
fn crossing_adjacent_regions() {
    let m = mem();
    let data: Vec<u8> = (0..64).collect();
    m.write_at(0x1fe0, &data).unwrap();
    let mut back = [0u8; 64];
    m.read_at(0x1fe0, &mut back).unwrap();
    assert_eq!(&back[..], &data[..]);
    m.write_plain(0x1ffc, &0x1122_3344_5566_7788u64).unwrap();
    assert_eq!(m.read_plain::<u64>(0x1ffc).unwrap(), 0x1122_3344_5566_7788);
    assert!(m.contains(0, 3 * P));
}

#[test]
fn holes_write_nothing() {
    let m = mem();
    m.fill_at(0x2ff0, 0x55, 0x10).unwrap();
    assert_out_of_range(m.write_at(0x2ff8, &[0xaa; 16]), 0x2ff8, 16);
    assert_out_of_range(m.fill_at(0x2ff8, 0xaa, 16), 0x2ff8, 16);
    assert_out_of_range(m.fill_at(0, 0xaa, 0x3001), 0, 0x3001);
    let mut buf = [0u8; 16];
    m.read_at(0x2ff0, &mut buf).unwrap();
    assert_eq!(buf, [0x55; 16]);
    assert_eq!(m.read_plain::<u8>(0).unwrap(), 0);
}

#[test]
fn overflow_at_u64_max() {
    let m = mem();
    assert_out_of_range(m.read_plain::<u16>(u64::MAX), u64::MAX, 2);
    assert_out_of_range(m.write_at(u64::MAX - 1, &[0; 4]), u64::MAX - 1, 4);
    assert_out_of_range(m.fill_at(0x1000, 0, u64::MAX), 0x1000, u64::MAX);
    assert_out_of_range(m.fill_at(u64::MAX, 0, u64::MAX), u64::MAX, u64::MAX);
    assert!(!m.contains(u64::MAX, 1));
    assert_out_of_range(m.read_u64_atomic(!7u64), !7u64, 8);
    assert_out_of_range(m.compare_exchange_u128(!15u64, 0, 0), !15u64, 16);
}

#[test]
fn fill_large_range() {
    let m = mem();
    m.fill_at(0x10, 0xcc, 0x2fe0).unwrap();
    let mut buf = vec![0u8; 0x3000];
    m.read_at(0, &mut buf).unwrap();
    assert!(buf[..0x10].iter().all(|&b| b == 0));
    assert!(buf[0x10..0x2ff0].iter().all(|&b| b == 0xcc));
    assert!(buf[0x2ff0..].iter().all(|&b| b == 0));
}

#[test]
fn cmpxchg_u64() {
    let m = mem();
    assert_eq!(m.compare_exchange_u64(0x1ff8, 0, 5).unwrap(), Ok(0));
    assert_eq!(m.compare_exchange_u64(0x1ff8, 0, 6).unwrap(), Err(5));
    assert_eq!(m.read_u64_atomic(0x1ff8).unwrap(), 5);
    m.write_u64_atomic(0x1ff8, u64::MAX).unwrap();
    assert_eq!(m.read_plain::<u64>(0x1ff8).unwrap(), u64::MAX);
    assert_eq!(
        m.compare_exchange_u64(0x1ff8, u64::MAX, 1).unwrap(),
        Ok(u64::MAX)
    );
    // Adjacent region's first word.
    assert_eq!(m.compare_exchange_u64(0x2000, 0, 9).unwrap(), Ok(0));
    assert_eq!(m.read_plain::<u64>(0x2000).unwrap(), 9);
}

#[test]
fn cmpxchg_u128() {
    let m = mem();
    let v = (0xdead_beefu128 << 64) | 0x1234;
    assert_eq!(m.compare_exchange_u128(0x10ff0, 0, v).unwrap(), Ok(0));
    assert_eq!(m.compare_exchange_u128(0x10ff0, 0, 1).unwrap(), Err(v));
    assert_eq!(m.read_plain::<u128>(0x10ff0).unwrap(), v);
    assert_eq!(m.read_plain::<u64>(0x10ff8).unwrap(), 0xdead_beef);
    assert_eq!(m.compare_exchange_u128(0x10ff0, v, 2).unwrap(), Ok(v));
    assert_eq!(m.read_plain::<u128>(0x10ff0).unwrap(), 2);
}

#[test]
fn cmpxchg_is_atomic_across_threads() {
    const THREADS: u64 = 4;
    const ITERS: u64 = 2000;
    let m = mem();
    // The u128 counter starts just below a carry into the high half.
    let base = u128::from(u64::MAX) - 1000;
    m.write_plain(0x100, &base).unwrap();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let m = m.clone();
            s.spawn(move || {
                for _ in 0..ITERS {
                    let mut cur = m.read_u64_atomic(0x80).unwrap();
                    while let Err(actual) = m.compare_exchange_u64(0x80, cur, cur + 1).unwrap() {
                        cur = actual;
                    }
                    let mut cur = 0;
                    while let Err(actual) = m.compare_exchange_u128(0x100, cur, cur + 1).unwrap() {
                        cur = actual;
                    }
                }
            });
        }
    });
    assert_eq!(m.read_u64_atomic(0x80).unwrap(), THREADS * ITERS);
    assert_eq!(
        m.read_plain::<u128>(0x100).unwrap(),
        base + u128::from(THREADS * ITERS)
    );
}

#[test]
fn alignment_errors() {
    let m = mem();
    for gpa in [1, 4, 7] {
        assert!(matches!(
            m.read_u64_atomic(gpa),
            Err(GuestMemoryError::Unaligned { align: 8, .. })
        ));
        assert!(matches!(
            m.write_u64_atomic(gpa, 0),
            Err(GuestMemoryError::Unaligned { align: 8, .. })
        ));
        assert!(matches!(
            m.compare_exchange_u64(gpa, 0, 0),
            Err(GuestMemoryError::Unaligned { align: 8, .. })
        ));
    }
    assert!(matches!(
        m.compare_exchange_u128(8, 0, 0),
        Err(GuestMemoryError::Unaligned { gpa: 8, align: 16 })
    ));
    // Unaligned wins over out-of-range for a misaligned, unbacked address.
    assert!(matches!(
        m.compare_exchange_u64(u64::MAX, 0, 0),
        Err(GuestMemoryError::Unaligned { .. })
    ));
}

#[derive(Debug, PartialEq, Eq, Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct Descriptor {
    addr: u64,
    len: u32,
    flags: u16,
    next: u16,
}

#[test]
fn plain_round_trips() {
    let m = mem();
    let d = Descriptor {
        addr: 0x1234_5678_9abc,
        len: 0x200,
        flags: 3,
        next: 7,
    };
    m.write_plain(0x1ff7, &d).unwrap();
    assert_eq!(m.read_plain::<Descriptor>(0x1ff7).unwrap(), d);
    m.write_plain(0x100, &[0xabcdu16; 5]).unwrap();
    assert_eq!(m.read_plain::<[u16; 5]>(0x100).unwrap(), [0xabcd; 5]);
    assert_eq!(m.read_plain::<u32>(0x100).unwrap(), 0xabcd_abcd);
    assert_out_of_range(m.write_plain(0x10ff8, &d), 0x10ff8, 16);
}

#[test]
fn trait_object_access() {
    let m: Arc<dyn GuestMemoryAccess> = Arc::new(mem());
    m.write_plain(0x40, &42u32).unwrap();
    assert_eq!(m.read_plain::<u32>(0x40).unwrap(), 42);
    assert_eq!(m.compare_exchange_u64(0x40, 42, 43).unwrap(), Ok(42));
    assert_eq!(m.read_u64_atomic(0x40).unwrap(), 43);
    m.fill_at(0x40, 1, 4).unwrap();
    assert_eq!(m.read_plain::<u32>(0x40).unwrap(), 0x0101_0101);
    assert_out_of_range(m.fill_at(0x2ff0, 1, 0x20), 0x2ff0, 0x20);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_access_never_panics(
        gpa in prop_oneof![
            0u64..0x12000,
            any::<u64>(),
            (0u64..0x100).prop_map(|d| u64::MAX - d),
        ],
        len in prop_oneof![0u64..0x3100, any::<u64>()],
    ) {
        let m = mem();
        let inside = len == 0
            || gpa.checked_add(len).is_some_and(|end| {
                end <= 0x3000 || (gpa >= 0x10000 && end <= 0x11000)
            });
        prop_assert_eq!(m.contains(gpa, len), inside);
        prop_assert_eq!(m.fill_at(gpa, 0x5a, len).is_ok(), inside);
        if len <= 0x3100 {
            let mut buf = vec![0u8; len as usize];
            prop_assert_eq!(m.read_at(gpa, &mut buf).is_ok(), inside);
            prop_assert_eq!(m.write_at(gpa, &buf).is_ok(), inside);
            if inside {
                prop_assert!(buf.iter().all(|&b| b == 0x5a));
            }
        }
        let aligned = gpa % 8 == 0;
        prop_assert_eq!(m.read_u64_atomic(gpa).is_ok(), aligned && m.contains(gpa, 8));
    }
}
