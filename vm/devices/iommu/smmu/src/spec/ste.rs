//! Stream table formats: the level-1 stream table descriptor (IHI 0070 §5.1) and the
//! stream table entry (IHI 0070 §5.2).

use bitfield_struct::bitfield;

/// Size of one STE in bytes (IHI 0070 §5.2: 64 bytes).
pub const STE_SIZE: u64 = 64;
/// Size of one level-1 stream table descriptor (IHI 0070 §5.1: 8 bytes).
pub const L1STD_SIZE: u64 = 8;
/// Largest legal L1STD.Span (IHI 0070 §5.1).
pub const MAX_SPAN: u8 = 11;
/// Largest STRTAB_BASE_CFG.LOG2SIZE the architecture allows (IHI 0070 §6.3).
pub const MAX_STRTAB_LOG2SIZE: u8 = 32;

/// Level-1 stream table descriptor (IHI 0070 §5.1, L1STD).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct L1Std {
    /// Number of STEs in the level-2 table: 2^(Span-1); 0 = invalid.
    #[bits(5)]
    pub span: u8,
    #[bits(1)]
    _reserved5: u8,
    /// Level-2 table address bits [51:6].
    #[bits(46)]
    pub l2ptr: u64,
    #[bits(12)]
    _reserved52: u16,
}

/// STE.Config values (IHI 0070 §5.2, STE.Config).
pub mod config {
    /// Abort all traffic; no event recorded.
    pub const ABORT: u8 = 0b000;
    /// Bypass both stages.
    pub const BYPASS: u8 = 0b100;
    /// Stage 1 translates, stage 2 bypassed.
    pub const S1_TRANS: u8 = 0b101;
    /// Stage 1 bypassed, stage 2 translates.
    pub const S2_TRANS: u8 = 0b110;
    /// Both stages translate (nested).
    pub const NESTED: u8 = 0b111;
}

/// STE.S1DSS: what non-substream traffic does when S1CDMax != 0 (IHI 0070 §5.2).
pub mod s1dss {
    /// Terminate with F_STREAM_DISABLED.
    pub const TERMINATE: u8 = 0b00;
    /// Bypass stage 1.
    pub const BYPASS: u8 = 0b01;
    /// Use the CD at SubstreamID 0.
    pub const SUBSTREAM0: u8 = 0b10;
}

/// STE.PRIVCFG value forcing privileged traffic (IHI 0070 §5.2, STE.PRIVCFG).
pub const PRIVCFG_PRIVILEGED: u8 = 0b11;

/// STE doubleword 0 (IHI 0070 §5.2).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Ste0 {
    /// Valid.
    pub v: bool,
    /// Stream configuration: see [`config`].
    #[bits(3)]
    pub config: u8,
    /// CD table format: 0b00 linear, 0b01/0b10 2-level.
    #[bits(2)]
    pub s1fmt: u8,
    /// CD table address bits [51:6].
    #[bits(46)]
    pub s1_context_ptr: u64,
    #[bits(7)]
    _reserved52: u8,
    /// log2 of the number of CDs.
    #[bits(5)]
    pub s1cdmax: u8,
}

/// STE doubleword 1 (IHI 0070 §5.2).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Ste1 {
    /// Default substream behaviour: see [`s1dss`].
    #[bits(2)]
    pub s1dss: u8,
    /// CD table inner cacheability.
    #[bits(2)]
    pub s1cir: u8,
    /// CD table outer cacheability.
    #[bits(2)]
    pub s1cor: u8,
    /// CD table shareability.
    #[bits(2)]
    pub s1csh: u8,
    #[bits(11)]
    _reserved8: u16,
    /// Merge events.
    pub mev: bool,
    #[bits(7)]
    _reserved20: u8,
    /// Stage 1 stall disable.
    pub s1stalld: bool,
    /// ATS enable.
    #[bits(2)]
    pub eats: u8,
    /// StreamWorld.
    #[bits(2)]
    pub strw: u8,
    /// Memory attribute override.
    #[bits(4)]
    pub memattr: u8,
    /// Memory type override enable.
    pub mtcfg: bool,
    /// Allocation hint override.
    #[bits(4)]
    pub alloccfg: u8,
    #[bits(3)]
    _reserved41: u8,
    /// Shareability override.
    #[bits(2)]
    pub shcfg: u8,
    /// Non-secure override.
    #[bits(2)]
    pub nscfg: u8,
    /// Privilege override (0b11: privileged, 0b10: unprivileged, else incoming).
    #[bits(2)]
    pub privcfg: u8,
    /// Instruction/data override.
    #[bits(2)]
    pub instcfg: u8,
    #[bits(12)]
    _reserved52: u16,
}

/// STE doubleword 2: stage 2 configuration (IHI 0070 §5.2).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Ste2 {
    /// Virtual machine id.
    #[bits(16)]
    pub s2vmid: u16,
    #[bits(16)]
    _reserved16: u16,
    /// Stage 2 input size: 64 - S2T0SZ bits.
    #[bits(6)]
    pub s2t0sz: u8,
    /// Stage 2 starting level (meaning depends on S2TG).
    #[bits(2)]
    pub s2sl0: u8,
    /// Table walk inner cacheability.
    #[bits(2)]
    pub s2ir0: u8,
    /// Table walk outer cacheability.
    #[bits(2)]
    pub s2or0: u8,
    /// Table walk shareability.
    #[bits(2)]
    pub s2sh0: u8,
    /// Granule: 0b00 4 KiB, 0b01 64 KiB, 0b10 16 KiB.
    #[bits(2)]
    pub s2tg: u8,
    /// Stage 2 output (physical) address size, OAS encoding.
    #[bits(3)]
    pub s2ps: u8,
    /// 1: AArch64 translation tables (required here).
    pub s2aa64: bool,
    /// Big-endian tables.
    pub s2endi: bool,
    /// Access flag fault disable.
    pub s2affd: bool,
    /// Protected table walk.
    pub s2ptw: bool,
    /// Dirty flag update.
    pub s2hd: bool,
    /// Access flag update.
    pub s2ha: bool,
    /// Stall faults.
    pub s2s: bool,
    /// Record faults.
    pub s2r: bool,
    #[bits(5)]
    _reserved59: u8,
}

/// STE doubleword 3: stage 2 table base (IHI 0070 §5.2).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Ste3 {
    #[bits(4)]
    _reserved0: u8,
    /// Stage 2 translation table base bits [51:4].
    #[bits(48)]
    pub s2ttb: u64,
    #[bits(12)]
    _reserved52: u16,
}

/// One stream table entry as eight little-endian doublewords (IHI 0070 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ste(pub [u64; 8]);

impl Ste {
    /// Doubleword 0.
    pub fn w0(&self) -> Ste0 {
        Ste0::from_bits(self.0[0])
    }
    /// Doubleword 1.
    pub fn w1(&self) -> Ste1 {
        Ste1::from_bits(self.0[1])
    }
    /// Doubleword 2.
    pub fn w2(&self) -> Ste2 {
        Ste2::from_bits(self.0[2])
    }
    /// Doubleword 3.
    pub fn w3(&self) -> Ste3 {
        Ste3::from_bits(self.0[3])
    }
    /// The CD table address.
    pub fn cd_table(&self) -> u64 {
        self.w0().s1_context_ptr() << 6
    }
    /// The stage 2 table base address.
    pub fn s2ttb(&self) -> u64 {
        self.w3().s2ttb() << 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_positions() {
        assert_eq!(Ste0::new().with_config(config::NESTED).into_bits(), 0b1110);
        assert_eq!(Ste0::new().with_s1cdmax(31).into_bits(), 31 << 59);
        assert_eq!(Ste1::new().with_privcfg(3).into_bits(), 3 << 48);
        assert_eq!(Ste1::new().with_mev(true).into_bits(), 1 << 19);
        assert_eq!(Ste2::new().with_s2t0sz(25).into_bits(), 25 << 32);
        assert_eq!(Ste2::new().with_s2tg(2).into_bits(), 2 << 46);
        assert_eq!(Ste2::new().with_s2aa64(true).into_bits(), 1 << 51);
        assert_eq!(Ste2::new().with_s2r(true).into_bits(), 1 << 58);
        assert_eq!(L1Std::new().with_l2ptr(1).into_bits(), 1 << 6);
        let ste = Ste([0x1000 | 1, 0, 0, 0x8000, 0, 0, 0, 0]);
        assert_eq!(ste.cd_table(), 0x1000);
        assert_eq!(ste.s2ttb(), 0x8000);
    }
}
