//! Command buffer entries (#48882 §2.4, "Commands"): 128 bits, opcode in bits 63:60.

use bitfield_struct::bitfield;

/// Bytes per command.
pub const CMD_SIZE: u64 = 16;

/// Command opcodes (#48882 §2.4, Table "Command Codes").
pub mod opcode {
    /// COMPLETION_WAIT (#48882 §2.4.1).
    pub const COMPLETION_WAIT: u8 = 0x1;
    /// INVALIDATE_DEVTAB_ENTRY (#48882 §2.4.2).
    pub const INVALIDATE_DEVTAB_ENTRY: u8 = 0x2;
    /// INVALIDATE_IOMMU_PAGES (#48882 §2.4.3).
    pub const INVALIDATE_IOMMU_PAGES: u8 = 0x3;
    /// INVALIDATE_IOTLB_PAGES (#48882 §2.4.4).
    pub const INVALIDATE_IOTLB_PAGES: u8 = 0x4;
    /// INVALIDATE_INTERRUPT_TABLE (#48882 §2.4.5).
    pub const INVALIDATE_INTERRUPT_TABLE: u8 = 0x5;
    /// PREFETCH_IOMMU_PAGES (#48882 §2.4.6; PreFSup not advertised: illegal).
    pub const PREFETCH_IOMMU_PAGES: u8 = 0x6;
    /// COMPLETE_PPR_REQUEST (#48882 §2.4.7; PPRSup not advertised: illegal).
    pub const COMPLETE_PPR_REQUEST: u8 = 0x7;
    /// INVALIDATE_IOMMU_ALL (#48882 §2.4.8; needs IASup).
    pub const INVALIDATE_IOMMU_ALL: u8 = 0x8;
}

/// First quadword of every command: the opcode (#48882 §2.4).
#[bitfield(u64)]
pub struct CmdHeader {
    #[bits(60)]
    pub operand: u64,
    /// Opcode.
    #[bits(4)]
    pub opcode: u8,
}

/// COMPLETION_WAIT first quadword (#48882 §2.4.1).
#[bitfield(u64)]
pub struct CompletionWait {
    /// S: store `data` at `store_addr` when previous commands completed.
    pub s: bool,
    /// I: set Status.ComWaitInt (and interrupt when ComWaitIntEn).
    pub i: bool,
    /// F: flush queue (no effect here: commands complete in order at once).
    pub f: bool,
    /// Store address bits 51:3.
    #[bits(49)]
    pub store_addr: u64,
    #[bits(8)]
    pub reserved52: u8,
    /// Opcode.
    #[bits(4)]
    pub opcode: u8,
}

/// Operand quadword of INVALIDATE_DEVTAB_ENTRY / INVALIDATE_INTERRUPT_TABLE /
/// INVALIDATE_IOTLB_PAGES: the DeviceID in bits 15:0 (#48882 §2.4.2, §2.4.5).
#[bitfield(u64)]
pub struct DeviceIdOperand {
    /// DeviceID.
    pub device_id: u16,
    #[bits(44)]
    _rest: u64,
    /// Opcode.
    #[bits(4)]
    pub opcode: u8,
}

/// INVALIDATE_IOMMU_PAGES first quadword (#48882 §2.4.3).
#[bitfield(u64)]
pub struct InvIommuPages0 {
    /// PASID.
    #[bits(20)]
    pub pasid: u32,
    #[bits(12)]
    _reserved20: u16,
    /// DomainID.
    pub domain_id: u16,
    #[bits(12)]
    _reserved48: u16,
    /// Opcode.
    #[bits(4)]
    pub opcode: u8,
}

/// INVALIDATE_IOMMU_PAGES second quadword (#48882 §2.4.3).
#[bitfield(u64)]
pub struct InvIommuPages1 {
    /// S: the address encodes a range (lowest zero bit at 12+ gives its size).
    pub s: bool,
    /// PDE: also invalidate cached directory entries.
    pub pde: bool,
    /// GN: guest (PASID) addresses.
    pub gn: bool,
    #[bits(9)]
    _reserved3: u16,
    /// Address bits 63:12.
    #[bits(52)]
    pub address: u64,
}
