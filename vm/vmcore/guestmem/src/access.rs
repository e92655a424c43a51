//! The guest memory access interface, shared by [`GuestMemory`] and by
//! translating views (for example a DMA target behind an IOMMU).
//!
//! [`GuestMemory`]: crate::GuestMemory

use crate::GuestMemoryError;
use std::sync::Arc;
use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;

/// Byte-addressed access to guest memory.
///
/// The trait is dyn-compatible; generic helpers are on
/// [`GuestMemoryAccessExt`], implemented for every `GuestMemoryAccess`
/// (including `dyn GuestMemoryAccess`).
///
/// Addresses are untrusted: implementations must reject, never panic on, any
/// address or length, and must not wrap around the address space. Errors are
/// [`GuestMemoryError::OutOfRange`] for unbacked addresses,
/// [`GuestMemoryError::Unaligned`] for misaligned atomics and
/// [`GuestMemoryError::Fault`] for translation faults.
pub trait GuestMemoryAccess: Send + Sync {
    /// Reads `buf.len()` bytes starting at `addr`.
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError>;

    /// Writes `buf` starting at `addr`.
    fn write_at(&self, addr: u64, buf: &[u8]) -> Result<(), GuestMemoryError>;

    /// Atomically replaces the naturally aligned `u64` at `addr` with `new`
    /// if it equals `current`.
    ///
    /// Returns `Ok(Ok(current))` on success and `Ok(Err(actual))` on
    /// mismatch.
    fn compare_exchange_u64(
        &self,
        addr: u64,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, GuestMemoryError>;

    /// Atomically replaces the naturally aligned `u128` at `addr` with `new`
    /// if it equals `current`.
    ///
    /// Returns `Ok(Ok(current))` on success and `Ok(Err(actual))` on
    /// mismatch.
    fn compare_exchange_u128(
        &self,
        addr: u64,
        current: u128,
        new: u128,
    ) -> Result<Result<u128, u128>, GuestMemoryError>;

    /// Atomically reads the naturally aligned `u64` at `addr`.
    ///
    /// The default implementation uses a compare-exchange that never changes
    /// memory; implementations should override it with a plain atomic load
    /// (a translating view would otherwise demand write permission).
    fn read_u64_atomic(&self, addr: u64) -> Result<u64, GuestMemoryError> {
        Ok(self
            .compare_exchange_u64(addr, 0, 0)?
            .unwrap_or_else(|actual| actual))
    }

    /// Atomically writes the naturally aligned `u64` at `addr`.
    ///
    /// The default implementation loops on compare-exchange; implementations
    /// should override it with a plain atomic store.
    fn write_u64_atomic(&self, addr: u64, val: u64) -> Result<(), GuestMemoryError> {
        let mut current = self.read_u64_atomic(addr)?;
        while let Err(actual) = self.compare_exchange_u64(addr, current, val)? {
            current = actual;
        }
        Ok(())
    }

    /// Writes `len` copies of `val` starting at `addr`.
    ///
    /// The default implementation writes in chunks, so a fault part-way
    /// leaves the earlier chunks written (as a DMA would);
    /// [`GuestMemory`](crate::GuestMemory) checks the whole range first and
    /// writes nothing on error.
    fn fill_at(&self, addr: u64, val: u8, len: u64) -> Result<(), GuestMemoryError> {
        fill_in_chunks(addr, val, len, |a, chunk| self.write_at(a, chunk))
    }
}

/// Writes `len` copies of `val` from `addr` through `write`, one bounded
/// chunk at a time (never allocating more than a page-sized buffer).
pub(crate) fn fill_in_chunks(
    addr: u64,
    val: u8,
    len: u64,
    mut write: impl FnMut(u64, &[u8]) -> Result<(), GuestMemoryError>,
) -> Result<(), GuestMemoryError> {
    const CHUNK: u64 = 4096;
    if len == 0 {
        return Ok(());
    }
    if addr.checked_add(len - 1).is_none() {
        return Err(GuestMemoryError::OutOfRange { gpa: addr, len });
    }
    let buf = [val; CHUNK as usize];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(CHUNK);
        // `addr + done` cannot overflow: `addr + len - 1` did not.
        write(addr + done, &buf[..n as usize])?;
        done += n;
    }
    Ok(())
}

/// Generic helpers for every [`GuestMemoryAccess`], including trait objects.
pub trait GuestMemoryAccessExt: GuestMemoryAccess {
    /// Reads a plain-old-data value from `addr` (no alignment required).
    fn read_plain<T: FromBytes + IntoBytes>(&self, addr: u64) -> Result<T, GuestMemoryError> {
        let mut val = T::new_zeroed();
        self.read_at(addr, val.as_mut_bytes())?;
        Ok(val)
    }

    /// Writes a plain-old-data value to `addr` (no alignment required).
    fn write_plain<T: IntoBytes + Immutable>(
        &self,
        addr: u64,
        val: &T,
    ) -> Result<(), GuestMemoryError> {
        self.write_at(addr, val.as_bytes())
    }
}

impl<M: GuestMemoryAccess + ?Sized> GuestMemoryAccessExt for M {}

macro_rules! forward_access {
    ($($ty:ty),*) => {$(
        impl<M: GuestMemoryAccess + ?Sized> GuestMemoryAccess for $ty {
            fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError> {
                (**self).read_at(addr, buf)
            }
            fn write_at(&self, addr: u64, buf: &[u8]) -> Result<(), GuestMemoryError> {
                (**self).write_at(addr, buf)
            }
            fn compare_exchange_u64(
                &self,
                addr: u64,
                current: u64,
                new: u64,
            ) -> Result<Result<u64, u64>, GuestMemoryError> {
                (**self).compare_exchange_u64(addr, current, new)
            }
            fn compare_exchange_u128(
                &self,
                addr: u64,
                current: u128,
                new: u128,
            ) -> Result<Result<u128, u128>, GuestMemoryError> {
                (**self).compare_exchange_u128(addr, current, new)
            }
            fn read_u64_atomic(&self, addr: u64) -> Result<u64, GuestMemoryError> {
                (**self).read_u64_atomic(addr)
            }
            fn write_u64_atomic(&self, addr: u64, val: u64) -> Result<(), GuestMemoryError> {
                (**self).write_u64_atomic(addr, val)
            }
            fn fill_at(&self, addr: u64, val: u8, len: u64) -> Result<(), GuestMemoryError> {
                (**self).fill_at(addr, val, len)
            }
        }
    )*};
}

forward_access!(&M, Arc<M>, Box<M>);

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    /// A minimal implementation relying on every provided method: a flat
    /// byte array at address 0, faulting on anything else.
    struct Flat(Mutex<Vec<u8>>);

    impl Flat {
        fn range(&self, addr: u64, len: usize, write: bool) -> Result<usize, GuestMemoryError> {
            let size = self.0.lock().len();
            let start =
                usize::try_from(addr).map_err(|_| GuestMemoryError::Fault { addr, write })?;
            match start.checked_add(len) {
                Some(end) if end <= size => Ok(start),
                _ => Err(GuestMemoryError::Fault { addr, write }),
            }
        }
    }

    impl GuestMemoryAccess for Flat {
        fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<(), GuestMemoryError> {
            let s = self.range(addr, buf.len(), false)?;
            buf.copy_from_slice(&self.0.lock()[s..s + buf.len()]);
            Ok(())
        }
        fn write_at(&self, addr: u64, buf: &[u8]) -> Result<(), GuestMemoryError> {
            let s = self.range(addr, buf.len(), true)?;
            self.0.lock()[s..s + buf.len()].copy_from_slice(buf);
            Ok(())
        }
        fn compare_exchange_u64(
            &self,
            addr: u64,
            current: u64,
            new: u64,
        ) -> Result<Result<u64, u64>, GuestMemoryError> {
            let s = self.range(addr, 8, true)?;
            let mut mem = self.0.lock();
            let bytes: &mut [u8; 8] = (&mut mem[s..s + 8]).try_into().unwrap();
            let old = u64::from_le_bytes(*bytes);
            if old == current {
                *bytes = new.to_le_bytes();
                Ok(Ok(old))
            } else {
                Ok(Err(old))
            }
        }
        fn compare_exchange_u128(
            &self,
            addr: u64,
            _current: u128,
            _new: u128,
        ) -> Result<Result<u128, u128>, GuestMemoryError> {
            Err(GuestMemoryError::Fault { addr, write: true })
        }
    }

    fn flat() -> Arc<dyn GuestMemoryAccess> {
        Arc::new(Flat(Mutex::new(vec![0; 0x3000])))
    }

    #[test]
    fn provided_atomics() {
        let m = flat();
        m.write_u64_atomic(8, 0x1234).unwrap();
        assert_eq!(m.read_u64_atomic(8).unwrap(), 0x1234);
        assert_eq!(m.read_plain::<u64>(8).unwrap(), 0x1234);
        assert!(matches!(
            m.read_u64_atomic(0x3000),
            Err(GuestMemoryError::Fault {
                addr: 0x3000,
                write: true
            })
        ));
    }

    #[test]
    fn provided_fill_chunks() {
        let m = flat();
        m.fill_at(0x10, 0xaa, 0x2000).unwrap();
        let mut buf = [0u8; 0x2002];
        m.read_at(0xf, &mut buf).unwrap();
        assert_eq!(buf[0], 0);
        assert!(buf[1..0x2001].iter().all(|&b| b == 0xaa));
        assert_eq!(buf[0x2001], 0);
        assert!(m.fill_at(u64::MAX, 0, 2).is_err());
        assert!(m.fill_at(u64::MAX, 0, 0).is_ok());
    }

    #[test]
    fn plain_through_dyn_and_refs() {
        let m = flat();
        let r: &dyn GuestMemoryAccess = &*m;
        r.write_plain(0x20, &[1u16, 2, 3]).unwrap();
        assert_eq!(r.read_plain::<[u16; 3]>(0x20).unwrap(), [1, 2, 3]);
        let boxed: Box<dyn GuestMemoryAccess> = Box::new(m.clone());
        assert_eq!(boxed.read_plain::<u16>(0x22).unwrap(), 2);
        assert!(matches!(
            boxed.read_plain::<u16>(0x2fff),
            Err(GuestMemoryError::Fault { write: false, .. })
        ));
    }
}
