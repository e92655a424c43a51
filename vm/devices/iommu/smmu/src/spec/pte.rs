//! VMSAv8-64 translation table descriptors as the SMMU walks them (IHI 0070 §3.4 defers
//! to the Arm ARM, chapter D8 "The AArch64 Virtual Memory System Architecture").

use bitfield_struct::bitfield;

/// A stage 1 or stage 2 descriptor, long-descriptor (48-bit OA) format
/// (Arm ARM D8.3, translation table descriptor formats).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Pte {
    /// Valid.
    pub valid: bool,
    /// At levels 0-2: 1 = table, 0 = block. At level 3: must be 1 (page).
    pub table: bool,
    /// Stage 1: AttrIndx; stage 2: MemAttr[3:0] (bits 5:2).
    #[bits(3)]
    pub attr_indx: u8,
    /// Stage 1: NS; stage 2: MemAttr[3].
    pub ns: bool,
    /// Stage 1: AP[1] (unprivileged access); stage 2: S2AP[0] (read).
    pub ap1: bool,
    /// Stage 1: AP[2] (read-only); stage 2: S2AP[1] (write).
    pub ap2: bool,
    /// Shareability.
    #[bits(2)]
    pub sh: u8,
    /// Access flag.
    pub af: bool,
    /// Not global.
    pub ng: bool,
    /// Output address bits [47:12] (granule-aligned low bits must be masked).
    #[bits(36)]
    pub oa: u64,
    /// Output address bits [51:48] with 52-bit addressing; must be zero here.
    #[bits(3)]
    pub oa_hi: u8,
    /// Dirty bit modifier.
    pub dbm: bool,
    /// Contiguous hint.
    pub contiguous: bool,
    /// Privileged execute never.
    pub pxn: bool,
    /// (Unprivileged) execute never.
    pub uxn: bool,
    #[bits(4)]
    _software: u8,
    /// Table descriptors: PXNTable.
    pub pxn_table: bool,
    /// Table descriptors: XNTable.
    pub xn_table: bool,
    /// Table descriptors: APTable[0], no unprivileged access below.
    pub ap_table0: bool,
    /// Table descriptors: APTable[1], no write access below.
    pub ap_table1: bool,
    /// Table descriptors: NSTable.
    pub ns_table: bool,
}

/// Mask of descriptor address bits [47:12] (Arm ARM D8.3).
pub const OA_MASK_48: u64 = 0x0000_ffff_ffff_f000;
/// Mask of descriptor bits [50:48], which hold OA[51:48] only with 52-bit addressing and
/// so must be zero here (otherwise an Address size fault; Arm ARM D8.3).
pub const OA_HI_MASK: u64 = 0x0007_0000_0000_0000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_positions() {
        assert_eq!(Pte::new().with_af(true).into_bits(), 1 << 10);
        assert_eq!(Pte::new().with_ap2(true).into_bits(), 1 << 7);
        assert_eq!(Pte::new().with_ap_table1(true).into_bits(), 1 << 62);
        assert_eq!(Pte::new().with_oa(1).into_bits(), 1 << 12);
        assert_eq!(Pte::new().with_oa_hi(1).into_bits(), 1 << 48);
    }
}
