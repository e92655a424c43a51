//! Register offsets and layouts (IHI 0070 chapter 6, "Memory map and registers").
//!
//! The SMMU occupies two 64 KiB pages: page 0 holds the control registers, page 1 the
//! queue producer/consumer indices software polls. Implementations may also answer the
//! page-1 registers at the same offsets in page 0 (Linux's `PAGE0_REGS_ONLY` option).

use bitfield_struct::bitfield;

/// Size of one SMMU register page (IHI 0070 §6.1, 64 KiB pages).
pub const PAGE_SIZE: u64 = 0x1_0000;
/// Size of the MMIO region: pages 0 and 1 (IHI 0070 §6.1).
pub const MMIO_SIZE: u64 = 2 * PAGE_SIZE;

/// SMMU_IDR0: features (IHI 0070 §6.3, SMMU_IDR0).
pub const IDR0: u64 = 0x00;
/// SMMU_IDR1: table/queue sizes (IHI 0070 §6.3, SMMU_IDR1).
pub const IDR1: u64 = 0x04;
/// SMMU_IDR2: VATOS base (IHI 0070 §6.3, SMMU_IDR2).
pub const IDR2: u64 = 0x08;
/// SMMU_IDR3: more features (IHI 0070 §6.3, SMMU_IDR3).
pub const IDR3: u64 = 0x0c;
/// SMMU_IDR4: implementation defined (IHI 0070 §6.3, SMMU_IDR4).
pub const IDR4: u64 = 0x10;
/// SMMU_IDR5: granules and output address size (IHI 0070 §6.3, SMMU_IDR5).
pub const IDR5: u64 = 0x14;
/// SMMU_IIDR: implementation identification (IHI 0070 §6.3, SMMU_IIDR).
pub const IIDR: u64 = 0x18;
/// SMMU_AIDR: architecture revision (IHI 0070 §6.3, SMMU_AIDR).
pub const AIDR: u64 = 0x1c;
/// SMMU_CR0: global control (IHI 0070 §6.3, SMMU_CR0).
pub const CR0: u64 = 0x20;
/// SMMU_CR0ACK: CR0 update acknowledgement (IHI 0070 §6.3, SMMU_CR0ACK).
pub const CR0ACK: u64 = 0x24;
/// SMMU_CR1: table/queue memory attributes (IHI 0070 §6.3, SMMU_CR1).
pub const CR1: u64 = 0x28;
/// SMMU_CR2: E2H, RECINVSID, PTM (IHI 0070 §6.3, SMMU_CR2).
pub const CR2: u64 = 0x2c;
/// SMMU_STATUSR (IHI 0070 §6.3, SMMU_STATUSR).
pub const STATUSR: u64 = 0x40;
/// SMMU_GBPA: global bypass attributes (IHI 0070 §6.3, SMMU_GBPA).
pub const GBPA: u64 = 0x44;
/// SMMU_AGBPA: alternate GBPA (IHI 0070 §6.3, SMMU_AGBPA).
pub const AGBPA: u64 = 0x48;
/// SMMU_IRQ_CTRL: interrupt enables (IHI 0070 §6.3, SMMU_IRQ_CTRL).
pub const IRQ_CTRL: u64 = 0x50;
/// SMMU_IRQ_CTRLACK (IHI 0070 §6.3, SMMU_IRQ_CTRLACK).
pub const IRQ_CTRLACK: u64 = 0x54;
/// SMMU_GERROR: global errors (IHI 0070 §6.3, SMMU_GERROR).
pub const GERROR: u64 = 0x60;
/// SMMU_GERRORN: global error acknowledgement (IHI 0070 §6.3, SMMU_GERRORN).
pub const GERRORN: u64 = 0x64;
/// SMMU_GERROR_IRQ_CFG0: GERROR MSI address, 64 bits (IHI 0070 §6.3).
pub const GERROR_IRQ_CFG0: u64 = 0x68;
/// SMMU_GERROR_IRQ_CFG1: GERROR MSI data (IHI 0070 §6.3).
pub const GERROR_IRQ_CFG1: u64 = 0x70;
/// SMMU_GERROR_IRQ_CFG2: GERROR MSI attributes (IHI 0070 §6.3).
pub const GERROR_IRQ_CFG2: u64 = 0x74;
/// SMMU_STRTAB_BASE: stream table base, 64 bits (IHI 0070 §6.3, SMMU_STRTAB_BASE).
pub const STRTAB_BASE: u64 = 0x80;
/// SMMU_STRTAB_BASE_CFG: stream table format (IHI 0070 §6.3, SMMU_STRTAB_BASE_CFG).
pub const STRTAB_BASE_CFG: u64 = 0x88;
/// SMMU_CMDQ_BASE: command queue base, 64 bits (IHI 0070 §6.3, SMMU_CMDQ_BASE).
pub const CMDQ_BASE: u64 = 0x90;
/// SMMU_CMDQ_PROD (IHI 0070 §6.3, SMMU_CMDQ_PROD).
pub const CMDQ_PROD: u64 = 0x98;
/// SMMU_CMDQ_CONS (IHI 0070 §6.3, SMMU_CMDQ_CONS).
pub const CMDQ_CONS: u64 = 0x9c;
/// SMMU_EVENTQ_BASE: event queue base, 64 bits (IHI 0070 §6.3, SMMU_EVENTQ_BASE).
pub const EVENTQ_BASE: u64 = 0xa0;
/// SMMU_EVENTQ_PROD as aliased in page 0 (IHI 0070 §6.3, SMMU_EVENTQ_PROD).
pub const EVENTQ_PROD_PAGE0: u64 = 0xa8;
/// SMMU_EVENTQ_CONS as aliased in page 0 (IHI 0070 §6.3, SMMU_EVENTQ_CONS).
pub const EVENTQ_CONS_PAGE0: u64 = 0xac;
/// SMMU_EVENTQ_IRQ_CFG0: event queue MSI address, 64 bits (IHI 0070 §6.3).
pub const EVENTQ_IRQ_CFG0: u64 = 0xb0;
/// SMMU_EVENTQ_IRQ_CFG1: event queue MSI data (IHI 0070 §6.3).
pub const EVENTQ_IRQ_CFG1: u64 = 0xb8;
/// SMMU_EVENTQ_IRQ_CFG2: event queue MSI attributes (IHI 0070 §6.3).
pub const EVENTQ_IRQ_CFG2: u64 = 0xbc;
/// SMMU_EVENTQ_PROD in page 1, where the architecture places it (IHI 0070 §6.3).
pub const EVENTQ_PROD: u64 = PAGE_SIZE + EVENTQ_PROD_PAGE0;
/// SMMU_EVENTQ_CONS in page 1, where the architecture places it (IHI 0070 §6.3).
pub const EVENTQ_CONS: u64 = PAGE_SIZE + EVENTQ_CONS_PAGE0;

/// SMMU_IDR0 (IHI 0070 §6.3, SMMU_IDR0).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Idr0 {
    /// Stage 2 translation supported.
    pub s2p: bool,
    /// Stage 1 translation supported.
    pub s1p: bool,
    /// Translation table formats: 0b10 = AArch64 only.
    #[bits(2)]
    pub ttf: u8,
    /// Coherent table/queue access.
    pub cohacc: bool,
    /// Broadcast TLB maintenance.
    pub btm: bool,
    /// Hardware translation table flag updates.
    #[bits(2)]
    pub httu: u8,
    /// Dormant hint.
    pub dormhint: bool,
    /// EL2 (hypervisor) stage 1 supported.
    pub hyp: bool,
    /// PCIe ATS supported.
    pub ats: bool,
    /// Non-secure stage 1 ATS.
    pub ns1ats: bool,
    /// 16-bit ASIDs.
    pub asid16: bool,
    /// MSIs supported for the SMMU's own interrupts.
    pub msi: bool,
    /// SEV generated on command queue updates.
    pub sev: bool,
    /// Address translation operations.
    pub atos: bool,
    /// PRI queue.
    pub pri: bool,
    /// VMID wildcard matching.
    pub vmw: bool,
    /// 16-bit VMIDs.
    pub vmid16: bool,
    /// 2-level context descriptor tables.
    pub cd2l: bool,
    /// Virtual ATOS.
    pub vatos: bool,
    /// Translation table endianness: 0b10 = little endian only.
    #[bits(2)]
    pub ttendian: u8,
    /// ATS response error recording.
    pub atsrecerr: bool,
    /// Stall model: 0b01 = stall not supported.
    #[bits(2)]
    pub stall_model: u8,
    /// Terminate model: 1 = terminated transactions always abort.
    pub term_model: bool,
    /// Stream table levels: 0b00 linear, 0b01 linear and 2-level.
    #[bits(2)]
    pub st_level: u8,
    #[bits(3)]
    _reserved: u8,
}

/// SMMU_IDR1 (IHI 0070 §6.3, SMMU_IDR1).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Idr1 {
    /// Maximum StreamID bits.
    #[bits(6)]
    pub sidsize: u8,
    /// Maximum SubstreamID bits.
    #[bits(5)]
    pub ssidsize: u8,
    /// Maximum PRI queue log2 size.
    #[bits(5)]
    pub priqs: u8,
    /// Maximum event queue log2 size.
    #[bits(5)]
    pub eventqs: u8,
    /// Maximum command queue log2 size.
    #[bits(5)]
    pub cmdqs: u8,
    /// Attribute permissions override.
    pub attr_perms_ovr: bool,
    /// Attribute types override.
    pub attr_types_ovr: bool,
    /// Queue/table base addresses are relative.
    pub rel: bool,
    /// Queue bases are fixed.
    pub queues_preset: bool,
    /// Table bases are fixed.
    pub tables_preset: bool,
    /// Enhanced command queues.
    pub ecmdq: bool,
}

/// SMMU_IDR3 (IHI 0070 §6.3, SMMU_IDR3).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Idr3 {
    #[bits(2)]
    _reserved0: u8,
    /// Hierarchical attribute disable.
    pub had: bool,
    /// Page-based hardware attributes.
    pub pbha: bool,
    /// EL0/EL1 execute never distinction.
    pub xnx: bool,
    /// PASID-tagged PRI responses.
    pub pps: bool,
    #[bits(1)]
    _reserved6: u8,
    /// Memory partitioning and monitoring.
    pub mpam: bool,
    /// Stage 2 forced write-back.
    pub fwb: bool,
    /// Small translation tables.
    pub stt: bool,
    /// Range invalidation (TG/SCALE/NUM in TLBI commands).
    pub ril: bool,
    /// Break-before-make level.
    #[bits(2)]
    pub bbml: u8,
    #[bits(19)]
    _reserved13: u32,
}

/// SMMU_IDR5 (IHI 0070 §6.3, SMMU_IDR5).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Idr5 {
    /// Output address size, encoded as [`oas_bits`] decodes.
    #[bits(3)]
    pub oas: u8,
    #[bits(1)]
    _reserved3: u8,
    /// 4 KiB translation granule supported.
    pub gran4k: bool,
    /// 16 KiB translation granule supported.
    pub gran16k: bool,
    /// 64 KiB translation granule supported.
    pub gran64k: bool,
    #[bits(3)]
    _reserved7: u8,
    /// Virtual address extension.
    #[bits(2)]
    pub vax: u8,
    #[bits(4)]
    _reserved12: u8,
    /// Maximum outstanding stalled transactions.
    #[bits(16)]
    pub stall_max: u16,
}

/// Decodes an OAS/IPS/PS address-size field to a bit count (IHI 0070 §6.3, SMMU_IDR5.OAS;
/// same encoding as CD.IPS and STE.S2PS). Reserved encodings return `None`.
pub const fn oas_bits(encoded: u8) -> Option<u32> {
    match encoded {
        0 => Some(32),
        1 => Some(36),
        2 => Some(40),
        3 => Some(42),
        4 => Some(44),
        5 => Some(48),
        6 => Some(52),
        _ => None,
    }
}

/// Encodes an address size in bits as an OAS/IPS/PS field (inverse of [`oas_bits`]).
pub const fn oas_encode(bits: u32) -> Option<u8> {
    match bits {
        32 => Some(0),
        36 => Some(1),
        40 => Some(2),
        42 => Some(3),
        44 => Some(4),
        48 => Some(5),
        52 => Some(6),
        _ => None,
    }
}

/// SMMU_CR0 and SMMU_CR0ACK (IHI 0070 §6.3, SMMU_CR0).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Cr0 {
    /// SMMU enable: translation on.
    pub smmuen: bool,
    /// PRI queue enable.
    pub priqen: bool,
    /// Event queue enable.
    pub eventqen: bool,
    /// Command queue enable.
    pub cmdqen: bool,
    /// ATS check enable.
    pub atschk: bool,
    #[bits(1)]
    _reserved5: u8,
    /// VMID wildcard.
    #[bits(3)]
    pub vmw: u8,
    #[bits(23)]
    _reserved9: u32,
}

/// SMMU_CR2 (IHI 0070 §6.3, SMMU_CR2).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Cr2 {
    /// EL2-E2H translation regime.
    pub e2h: bool,
    /// Record C_BAD_STREAMID for invalid input StreamIDs.
    pub recinvsid: bool,
    /// Private TLB maintenance (ignore broadcast TLBI).
    pub ptm: bool,
    #[bits(29)]
    _reserved: u32,
}

/// SMMU_GBPA: attributes of traffic while SMMUEN = 0 (IHI 0070 §6.3, SMMU_GBPA).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Gbpa {
    /// Memory attribute override.
    #[bits(4)]
    pub memattr: u8,
    /// Memory type override enable.
    pub mtcfg: bool,
    #[bits(3)]
    _reserved5: u8,
    /// Allocation hints override.
    #[bits(4)]
    pub alloccfg: u8,
    /// Shareability override.
    #[bits(2)]
    pub shcfg: u8,
    #[bits(2)]
    _reserved14: u8,
    /// Privilege override.
    #[bits(2)]
    pub privcfg: u8,
    /// Instruction/data override.
    #[bits(2)]
    pub instcfg: u8,
    /// 1: abort all incoming traffic while SMMUEN = 0; 0: bypass it.
    pub abort: bool,
    #[bits(10)]
    _reserved21: u16,
    /// Written as 1 to request an update; reads 1 until the update completes.
    pub update: bool,
}

/// SMMU_IRQ_CTRL and SMMU_IRQ_CTRLACK (IHI 0070 §6.3, SMMU_IRQ_CTRL).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct IrqCtrl {
    /// GERROR interrupt enable.
    pub gerror_irqen: bool,
    /// PRI queue interrupt enable.
    pub priq_irqen: bool,
    /// Event queue interrupt enable.
    pub eventq_irqen: bool,
    #[bits(29)]
    _reserved: u32,
}

/// SMMU_GERROR and SMMU_GERRORN: an error is active while its bits differ
/// (IHI 0070 §6.3, SMMU_GERROR; §7.5 global errors).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct Gerror {
    /// Command queue error (see CMDQ_CONS.ERR).
    pub cmdq_err: bool,
    #[bits(1)]
    _reserved1: u8,
    /// Event queue write aborted.
    pub eventq_abt_err: bool,
    /// PRI queue write aborted.
    pub priq_abt_err: bool,
    /// CMD_SYNC MSI write aborted.
    pub msi_cmdq_abt_err: bool,
    /// Event queue MSI write aborted.
    pub msi_eventq_abt_err: bool,
    /// PRI queue MSI write aborted.
    pub msi_priq_abt_err: bool,
    /// GERROR MSI write aborted.
    pub msi_gerror_abt_err: bool,
    /// Service failure mode.
    pub sfm_err: bool,
    /// Command queue control page error.
    pub cmdqp_err: bool,
    #[bits(22)]
    _reserved10: u32,
}

/// SMMU_STRTAB_BASE (IHI 0070 §6.3, SMMU_STRTAB_BASE).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct StrtabBase {
    #[bits(6)]
    _reserved0: u8,
    /// Table address bits [51:6].
    #[bits(46)]
    pub addr: u64,
    #[bits(10)]
    _reserved52: u16,
    /// Read-allocate hint.
    pub ra: bool,
    #[bits(1)]
    _reserved63: u8,
}

/// SMMU_STRTAB_BASE_CFG (IHI 0070 §6.3, SMMU_STRTAB_BASE_CFG).
#[bitfield(u32)]
#[derive(PartialEq, Eq)]
pub struct StrtabBaseCfg {
    /// log2 of the number of StreamIDs the table covers.
    #[bits(6)]
    pub log2size: u8,
    /// 2-level split point: 6, 8 or 10 bits at the second level (others behave as 6).
    #[bits(5)]
    pub split: u8,
    #[bits(5)]
    _reserved11: u8,
    /// 0b00 linear, 0b01 2-level (others behave as linear).
    #[bits(2)]
    pub fmt: u8,
    #[bits(14)]
    _reserved18: u16,
}

/// SMMU_CMDQ_BASE and SMMU_EVENTQ_BASE (IHI 0070 §6.3, SMMU_CMDQ_BASE).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct QueueBase {
    /// log2 of the number of entries (capped at the IDR1 maximum).
    #[bits(5)]
    pub log2size: u8,
    /// Queue address bits [51:5].
    #[bits(47)]
    pub addr: u64,
    #[bits(10)]
    _reserved52: u16,
    /// Read-allocate (CMDQ) / write-allocate (EVENTQ) hint.
    pub alloc: bool,
    #[bits(1)]
    _reserved63: u8,
}

/// SMMU_CMDQ_CONS.ERR codes (IHI 0070 §4.8, command errors).
pub mod cerror {
    /// No error.
    pub const NONE: u8 = 0;
    /// Illegal command: unknown opcode, reserved field set, or unsupported command.
    pub const ILL: u8 = 1;
    /// Command fetch aborted.
    pub const ABT: u8 = 2;
    /// ATC invalidation timed out before CMD_SYNC completed.
    pub const ATC_INV_SYNC: u8 = 3;
}

/// Bit of CMDQ_CONS holding the 7-bit error code (IHI 0070 §6.3, SMMU_CMDQ_CONS.ERR).
pub const CMDQ_CONS_ERR_SHIFT: u32 = 24;
/// EVENTQ_PROD.OVFLG: overflow flag (IHI 0070 §6.3, SMMU_EVENTQ_PROD).
pub const EVENTQ_PROD_OVFLG: u32 = 1 << 31;
/// EVENTQ_CONS.OVACKFLG: overflow acknowledge (IHI 0070 §6.3, SMMU_EVENTQ_CONS).
pub const EVENTQ_CONS_OVACKFLG: u32 = 1 << 31;

/// IRQ_CFG0 address field mask: bits [51:2] (IHI 0070 §6.3, SMMU_GERROR_IRQ_CFG0).
pub const IRQ_CFG0_ADDR_MASK: u64 = ((1 << 52) - 1) & !3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_positions() {
        assert_eq!(Idr0::new().with_msi(true).into_bits(), 1 << 13);
        assert_eq!(Idr0::new().with_st_level(1).into_bits(), 1 << 27);
        assert_eq!(Idr1::new().with_cmdqs(8).into_bits(), 8 << 21);
        assert_eq!(Idr3::new().with_ril(true).into_bits(), 1 << 10);
        assert_eq!(Idr5::new().with_gran64k(true).into_bits(), 1 << 6);
        assert_eq!(Gbpa::new().with_abort(true).into_bits(), 1 << 20);
        assert_eq!(Gbpa::new().with_update(true).into_bits(), 1 << 31);
        assert_eq!(Gerror::new().with_sfm_err(true).into_bits(), 1 << 8);
        assert_eq!(StrtabBaseCfg::new().with_fmt(1).into_bits(), 1 << 16);
        assert_eq!(StrtabBaseCfg::new().with_split(8).into_bits(), 8 << 6);
        assert_eq!(QueueBase::new().with_addr(1).into_bits(), 1 << 5);
        assert_eq!(StrtabBase::new().with_addr(1).into_bits(), 1 << 6);
        assert_eq!(EVENTQ_PROD, 0x100a8);
    }

    #[test]
    fn oas_round_trip() {
        for e in 0..8u8 {
            if let Some(bits) = oas_bits(e) {
                assert_eq!(oas_encode(bits), Some(e));
            }
        }
        assert_eq!(oas_bits(7), None);
    }
}
