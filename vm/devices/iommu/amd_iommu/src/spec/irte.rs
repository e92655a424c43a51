//! Interrupt remapping table entries (#48882 §2.2.5, "Interrupt Remapping Tables"):
//! 32-bit IRTEs (GAEn = 0) and 128-bit IRTEs (GAEn = 1, §2.2.5.2).

use bitfield_struct::bitfield;

/// Bytes per IRTE when Control.GAEn = 0.
pub const IRTE32_SIZE: u64 = 4;
/// Bytes per IRTE when Control.GAEn = 1.
pub const IRTE128_SIZE: u64 = 16;

/// IRTE IntType values (#48882 §2.2.5.1): the delivery mode of the remapped
/// interrupt.
pub mod int_type {
    /// Fixed.
    pub const FIXED: u8 = 0b000;
    /// Arbitrated (lowest priority).
    pub const ARBITRATED: u8 = 0b001;
    /// SMI.
    pub const SMI: u8 = 0b010;
    /// NMI.
    pub const NMI: u8 = 0b100;
    /// INIT.
    pub const INIT: u8 = 0b101;
    /// ExtINT.
    pub const EXTINT: u8 = 0b111;
}

/// Message types carried in MSI data bits 10:8 (#48882 §2.2.5, Table "Interrupt
/// Message Types").
pub mod msg_type {
    /// Fixed interrupt: remapped.
    pub const FIXED: u8 = 0b000;
    /// Arbitrated interrupt: remapped.
    pub const ARBITRATED: u8 = 0b001;
    /// SMI: DTE.SysMgt.
    pub const SMI: u8 = 0b010;
    /// NMI: DTE.NMIPass.
    pub const NMI: u8 = 0b100;
    /// INIT: DTE.InitPass.
    pub const INIT: u8 = 0b101;
    /// ExtINT: DTE.EIntPass.
    pub const EXTINT: u8 = 0b111;
}

/// Mask of the IRT offset carried in MSI data bits 10:0 (#48882 §2.2.5).
pub const MSI_DATA_OFFSET_MASK: u32 = 0x7ff;

/// 32-bit IRTE (#48882 §2.2.5.1).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Irte32 {
    /// RemapEn.
    pub remap_en: bool,
    /// SupIOPF: do not log events for faults on this entry.
    pub sup_iopf: bool,
    /// IntType (see [`int_type`]).
    #[bits(3)]
    pub int_type: u8,
    /// RqEoi: request EOI.
    pub rq_eoi: bool,
    /// DM: destination mode, 1 = logical.
    pub dm: bool,
    /// GuestMode (128-bit format only; reserved here).
    pub guest_mode: bool,
    /// Destination APIC id.
    pub destination: u8,
    /// Vector.
    pub vector: u8,
    #[bits(8)]
    _reserved24: u8,
}

/// 128-bit IRTE, low quadword (#48882 §2.2.5.2), remapping (GuestMode = 0) layout.
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Irte128Lo {
    /// RemapEn.
    pub remap_en: bool,
    /// SupIOPF.
    pub sup_iopf: bool,
    /// IntType (see [`int_type`]).
    #[bits(3)]
    pub int_type: u8,
    /// RqEoi.
    pub rq_eoi: bool,
    /// DM: destination mode, 1 = logical.
    pub dm: bool,
    /// GuestMode: 1 = posted to a guest virtual APIC (GAMSup not advertised).
    pub guest_mode: bool,
    /// Destination bits 23:0 (bits 7:0 only when XTEn = 0).
    #[bits(24)]
    pub destination_lo: u32,
    /// Reserved in remapped mode (GATag in guest mode).
    pub ga_tag: u32,
}

/// 128-bit IRTE, high quadword (#48882 §2.2.5.2).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Irte128Hi {
    /// Vector.
    pub vector: u8,
    #[bits(4)]
    _reserved8: u8,
    /// GA root pointer (guest mode only).
    #[bits(40)]
    pub ga_root_ptr: u64,
    #[bits(4)]
    _reserved52: u8,
    /// Destination bits 31:24 (used when XTEn = 1).
    pub destination_hi: u8,
}
