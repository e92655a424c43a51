//! 16-byte atomic compare-exchange on guest memory.
//!
//! Rust has no stable `AtomicU128`, so on x86_64 this issues
//! `lock cmpxchg16b` directly. Elsewhere (or on the rare x86_64 CPU without
//! the instruction) it falls back to a process-wide lock, which is atomic
//! against other users of this function but not against vCPUs.

use vm_memory::bitmap::BitmapSlice;
use vm_memory::VolatileSlice;

/// Why a 16-byte compare-exchange could not be attempted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Misaligned;

/// Atomically replaces the 16 bytes of `slice` with `new` if they equal
/// `current`. Returns `Ok(current)` on success and `Err(actual)` on mismatch.
///
/// `slice` must be exactly 16 bytes and 16-byte aligned in host memory.
pub(crate) fn compare_exchange_u128<B: BitmapSlice>(
    slice: &VolatileSlice<'_, B>,
    current: u128,
    new: u128,
) -> Result<Result<u128, u128>, Misaligned> {
    let guard = slice.ptr_guard_mut();
    let ptr = guard.as_ptr();
    if guard.len() != 16 || (ptr as usize) % 16 != 0 {
        return Err(Misaligned);
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("cmpxchg16b") {
        // SAFETY: `ptr` comes from a live `VolatileSlice` of exactly 16 bytes,
        // whose invariant is that the memory is mapped and valid for the
        // slice's lifetime (the guard keeps it mapped); it is 16-byte aligned
        // as checked above, and the CPU supports cmpxchg16b. Other accesses
        // to guest memory are volatile or atomic, so a locked access does
        // not break any Rust aliasing assumption.
        return Ok(unsafe { cmpxchg16b(ptr.cast(), current, new) });
    }
    Ok(locked_fallback(slice, current, new))
}

/// `lock cmpxchg16b` on `ptr`.
///
/// # Safety
///
/// `ptr` must be valid for reads and writes of 16 bytes, 16-byte aligned,
/// and the CPU must support cmpxchg16b.
#[cfg(target_arch = "x86_64")]
unsafe fn cmpxchg16b(ptr: *mut u128, current: u128, new: u128) -> Result<u128, u128> {
    let (prev_lo, prev_hi): (u64, u64);
    // SAFETY: the caller guarantees `ptr` is valid, aligned and that the
    // instruction exists. rbx is reserved by LLVM, so the low half of `new`
    // is swapped into it around the instruction and restored after.
    unsafe {
        std::arch::asm!(
            "xchg {new_lo}, rbx",
            "lock cmpxchg16b xmmword ptr [{ptr}]",
            "mov rbx, {new_lo}",
            ptr = in(reg) ptr,
            new_lo = inout(reg) new as u64 => _,
            in("rcx") (new >> 64) as u64,
            inout("rax") current as u64 => prev_lo,
            inout("rdx") (current >> 64) as u64 => prev_hi,
            options(nostack),
        );
    }
    // rdx:rax holds the previous value whether or not the exchange happened.
    let prev = (u128::from(prev_hi) << 64) | u128::from(prev_lo);
    if prev == current {
        Ok(prev)
    } else {
        Err(prev)
    }
}

/// Compare-exchange under a process-wide lock, with volatile copies.
fn locked_fallback<B: BitmapSlice>(
    slice: &VolatileSlice<'_, B>,
    current: u128,
    new: u128,
) -> Result<u128, u128> {
    static LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
    let _held = LOCK.lock();
    let mut old = [0u8; 16];
    slice.copy_to(&mut old);
    let old = u128::from_le_bytes(old);
    if old != current {
        return Err(old);
    }
    slice.copy_from(&new.to_le_bytes());
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(align(16))]
    struct Aligned([u8; 32]);

    fn with_slice<R>(f: impl FnOnce(VolatileSlice<'_>) -> R) -> R {
        let mut buf = Aligned([0; 32]);
        let slice = VolatileSlice::from(&mut buf.0[..]);
        f(slice)
    }

    #[test]
    fn success_and_mismatch() {
        with_slice(|s| {
            let s = s.subslice(0, 16).unwrap();
            let v = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
            assert_eq!(compare_exchange_u128(&s, 0, v), Ok(Ok(0)));
            assert_eq!(compare_exchange_u128(&s, 0, 1), Ok(Err(v)));
            assert_eq!(compare_exchange_u128(&s, v, 7), Ok(Ok(v)));
            let mut out = [0u8; 16];
            s.copy_to(&mut out);
            assert_eq!(u128::from_le_bytes(out), 7);
        });
    }

    #[test]
    fn fallback_matches() {
        with_slice(|s| {
            let s = s.subslice(16, 16).unwrap();
            assert_eq!(locked_fallback(&s, 0, u128::MAX), Ok(0));
            assert_eq!(locked_fallback(&s, 0, 1), Err(u128::MAX));
            assert_eq!(compare_exchange_u128(&s, u128::MAX, 5), Ok(Ok(u128::MAX)));
        });
    }

    #[test]
    fn rejects_misaligned_or_wrong_size() {
        with_slice(|s| {
            assert_eq!(
                compare_exchange_u128(&s.subslice(8, 16).unwrap(), 0, 1),
                Err(Misaligned)
            );
            assert_eq!(
                compare_exchange_u128(&s.subslice(0, 8).unwrap(), 0, 1),
                Err(Misaligned)
            );
        });
    }
}
