//! Interrupt remapping structures (VT-d spec rev 4.x chapter 5, "Interrupt
//! Remapping", and §9.10, "Interrupt Remapping Table Entry (IRTE) for Remapped
//! Interrupts").

use bitfield_struct::bitfield;

/// Bytes per IRTE (VT-d §9.10).
pub const IRTE_SIZE: u64 = 16;

/// The x86 interrupt address window: requests to 0xFEEx_xxxx are interrupts
/// (VT-d §5.1.2).
pub const INTERRUPT_ADDR_BASE: u64 = 0xfee0_0000;
/// Mask selecting the fixed part of an interrupt address (bits 31:20 = 0xFEE, and
/// nothing above bit 31).
pub const INTERRUPT_ADDR_MASK: u64 = !0x000f_ffff;

/// Remappable-format MSI address, low dword (VT-d §5.1.2.2, "Interrupt Requests in
/// Remappable Format").
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct RemappableAddr {
    /// Don't care.
    #[bits(2)]
    pub ignored: u8,
    /// Handle bit 15.
    pub handle_hi: bool,
    /// SubHandle valid: add the data register's bits 15:0 to the handle.
    pub shv: bool,
    /// Interrupt format: 1 = remappable, 0 = compatibility.
    pub remappable: bool,
    /// Handle bits 14:0.
    #[bits(15)]
    pub handle_lo: u16,
    /// 0xFEE.
    #[bits(12)]
    pub fee: u16,
}

impl RemappableAddr {
    /// The 16-bit handle.
    pub const fn handle(&self) -> u32 {
        ((self.handle_hi() as u32) << 15) | self.handle_lo() as u32
    }
}

/// Source-validation types (VT-d §9.10, SVT field).
pub mod svt {
    /// No validation.
    pub const NONE: u8 = 0;
    /// Compare the requester id with SID, qualified by SQ.
    pub const SID_SQ: u8 = 1;
    /// The requester's bus must be within SID[15:8]..=SID[7:0].
    pub const BUS_RANGE: u8 = 2;
}

/// Interrupt remapping table entry, remapped (not posted) format (VT-d §9.10).
#[bitfield(u128)]
#[derive(PartialEq, Eq)]
pub struct Irte {
    /// Present.
    pub p: bool,
    /// Fault processing disable (evaluated even when P is clear).
    pub fpd: bool,
    /// Destination mode: 0 physical, 1 logical.
    pub dm: bool,
    /// Redirection hint.
    pub rh: bool,
    /// Trigger mode: 0 edge, 1 level.
    pub tm: bool,
    /// Delivery mode.
    #[bits(3)]
    pub dlm: u8,
    /// Available to software.
    #[bits(4)]
    pub avail: u8,
    /// Reserved.
    #[bits(3)]
    pub rsvd0: u8,
    /// IRTE mode: 0 remapped, 1 posted (needs CAP.PI; reserved here).
    pub im: bool,
    /// Vector.
    pub vector: u8,
    /// Reserved.
    pub rsvd1: u8,
    /// Destination id: x2APIC id (EIME=1), or xAPIC id in bits 15:8 (EIME=0, with
    /// bits 7:0 and 31:16 reserved).
    pub dst: u32,
    /// Source id for validation.
    pub sid: u16,
    /// Source-id qualifier: which SID function bits to ignore.
    #[bits(2)]
    pub sq: u8,
    /// Source validation type (see [`svt`]).
    #[bits(2)]
    pub svt: u8,
    /// Reserved.
    #[bits(44)]
    pub rsvd2: u64,
}

/// Source-id compare masks indexed by SQ: all 16 bits, ignore bit 2, ignore bits
/// 2:1, ignore bits 2:0 (VT-d §9.10, SQ field).
pub const SQ_MASKS: [u16; 4] = [0xffff, 0xfffb, 0xfff9, 0xfff8];
