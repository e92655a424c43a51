//! Queued-invalidation descriptors, 128-bit format (VT-d spec rev 4.x §6.5.2,
//! "Queued Invalidation Interface").
//!
//! The descriptor type is split: bits 3:0 hold type[3:0] and bits 11:9 hold
//! type[6:4] (VT-d §6.5.2).

use bitfield_struct::bitfield;

/// Size of a 128-bit descriptor (VT-d §6.5.2).
pub const DESC_SIZE: u64 = 16;

/// Descriptor type codes (VT-d §6.5.2, Table "Invalidation Descriptor Types").
pub mod desc_type {
    /// Context-cache invalidate (VT-d §6.5.2.1).
    pub const CONTEXT: u8 = 0x1;
    /// IOTLB invalidate (VT-d §6.5.2.2).
    pub const IOTLB: u8 = 0x2;
    /// Device-TLB invalidate (VT-d §6.5.2.5); needs ECAP.DT.
    pub const DEVICE_TLB: u8 = 0x3;
    /// Interrupt entry cache invalidate (VT-d §6.5.2.7).
    pub const IEC: u8 = 0x4;
    /// Invalidation wait (VT-d §6.5.2.8).
    pub const WAIT: u8 = 0x5;
    /// PASID-based IOTLB invalidate (scalable mode).
    pub const PASID_IOTLB: u8 = 0x6;
    /// PASID-cache invalidate (scalable mode).
    pub const PASID_CACHE: u8 = 0x7;
}

/// The full 7-bit descriptor type of a descriptor's low qword (VT-d §6.5.2).
pub const fn descriptor_type(lo: u64) -> u8 {
    ((lo & 0xf) | ((lo >> 5) & 0x70)) as u8
}

/// Context-cache invalidate descriptor (VT-d §6.5.2.1).
#[bitfield(u128)]
#[derive(PartialEq, Eq)]
pub struct ContextInvDesc {
    /// Type[3:0] = 1.
    #[bits(4)]
    pub type_lo: u8,
    /// Granularity: 01 global, 10 domain, 11 device.
    #[bits(2)]
    pub g: u8,
    /// Reserved (includes type[6:4] at bits 11:9).
    #[bits(10)]
    pub rsvd0: u16,
    /// Domain id.
    pub did: u16,
    /// Source id (device-selective).
    pub sid: u16,
    /// Function mask (device-selective).
    #[bits(2)]
    pub fm: u8,
    /// Reserved.
    #[bits(14)]
    pub rsvd1: u16,
    /// Reserved (high qword).
    pub rsvd_hi: u64,
}

/// IOTLB invalidate descriptor (VT-d §6.5.2.2).
#[bitfield(u128)]
#[derive(PartialEq, Eq)]
pub struct IotlbInvDesc {
    /// Type[3:0] = 2.
    #[bits(4)]
    pub type_lo: u8,
    /// Granularity: 01 global, 10 domain, 11 page.
    #[bits(2)]
    pub g: u8,
    /// Drain writes.
    pub dw: bool,
    /// Drain reads.
    pub dr: bool,
    /// Reserved (includes type[6:4] at bits 11:9).
    pub rsvd0: u8,
    /// Domain id.
    pub did: u16,
    /// Reserved.
    pub rsvd1: u32,
    /// Address mask: 2^AM pages (page-selective).
    #[bits(6)]
    pub am: u8,
    /// Invalidation hint.
    pub ih: bool,
    /// Reserved.
    #[bits(5)]
    pub rsvd2: u8,
    /// Page number (bits 127:76 → address bits 63:12).
    #[bits(52)]
    pub addr: u64,
}

/// Interrupt entry cache invalidate descriptor (VT-d §6.5.2.7).
#[bitfield(u128)]
#[derive(PartialEq, Eq)]
pub struct IecInvDesc {
    /// Type[3:0] = 4.
    #[bits(4)]
    pub type_lo: u8,
    /// Granularity: 0 global, 1 index-selective.
    pub g: bool,
    /// Reserved (includes type[6:4] at bits 11:9).
    #[bits(22)]
    pub rsvd0: u32,
    /// Index mask: 2^IM consecutive entries.
    #[bits(5)]
    pub im: u8,
    /// Interrupt index.
    pub iidx: u16,
    /// Reserved.
    pub rsvd1: u16,
    /// Reserved (high qword).
    pub rsvd_hi: u64,
}

/// Invalidation wait descriptor (VT-d §6.5.2.8).
#[bitfield(u128)]
#[derive(PartialEq, Eq)]
pub struct WaitDesc {
    /// Type[3:0] = 5.
    #[bits(4)]
    pub type_lo: u8,
    /// Interrupt flag: set ICS.IWC and raise the invalidation completion event.
    pub if_flag: bool,
    /// Status write: write `status_data` to `status_addr`.
    pub sw: bool,
    /// Fence: later descriptors wait for this one (always true here).
    pub fence: bool,
    /// Page-request drain; needs ECAP.PDS, reserved here.
    pub pd: bool,
    /// Reserved (includes type[6:4] at bits 11:9).
    #[bits(24)]
    pub rsvd0: u32,
    /// 32-bit status data.
    pub status_data: u32,
    /// Reserved.
    #[bits(2)]
    pub rsvd1: u8,
    /// Status address, dword aligned (bits 63:2).
    #[bits(62)]
    pub status_addr: u64,
}
