//! MMIO register offsets and layouts (#48882 §3.4, "IOMMU MMIO Registers").

use bitfield_struct::bitfield;

/// Device Table Base Address Register (#48882 §3.4.1).
pub const DEV_TABLE_BASE: u64 = 0x0000;
/// Command Buffer Base Address Register (#48882 §3.4.2).
pub const CMD_BUF_BASE: u64 = 0x0008;
/// Event Log Base Address Register (#48882 §3.4.3).
pub const EVENT_LOG_BASE: u64 = 0x0010;
/// IOMMU Control Register (#48882 §3.4.4).
pub const CONTROL: u64 = 0x0018;
/// IOMMU Exclusion Base Register (#48882 §3.4.5).
pub const EXCL_BASE: u64 = 0x0020;
/// IOMMU Exclusion Range Limit Register (#48882 §3.4.6).
pub const EXCL_LIMIT: u64 = 0x0028;
/// IOMMU Extended Feature Register (#48882 §3.4.7).
pub const EXT_FEATURES: u64 = 0x0030;
/// PPR Log Base Address Register (#48882 §3.4.8; PPR is not advertised: reads as zero).
pub const PPR_LOG_BASE: u64 = 0x0038;
/// XT IOMMU General Interrupt Control Register (#48882 §3.4.14: event log and
/// completion-wait interrupts when Control.IntCapXTEn = 1).
pub const INTCAPXT_EVT: u64 = 0x0170;
/// XT IOMMU PPR Interrupt Control Register (#48882 §3.4.14).
pub const INTCAPXT_PPR: u64 = 0x0178;
/// XT IOMMU GA Log Interrupt Control Register (#48882 §3.4.14).
pub const INTCAPXT_GALOG: u64 = 0x0180;
/// IOMMU Extended Feature 2 Register (#48882 §3.4.15).
pub const EXT_FEATURES2: u64 = 0x01A0;
/// Command Buffer Head Pointer Register (#48882 §3.4.9).
pub const CMD_BUF_HEAD: u64 = 0x2000;
/// Command Buffer Tail Pointer Register (#48882 §3.4.9).
pub const CMD_BUF_TAIL: u64 = 0x2008;
/// Event Log Head Pointer Register (#48882 §3.4.10).
pub const EVENT_LOG_HEAD: u64 = 0x2010;
/// Event Log Tail Pointer Register (#48882 §3.4.10).
pub const EVENT_LOG_TAIL: u64 = 0x2018;
/// IOMMU Status Register (#48882 §3.4.11).
pub const STATUS: u64 = 0x2020;

/// Size of the register region when performance counters are not advertised
/// (#48882 §3.4: the counter block starts at 0x4000; Linux maps 16 KiB then).
pub const MMIO_SIZE: u64 = 0x4000;

/// Mask of the byte offset held by the head/tail pointer registers (#48882 §3.4.9:
/// bits 18:4, 16-byte entries, at most 32768 of them).
pub const HEAD_TAIL_MASK: u64 = 0x7_fff0;

/// Smallest legal ComLen/EventLen encoding: 2^8 = 256 entries (#48882 §3.4.2).
pub const MIN_LOG_LEN: u8 = 8;
/// Largest legal ComLen/EventLen encoding: 2^15 = 32768 entries (#48882 §3.4.2).
pub const MAX_LOG_LEN: u8 = 15;

/// Device Table Base Address Register (#48882 §3.4.1).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct DevTableBase {
    /// Table size in 4 KiB pages minus one (up to 2 MiB = 65536 entries).
    #[bits(9)]
    pub size: u16,
    #[bits(3)]
    _reserved9: u8,
    /// Table base address bits 51:12.
    #[bits(40)]
    pub base: u64,
    #[bits(12)]
    _reserved52: u16,
}

impl DevTableBase {
    /// Base address in bytes.
    pub fn address(&self) -> u64 {
        self.base() << 12
    }

    /// Table length in bytes.
    pub fn len_bytes(&self) -> u64 {
        (u64::from(self.size()) + 1) << 12
    }
}

/// Command Buffer / Event Log Base Address Register (#48882 §3.4.2, §3.4.3): same
/// layout for both.
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct RingBase {
    #[bits(12)]
    _reserved0: u16,
    /// Buffer base address bits 51:12.
    #[bits(40)]
    pub base: u64,
    #[bits(4)]
    _reserved52: u8,
    /// Length: 2^log_len entries of 16 bytes (8..=15 legal).
    #[bits(4)]
    pub log_len: u8,
    #[bits(4)]
    _reserved60: u8,
}

impl RingBase {
    /// Base address in bytes.
    pub fn address(&self) -> u64 {
        self.base() << 12
    }

    /// Length in bytes. Reserved encodings below 256 entries act as 256 entries
    /// (the smallest legal size), so a guest can never make the ring degenerate.
    pub fn len_bytes(&self) -> u64 {
        let len = self.log_len().clamp(MIN_LOG_LEN, MAX_LOG_LEN);
        16u64 << len
    }
}

/// IOMMU Control Register (#48882 §3.4.4). Only the bits this model stores are named.
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Control {
    /// IommuEn: translation and remapping enabled.
    pub iommu_en: bool,
    /// HtTunEn: HyperTransport tunnel translation (stored, no effect).
    pub ht_tun_en: bool,
    /// EventLogEn.
    pub event_log_en: bool,
    /// EventIntEn: interrupt when an event is logged.
    pub event_int_en: bool,
    /// ComWaitIntEn: interrupt on COMPLETION_WAIT with I=1.
    pub com_wait_int_en: bool,
    /// InvTimeOut (stored, no effect: invalidations complete at once).
    #[bits(3)]
    pub inv_timeout: u8,
    /// PassPW (stored, no effect).
    pub pass_pw: bool,
    /// ResPassPW (stored, no effect).
    pub res_pass_pw: bool,
    /// Coherent (stored, no effect).
    pub coherent: bool,
    /// Isoc (stored, no effect).
    pub isoc: bool,
    /// CmdBufEn: command buffer processing.
    pub cmd_buf_en: bool,
    /// PPRLogEn (PPR not advertised: reads as zero).
    pub ppr_log_en: bool,
    /// PprIntEn (not advertised).
    pub ppr_int_en: bool,
    /// PPREn (not advertised).
    pub ppr_en: bool,
    /// GTEn (guest translation, not advertised).
    pub gt_en: bool,
    /// GAEn: 128-bit IRTEs.
    pub ga_en: bool,
    #[bits(32)]
    _reserved18: u32,
    /// XTEn: 32-bit x2APIC destinations in 128-bit IRTEs.
    pub xt_en: bool,
    /// IntCapXTEn: the IOMMU's own interrupts use the INTCAPXT registers.
    pub int_cap_xt_en: bool,
    #[bits(12)]
    _reserved52: u16,
}

/// Control bits a guest can set whatever the configuration (#48882 §3.4.4).
pub const CONTROL_WRITABLE: u64 = Control::new()
    .with_iommu_en(true)
    .with_ht_tun_en(true)
    .with_event_log_en(true)
    .with_event_int_en(true)
    .with_com_wait_int_en(true)
    .with_inv_timeout(7)
    .with_pass_pw(true)
    .with_res_pass_pw(true)
    .with_coherent(true)
    .with_isoc(true)
    .with_cmd_buf_en(true)
    .with_ga_en(true)
    .into_bits();

/// Control bits writable only when XTSup is advertised (#48882 §3.4.4).
pub const CONTROL_XT_WRITABLE: u64 = Control::new()
    .with_xt_en(true)
    .with_int_cap_xt_en(true)
    .into_bits();

/// IOMMU Exclusion Base Register (#48882 §3.4.5).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct ExclBase {
    /// ExEn: the exclusion range is active.
    pub ex_en: bool,
    /// Allow: the range applies to every device, not only DTEs with EX = 1.
    pub allow: bool,
    #[bits(10)]
    _reserved2: u16,
    /// Exclusion range base bits 51:12.
    #[bits(40)]
    pub base: u64,
    #[bits(12)]
    _reserved52: u16,
}

/// Writable bits of the exclusion base register.
pub const EXCL_BASE_WRITABLE: u64 = 0x000f_ffff_ffff_f003;
/// Writable bits of the exclusion limit register (bits 51:12; 11:0 read as ones).
pub const EXCL_LIMIT_WRITABLE: u64 = 0x000f_ffff_ffff_f000;
/// Writable bits of the device table base register.
pub const DEV_TABLE_WRITABLE: u64 = 0x000f_ffff_ffff_f1ff;
/// Writable bits of the command buffer / event log base registers.
pub const RING_BASE_WRITABLE: u64 = 0x0f0f_ffff_ffff_f000;

/// IOMMU Status Register (#48882 §3.4.11).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Status {
    /// EventOverflow (RW1C): an event was lost because the log was full.
    pub event_overflow: bool,
    /// EventLogInt (RW1C): an event was logged with EventIntEn = 1.
    pub event_log_int: bool,
    /// ComWaitInt (RW1C): a COMPLETION_WAIT with I = 1 completed.
    pub com_wait_int: bool,
    /// EventLogRun (RO): the event log is accepting events.
    pub event_log_run: bool,
    /// CmdBufRun (RO): the command buffer is being processed.
    pub cmd_buf_run: bool,
    #[bits(59)]
    _reserved5: u64,
}

/// The write-one-to-clear bits of the status register.
pub const STATUS_W1C: u64 = Status::new()
    .with_event_overflow(true)
    .with_event_log_int(true)
    .with_com_wait_int(true)
    .into_bits();

/// XT IOMMU interrupt control register (#48882 §3.4.14): where the IOMMU sends its
/// own interrupt when Control.IntCapXTEn = 1.
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct IntCapXt {
    #[bits(2)]
    _reserved0: u8,
    /// Destination mode: 1 = logical.
    pub dest_mode: bool,
    #[bits(5)]
    _reserved3: u8,
    /// Destination APIC id bits 23:0.
    #[bits(24)]
    pub dest_lo: u32,
    /// Vector.
    pub vector: u8,
    #[bits(16)]
    _reserved40: u16,
    /// Destination APIC id bits 31:24.
    pub dest_hi: u8,
}

impl IntCapXt {
    /// The full 32-bit destination.
    pub fn destination(&self) -> u32 {
        self.dest_lo() | (u32::from(self.dest_hi()) << 24)
    }
}

/// Writable bits of an INTCAPXT register.
pub const INTCAPXT_WRITABLE: u64 = 0xff00_00ff_ffff_ff04;

/// Extended feature register bits (#48882 §3.4.7).
pub mod efr {
    /// PreFSup: PREFETCH_IOMMU_PAGES.
    pub const PREF_SUP: u64 = 1 << 0;
    /// PPRSup: peripheral page requests.
    pub const PPR_SUP: u64 = 1 << 1;
    /// XTSup: x2APIC destinations (XTEn, IntCapXTEn).
    pub const XT_SUP: u64 = 1 << 2;
    /// NXSup: no-execute protection.
    pub const NX_SUP: u64 = 1 << 3;
    /// GTSup: guest (v2) translation.
    pub const GT_SUP: u64 = 1 << 4;
    /// IASup: INVALIDATE_IOMMU_ALL.
    pub const IA_SUP: u64 = 1 << 6;
    /// GASup: 128-bit guest-APIC-capable IRTEs (GAEn).
    pub const GA_SUP: u64 = 1 << 7;
    /// HESup: hardware error registers.
    pub const HE_SUP: u64 = 1 << 8;
    /// PCSup: performance counters (would extend the MMIO region to 512 KiB).
    pub const PC_SUP: u64 = 1 << 9;
    /// HATS shift: host address translation size (00 = 4, 01 = 5, 10 = 6 levels).
    pub const HATS_SHIFT: u32 = 10;
    /// HATS value for six-level host page tables.
    pub const HATS_6_LEVEL: u64 = 2;
    /// GAMSup shift (guest virtual APIC modes; bits 23:21).
    pub const GAM_SHIFT: u32 = 21;
}
