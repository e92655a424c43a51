//! Command queue entries (IHI 0070 chapter 4, "Commands"). Each command is 16 bytes.

use bitfield_struct::bitfield;

/// Size of one command in bytes (IHI 0070 §4.1).
pub const CMD_SIZE: u64 = 16;

/// Command opcodes (IHI 0070 §4.1.1, command opcodes).
pub mod op {
    /// CMD_PREFETCH_CONFIG (IHI 0070 §4.2.1).
    pub const PREFETCH_CONFIG: u8 = 0x01;
    /// CMD_PREFETCH_ADDR (IHI 0070 §4.2.2).
    pub const PREFETCH_ADDR: u8 = 0x02;
    /// CMD_CFGI_STE (IHI 0070 §4.3.1).
    pub const CFGI_STE: u8 = 0x03;
    /// CMD_CFGI_STE_RANGE, and CMD_CFGI_ALL when Range = 31 (IHI 0070 §4.3.2, §4.3.5).
    pub const CFGI_STE_RANGE: u8 = 0x04;
    /// CMD_CFGI_CD (IHI 0070 §4.3.3).
    pub const CFGI_CD: u8 = 0x05;
    /// CMD_CFGI_CD_ALL (IHI 0070 §4.3.4).
    pub const CFGI_CD_ALL: u8 = 0x06;
    /// CMD_CFGI_VMS_PIDM (IHI 0070 §4.3.6).
    pub const CFGI_VMS_PIDM: u8 = 0x07;
    /// CMD_TLBI_NH_ALL (IHI 0070 §4.4.2).
    pub const TLBI_NH_ALL: u8 = 0x10;
    /// CMD_TLBI_NH_ASID (IHI 0070 §4.4.3).
    pub const TLBI_NH_ASID: u8 = 0x11;
    /// CMD_TLBI_NH_VA (IHI 0070 §4.4.4).
    pub const TLBI_NH_VA: u8 = 0x12;
    /// CMD_TLBI_NH_VAA (IHI 0070 §4.4.5).
    pub const TLBI_NH_VAA: u8 = 0x13;
    /// CMD_TLBI_EL3_ALL (IHI 0070 §4.4.6).
    pub const TLBI_EL3_ALL: u8 = 0x18;
    /// CMD_TLBI_EL3_VA (IHI 0070 §4.4.7).
    pub const TLBI_EL3_VA: u8 = 0x1a;
    /// CMD_TLBI_EL2_ALL (IHI 0070 §4.4.8).
    pub const TLBI_EL2_ALL: u8 = 0x20;
    /// CMD_TLBI_EL2_ASID (IHI 0070 §4.4.9).
    pub const TLBI_EL2_ASID: u8 = 0x21;
    /// CMD_TLBI_EL2_VA (IHI 0070 §4.4.10).
    pub const TLBI_EL2_VA: u8 = 0x22;
    /// CMD_TLBI_EL2_VAA (IHI 0070 §4.4.11).
    pub const TLBI_EL2_VAA: u8 = 0x23;
    /// CMD_TLBI_S12_VMALL (IHI 0070 §4.4.12).
    pub const TLBI_S12_VMALL: u8 = 0x28;
    /// CMD_TLBI_S2_IPA (IHI 0070 §4.4.13).
    pub const TLBI_S2_IPA: u8 = 0x2a;
    /// CMD_TLBI_NSNH_ALL (IHI 0070 §4.4.14).
    pub const TLBI_NSNH_ALL: u8 = 0x30;
    /// CMD_ATC_INV (IHI 0070 §4.5.1).
    pub const ATC_INV: u8 = 0x40;
    /// CMD_PRI_RESP (IHI 0070 §4.6.1).
    pub const PRI_RESP: u8 = 0x41;
    /// CMD_RESUME (IHI 0070 §4.6.2).
    pub const RESUME: u8 = 0x44;
    /// CMD_STALL_TERM (IHI 0070 §4.6.3).
    pub const STALL_TERM: u8 = 0x45;
    /// CMD_SYNC (IHI 0070 §4.7.3).
    pub const SYNC: u8 = 0x46;
}

/// CFGI_STE_RANGE.Range value that makes it CMD_CFGI_ALL (IHI 0070 §4.3.5).
pub const CFGI_ALL_RANGE: u8 = 31;

/// CMD_SYNC completion signal (IHI 0070 §4.7.3, CS).
pub mod sync_cs {
    /// No signal.
    pub const SIG_NONE: u8 = 0b00;
    /// MSI write of MSIData to MSIAddress.
    pub const SIG_IRQ: u8 = 0b01;
    /// Send event (SEV) to the PEs.
    pub const SIG_SEV: u8 = 0b10;
}

/// First doubleword of prefetch and configuration invalidation commands
/// (IHI 0070 §4.2, §4.3).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct CmdStream0 {
    /// Opcode.
    pub opcode: u8,
    #[bits(2)]
    _reserved8: u8,
    /// Secure StreamID (Secure queue only; RES0 here).
    pub ssec: bool,
    /// SubstreamID valid.
    pub ssv: bool,
    /// SubstreamID.
    #[bits(20)]
    pub ssid: u32,
    /// StreamID.
    pub sid: u32,
}

/// Second doubleword of CFGI_STE / CFGI_CD / CFGI_STE_RANGE (IHI 0070 §4.3).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct CmdCfgi1 {
    /// CFGI_STE/CFGI_CD: Leaf. CFGI_STE_RANGE: bit 0 of Range.
    pub leaf: bool,
    #[bits(63)]
    _reserved1: u64,
}

impl CmdCfgi1 {
    /// CFGI_STE_RANGE.Range, bits [4:0] (IHI 0070 §4.3.2).
    pub fn range(&self) -> u8 {
        (self.into_bits() & 0x1f) as u8
    }
}

/// Second doubleword of PREFETCH_ADDR (IHI 0070 §4.2.2).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct CmdPrefetchAddr1 {
    /// log2 of the number of bytes to prefetch.
    #[bits(5)]
    pub size: u8,
    /// log2 of the stride.
    #[bits(5)]
    pub stride: u8,
    #[bits(2)]
    _reserved10: u8,
    /// Address bits [63:12].
    #[bits(52)]
    pub addr: u64,
}

/// First doubleword of TLB invalidation commands (IHI 0070 §4.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct CmdTlbi0 {
    /// Opcode.
    pub opcode: u8,
    #[bits(4)]
    _reserved8: u8,
    /// Range invalidation: number of pages minus one (with SCALE), when IDR3.RIL.
    #[bits(5)]
    pub num: u8,
    #[bits(3)]
    _reserved17: u8,
    /// Range invalidation scale.
    #[bits(5)]
    pub scale: u8,
    #[bits(7)]
    _reserved25: u8,
    /// VMID.
    pub vmid: u16,
    /// ASID.
    pub asid: u16,
}

/// Second doubleword of address-based TLB invalidation commands (IHI 0070 §4.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct CmdTlbi1 {
    /// Invalidate only last-level (leaf) entries.
    pub leaf: bool,
    #[bits(7)]
    _reserved1: u8,
    /// Translation table level hint.
    #[bits(2)]
    pub ttl: u8,
    /// Translation granule of the range: 0b00 none, 0b01 4K, 0b10 16K, 0b11 64K.
    #[bits(2)]
    pub tg: u8,
    /// Address bits [63:12].
    #[bits(52)]
    pub addr: u64,
}

/// First doubleword of CMD_SYNC (IHI 0070 §4.7.3).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct CmdSync0 {
    /// Opcode.
    pub opcode: u8,
    #[bits(4)]
    _reserved8: u8,
    /// Completion signal: see [`sync_cs`].
    #[bits(2)]
    pub cs: u8,
    #[bits(8)]
    _reserved14: u8,
    /// MSI shareability.
    #[bits(2)]
    pub msh: u8,
    /// MSI memory attributes.
    #[bits(4)]
    pub msiattr: u8,
    #[bits(4)]
    _reserved28: u8,
    /// MSI payload.
    pub msidata: u32,
}

/// Second doubleword of CMD_SYNC (IHI 0070 §4.7.3).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct CmdSync1 {
    #[bits(2)]
    _reserved0: u8,
    /// MSI address bits [51:2].
    #[bits(50)]
    pub msiaddr: u64,
    #[bits(12)]
    _reserved52: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_positions() {
        assert_eq!(CmdStream0::new().with_sid(1).into_bits(), 1 << 32);
        assert_eq!(CmdStream0::new().with_ssid(1).into_bits(), 1 << 12);
        assert_eq!(CmdTlbi0::new().with_num(1).into_bits(), 1 << 12);
        assert_eq!(CmdTlbi0::new().with_scale(1).into_bits(), 1 << 20);
        assert_eq!(CmdTlbi0::new().with_asid(1).into_bits(), 1 << 48);
        assert_eq!(CmdTlbi1::new().with_tg(3).into_bits(), 3 << 10);
        assert_eq!(CmdSync0::new().with_cs(1).into_bits(), 1 << 12);
        assert_eq!(CmdSync0::new().with_msidata(1).into_bits(), 1 << 32);
        assert_eq!(CmdSync1::new().with_msiaddr(1).into_bits(), 1 << 2);
        assert_eq!(CmdCfgi1::from_bits(0x3f).range(), 31);
    }
}
