//! Remapping-unit register offsets and layouts (VT-d spec rev 4.x, chapter 11,
//! "Register Descriptions").
//!
//! Offsets are from the unit's register base (the DRHD `Register Base Address`).
//! 32-bit registers are accessed as aligned dwords; 64-bit registers as aligned
//! qwords or as two aligned dwords (§11.2, "Software Access to Registers").

use bitfield_struct::bitfield;

/// Version register, 32 bits (VT-d §11.4).
pub const VER: u64 = 0x00;
/// Capability register, 64 bits (VT-d §11.4).
pub const CAP: u64 = 0x08;
/// Extended capability register, 64 bits (VT-d §11.4).
pub const ECAP: u64 = 0x10;
/// Global command register, 32 bits, write-only (VT-d §11.4).
pub const GCMD: u64 = 0x18;
/// Global status register, 32 bits, read-only (VT-d §11.4).
pub const GSTS: u64 = 0x1c;
/// Root table address register, 64 bits (VT-d §11.4).
pub const RTADDR: u64 = 0x20;
/// Context command register, 64 bits (VT-d §11.4).
pub const CCMD: u64 = 0x28;
/// Fault status register, 32 bits (VT-d §11.4).
pub const FSTS: u64 = 0x34;
/// Fault event control register, 32 bits (VT-d §11.4).
pub const FECTL: u64 = 0x38;
/// Fault event data register, 32 bits (VT-d §11.4).
pub const FEDATA: u64 = 0x3c;
/// Fault event address register, 32 bits (VT-d §11.4).
pub const FEADDR: u64 = 0x40;
/// Fault event upper address register, 32 bits (VT-d §11.4).
pub const FEUADDR: u64 = 0x44;
/// Advanced fault log register, 64 bits; not implemented (CAP.AFL = 0) (VT-d §11.4).
pub const AFLOG: u64 = 0x58;
/// Protected memory enable register, 32 bits (VT-d §11.4).
pub const PMEN: u64 = 0x64;
/// Invalidation queue head register, 64 bits, read-only (VT-d §11.4).
pub const IQH: u64 = 0x80;
/// Invalidation queue tail register, 64 bits (VT-d §11.4).
pub const IQT: u64 = 0x88;
/// Invalidation queue address register, 64 bits (VT-d §11.4).
pub const IQA: u64 = 0x90;
/// Invalidation completion status register, 32 bits (VT-d §11.4).
pub const ICS: u64 = 0x9c;
/// Invalidation event control register, 32 bits (VT-d §11.4).
pub const IECTL: u64 = 0xa0;
/// Invalidation event data register, 32 bits (VT-d §11.4).
pub const IEDATA: u64 = 0xa4;
/// Invalidation event address register, 32 bits (VT-d §11.4).
pub const IEADDR: u64 = 0xa8;
/// Invalidation event upper address register, 32 bits (VT-d §11.4).
pub const IEUADDR: u64 = 0xac;
/// Invalidation queue error record register, 64 bits; reads 0 here (VT-d §11.4).
pub const IQERCD: u64 = 0xb0;
/// Interrupt remapping table address register, 64 bits (VT-d §11.4).
pub const IRTA: u64 = 0xb8;
/// Invalidate address register (IVA), 64 bits, at ECAP.IRO × 16 (VT-d §11.4,
/// "IOTLB Registers"). This implementation places it at 0x200.
pub const IVA: u64 = 0x200;
/// IOTLB invalidate register, 64 bits, at ECAP.IRO × 16 + 8 (VT-d §11.4).
pub const IOTLB: u64 = IVA + 8;
/// First fault recording register (128 bits each), at CAP.FRO × 16 (VT-d §11.4).
pub const FRCD_BASE: u64 = 0x220;
/// Size of one fault recording register (VT-d §11.4).
pub const FRCD_SIZE: u64 = 16;
/// Size of the register page.
pub const REG_PAGE_SIZE: u64 = 0x1000;
/// Most fault recording registers that fit in the register page after
/// [`FRCD_BASE`].
pub const MAX_FAULT_RECORDS: usize = ((REG_PAGE_SIZE - FRCD_BASE) / FRCD_SIZE) as usize;

/// Architecture version reported in VER: 1.0, as QEMU and most hardware report for
/// legacy-mode units (VT-d §11.4).
pub const VERSION: u32 = 0x10;

/// Capability register (VT-d §11.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Cap {
    /// Number of domains supported: 6 = 16-bit domain ids.
    #[bits(3)]
    pub nd: u8,
    /// Advanced fault logging.
    pub afl: bool,
    /// Required write-buffer flushing.
    pub rwbf: bool,
    /// Protected low-memory region.
    pub plmr: bool,
    /// Protected high-memory region.
    pub phmr: bool,
    /// Caching mode: not-present and erroneous entries may be cached.
    pub cm: bool,
    /// Supported adjusted guest address widths: bit 1 = 39-bit (3-level), bit 2 =
    /// 48-bit (4-level), bit 3 = 57-bit (5-level).
    #[bits(5)]
    pub sagaw: u8,
    #[bits(3)]
    _rsvd0: u8,
    /// Maximum guest address width minus one.
    #[bits(6)]
    pub mgaw: u8,
    /// Zero-length read.
    pub zlr: bool,
    /// Deprecated.
    pub dep: bool,
    /// Fault-recording register offset, in 16-byte units.
    #[bits(10)]
    pub fro: u16,
    /// Second-level large page support: bit 0 = 2 MiB, bit 1 = 1 GiB.
    #[bits(4)]
    pub sllps: u8,
    _rsvd1: bool,
    /// Page-selective invalidation.
    pub psi: bool,
    /// Number of fault-recording registers minus one.
    #[bits(8)]
    pub nfr: u8,
    /// Maximum address mask value for page-selective invalidation.
    #[bits(6)]
    pub mamv: u8,
    /// Write draining.
    pub dwd: bool,
    /// Read draining.
    pub drd: bool,
    /// First-level 1 GiB pages.
    pub fl1gp: bool,
    #[bits(2)]
    _rsvd2: u8,
    /// Posted interrupts.
    pub pi: bool,
    /// First-level 5-level paging.
    pub fl5lp: bool,
    /// Enhanced command support.
    pub ecmds: bool,
    /// Enhanced SIRTP: SIRTP also invalidates the interrupt entry cache.
    pub esirtps: bool,
    /// Enhanced SRTP: SRTP also invalidates all translation caches.
    pub esrtps: bool,
}

/// Extended capability register (VT-d §11.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Ecap {
    /// Page-walk coherency.
    pub c: bool,
    /// Queued invalidation.
    pub qi: bool,
    /// Device-TLB (ATS).
    pub dt: bool,
    /// Interrupt remapping.
    pub ir: bool,
    /// Extended interrupt mode (x2APIC, 32-bit destinations).
    pub eim: bool,
    _rsvd0: bool,
    /// Pass-through translation type.
    pub pt: bool,
    /// Snoop control.
    pub sc: bool,
    /// IOTLB register offset, in 16-byte units.
    #[bits(10)]
    pub iro: u16,
    #[bits(2)]
    _rsvd1: u8,
    /// Maximum handle mask value for index-selective IEC invalidation.
    #[bits(4)]
    pub mhmv: u8,
    #[bits(19)]
    _rsvd2: u32,
    /// Scalable-mode translation.
    pub smts: bool,
    #[bits(20)]
    _rsvd3: u32,
}

/// Global command register (VT-d §11.4). Bits 31:23; the same positions in
/// [`Gsts`] report the matching status.
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Gcmd {
    #[bits(23)]
    _rsvd: u32,
    /// Compatibility format interrupt (toggle).
    pub cfi: bool,
    /// Set interrupt remap table pointer (one-shot).
    pub sirtp: bool,
    /// Interrupt remapping enable (toggle).
    pub ire: bool,
    /// Queued invalidation enable (toggle).
    pub qie: bool,
    /// Write buffer flush (one-shot).
    pub wbf: bool,
    /// Enable advanced fault logging (toggle; AFL not supported).
    pub eafl: bool,
    /// Set fault log (one-shot; AFL not supported).
    pub sfl: bool,
    /// Set root table pointer (one-shot).
    pub srtp: bool,
    /// Translation enable (toggle).
    pub te: bool,
}

/// Global status register (VT-d §11.4).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Gsts {
    #[bits(23)]
    _rsvd: u32,
    /// Compatibility format interrupts pass through (when IR is on and EIME is off).
    pub cfis: bool,
    /// Interrupt remapping table pointer latched.
    pub irtps: bool,
    /// Interrupt remapping enabled.
    pub ires: bool,
    /// Queued invalidation enabled.
    pub qies: bool,
    /// Write buffer flush in progress (never: flushes complete at once).
    pub wbfs: bool,
    /// Advanced fault logging enabled.
    pub afls: bool,
    /// Fault log pointer latched.
    pub fls: bool,
    /// Root table pointer latched.
    pub rtps: bool,
    /// Translation enabled.
    pub tes: bool,
}

/// Root table address register (VT-d §11.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Rtaddr {
    #[bits(10)]
    _rsvd: u16,
    /// Translation table mode: 00 legacy, 01 scalable, 11 abort-DMA. Only legacy is
    /// supported, so this field reads as zero here.
    #[bits(2)]
    pub ttm: u8,
    /// Root table base, 4 KiB aligned (bits 63:12).
    #[bits(52)]
    pub rta: u64,
}

/// Context command register (VT-d §11.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Ccmd {
    /// Domain id for domain- and device-selective invalidations.
    #[bits(16)]
    pub did: u16,
    /// Source id for device-selective invalidation.
    #[bits(16)]
    pub sid: u16,
    /// Function mask for device-selective invalidation.
    #[bits(2)]
    pub fm: u8,
    #[bits(25)]
    _rsvd: u32,
    /// Actual granularity performed (RO): 0 = request rejected.
    #[bits(2)]
    pub caig: u8,
    /// Requested granularity: 01 global, 10 domain, 11 device.
    #[bits(2)]
    pub cirg: u8,
    /// Invalidate context cache (set by software, cleared on completion).
    pub icc: bool,
}

/// IOTLB invalidate register (VT-d §11.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct IotlbReg {
    #[bits(32)]
    _rsvd0: u32,
    /// Domain id for domain- and page-selective invalidations.
    #[bits(16)]
    pub did: u16,
    /// Drain writes.
    pub dw: bool,
    /// Drain reads.
    pub dr: bool,
    #[bits(7)]
    _rsvd1: u8,
    /// Actual granularity performed (RO): 0 = request rejected.
    #[bits(2)]
    pub iaig: u8,
    _rsvd2: bool,
    /// Requested granularity: 01 global, 10 domain, 11 page.
    #[bits(2)]
    pub iirg: u8,
    _rsvd3: bool,
    /// Invalidate IOTLB (set by software, cleared on completion).
    pub ivt: bool,
}

/// Invalidate address register (VT-d §11.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Iva {
    /// Address mask: invalidate 2^AM pages.
    #[bits(6)]
    pub am: u8,
    /// Invalidation hint: leaf entries only.
    pub ih: bool,
    #[bits(5)]
    _rsvd: u8,
    /// Page number of the first page to invalidate (bits 63:12).
    #[bits(52)]
    pub addr: u64,
}

/// Fault status register (VT-d §11.4).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Fsts {
    /// Primary fault overflow (RW1C).
    pub pfo: bool,
    /// Primary pending fault (RO: some FRCD has F set).
    pub ppf: bool,
    /// Advanced fault overflow (AFL not supported).
    pub afo: bool,
    /// Advanced pending fault (AFL not supported).
    pub apf: bool,
    /// Invalidation queue error (RW1C).
    pub iqe: bool,
    /// Invalidation completion error (RW1C; device-TLB only, never set here).
    pub ice: bool,
    /// Invalidation time-out error (RW1C; device-TLB only, never set here).
    pub ite: bool,
    /// Deprecated (page request overflow).
    pub pro: bool,
    /// Fault record index: the first pending record when PPF was set.
    #[bits(8)]
    pub fri: u8,
    #[bits(16)]
    _rsvd: u16,
}

/// Fault / invalidation event control register (VT-d §11.4).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct EventCtl {
    #[bits(30)]
    _rsvd: u32,
    /// Interrupt pending (RO).
    pub ip: bool,
    /// Interrupt mask (RW, set at reset).
    pub im: bool,
}

/// Protected memory enable register (VT-d §11.4, "PMEN_REG").
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Pmen {
    /// Protected region status (RO).
    pub prs: bool,
    #[bits(30)]
    _rsvd: u32,
    /// Enable protected memory.
    pub epm: bool,
}

/// Invalidation queue address register (VT-d §11.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Iqa {
    /// Queue size: 2^QS 4 KiB pages.
    #[bits(3)]
    pub qs: u8,
    #[bits(8)]
    _rsvd: u8,
    /// Descriptor width: 0 = 128-bit, 1 = 256-bit (scalable mode only; RsvdZ here).
    pub dw: bool,
    /// Queue base, 4 KiB aligned (bits 63:12).
    #[bits(52)]
    pub iqa: u64,
}

/// Invalidation queue head / tail registers for 128-bit descriptors
/// (VT-d §11.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct IqPointer {
    #[bits(4)]
    _rsvd0: u8,
    /// Descriptor index (bits 18:4).
    #[bits(15)]
    pub index: u16,
    #[bits(45)]
    _rsvd1: u64,
}

/// Interrupt remapping table address register (VT-d §11.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Irta {
    /// Table size: 2^(S+1) entries.
    #[bits(4)]
    pub s: u8,
    #[bits(7)]
    _rsvd: u8,
    /// Extended interrupt mode enable (x2APIC mode). RsvdZ without ECAP.EIM.
    pub eime: bool,
    /// Table base, 4 KiB aligned (bits 63:12).
    #[bits(52)]
    pub irta: u64,
}

/// High 64 bits of a fault recording register (VT-d §11.4, bits 127:64).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct FrcdHi {
    /// Source id of the faulting request.
    #[bits(16)]
    pub sid: u16,
    #[bits(12)]
    _rsvd0: u16,
    /// Type bit 2 (reserved in legacy mode).
    pub t2: bool,
    /// Privilege mode requested (PASID requests only).
    pub pm: bool,
    /// Execute permission requested (PASID requests only).
    pub exe: bool,
    /// PASID present.
    pub pp: bool,
    /// Fault reason.
    pub fr: u8,
    /// PASID value.
    #[bits(20)]
    pub pv: u32,
    /// Address type.
    #[bits(2)]
    pub at: u8,
    /// Type: 0 = write, 1 = read (DMA faults; 0 for interrupt requests).
    pub t: bool,
    /// Fault: this record holds an unserviced fault (RW1C).
    pub f: bool,
}

/// Invalidation completion status register (VT-d §11.4): IWC, bit 0, RW1C.
pub const ICS_IWC: u32 = 1;

/// Requested/actual granularity: global (CCMD.CIRG, IOTLB.IIRG, descriptors' G).
pub const GRAN_GLOBAL: u8 = 1;
/// Requested/actual granularity: domain-selective.
pub const GRAN_DOMAIN: u8 = 2;
/// Requested/actual granularity: device-selective (context) or page-selective (IOTLB).
pub const GRAN_DEVICE_OR_PAGE: u8 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_spec_positions() {
        assert_eq!(Gcmd::new().with_te(true).into_bits(), 1 << 31);
        assert_eq!(Gcmd::new().with_srtp(true).into_bits(), 1 << 30);
        assert_eq!(Gcmd::new().with_wbf(true).into_bits(), 1 << 27);
        assert_eq!(Gcmd::new().with_qie(true).into_bits(), 1 << 26);
        assert_eq!(Gcmd::new().with_ire(true).into_bits(), 1 << 25);
        assert_eq!(Gcmd::new().with_sirtp(true).into_bits(), 1 << 24);
        assert_eq!(Gcmd::new().with_cfi(true).into_bits(), 1 << 23);
        assert_eq!(Cap::new().with_sagaw(0b100).into_bits(), 0b100 << 8);
        assert_eq!(Cap::new().with_mgaw(47).into_bits(), 47 << 16);
        assert_eq!(Cap::new().with_fro(0x22).into_bits(), 0x22 << 24);
        assert_eq!(Cap::new().with_sllps(3).into_bits(), 3 << 34);
        assert_eq!(Cap::new().with_psi(true).into_bits(), 1 << 39);
        assert_eq!(Cap::new().with_nfr(7).into_bits(), 7 << 40);
        assert_eq!(Cap::new().with_mamv(18).into_bits(), 18 << 48);
        assert_eq!(Cap::new().with_esrtps(true).into_bits(), 1 << 63);
        assert_eq!(Ecap::new().with_pt(true).into_bits(), 1 << 6);
        assert_eq!(Ecap::new().with_iro(0x20).into_bits(), 0x20 << 8);
        assert_eq!(Ecap::new().with_mhmv(15).into_bits(), 15 << 20);
        assert_eq!(Ecap::new().with_smts(true).into_bits(), 1 << 43);
        assert_eq!(Ccmd::new().with_icc(true).into_bits(), 1 << 63);
        assert_eq!(Ccmd::new().with_cirg(1).into_bits(), 1 << 61);
        assert_eq!(Ccmd::new().with_caig(1).into_bits(), 1 << 59);
        assert_eq!(IotlbReg::new().with_iirg(1).into_bits(), 1 << 60);
        assert_eq!(IotlbReg::new().with_iaig(1).into_bits(), 1 << 57);
        assert_eq!(IotlbReg::new().with_did(5).into_bits(), 5 << 32);
        assert_eq!(IotlbReg::new().with_dr(true).into_bits(), 1 << 49);
        assert_eq!(FrcdHi::new().with_fr(6).into_bits(), 6 << 32);
        assert_eq!(FrcdHi::new().with_t(true).into_bits(), 1 << 62);
        assert_eq!(FrcdHi::new().with_f(true).into_bits(), 1 << 63);
        assert_eq!(FrcdHi::new().with_pp(true).into_bits(), 1 << 31);
        assert_eq!(Fsts::new().with_fri(3).into_bits(), 3 << 8);
        assert_eq!(Irta::new().with_eime(true).into_bits(), 1 << 11);
        assert_eq!(Iqa::new().with_dw(true).into_bits(), 1 << 11);
        assert_eq!(IqPointer::new().with_index(0x7fff).into_bits(), 0x7fff0);
        assert_eq!(Pmen::new().with_epm(true).into_bits(), 1 << 31);
        const { assert!(MAX_FAULT_RECORDS == 222) };
    }
}
