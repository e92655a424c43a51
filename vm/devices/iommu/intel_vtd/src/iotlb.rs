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
use std::collections::BTreeSet;
use std::collections::HashMap;

/// Entries kept before the cache starts over.
pub(crate) const CAPACITY: usize = 4096;

/// Page sizes the walk can return, smallest first (4 KiB, 2 MiB, 1 GiB).
const SHIFTS: [u32; 3] = [12, 21, 30];
/// Above this many lookups a page-selective invalidation scans instead.
const DIRECT_LIMIT: u64 = 512;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// GPA of the start of the page.
    gpa_base: u64,
    perms: DmaPerms,
    did: u16,
}

/// The cache: one map per page size, keyed by (source id, IOVA >> page shift), and
/// the source ids seen in each domain (so a page-selective invalidation visits only
/// the pages it names).
#[derive(Debug, Default)]
pub(crate) struct Iotlb {
    maps: [HashMap<(u16, u64), Entry>; 3],
    domain_sids: HashMap<u16, BTreeSet<u16>>,
}

impl inspect::Inspect for Iotlb {
    fn inspect(&self, node: &mut inspect::Node) {
        node.value("entries", self.len() as u64)
            .value("capacity", CAPACITY as u64);
    }
}

impl Iotlb {
    /// The cached translation of `iova` for `sid`, if it allows `access`.
    pub fn lookup(&self, sid: u16, iova: u64, access: DmaAccess) -> Option<Translation> {
        for (map, shift) in self.maps.iter().zip(SHIFTS) {
            if let Some(e) = map.get(&(sid, iova >> shift)) {
                let size = 1u64 << shift;
                return e.perms.allows(access).then_some(Translation {
                    gpa: e.gpa_base | (iova & (size - 1)),
                    page_size: size,
                    perms: e.perms,
                });
            }
        }
        None
    }

    /// Caches the walk result `t` of `iova` for `sid` in domain `did`.
    pub fn insert(&mut self, sid: u16, did: u16, iova: u64, t: &Translation) {
        if self.len() >= CAPACITY {
            self.clear();
        }
        // A page size the walk cannot produce is cached as its 4 KiB page.
        let i = SHIFTS
            .iter()
            .position(|&s| t.page_size == 1 << s)
            .unwrap_or(0);
        let size = 1u64 << SHIFTS[i];
        self.maps[i].insert(
            (sid, iova >> SHIFTS[i]),
            Entry {
                gpa_base: t.gpa & !(size - 1),
                perms: t.perms,
                did,
            },
        );
        self.domain_sids.entry(did).or_default().insert(sid);
    }

    /// Global invalidation.
    pub fn clear(&mut self) {
        for map in &mut self.maps {
            map.clear();
        }
        self.domain_sids.clear();
    }

    /// Domain-selective invalidation.
    pub fn invalidate_domain(&mut self, did: u16) {
        for map in &mut self.maps {
            map.retain(|_, e| e.did != did);
        }
        self.domain_sids.remove(&did);
    }

    /// Page-selective invalidation of `2^am` pages at `addr` in domain `did`: drops
    /// every entry whose page overlaps the range (a large page is dropped whole).
    pub fn invalidate_pages(&mut self, did: u16, addr: u64, am: u8) {
        let Some(len) = 1u64
            .checked_shl(SHIFTS[0] + u32::from(am))
            .filter(|&l| l != 0)
        else {
            // A mask covering the whole address space.
            self.invalidate_domain(did);
            return;
        };
        let Some(sids) = self.domain_sids.get(&did) else {
            return;
        };
        let start = addr & !(len - 1);
        let last = start.saturating_add(len - 1);
        for (map, shift) in self.maps.iter_mut().zip(SHIFTS) {
            let (first, final_) = (start >> shift, last >> shift);
            if (final_ - first + 1).saturating_mul(sids.len() as u64) > DIRECT_LIMIT {
                map.retain(|&(_, page), e| e.did != did || page < first || page > final_);
                continue;
            }
            for page in first..=final_ {
                for &sid in sids {
                    if map.get(&(sid, page)).is_some_and(|e| e.did == did) {
                        map.remove(&(sid, page));
                    }
                }
            }
        }
    }

    /// Number of cached pages.
    pub fn len(&self) -> usize {
        self.maps.iter().map(HashMap::len).sum()
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
