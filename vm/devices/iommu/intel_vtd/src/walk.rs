//! Second-level page walks (VT-d §3.6, "Second-Level Translation", §9.8
//! "Second-Level Paging Entries").
//!
//! A walk reads at most `levels` entries (3 or 4), one per level, whatever the
//! entries say, so tables that point back at themselves cannot loop. Permissions are
//! the AND of R and W across every level used; an entry with neither R nor W is not
//! present and fails the access with a read or write fault.

use crate::mem::low_mask;
use crate::mem::read_u64;
use crate::spec::fault::FaultReason;
use crate::spec::tables::SlPte;
use guestmem::GuestMemory;
use iommu_common::DmaAccess;
use iommu_common::DmaPerms;
use iommu_common::Translation;

/// What the unit supports in second-level entries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WalkCaps {
    /// Host address width: address bits at or above it are reserved.
    pub haw: u8,
    /// 2 MiB pages (CAP.SLLPS bit 0).
    pub large_2m: bool,
    /// 1 GiB pages (CAP.SLLPS bit 1).
    pub large_1g: bool,
}

/// The access fault for `access`.
pub(crate) fn access_fault(access: DmaAccess) -> FaultReason {
    match access {
        DmaAccess::Read => FaultReason::Read,
        DmaAccess::Write => FaultReason::Write,
    }
}

/// Whether `pte` at `level` (1 = PTE .. 4 = PML4E) has reserved bits set.
fn reserved(pte: SlPte, level: u8, caps: WalkCaps) -> bool {
    let raw = pte.into_bits();
    // Address bits 51:HAW, SNP (no ECAP.SC), TM (no ECAP.DT).
    let addr_rsvd = low_mask(52) & !low_mask(caps.haw as u32);
    if raw & addr_rsvd != 0 || pte.snp() || pte.tm() {
        return true;
    }
    match level {
        4 => pte.ps(),
        3 if pte.ps() => !caps.large_1g || raw & (low_mask(30) & !0xfff) != 0,
        2 if pte.ps() => !caps.large_2m || raw & (low_mask(21) & !0xfff) != 0,
        _ => false,
    }
}

/// Translates `iova` for `access` through the `levels`-level table at `root`. The
/// caller has checked `iova` against the input address width.
pub(crate) fn walk(
    mem: &GuestMemory,
    caps: WalkCaps,
    root: u64,
    levels: u8,
    iova: u64,
    access: DmaAccess,
) -> Result<Translation, FaultReason> {
    let mut table = root;
    let mut perms = DmaPerms::RW;
    for level in (1..=levels.min(4)).rev() {
        let shift = 12 + 9 * u32::from(level - 1);
        let slot = table + ((iova >> shift) & 511) * 8;
        let pte = SlPte::from(read_u64(mem, slot).map_err(|_| FaultReason::PagingEntryAccess)?);
        if !pte.present() {
            return Err(access_fault(access));
        }
        if reserved(pte, level, caps) {
            return Err(FaultReason::PagingEntryReserved);
        }
        perms = perms.intersect(DmaPerms {
            read: pte.r(),
            write: pte.w(),
        });
        if !perms.allows(access) {
            return Err(access_fault(access));
        }
        let addr = pte.addr() << 12;
        if level == 1 || pte.ps() {
            let page_size = 1u64 << shift;
            return Ok(Translation {
                gpa: addr | (iova & (page_size - 1)),
                page_size,
                perms,
            });
        }
        table = addr;
    }
    // Only reachable with `levels == 0`, which context validation rules out.
    Err(FaultReason::ContextInvalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TestMem;

    const CAPS: WalkCaps = WalkCaps {
        haw: 48,
        large_2m: true,
        large_1g: true,
    };

    fn read(m: &TestMem, root: u64, levels: u8, iova: u64) -> Result<Translation, FaultReason> {
        walk(&m.mem, CAPS, root, levels, iova, DmaAccess::Read)
    }

    fn write(m: &TestMem, root: u64, levels: u8, iova: u64) -> Result<Translation, FaultReason> {
        walk(&m.mem, CAPS, root, levels, iova, DmaAccess::Write)
    }

    #[test]
    fn four_level_4k_2m_1g() {
        let m = TestMem::new();
        let root = m.alloc();
        m.map(root, 4, 0x1234_5000, 0x20_0000, 12, true, true);
        m.map(root, 4, 0x8020_0000, 0x4000_0000, 21, true, false);
        m.map(root, 4, 0x80_4000_0000, 0x1_c000_0000, 30, false, true);
        let t = read(&m, root, 4, 0x1234_5678).unwrap();
        assert_eq!(
            (t.gpa, t.page_size, t.perms),
            (0x20_0678, 0x1000, DmaPerms::RW)
        );
        let t = read(&m, root, 4, 0x8031_2345).unwrap();
        assert_eq!(
            (t.gpa, t.page_size, t.perms),
            (0x4011_2345, 1 << 21, DmaPerms::RO)
        );
        assert_eq!(write(&m, root, 4, 0x8031_2345), Err(FaultReason::Write));
        let t = write(&m, root, 4, 0x80_7fff_fff0).unwrap();
        assert_eq!(
            (t.gpa, t.page_size, t.perms),
            (0x1_ffff_fff0, 1 << 30, DmaPerms::WO)
        );
        assert_eq!(read(&m, root, 4, 0x80_4000_0000), Err(FaultReason::Read));
        // Unmapped neighbours fault with the access's reason.
        assert_eq!(read(&m, root, 4, 0x1234_6000), Err(FaultReason::Read));
        assert_eq!(write(&m, root, 4, 0xdead_0000), Err(FaultReason::Write));
    }

    #[test]
    fn three_level_walks() {
        let m = TestMem::new();
        let root = m.alloc();
        m.map(root, 3, 0x7f_ffff_f000, 0x5000, 12, true, true);
        m.map(root, 3, 0x40_0000_0000, 0xc000_0000, 30, true, true);
        m.map(root, 3, 0x60_0000, 0x80_0000, 21, true, true);
        assert_eq!(read(&m, root, 3, 0x7f_ffff_f008).unwrap().gpa, 0x5008);
        assert_eq!(read(&m, root, 3, 0x40_0000_1000).unwrap().gpa, 0xc000_1000);
        assert_eq!(read(&m, root, 3, 0x70_0000).unwrap().gpa, 0x90_0000);
    }

    #[test]
    fn permissions_are_anded_across_levels() {
        let m = TestMem::new();
        let root = m.alloc();
        m.map(root, 4, 0x1000, 0x9000, 12, true, true);
        // Make the PML4E read-only: the RW leaf becomes read-only.
        let pml4e = SlPte::from(u64::from_le_bytes({
            let mut b = [0; 8];
            m.mem.read_at(root, &mut b).unwrap();
            b
        }));
        m.write_u64(root, pml4e.with_w(false).into_bits());
        assert_eq!(read(&m, root, 4, 0x1000).unwrap().perms, DmaPerms::RO);
        assert_eq!(write(&m, root, 4, 0x1000), Err(FaultReason::Write));
        // Write-only at the top, read-only leaf: nothing allowed.
        m.write_u64(root, pml4e.with_r(false).into_bits());
        assert_eq!(read(&m, root, 4, 0x1000), Err(FaultReason::Read));
    }

    #[test]
    fn reserved_bits() {
        let m = TestMem::new();
        let root = m.alloc();
        m.map(root, 4, 0, 0x5000, 12, true, true);
        let leaf_table = {
            let mut t = root;
            for _ in 0..3 {
                let mut b = [0; 8];
                m.mem.read_at(t, &mut b).unwrap();
                t = SlPte::from(u64::from_le_bytes(b)).addr() << 12;
            }
            t
        };
        let good = SlPte::new().with_r(true).with_w(true).with_addr(5);
        for bad in [
            good.with_snp(true),
            good.with_tm(true),
            good.with_addr(1 << 37), // bit 49 ≥ HAW 48
        ] {
            m.write_u64(leaf_table, bad.into_bits());
            assert_eq!(read(&m, root, 4, 0), Err(FaultReason::PagingEntryReserved));
        }
        // Ignored bits: X, EMT, IPAT, A, D, PS at level 1, 63:52 except TM.
        m.write_u64(
            leaf_table,
            good.with_x(true)
                .with_emt(7)
                .with_ipat(true)
                .with_a(true)
                .with_d(true)
                .with_ps(true)
                .with_ign52(0x3ff)
                .with_ign63(true)
                .into_bits(),
        );
        assert_eq!(read(&m, root, 4, 0).unwrap().gpa, 0x5000);
        // A reserved bit in a non-present entry is just not-present.
        m.write_u64(leaf_table, SlPte::new().with_snp(true).into_bits());
        assert_eq!(read(&m, root, 4, 0), Err(FaultReason::Read));
        // PS in a PML4E is reserved.
        let r2 = m.alloc();
        m.write_u64(r2, SlPte::new().with_r(true).with_ps(true).into_bits());
        assert_eq!(read(&m, r2, 4, 0), Err(FaultReason::PagingEntryReserved));
        // Misaligned large pages.
        let r3 = m.alloc();
        m.map(r3, 4, 0, 0x20_1000, 21, true, true);
        assert_eq!(read(&m, r3, 4, 0), Err(FaultReason::PagingEntryReserved));
        let r4 = m.alloc();
        m.map(r4, 4, 0, 0x4020_0000, 30, true, true);
        assert_eq!(read(&m, r4, 4, 0), Err(FaultReason::PagingEntryReserved));
    }

    #[test]
    fn large_pages_reserved_when_not_supported() {
        let m = TestMem::new();
        let root = m.alloc();
        m.map(root, 4, 0, 0x4000_0000, 30, true, true);
        m.map(root, 4, 0x8000_0000, 0x20_0000, 21, true, true);
        let caps = WalkCaps {
            haw: 48,
            large_2m: false,
            large_1g: false,
        };
        for iova in [0, 0x8000_0000] {
            assert_eq!(
                walk(&m.mem, caps, root, 4, iova, DmaAccess::Read),
                Err(FaultReason::PagingEntryReserved)
            );
        }
    }

    #[test]
    fn table_outside_ram_and_self_loops_terminate() {
        let m = TestMem::new();
        let root = m.alloc();
        // Points to a table beyond RAM (but below the HAW).
        m.write_u64(
            root,
            SlPte::new()
                .with_r(true)
                .with_w(true)
                .with_addr(0x10_0000_0000 >> 12)
                .into_bits(),
        );
        assert_eq!(read(&m, root, 4, 0), Err(FaultReason::PagingEntryAccess));
        // Root itself beyond RAM.
        assert_eq!(
            read(&m, 0xff_ffff_f000, 4, 0),
            Err(FaultReason::PagingEntryAccess)
        );
        // Every entry points back at the same table: the walk ends at level 1 and
        // maps the table page itself.
        let self_ref = m.alloc();
        m.write_u64(
            self_ref,
            SlPte::new()
                .with_r(true)
                .with_w(true)
                .with_addr(self_ref >> 12)
                .into_bits(),
        );
        let t = read(&m, self_ref, 4, 0x10).unwrap();
        assert_eq!(t.gpa, self_ref + 0x10);
        assert_eq!(t.page_size, 0x1000);
    }
}
