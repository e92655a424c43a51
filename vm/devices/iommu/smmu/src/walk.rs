//! AArch64 (VMSAv8-64) translation table walks for 4K, 16K and 64K granules, as the SMMU
//! performs them for stage 1 and stage 2 (IHI 0070 §3.4; Arm ARM D8.2 "Translation
//! table walk").
//!
//! The walker is generic over how descriptors are fetched, so a stage 1 walk in a
//! nested configuration can fetch each descriptor through stage 2. It visits at most
//! four levels whatever the guest wrote: a table that points back at itself simply
//! runs out of levels.

use crate::spec::pte::Pte;
use crate::spec::pte::OA_HI_MASK;
use crate::spec::pte::OA_MASK_48;
use iommu_common::DmaPerms;

/// Translation granule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granule {
    /// 4 KiB pages, 9 bits per level.
    K4,
    /// 16 KiB pages, 11 bits per level.
    K16,
    /// 64 KiB pages, 13 bits per level.
    K64,
}

impl Granule {
    /// log2 of the page size.
    pub const fn shift(self) -> u32 {
        match self {
            Granule::K4 => 12,
            Granule::K16 => 14,
            Granule::K64 => 16,
        }
    }

    /// Address bits resolved per level.
    pub const fn stride(self) -> u32 {
        self.shift() - 3
    }

    /// Decodes CD.TG0 / STE.S2TG (0b00 4K, 0b01 64K, 0b10 16K) (IHI 0070 §5.4, §5.2).
    pub const fn from_tg0(tg: u8) -> Option<Self> {
        match tg {
            0 => Some(Granule::K4),
            1 => Some(Granule::K64),
            2 => Some(Granule::K16),
            _ => None,
        }
    }

    /// Decodes CD.TG1 (0b01 16K, 0b10 4K, 0b11 64K) (IHI 0070 §5.4).
    pub const fn from_tg1(tg: u8) -> Option<Self> {
        match tg {
            1 => Some(Granule::K16),
            2 => Some(Granule::K4),
            3 => Some(Granule::K64),
            _ => None,
        }
    }

    /// log2 of the block size a leaf at `level` maps.
    pub const fn level_shift(self, level: u8) -> u32 {
        self.shift() + (3 - level as u32) * self.stride()
    }

    /// Whether a block descriptor is legal at `level` with 48-bit output addresses
    /// (Arm ARM D8.3: 4K at levels 1-2, 16K and 64K at level 2 only).
    pub const fn block_allowed(self, level: u8) -> bool {
        match self {
            Granule::K4 => level == 1 || level == 2,
            Granule::K16 | Granule::K64 => level == 2,
        }
    }

    /// The starting level a stage 1 walk of `input_bits` uses (Arm ARM D8.2: enough
    /// levels to resolve every bit above the page offset).
    pub const fn start_level(self, input_bits: u32) -> u8 {
        let bits = input_bits.saturating_sub(self.shift());
        let levels = bits.div_ceil(self.stride());
        if levels >= 4 {
            0
        } else {
            (4 - levels) as u8
        }
    }
}

/// Which stage a walk belongs to: decides the permission encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Stage 1: AP[2:1] and hierarchical APTable; `privileged` says whether the
    /// transaction is privileged.
    One {
        /// The transaction is privileged (STE.PRIVCFG).
        privileged: bool,
        /// Hierarchical attributes disabled (CD.HAD).
        had: bool,
    },
    /// Stage 2: S2AP[1:0].
    Two,
}

/// Everything a walk needs, already validated by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkParams {
    /// Granule.
    pub granule: Granule,
    /// Input address size in bits (64 - TxSZ).
    pub input_bits: u32,
    /// Level the walk starts at (0-3).
    pub start_level: u8,
    /// Base of the start-level table.
    pub ttb: u64,
    /// Output address size in bits (effective IPS / S2PS, capped at the OAS).
    pub output_bits: u32,
    /// Access flag faults disabled (CD.AFFD / STE.S2AFFD).
    pub affd: bool,
    /// Stage and its permission model.
    pub stage: Stage,
}

/// A fault found by the walk itself, with the level it was found at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkFault {
    /// No valid mapping (invalid descriptor, illegal block, input address out of range).
    Translation,
    /// A table or output address exceeds the output address size.
    AddressSize,
    /// Access flag clear and faults not disabled.
    Access,
    /// The mapping does not allow the access.
    Permission,
}

/// Why a walk failed: a fault it found, or the descriptor fetch failed (`E`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkError<E> {
    /// An architectural fault.
    Fault(WalkFault),
    /// Fetching the descriptor at `addr` failed.
    Fetch {
        /// Address of the descriptor (in the walk's input space for the fetcher).
        addr: u64,
        /// The fetcher's error.
        err: E,
    },
}

/// A successful walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkOutput {
    /// Output address of the input address.
    pub oa: u64,
    /// log2 of the size of the leaf mapping.
    pub size_shift: u32,
    /// What the leaf allows.
    pub perms: DmaPerms,
    /// Level of the leaf.
    pub level: u8,
}

/// Fetches one 64-bit descriptor.
pub trait DescFetch {
    /// The fetch failure.
    type Error;
    /// Reads the descriptor at `addr`.
    fn fetch(&mut self, addr: u64) -> Result<u64, Self::Error>;
}

impl<E, F: FnMut(u64) -> Result<u64, E>> DescFetch for F {
    type Error = E;
    fn fetch(&mut self, addr: u64) -> Result<u64, E> {
        self(addr)
    }
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

fn fits(addr: u64, bits: u32) -> bool {
    bits >= 64 || addr >> bits == 0
}

/// Walks the tables in `p` for `input` (already stripped to the region's input bits by
/// the caller) and checks `write` permission. The walk visits at most `4 - start_level`
/// descriptors.
pub fn walk<F: DescFetch>(
    p: &WalkParams,
    input: u64,
    write: bool,
    fetch: &mut F,
) -> Result<WalkOutput, WalkError<F::Error>> {
    let g = p.granule;
    if p.start_level > 3 || !fits(input, p.input_bits) {
        return Err(WalkError::Fault(WalkFault::Translation));
    }
    let page_mask = mask(g.shift());
    let mut table = p.ttb & !mask(3);
    if !fits(table, p.output_bits) {
        return Err(WalkError::Fault(WalkFault::AddressSize));
    }
    // Hierarchical restrictions collected from table descriptors (stage 1 only).
    let mut no_write = false;
    let mut no_unpriv = false;
    let mut level = p.start_level;
    loop {
        let shift = g.level_shift(level);
        let bits = if level == p.start_level {
            p.input_bits.saturating_sub(shift)
        } else {
            g.stride()
        };
        let index = (input >> shift.min(63)) & mask(bits);
        // The index is bounded by `bits` (at most 51 with the shifts above), so the
        // descriptor address cannot overflow for any table address below 2^52.
        let addr = table.wrapping_add(index.wrapping_mul(8));
        let raw = fetch
            .fetch(addr)
            .map_err(|err| WalkError::Fetch { addr, err })?;
        let d = Pte::from_bits(raw);
        if !d.valid() {
            return Err(WalkError::Fault(WalkFault::Translation));
        }
        let is_table = d.table() && level < 3;
        let is_page = d.table() && level == 3;
        if !is_table && !is_page && !g.block_allowed(level) {
            return Err(WalkError::Fault(WalkFault::Translation));
        }
        if raw & OA_HI_MASK != 0 {
            return Err(WalkError::Fault(WalkFault::AddressSize));
        }
        if is_table {
            let next = raw & OA_MASK_48 & !page_mask;
            if !fits(next, p.output_bits) {
                return Err(WalkError::Fault(WalkFault::AddressSize));
            }
            if let Stage::One { had: false, .. } = p.stage {
                no_write |= d.ap_table1();
                no_unpriv |= d.ap_table0();
            }
            table = next;
            level += 1;
            continue;
        }
        // Leaf: page (level 3) or block.
        let size_shift = g.level_shift(level);
        let oa = (raw & OA_MASK_48 & !mask(size_shift)) | (input & mask(size_shift));
        if !fits(oa, p.output_bits) {
            return Err(WalkError::Fault(WalkFault::AddressSize));
        }
        if !d.af() && !p.affd {
            return Err(WalkError::Fault(WalkFault::Access));
        }
        let perms = match p.stage {
            Stage::One { privileged, .. } => {
                let read = privileged || (d.ap1() && !no_unpriv);
                DmaPerms {
                    read,
                    write: read && !d.ap2() && !no_write,
                }
            }
            Stage::Two => DmaPerms {
                read: d.ap1(),
                write: d.ap2(),
            },
        };
        let allowed = if write { perms.write } else { perms.read };
        if !allowed {
            return Err(WalkError::Fault(WalkFault::Permission));
        }
        return Ok(WalkOutput {
            oa,
            size_shift,
            perms,
            level,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A sparse descriptor memory.
    #[derive(Default)]
    struct Mem(HashMap<u64, u64>);

    impl Mem {
        fn set(&mut self, addr: u64, v: u64) {
            self.0.insert(addr, v);
        }
        fn fetch(&self) -> impl FnMut(u64) -> Result<u64, ()> + '_ {
            |a| self.0.get(&a).copied().ok_or(())
        }
    }

    const TABLE: u64 = 0b11;
    const PAGE: u64 = 0b11 | (1 << 10) | (1 << 6); // AF, AP[1] (unprivileged)
    const BLOCK: u64 = 0b01 | (1 << 10) | (1 << 6);

    fn s1(g: Granule, input_bits: u32, ttb: u64) -> WalkParams {
        WalkParams {
            granule: g,
            input_bits,
            start_level: g.start_level(input_bits),
            ttb,
            output_bits: 48,
            affd: false,
            stage: Stage::One {
                privileged: false,
                had: false,
            },
        }
    }

    /// Builds a chain of tables from `p.start_level` down to `leaf_level` for `iova`,
    /// tables at 0x1000_0000 + level * 0x10_0000, and a leaf mapping to `oa`.
    fn map(m: &mut Mem, p: &WalkParams, iova: u64, leaf_level: u8, leaf: u64, oa: u64) {
        let g = p.granule;
        let mut table = p.ttb;
        for level in p.start_level..=leaf_level {
            let shift = g.level_shift(level);
            let bits = if level == p.start_level {
                p.input_bits - shift
            } else {
                g.stride()
            };
            let idx = (iova >> shift) & ((1 << bits) - 1);
            let addr = table + idx * 8;
            if level == leaf_level {
                m.set(addr, leaf | oa);
            } else {
                let next = 0x1000_0000 + (level as u64 + 1) * 0x10_0000;
                m.set(addr, TABLE | next);
                table = next;
            }
        }
    }

    #[test]
    fn start_levels() {
        assert_eq!(Granule::K4.start_level(48), 0);
        assert_eq!(Granule::K4.start_level(39), 1);
        assert_eq!(Granule::K4.start_level(30), 2);
        assert_eq!(Granule::K4.start_level(21), 3);
        assert_eq!(Granule::K16.start_level(48), 0);
        assert_eq!(Granule::K16.start_level(47), 1);
        assert_eq!(Granule::K16.start_level(36), 2);
        assert_eq!(Granule::K16.start_level(25), 3);
        assert_eq!(Granule::K64.start_level(48), 1);
        assert_eq!(Granule::K64.start_level(42), 2);
        assert_eq!(Granule::K64.start_level(29), 3);
    }

    /// Every granule, every start level, a page at level 3.
    #[test]
    fn pages_every_granule_and_level() {
        for g in [Granule::K4, Granule::K16, Granule::K64] {
            for input_bits in [25u32, 30, 33, 36, 39, 42, 47, 48] {
                let p = s1(g, input_bits, 0x8000_0000);
                let iova = 0x0000_7654_3210_fedc & mask(input_bits);
                let mut m = Mem::default();
                let oa = 0x0000_00ab_cdef_0000 & !mask(g.shift()) & mask(40);
                map(&mut m, &p, iova, 3, PAGE, oa);
                let out = walk(&p, iova, true, &mut m.fetch()).unwrap();
                assert_eq!(out.oa, oa | (iova & mask(g.shift())), "{g:?} {input_bits}");
                assert_eq!(out.size_shift, g.shift());
                assert_eq!(out.level, 3);
                assert_eq!(out.perms, DmaPerms::RW);
            }
        }
    }

    #[test]
    fn blocks_where_legal() {
        for (g, level, legal) in [
            (Granule::K4, 1, true),
            (Granule::K4, 2, true),
            (Granule::K4, 0, false),
            (Granule::K16, 2, true),
            (Granule::K16, 1, false),
            (Granule::K64, 2, true),
            (Granule::K64, 1, false),
        ] {
            let p = s1(g, 48, 0x8000_0000);
            let iova = 0x0000_1234_5678_9abc;
            let size = g.level_shift(level);
            let oa = 0x40_0000_0000 & !mask(size) & mask(48);
            let mut m = Mem::default();
            map(&mut m, &p, iova, level, BLOCK, oa);
            let r = walk(&p, iova, false, &mut m.fetch());
            if legal {
                let out = r.unwrap();
                assert_eq!(out.size_shift, size);
                assert_eq!(out.oa, oa | (iova & mask(size)));
            } else {
                assert_eq!(
                    r,
                    Err(WalkError::Fault(WalkFault::Translation)),
                    "{g:?} {level}"
                );
            }
        }
    }

    #[test]
    fn level3_block_encoding_is_invalid() {
        let p = s1(Granule::K4, 39, 0x8000_0000);
        let mut m = Mem::default();
        map(&mut m, &p, 0x1000, 3, BLOCK, 0x5000);
        assert_eq!(
            walk(&p, 0x1000, false, &mut m.fetch()),
            Err(WalkError::Fault(WalkFault::Translation))
        );
    }

    #[test]
    fn invalid_descriptor_and_input_range() {
        let p = s1(Granule::K4, 39, 0x8000_0000);
        let m = Mem::default();
        let mut f = |_a: u64| Ok::<u64, ()>(0);
        assert_eq!(
            walk(&p, 0x1000, false, &mut f),
            Err(WalkError::Fault(WalkFault::Translation))
        );
        assert_eq!(
            walk(&p, 1 << 39, false, &mut m.fetch()),
            Err(WalkError::Fault(WalkFault::Translation))
        );
    }

    #[test]
    fn fetch_error_reports_address() {
        let p = s1(Granule::K4, 39, 0x8000_0000);
        let m = Mem::default();
        assert_eq!(
            walk(&p, 0x4000_0000, false, &mut m.fetch()),
            Err(WalkError::Fetch {
                addr: 0x8000_0008,
                err: ()
            })
        );
    }

    #[test]
    fn access_flag() {
        let mut p = s1(Granule::K4, 39, 0x8000_0000);
        let mut m = Mem::default();
        map(&mut m, &p, 0x1000, 3, PAGE & !(1 << 10), 0x5000);
        assert_eq!(
            walk(&p, 0x1000, false, &mut m.fetch()),
            Err(WalkError::Fault(WalkFault::Access))
        );
        p.affd = true;
        assert!(walk(&p, 0x1000, false, &mut m.fetch()).is_ok());
    }

    #[test]
    fn stage1_permissions() {
        let mut p = s1(Granule::K4, 39, 0x8000_0000);
        let mut m = Mem::default();
        // Read-only page.
        map(&mut m, &p, 0x1000, 3, PAGE | (1 << 7), 0x5000);
        assert!(walk(&p, 0x1000, false, &mut m.fetch()).is_ok());
        assert_eq!(
            walk(&p, 0x1000, true, &mut m.fetch()),
            Err(WalkError::Fault(WalkFault::Permission))
        );
        // Privileged-only page: unprivileged access faults, privileged passes.
        let mut m = Mem::default();
        map(&mut m, &p, 0x1000, 3, PAGE & !(1 << 6), 0x5000);
        assert_eq!(
            walk(&p, 0x1000, false, &mut m.fetch()),
            Err(WalkError::Fault(WalkFault::Permission))
        );
        p.stage = Stage::One {
            privileged: true,
            had: false,
        };
        assert!(walk(&p, 0x1000, true, &mut m.fetch()).is_ok());
    }

    #[test]
    fn aptable_restricts_and_had_disables() {
        let mut p = s1(Granule::K4, 39, 0x8000_0000);
        let mut m = Mem::default();
        map(&mut m, &p, 0x1000, 3, PAGE, 0x5000);
        // Set APTable[1] (no write) on the level-1 table descriptor.
        let d = m.0.get_mut(&0x8000_0000).unwrap();
        *d |= 1 << 62;
        assert_eq!(
            walk(&p, 0x1000, true, &mut m.fetch()),
            Err(WalkError::Fault(WalkFault::Permission))
        );
        p.stage = Stage::One {
            privileged: false,
            had: true,
        };
        assert!(walk(&p, 0x1000, true, &mut m.fetch()).is_ok());
    }

    #[test]
    fn stage2_permissions() {
        let mut p = s1(Granule::K4, 39, 0x8000_0000);
        p.stage = Stage::Two;
        for (s2ap, read, write) in [
            (0u64, false, false),
            (1, true, false),
            (2, false, true),
            (3, true, true),
        ] {
            let mut m = Mem::default();
            map(
                &mut m,
                &p,
                0x1000,
                3,
                0b11 | (1 << 10) | (s2ap << 6),
                0x5000,
            );
            assert_eq!(walk(&p, 0x1000, false, &mut m.fetch()).is_ok(), read);
            assert_eq!(walk(&p, 0x1000, true, &mut m.fetch()).is_ok(), write);
        }
    }

    #[test]
    fn address_size_faults() {
        let mut p = s1(Granule::K4, 39, 0x8000_0000);
        p.output_bits = 32;
        let mut m = Mem::default();
        // Output above 4 GiB.
        map(&mut m, &p, 0x1000, 3, PAGE, 0x1_0000_0000);
        // The tables themselves live at 0x1xx0_0000 < 4 GiB.
        assert_eq!(
            walk(&p, 0x1000, false, &mut m.fetch()),
            Err(WalkError::Fault(WalkFault::AddressSize))
        );
        // Table base above the output size.
        p.ttb = 0x2_0000_0000;
        assert_eq!(
            walk(&p, 0x1000, false, &mut m.fetch()),
            Err(WalkError::Fault(WalkFault::AddressSize))
        );
        // Bits [50:48] set in a descriptor.
        let p = s1(Granule::K4, 39, 0x8000_0000);
        let mut m = Mem::default();
        map(&mut m, &p, 0x1000, 3, PAGE | (1 << 49), 0x5000);
        assert_eq!(
            walk(&p, 0x1000, false, &mut m.fetch()),
            Err(WalkError::Fault(WalkFault::AddressSize))
        );
    }

    /// A table that points at itself terminates after the architectural levels.
    #[test]
    fn self_referencing_table_terminates() {
        for g in [Granule::K4, Granule::K16, Granule::K64] {
            let p = s1(g, 48, 0x8000_0000);
            let mut fetches = 0;
            let mut f = |_a: u64| {
                fetches += 1;
                Ok::<u64, ()>(0x8000_0000 | TABLE)
            };
            let r = walk(&p, 0, false, &mut f);
            // At level 3 the "table" encoding is a page: a page mapping the table.
            assert!(r.is_ok() || r.is_err());
            assert!(fetches <= 4, "{g:?}: {fetches}");
        }
    }

    #[test]
    fn hostile_start_level_is_refused() {
        let mut p = s1(Granule::K4, 39, 0);
        p.start_level = 7;
        let mut f = |_a: u64| Ok::<u64, ()>(0);
        assert_eq!(
            walk(&p, 0, false, &mut f),
            Err(WalkError::Fault(WalkFault::Translation))
        );
    }
}
