//! The IOTLB: successful second-level translations cached per (source id, 4 KiB
//! page), tagged with the domain id and the size of the page that mapped them, and
//! dropped exactly as the guest's invalidations say (VT-d §6.5: global, domain- and
//! page-selective IOTLB invalidation; context-cache invalidation, SRTP and TE
//! changes drop everything).
//!
//! Only present, permitted translations are cached (CAP.CM = 0: not-present entries
//! never are), so a guest that maps a page needs no invalidation to see it. Bounded:
//! when full, the cache starts over.

use iommu_common::DmaAccess;
use iommu_common::DmaPerms;
use iommu_common::Translation;
use std::collections::HashMap;

/// Entries kept before the cache starts over.
pub(crate) const CAPACITY: usize = 4096;

const PAGE_SHIFT: u32 = 12;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// GPA of this 4 KiB page.
    gpa_page: u64,
    perms: DmaPerms,
    did: u16,
    /// IOVA of the start of the (possibly large) page that mapped it.
    base: u64,
    /// Size of that page.
    size: u64,
}

/// The cache.
#[derive(Debug, Default)]
pub(crate) struct Iotlb {
    entries: HashMap<(u16, u64), Entry>,
}

impl inspect::Inspect for Iotlb {
    fn inspect(&self, node: &mut inspect::Node) {
        node.value("entries", self.entries.len() as u64)
            .value("capacity", CAPACITY as u64);
    }
}

impl Iotlb {
    /// The cached translation of `iova` for `sid`, if it allows `access`.
    pub fn lookup(&self, sid: u16, iova: u64, access: DmaAccess) -> Option<Translation> {
        let e = self.entries.get(&(sid, iova >> PAGE_SHIFT))?;
        e.perms.allows(access).then_some(Translation {
            gpa: e.gpa_page | (iova & 0xfff),
            page_size: 1 << PAGE_SHIFT,
            perms: e.perms,
        })
    }

    /// Caches the walk result `t` of `iova` for `sid` in domain `did`.
    pub fn insert(&mut self, sid: u16, did: u16, iova: u64, t: &Translation) {
        if self.entries.len() >= CAPACITY {
            self.entries.clear();
        }
        let size = t.page_size.max(1 << PAGE_SHIFT);
        self.entries.insert(
            (sid, iova >> PAGE_SHIFT),
            Entry {
                gpa_page: t.gpa & !0xfff,
                perms: t.perms,
                did,
                base: iova & !(size - 1),
                size,
            },
        );
    }

    /// Global invalidation.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Domain-selective invalidation.
    pub fn invalidate_domain(&mut self, did: u16) {
        self.entries.retain(|_, e| e.did != did);
    }

    /// Page-selective invalidation of `2^am` pages at `addr` in domain `did`: drops
    /// every entry whose page overlaps the range (a large page is dropped whole).
    pub fn invalidate_pages(&mut self, did: u16, addr: u64, am: u8) {
        let Some(len) = 1u64
            .checked_shl(PAGE_SHIFT + u32::from(am))
            .filter(|&l| l != 0)
        else {
            // A mask covering the whole address space.
            self.invalidate_domain(did);
            return;
        };
        let start = addr & !(len - 1);
        let end = start.saturating_add(len);
        self.entries
            .retain(|_, e| e.did != did || e.base >= end || e.base.saturating_add(e.size) <= start);
    }

    /// Number of cached pages.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(gpa: u64, page_size: u64, perms: DmaPerms) -> Translation {
        Translation {
            gpa,
            page_size,
            perms,
        }
    }

    #[test]
    fn hits_respect_permissions_and_offsets() {
        let mut c = Iotlb::default();
        c.insert(8, 1, 0x5123, &t(0x9123, 4096, DmaPerms::RO));
        let hit = c.lookup(8, 0x5ff0, DmaAccess::Read).unwrap();
        assert_eq!(hit.gpa, 0x9ff0);
        assert!(c.lookup(8, 0x5000, DmaAccess::Write).is_none());
        assert!(c.lookup(9, 0x5000, DmaAccess::Read).is_none());
        assert!(c.lookup(8, 0x6000, DmaAccess::Read).is_none());
    }

    #[test]
    fn invalidation_granularities() {
        let mut c = Iotlb::default();
        c.insert(8, 1, 0x1000, &t(0x10_1000, 4096, DmaPerms::RW));
        c.insert(8, 1, 0x2000, &t(0x10_2000, 4096, DmaPerms::RW));
        c.insert(16, 2, 0x1000, &t(0x20_1000, 4096, DmaPerms::RW));
        // A subpage of a 2 MiB page.
        c.insert(8, 1, 0x40_3000, &t(0x80_3000, 2 << 20, DmaPerms::RW));
        c.invalidate_pages(1, 0x2000, 0);
        assert!(c.lookup(8, 0x2000, DmaAccess::Read).is_none());
        assert!(c.lookup(8, 0x1000, DmaAccess::Read).is_some());
        // Page-selective invalidation touches only its domain.
        c.invalidate_pages(2, 0x1000, 0);
        assert!(c.lookup(16, 0x1000, DmaAccess::Read).is_none());
        assert!(c.lookup(8, 0x1000, DmaAccess::Read).is_some());
        // Invalidating any 4 KiB inside a large page drops the large page.
        c.invalidate_pages(1, 0x5f_f000, 0);
        assert!(c.lookup(8, 0x40_3000, DmaAccess::Read).is_none());
        c.insert(16, 2, 0x1000, &t(0x20_1000, 4096, DmaPerms::RW));
        c.invalidate_domain(1);
        assert_eq!(c.len(), 1);
        // Masks wider than the address space do not overflow.
        c.invalidate_pages(2, !0xfff, 63);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn bounded() {
        let mut c = Iotlb::default();
        for i in 0..(CAPACITY as u64 + 10) {
            c.insert(1, 1, i << 12, &t(i << 12, 4096, DmaPerms::RW));
        }
        assert!(c.len() <= CAPACITY);
    }
}
