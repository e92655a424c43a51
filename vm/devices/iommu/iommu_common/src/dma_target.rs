//! The per-device DMA target: guest memory as one requester sees it through an IOMMU.
//!
//! Offers the same access interface as guest memory (`guestmem::GuestMemoryAccess`),
//! so devices do DMA the same way with or without an IOMMU. Each access is translated
//! page by page with the requester id current at that moment; a translation fault
//! fails the access cleanly (the IOMMU has recorded it) and nothing past the faulting
//! page is touched.

use crate::DmaAccess;
use crate::DmaRequest;
use crate::DmaTranslator;
use crate::RequesterIdCell;
use guestmem::GuestMemory;
use guestmem::GuestMemoryAccess;
use guestmem::GuestMemoryError;
use std::sync::Arc;

/// Guest memory as seen by one requester.
#[derive(Clone)]
pub struct DmaTarget {
    memory: GuestMemory,
    translator: Arc<dyn DmaTranslator>,
    requester: RequesterIdCell,
}

impl DmaTarget {
    /// A view of `memory` for `requester` through `translator`.
    pub fn new(
        memory: GuestMemory,
        translator: Arc<dyn DmaTranslator>,
        requester: RequesterIdCell,
    ) -> Self {
        Self {
            memory,
            translator,
            requester,
        }
    }

    /// The requester this view translates for.
    pub fn requester(&self) -> &RequesterIdCell {
        &self.requester
    }

    /// Translates `[iova, iova + len)` chunk by chunk, calling `f(gpa, offset, chunk_len)`.
    fn for_each_chunk(
        &self,
        iova: u64,
        len: u64,
        access: DmaAccess,
        mut f: impl FnMut(u64, usize, usize) -> Result<(), GuestMemoryError>,
    ) -> Result<(), GuestMemoryError> {
        iova.checked_add(len)
            .ok_or(GuestMemoryError::OutOfRange { gpa: iova, len })?;
        let requester = self.requester.get();
        let mut done = 0u64;
        while done < len {
            let addr = iova + done;
            let t = self
                .translator
                .translate(&DmaRequest::new(requester, addr, access))
                .map_err(|_| GuestMemoryError::Fault {
                    addr,
                    write: access == DmaAccess::Write,
                })?;
            let chunk = t.valid_len().min(len - done);
            f(t.gpa, done as usize, chunk as usize)?;
            done += chunk;
        }
        Ok(())
    }

    fn translate_one(&self, iova: u64, access: DmaAccess) -> Result<u64, GuestMemoryError> {
        self.translator
            .translate(&DmaRequest::new(self.requester.get(), iova, access))
            .map(|t| t.gpa)
            .map_err(|_| GuestMemoryError::Fault {
                addr: iova,
                write: access == DmaAccess::Write,
            })
    }
}

impl GuestMemoryAccess for DmaTarget {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError> {
        self.for_each_chunk(addr, buf.len() as u64, DmaAccess::Read, |gpa, off, n| {
            self.memory.read_at(gpa, &mut buf[off..off + n])
        })
    }

    fn write_at(&self, addr: u64, buf: &[u8]) -> Result<(), GuestMemoryError> {
        self.for_each_chunk(addr, buf.len() as u64, DmaAccess::Write, |gpa, off, n| {
            self.memory.write_at(gpa, &buf[off..off + n])
        })
    }

    fn compare_exchange_u64(
        &self,
        addr: u64,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, GuestMemoryError> {
        // Naturally aligned, so it never crosses a page.
        if addr % 8 != 0 {
            return Err(GuestMemoryError::Unaligned {
                gpa: addr,
                align: 8,
            });
        }
        let gpa = self.translate_one(addr, DmaAccess::Write)?;
        self.memory.compare_exchange_u64(gpa, current, new)
    }

    fn compare_exchange_u128(
        &self,
        addr: u64,
        current: u128,
        new: u128,
    ) -> Result<Result<u128, u128>, GuestMemoryError> {
        if addr % 16 != 0 {
            return Err(GuestMemoryError::Unaligned {
                gpa: addr,
                align: 16,
            });
        }
        let gpa = self.translate_one(addr, DmaAccess::Write)?;
        self.memory.compare_exchange_u128(gpa, current, new)
    }

    fn read_u64_atomic(&self, addr: u64) -> Result<u64, GuestMemoryError> {
        if addr % 8 != 0 {
            return Err(GuestMemoryError::Unaligned {
                gpa: addr,
                align: 8,
            });
        }
        let gpa = self.translate_one(addr, DmaAccess::Read)?;
        self.memory.read_u64_atomic(gpa)
    }

    fn write_u64_atomic(&self, addr: u64, val: u64) -> Result<(), GuestMemoryError> {
        if addr % 8 != 0 {
            return Err(GuestMemoryError::Unaligned {
                gpa: addr,
                align: 8,
            });
        }
        let gpa = self.translate_one(addr, DmaAccess::Write)?;
        self.memory.write_u64_atomic(gpa, val)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DmaFault;
    use crate::DmaFaultKind;
    use crate::DmaPerms;
    use crate::IdentityTranslator;
    use crate::Translation;
    use guestmem::GuestMemoryAccessExt;

    /// Maps IOVA page n to GPA page (n + 16), read-only for odd pages, nothing at 8+.
    struct Shifted;

    impl DmaTranslator for Shifted {
        fn translate(&self, req: &DmaRequest) -> Result<Translation, DmaFault> {
            let page = req.iova >> 12;
            let perms = if page % 2 == 1 {
                DmaPerms::RO
            } else {
                DmaPerms::RW
            };
            if page >= 8 || !perms.allows(req.access) {
                return Err(DmaFault {
                    request: *req,
                    kind: DmaFaultKind::NotMapped,
                });
            }
            Ok(Translation {
                gpa: ((page + 16) << 12) | (req.iova & 0xfff),
                page_size: 4096,
                perms,
            })
        }
    }

    fn setup(t: Arc<dyn DmaTranslator>) -> (GuestMemory, DmaTarget) {
        let mem = GuestMemory::new(&[(0, 1 << 20)]).unwrap();
        let target = DmaTarget::new(mem.clone(), t, RequesterIdCell::new(0, 8));
        (mem, target)
    }

    #[test]
    fn identity() {
        let (mem, t) = setup(Arc::new(IdentityTranslator));
        t.write_at(0x1ffe, &[1, 2, 3, 4]).unwrap();
        let mut b = [0u8; 4];
        mem.read_at(0x1ffe, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert!(t.read_at(1 << 20, &mut b).is_err());
        assert!(t.read_at(u64::MAX - 1, &mut b).is_err());
    }

    #[test]
    fn split_across_pages() {
        let (mem, t) = setup(Arc::new(Shifted));
        // IOVA 0x0ffe..0x1002 spans page 0 (→ 16) and page 1 (→ 17).
        mem.write_at(0x10ffe, &[1, 2]).unwrap();
        mem.write_at(0x11000, &[3, 4]).unwrap();
        let mut b = [0u8; 4];
        t.read_at(0xffe, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert_eq!(t.read_plain::<u16>(0x1000).unwrap(), 0x0403);
    }

    #[test]
    fn faults_stop_the_access() {
        let (mem, t) = setup(Arc::new(Shifted));
        // Page 1 is read-only: the write faults at its first byte.
        let err = t.write_at(0xffe, &[9, 9, 9, 9]).unwrap_err();
        assert!(matches!(
            err,
            GuestMemoryError::Fault {
                addr: 0x1000,
                write: true
            }
        ));
        assert!(t.compare_exchange_u64(0x1000, 0, 1).is_err());
        assert!(t.read_at(0x8000, &mut [0u8; 1]).is_err());
        let mut b = [0u8; 2];
        mem.read_at(0x11000, &mut b).unwrap();
        assert_eq!(b, [0, 0]);
        assert!(t.compare_exchange_u64(0x2004, 0, 1).is_err());
        assert_eq!(t.compare_exchange_u64(0x2008, 0, 7).unwrap(), Ok(0));
        assert_eq!(mem.read_plain::<u64>(0x12008).unwrap(), 7);
    }
}
