use super::*;
use crate::spec::pte::Pte;

const RAM: u64 = 0x400_0000;

fn mem() -> GuestMemory {
    GuestMemory::new(&[(0, RAM)]).unwrap()
}

/// Builds tables with a bump allocator from 1 MiB.
struct Tables {
    mem: GuestMemory,
    next: u64,
}

impl Tables {
    fn new() -> Self {
        Self {
            mem: mem(),
            next: 0x10_0000,
        }
    }

    fn alloc(&mut self) -> u64 {
        let a = self.next;
        self.next += 0x1000;
        a
    }

    fn set(&self, table: u64, index: u64, pte: Pte) {
        self.mem
            .write_plain(table + index * 8, &pte.into_bits())
            .unwrap();
    }
}

fn pde(next: u64, level: u8) -> Pte {
    Pte::new()
        .with_pr(true)
        .with_next_level(level)
        .with_addr(next >> 12)
        .with_ir(true)
        .with_iw(true)
}

fn leaf(addr: u64) -> Pte {
    Pte::new()
        .with_pr(true)
        .with_addr(addr >> 12)
        .with_ir(true)
        .with_iw(true)
}

fn index(iova: u64, level: u8) -> u64 {
    (iova >> level_shift(level)) & 511
}

/// A full chain of `levels` tables mapping `iova` to `gpa` with 4 KiB pages.
fn chain(t: &mut Tables, levels: u8, iova: u64, gpa: u64) -> u64 {
    let root = t.alloc();
    let mut table = root;
    for level in (2..=levels).rev() {
        let next = t.alloc();
        t.set(table, index(iova, level), pde(next, level - 1));
        table = next;
    }
    t.set(table, index(iova, 1), leaf(gpa));
    root
}

#[test]
fn every_level_count() {
    for levels in 1..=6u8 {
        let mut t = Tables::new();
        // An IOVA using the top index bits of this mode.
        let top = (level_shift(levels) + 9).min(64);
        let iova = if top >= 64 {
            0x8000_0000_0012_3000
        } else {
            (1u64 << (top - 1)) | 0x5000
        };
        let root = chain(&mut t, levels, iova | 0x123, 0x20_0000);
        let r = walk(&t.mem, root, levels, iova | 0x123, DmaPerms::RW).unwrap();
        assert_eq!(r.gpa, 0x20_0123, "levels {levels}");
        assert_eq!(r.page_size, 0x1000);
        assert_eq!(r.perms, DmaPerms::RW);
    }
}

#[test]
fn address_beyond_mode_faults() {
    let mut t = Tables::new();
    let root = chain(&mut t, 3, 0, 0x20_0000);
    // Three levels translate 39 bits.
    assert_eq!(
        walk(&t.mem, root, 3, 1 << 39, DmaPerms::RW),
        Err(WalkFault::AddressRange)
    );
    assert_eq!(
        walk(&t.mem, root, 0, 0, DmaPerms::RW),
        Err(WalkFault::Illegal)
    );
    assert_eq!(
        walk(&t.mem, root, 7, 0, DmaPerms::RW),
        Err(WalkFault::Illegal)
    );
}

#[test]
fn next_level_skips() {
    // Level 4 root pointing straight at a level-1 table: bits 38:21 must be zero.
    let mut t = Tables::new();
    let root = t.alloc();
    let l1 = t.alloc();
    t.set(root, 1, pde(l1, 1));
    t.set(l1, 7, leaf(0x30_0000));
    let iova = (1u64 << 39) | (7 << 12);
    assert_eq!(
        walk(&t.mem, root, 4, iova, DmaPerms::RW).unwrap().gpa,
        0x30_0000
    );
    assert_eq!(
        walk(&t.mem, root, 4, iova | (1 << 21), DmaPerms::RW),
        Err(WalkFault::AddressRange),
        "skipped index bits must be zero"
    );
    // Six levels skipping to level 3, then level 3 to level 1.
    let mut t = Tables::new();
    let root = t.alloc();
    let l3 = t.alloc();
    let l1 = t.alloc();
    t.set(root, 0, pde(l3, 3));
    t.set(l3, 2, pde(l1, 1));
    t.set(l1, 0, leaf(0x40_0000));
    let iova = 2u64 << 30;
    assert_eq!(
        walk(&t.mem, root, 6, iova, DmaPerms::RW).unwrap().gpa,
        0x40_0000
    );
}

#[test]
fn illegal_next_level() {
    let mut t = Tables::new();
    let root = t.alloc();
    // NextLevel equal to the current level: would loop.
    t.set(root, 0, pde(root, 3));
    assert_eq!(
        walk(&t.mem, root, 3, 0, DmaPerms::RW),
        Err(WalkFault::Illegal)
    );
    // NextLevel above the current level.
    t.set(root, 0, pde(root, 5));
    assert_eq!(
        walk(&t.mem, root, 3, 0, DmaPerms::RW),
        Err(WalkFault::Illegal)
    );
}

#[test]
fn self_referencing_tables_terminate() {
    // Every level points back at the same table, one level down: at most six reads.
    let mut t = Tables::new();
    let root = t.alloc();
    for level in 1..=6u8 {
        t.set(root, 0, pde(root, level - 1));
    }
    t.set(root, 0, pde(root, 5));
    // Level 6 -> 5 -> ... each reads entry 0 of the same table, which says NL = 5:
    // at level 5 that is not strictly lower, so the walk stops.
    assert_eq!(
        walk(&t.mem, root, 6, 0, DmaPerms::RW),
        Err(WalkFault::Illegal)
    );
}

#[test]
fn default_size_large_pages() {
    // NextLevel = 0 at level 2: a 2 MiB page; at level 3: 1 GiB.
    let mut t = Tables::new();
    let root = t.alloc();
    let l2 = t.alloc();
    t.set(root, 1, pde(l2, 2));
    t.set(root, 2, leaf(0x4000_0000));
    t.set(l2, 3, leaf(0x60_0000));
    let r = walk(
        &t.mem,
        root,
        3,
        (1 << 30) | (3 << 21) | 0x1_2345,
        DmaPerms::RW,
    )
    .unwrap();
    assert_eq!((r.gpa, r.page_size), (0x61_2345, 2 << 20));
    let r = walk(&t.mem, root, 3, (2 << 30) | 0x1234_5678, DmaPerms::RW).unwrap();
    assert_eq!((r.gpa, r.page_size), (0x5234_5678, 1 << 30));
}

#[test]
fn sized_pages_any_power_of_two() {
    // NextLevel = 7 at level 1: 16 KiB (bit 12 one, bit 13 zero), replicated as Linux
    // does; at level 2: 8 MiB.
    let mut t = Tables::new();
    let root = t.alloc();
    let l1 = t.alloc();
    t.set(root, 0, pde(l1, 1));
    let p16k = Pte::new()
        .with_pr(true)
        .with_next_level(7)
        .with_addr((0x88_0000 | 0x1000) >> 12)
        .with_ir(true);
    for i in 4..8 {
        t.set(l1, i, p16k);
    }
    let r = walk(&t.mem, root, 2, 0x6abc, DmaPerms::RW).unwrap();
    assert_eq!((r.gpa, r.page_size), (0x88_2abc, 0x4000));
    assert_eq!(r.perms, DmaPerms::RO);
    // 8 MiB at level 2: address bits 21:12 ones, bit 22 zero.
    let p8m = Pte::new()
        .with_pr(true)
        .with_next_level(7)
        .with_addr((0x100_0000 | 0x3f_f000) >> 12)
        .with_iw(true)
        .with_ir(true);
    for i in 4..8 {
        t.set(root, i, p8m);
    }
    let r = walk(&t.mem, root, 2, (5 << 21) | 0x1234, DmaPerms::RW).unwrap();
    assert_eq!((r.gpa, r.page_size), (0x100_0000 | 0x20_1234, 8 << 20));
    // A size that does not fit the level (4 KiB encoded at level 2) is illegal.
    t.set(
        root,
        9,
        Pte::new()
            .with_pr(true)
            .with_next_level(7)
            .with_addr(0x100)
            .with_ir(true),
    );
    assert_eq!(
        walk(&t.mem, root, 2, 9 << 21, DmaPerms::RW),
        Err(WalkFault::Illegal)
    );
}

#[test]
fn permissions_anded_across_levels() {
    let mut t = Tables::new();
    let root = t.alloc();
    let l2 = t.alloc();
    let l1 = t.alloc();
    t.set(root, 0, pde(l2, 2).with_iw(false));
    t.set(l2, 0, pde(l1, 1));
    t.set(l1, 0, leaf(0x1000));
    let r = walk(&t.mem, root, 3, 0, DmaPerms::RW).unwrap();
    assert_eq!(r.perms, DmaPerms::RO);
    t.set(l1, 0, leaf(0x1000).with_ir(false));
    let r = walk(&t.mem, root, 3, 0, DmaPerms::RW).unwrap();
    assert_eq!(r.perms, DmaPerms::default());
    // The DTE's permissions are part of the AND.
    t.set(root, 0, pde(l2, 2));
    t.set(l1, 0, leaf(0x1000));
    let r = walk(&t.mem, root, 3, 0, DmaPerms::WO).unwrap();
    assert_eq!(r.perms, DmaPerms::WO);
}

#[test]
fn not_present_reserved_and_unreadable() {
    let mut t = Tables::new();
    let root = t.alloc();
    assert_eq!(
        walk(&t.mem, root, 2, 0, DmaPerms::RW),
        Err(WalkFault::NotPresent)
    );
    t.set(
        root,
        0,
        Pte::from_bits(leaf(0x1000).into_bits() | (1 << 55)),
    );
    assert_eq!(
        walk(&t.mem, root, 2, 0, DmaPerms::RW),
        Err(WalkFault::Illegal)
    );
    // A PDE pointing beyond RAM: the next read fails without touching host memory.
    t.set(root, 0, pde(0xf_0000_0000, 1));
    assert_eq!(
        walk(&t.mem, root, 2, 0, DmaPerms::RW),
        Err(WalkFault::ReadError {
            entry_addr: 0xf_0000_0000
        })
    );
    // A root beyond RAM.
    assert!(matches!(
        walk(&t.mem, 0xffff_ffff_f000, 6, u64::MAX, DmaPerms::RW),
        Err(WalkFault::ReadError { .. })
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Whatever the tables hold, the walk ends, reads at most six entries and never
    /// panics.
    #[test]
    fn walk_of_random_tables_terminates(
        entries in proptest::collection::vec(proptest::prelude::any::<u64>(), 16),
        levels in 0u8..8,
        iova in proptest::prelude::any::<u64>(),
    ) {
        let mem = GuestMemory::new(&[(0, 0x1_0000)]).unwrap();
        // Entries point into the same four pages (cycles welcome).
        for page in 0..4u64 {
            for (i, e) in entries.iter().enumerate() {
                let e = (e & !0x000f_ffff_ffff_f000) | ((e >> 12) & 3) << 12;
                let idx = (i as u64 * 37) % 512;
                mem.write_plain(page * 0x1000 + idx * 8, &e).unwrap();
            }
        }
        let _ = walk(&mem, 0, levels, iova, DmaPerms::RW);
    }
}
