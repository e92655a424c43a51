//! Device table entry (#48882 §2.2.2, "Device Table Entry Format"): 256 bits, four
//! quadwords, indexed by the 16-bit DeviceID.

use bitfield_struct::bitfield;

/// Size of one device table entry in bytes (#48882 §2.2.2).
pub const DTE_SIZE: u64 = 32;

/// DTE.Mode values (#48882 §2.2.2, Mode field).
pub mod mode {
    /// Translation disabled: access allowed by DTE.IR/IW, address untranslated.
    pub const PASS_THROUGH: u8 = 0;
    /// Reserved encoding.
    pub const RESERVED: u8 = 7;
    /// Deepest host page table.
    pub const MAX_LEVELS: u8 = 6;
}

/// DTE.IntCtl values (#48882 §2.2.2, IntCtl field).
pub mod int_ctl {
    /// Fixed and arbitrated interrupts are target aborted.
    pub const ABORT: u8 = 0b00;
    /// Fixed and arbitrated interrupts are forwarded unmapped.
    pub const PASS: u8 = 0b01;
    /// Fixed and arbitrated interrupts are remapped through the IRT.
    pub const REMAP: u8 = 0b10;
}

/// DTE.SysMgt value forwarding system management messages unmapped (#48882 §2.2.2).
pub const SYSMGT_PASS: u8 = 0b01;

/// Largest legal IntTabLen: 2^11 = 2048 IRTEs (#48882 §2.2.2).
pub const MAX_INT_TAB_LEN: u8 = 11;

/// DTE bits 63:0 (#48882 §2.2.2).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Dte0 {
    /// V: the entry is valid.
    pub v: bool,
    /// TV: the translation fields are valid.
    pub tv: bool,
    #[bits(5)]
    _reserved2: u8,
    /// HAD: host access/dirty update (not advertised).
    #[bits(2)]
    pub had: u8,
    /// Mode: paging mode, 0 = pass-through, 1..=6 levels, 7 reserved.
    #[bits(3)]
    pub mode: u8,
    /// Page table root pointer bits 51:12.
    #[bits(40)]
    pub pt_root: u64,
    /// PPR: peripheral page requests enabled.
    pub ppr: bool,
    /// GPRP: guest PPR response with PASID.
    pub gprp: bool,
    /// GIoV: guest I/O protection valid.
    pub giov: bool,
    /// GV: guest translation valid (GTSup is not advertised).
    pub gv: bool,
    /// GLX: guest CR3 table levels.
    #[bits(2)]
    pub glx: u8,
    /// GCR3 table root pointer bits 14:12.
    #[bits(3)]
    pub gcr3_a: u8,
    /// IR: DMA reads allowed.
    pub ir: bool,
    /// IW: DMA writes allowed.
    pub iw: bool,
    #[bits(1)]
    _reserved63: u8,
}

/// DTE bits 127:64 (#48882 §2.2.2).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Dte1 {
    /// DomainID, reported in IO_PAGE_FAULT events.
    pub domain_id: u16,
    /// GCR3 table root pointer bits 30:15.
    pub gcr3_b: u16,
    /// I: device IOTLB (ATS) enabled.
    pub iotlb: bool,
    /// SE: suppress I/O page fault events.
    pub se: bool,
    /// SA: suppress all I/O page fault events.
    pub sa: bool,
    /// IoCtl: port I/O control.
    #[bits(2)]
    pub io_ctl: u8,
    /// Cache: IOTLB cache hint.
    pub cache: bool,
    /// SD: snoop disable.
    pub sd: bool,
    /// EX: the exclusion range applies to this device.
    pub ex: bool,
    /// SysMgt: system management message handling.
    #[bits(2)]
    pub sys_mgt: u8,
    #[bits(1)]
    _reserved106: u8,
    /// GCR3 table root pointer bits 51:31.
    #[bits(21)]
    pub gcr3_c: u32,
}

/// DTE bits 191:128 (#48882 §2.2.2): interrupt remapping.
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Dte2 {
    /// IV: the interrupt fields are valid; 0 = interrupts forwarded unmapped.
    pub iv: bool,
    /// IntTabLen: the IRT holds 2^IntTabLen entries (0..=11).
    #[bits(4)]
    pub int_tab_len: u8,
    /// IG: do not log events for interrupt remapping failures.
    pub ig: bool,
    /// Interrupt table root pointer bits 51:6.
    #[bits(46)]
    pub int_table_root: u64,
    #[bits(4)]
    _reserved52: u8,
    /// InitPass: INIT messages forwarded unmapped.
    pub init_pass: bool,
    /// EIntPass: ExtINT messages forwarded unmapped.
    pub eint_pass: bool,
    /// NMIPass: NMI messages forwarded unmapped.
    pub nmi_pass: bool,
    #[bits(1)]
    _reserved59: u8,
    /// IntCtl: fixed/arbitrated interrupt handling (see [`int_ctl`]).
    #[bits(2)]
    pub int_ctl: u8,
    /// Lint0Pass: LINT0 messages forwarded unmapped.
    pub lint0_pass: bool,
    /// Lint1Pass: LINT1 messages forwarded unmapped.
    pub lint1_pass: bool,
}

impl Dte2 {
    /// Interrupt table base address.
    pub fn int_table_address(&self) -> u64 {
        self.int_table_root() << 6
    }
}

/// Reserved bits of DTE quadword 2 that must be zero (#48882 §2.2.2).
pub const DTE2_RESERVED: u64 = (0xf << 52) | (1 << 59);
/// Reserved bits of DTE quadword 0 that must be zero (#48882 §2.2.2).
pub const DTE0_RESERVED: u64 = 1 << 63;
