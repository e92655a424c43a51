//! [`GuestMemory`]: guest RAM backed by anonymous host mappings.

use crate::access::fill_in_chunks;
use crate::cmpxchg16;
use crate::layout::Layout;
use crate::GuestMemoryAccess;
use crate::GuestMemoryAccessExt;
use crate::GuestMemoryError;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use vm_memory::Bytes;
use vm_memory::GuestAddress;
use vm_memory::GuestMemoryBackend;
use vm_memory::GuestMemoryMmap;
use vm_memory::GuestMemoryRegion;
use vm_memory::GuestRegionMmap;
use vm_memory::VolatileMemory;
use vm_memory::VolatileSlice;
use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;

/// One backing region, as needed by `KVM_SET_USER_MEMORY_REGION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRegionInfo {
    /// The region's guest physical address.
    pub gpa: u64,
    /// The region's length in bytes.
    pub len: u64,
    /// The host virtual address the region is mapped at.
    pub host_addr: u64,
}

/// Guest physical memory. Cloning is cheap and shares the same memory.
#[derive(Clone)]
pub struct GuestMemory {
    inner: Arc<Inner>,
}

struct Inner {
    layout: Layout,
    mem: GuestMemoryMmap,
}

impl std::fmt::Debug for GuestMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestMemory")
            .field("regions", &self.inner.layout.spans())
            .finish()
    }
}

impl GuestMemory {
    /// Allocates anonymous, private, zeroed host memory for each `(gpa, len)`
    /// region. Regions must be non-empty, page-aligned (see
    /// [`PAGE_SIZE`](crate::PAGE_SIZE)) and non-overlapping; they may be
    /// given in any order, and adjacent regions behave as one range.
    pub fn new(regions: &[(u64, u64)]) -> Result<Self, GuestMemoryError> {
        let layout = Layout::new(regions)?;
        let mut mapped = Vec::with_capacity(layout.spans().len());
        for span in layout.spans() {
            // `Layout::new` checked that the length fits in `usize`.
            let size = span.len as usize;
            let region =
                GuestRegionMmap::from_range(GuestAddress(span.gpa), size, None).map_err(|e| {
                    GuestMemoryError::Alloc {
                        gpa: span.gpa,
                        len: span.len,
                        source: Box::new(e),
                    }
                })?;
            mapped.push(region);
        }
        let mem = if mapped.is_empty() {
            GuestMemoryMmap::new()
        } else {
            // Sorted and non-overlapping, so this cannot fail in practice.
            GuestMemoryMmap::from_regions(mapped).map_err(|e| GuestMemoryError::Alloc {
                gpa: 0,
                len: 0,
                source: Box::new(e),
            })?
        };
        Ok(Self {
            inner: Arc::new(Inner { layout, mem }),
        })
    }

    /// The backing regions, sorted by guest address, for
    /// `KVM_SET_USER_MEMORY_REGION`.
    pub fn regions(&self) -> Vec<MemoryRegionInfo> {
        self.inner
            .mem
            .iter()
            .map(|r| MemoryRegionInfo {
                gpa: r.start_addr().0,
                len: r.len(),
                host_addr: r.as_ptr() as u64,
            })
            .collect()
    }

    /// Returns whether every byte of `[gpa, gpa + len)` is guest memory. An
    /// empty range is always contained.
    pub fn contains(&self, gpa: u64, len: u64) -> bool {
        self.inner.layout.contains(gpa, len)
    }

    /// Reads `buf.len()` bytes at `gpa`.
    pub fn read_at(&self, gpa: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError> {
        self.checked(gpa, buf.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        self.inner
            .mem
            .read_slice(buf, GuestAddress(gpa))
            .map_err(|_| out_of_range(gpa, buf.len()))
    }

    /// Writes `buf` at `gpa`. Nothing is written if any byte is out of
    /// range.
    pub fn write_at(&self, gpa: u64, buf: &[u8]) -> Result<(), GuestMemoryError> {
        self.checked(gpa, buf.len())?;
        if buf.is_empty() {
            return Ok(());
        }
        self.inner
            .mem
            .write_slice(buf, GuestAddress(gpa))
            .map_err(|_| out_of_range(gpa, buf.len()))
    }

    /// Writes `len` copies of `val` at `gpa`. Nothing is written if any byte
    /// is out of range.
    pub fn fill_at(&self, gpa: u64, val: u8, len: u64) -> Result<(), GuestMemoryError> {
        self.inner.layout.check(gpa, len)?;
        fill_in_chunks(gpa, val, len, |a, chunk| self.write_at(a, chunk))
    }

    /// Reads a plain-old-data value at `gpa` (no alignment required).
    pub fn read_plain<T: FromBytes + IntoBytes>(&self, gpa: u64) -> Result<T, GuestMemoryError> {
        GuestMemoryAccessExt::read_plain(self, gpa)
    }

    /// Writes a plain-old-data value at `gpa` (no alignment required).
    pub fn write_plain<T: IntoBytes + Immutable>(
        &self,
        gpa: u64,
        val: &T,
    ) -> Result<(), GuestMemoryError> {
        GuestMemoryAccessExt::write_plain(self, gpa, val)
    }

    /// Atomically reads the naturally aligned `u64` at `gpa`.
    pub fn read_u64_atomic(&self, gpa: u64) -> Result<u64, GuestMemoryError> {
        self.atomic_u64(gpa, |a| a.load(Ordering::SeqCst))
    }

    /// Atomically writes the naturally aligned `u64` at `gpa`.
    pub fn write_u64_atomic(&self, gpa: u64, val: u64) -> Result<(), GuestMemoryError> {
        self.atomic_u64(gpa, |a| a.store(val, Ordering::SeqCst))
    }

    /// Atomically replaces the naturally aligned `u64` at `gpa` with `new` if
    /// it equals `current`: `Ok(Ok(current))` on success, `Ok(Err(actual))`
    /// on mismatch.
    pub fn compare_exchange_u64(
        &self,
        gpa: u64,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, GuestMemoryError> {
        self.atomic_u64(gpa, |a| {
            a.compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst)
        })
    }

    /// Atomically replaces the naturally aligned `u128` at `gpa` with `new`
    /// if it equals `current`: `Ok(Ok(current))` on success,
    /// `Ok(Err(actual))` on mismatch.
    pub fn compare_exchange_u128(
        &self,
        gpa: u64,
        current: u128,
        new: u128,
    ) -> Result<Result<u128, u128>, GuestMemoryError> {
        let slice = self.aligned_slice(gpa, 16)?;
        cmpxchg16::compare_exchange_u128(&slice, current, new)
            .map_err(|cmpxchg16::Misaligned| GuestMemoryError::Unaligned { gpa, align: 16 })
    }

    /// Checks `[gpa, gpa + len)` against the layout.
    fn checked(&self, gpa: u64, len: usize) -> Result<(), GuestMemoryError> {
        self.inner.layout.check(gpa, len as u64)
    }

    /// The host slice for a naturally aligned atomic access of `size` bytes
    /// (a power of two no larger than a page, so it never spans regions).
    fn aligned_slice(&self, gpa: u64, size: usize) -> Result<VolatileSlice<'_>, GuestMemoryError> {
        let align = size as u64;
        if gpa % align != 0 {
            return Err(GuestMemoryError::Unaligned { gpa, align });
        }
        self.checked(gpa, size)?;
        self.inner
            .mem
            .get_slice(GuestAddress(gpa), size)
            .map_err(|_| out_of_range(gpa, size))
    }

    /// Runs `f` on the naturally aligned `u64` at `gpa`.
    fn atomic_u64<R>(
        &self,
        gpa: u64,
        f: impl FnOnce(&AtomicU64) -> R,
    ) -> Result<R, GuestMemoryError> {
        let slice = self.aligned_slice(gpa, 8)?;
        let atomic = slice
            .get_atomic_ref::<AtomicU64>(0)
            .map_err(|_| GuestMemoryError::Unaligned { gpa, align: 8 })?;
        Ok(f(atomic))
    }
}

fn out_of_range(gpa: u64, len: usize) -> GuestMemoryError {
    GuestMemoryError::OutOfRange {
        gpa,
        len: len as u64,
    }
}

impl GuestMemoryAccess for GuestMemory {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError> {
        GuestMemory::read_at(self, addr, buf)
    }

    fn write_at(&self, addr: u64, buf: &[u8]) -> Result<(), GuestMemoryError> {
        GuestMemory::write_at(self, addr, buf)
    }

    fn compare_exchange_u64(
        &self,
        addr: u64,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, GuestMemoryError> {
        GuestMemory::compare_exchange_u64(self, addr, current, new)
    }

    fn compare_exchange_u128(
        &self,
        addr: u64,
        current: u128,
        new: u128,
    ) -> Result<Result<u128, u128>, GuestMemoryError> {
        GuestMemory::compare_exchange_u128(self, addr, current, new)
    }

    fn read_u64_atomic(&self, addr: u64) -> Result<u64, GuestMemoryError> {
        GuestMemory::read_u64_atomic(self, addr)
    }

    fn write_u64_atomic(&self, addr: u64, val: u64) -> Result<(), GuestMemoryError> {
        GuestMemory::write_u64_atomic(self, addr, val)
    }

    fn fill_at(&self, addr: u64, val: u8, len: u64) -> Result<(), GuestMemoryError> {
        GuestMemory::fill_at(self, addr, val, len)
    }
}

#[cfg(test)]
mod tests;
