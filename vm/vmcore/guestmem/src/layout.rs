//! The guest physical layout: validated, sorted regions and overflow-safe
//! range checks. Holds no memory itself.

use crate::GuestMemoryError;

/// The page size guest memory regions must be aligned to.
pub const PAGE_SIZE: u64 = 4096;

/// One region of guest physical address space. `gpa + len` never overflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub gpa: u64,
    pub len: u64,
}

impl Span {
    /// The first address past the region.
    fn end(&self) -> u64 {
        // Validated in `Layout::new`.
        self.gpa + self.len
    }
}

/// A validated set of non-overlapping, page-aligned regions, sorted by
/// address.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    spans: Vec<Span>,
}

impl Layout {
    /// Validates `regions` (in any order): each must be non-empty,
    /// page-aligned, must not wrap, and must not overlap another.
    pub fn new(regions: &[(u64, u64)]) -> Result<Self, GuestMemoryError> {
        let mut spans = Vec::with_capacity(regions.len());
        for &(gpa, len) in regions {
            let invalid = |reason| GuestMemoryError::InvalidRegion { gpa, len, reason };
            if len == 0 {
                return Err(invalid("empty region"));
            }
            if gpa % PAGE_SIZE != 0 || len % PAGE_SIZE != 0 {
                return Err(invalid("not page-aligned"));
            }
            if gpa.checked_add(len).is_none() {
                return Err(invalid("wraps around the address space"));
            }
            if usize::try_from(len).is_err() {
                return Err(invalid("larger than the host address space"));
            }
            spans.push(Span { gpa, len });
        }
        spans.sort_by_key(|s| s.gpa);
        for pair in spans.windows(2) {
            if pair[0].end() > pair[1].gpa {
                return Err(GuestMemoryError::Overlap {
                    first: pair[0].gpa,
                    second: pair[1].gpa,
                });
            }
        }
        Ok(Self { spans })
    }

    /// The regions, sorted by address.
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Checks that every byte of `[gpa, gpa + len)` is backed by some region
    /// (adjacent regions may be crossed). An empty range is always valid.
    pub fn check(&self, gpa: u64, len: u64) -> Result<(), GuestMemoryError> {
        if self.contains(gpa, len) {
            Ok(())
        } else {
            Err(GuestMemoryError::OutOfRange { gpa, len })
        }
    }

    /// Returns whether every byte of `[gpa, gpa + len)` is backed.
    pub fn contains(&self, gpa: u64, len: u64) -> bool {
        if len == 0 {
            return true;
        }
        // Inclusive last byte, so a range ending exactly at 2^64 is
        // representable (it is still rejected: no region reaches it).
        let Some(last) = gpa.checked_add(len - 1) else {
            return false;
        };
        // Index of the last span starting at or below `gpa`.
        let idx = self.spans.partition_point(|s| s.gpa <= gpa);
        let Some(mut idx) = idx.checked_sub(1) else {
            return false;
        };
        let mut span = self.spans[idx];
        if gpa >= span.end() {
            return false;
        }
        // Walk forward through adjacent spans until `last` is covered.
        while last >= span.end() {
            idx += 1;
            match self.spans.get(idx) {
                Some(next) if next.gpa == span.end() => span = *next,
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: u64 = PAGE_SIZE;

    fn layout() -> Layout {
        // [0x1000, 0x3000) and [0x3000, 0x4000) are adjacent; hole up to
        // 0x10000; then [0x10000, 0x11000).
        Layout::new(&[(0x10000, P), (0x1000, 2 * P), (0x3000, P)]).unwrap()
    }

    #[test]
    fn rejects_bad_regions() {
        for bad in [
            &[(0, 0)][..],
            &[(1, P)],
            &[(0, P + 1)],
            &[(u64::MAX - P + 1, P)],
            &[(0u64.wrapping_sub(2 * P), 4 * P)],
        ] {
            assert!(
                matches!(
                    Layout::new(bad),
                    Err(GuestMemoryError::InvalidRegion { .. })
                ),
                "{bad:x?}"
            );
        }
        assert!(matches!(
            Layout::new(&[(0, 2 * P), (P, P)]),
            Err(GuestMemoryError::Overlap {
                first: 0,
                second: P
            })
        ));
        assert!(Layout::new(&[]).unwrap().spans().is_empty());
    }

    #[test]
    fn sorts_regions() {
        let l = layout();
        let starts: Vec<u64> = l.spans().iter().map(|s| s.gpa).collect();
        assert_eq!(starts, [0x1000, 0x3000, 0x10000]);
    }

    #[test]
    fn boundaries() {
        let l = layout();
        assert!(l.contains(0x1000, 1));
        assert!(!l.contains(0xfff, 1));
        assert!(!l.contains(0xfff, 2));
        assert!(l.contains(0x3fff, 1));
        assert!(!l.contains(0x3fff, 2));
        assert!(!l.contains(0x4000, 1));
        assert!(l.contains(0x10000, P));
        assert!(!l.contains(0x10000, P + 1));
        assert!(!l.contains(0x11000, 1));
    }

    #[test]
    fn crossing_and_holes() {
        let l = layout();
        assert!(l.contains(0x2ff0, 0x20));
        assert!(l.contains(0x1000, 3 * P));
        assert!(!l.contains(0x1000, 3 * P + 1));
        assert!(!l.contains(0x3ff0, 0xc020));
    }

    #[test]
    fn overflow_and_empty() {
        let l = layout();
        assert!(!l.contains(u64::MAX, 1));
        assert!(!l.contains(u64::MAX, 2));
        assert!(!l.contains(0x1000, u64::MAX));
        assert!(!l.contains(u64::MAX, u64::MAX));
        assert!(l.contains(u64::MAX, 0));
        assert!(l.contains(0, 0));
        assert!(matches!(
            l.check(u64::MAX, 2),
            Err(GuestMemoryError::OutOfRange {
                gpa: u64::MAX,
                len: 2
            })
        ));
    }

    /// The obvious byte-by-byte definition of `contains`, for small ranges.
    fn reference_contains(l: &Layout, gpa: u64, len: u64) -> bool {
        (0..len).all(|i| {
            gpa.checked_add(i)
                .is_some_and(|a| l.spans().iter().any(|s| a >= s.gpa && a < s.end()))
        })
    }

    proptest! {
        #[test]
        fn contains_matches_reference(gpa in 0u64..0x12000, len in 0u64..0x5000) {
            let l = layout();
            prop_assert_eq!(l.contains(gpa, len), reference_contains(&l, gpa, len));
        }

        #[test]
        fn contains_never_panics(gpa: u64, len: u64) {
            let l = layout();
            let inside = l.contains(gpa, len);
            if inside && len > 0 {
                prop_assert!(gpa >= 0x1000 && gpa.checked_add(len).is_some_and(|e| e <= 0x11000));
            }
        }
    }
}
