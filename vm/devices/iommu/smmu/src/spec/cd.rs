//! Context descriptor format (IHI 0070 §5.4).

use bitfield_struct::bitfield;

/// Size of one CD in bytes (IHI 0070 §5.4: 64 bytes).
pub const CD_SIZE: u64 = 64;

/// CD doubleword 0 (IHI 0070 §5.4).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Cd0 {
    /// TTB0 region size: 64 - T0SZ input bits.
    #[bits(6)]
    pub t0sz: u8,
    /// TTB0 granule: 0b00 4 KiB, 0b01 64 KiB, 0b10 16 KiB.
    #[bits(2)]
    pub tg0: u8,
    /// TTB0 walk inner cacheability.
    #[bits(2)]
    pub ir0: u8,
    /// TTB0 walk outer cacheability.
    #[bits(2)]
    pub or0: u8,
    /// TTB0 walk shareability.
    #[bits(2)]
    pub sh0: u8,
    /// Disable TTB0 walks (translation fault instead).
    pub epd0: bool,
    /// Big-endian tables.
    pub endi: bool,
    /// TTB1 region size: 64 - T1SZ input bits.
    #[bits(6)]
    pub t1sz: u8,
    /// TTB1 granule: 0b01 16 KiB, 0b10 4 KiB, 0b11 64 KiB.
    #[bits(2)]
    pub tg1: u8,
    /// TTB1 walk inner cacheability.
    #[bits(2)]
    pub ir1: u8,
    /// TTB1 walk outer cacheability.
    #[bits(2)]
    pub or1: u8,
    /// TTB1 walk shareability.
    #[bits(2)]
    pub sh1: u8,
    /// Disable TTB1 walks.
    pub epd1: bool,
    /// Valid.
    pub v: bool,
    /// Intermediate physical size, OAS encoding.
    #[bits(3)]
    pub ips: u8,
    /// Access flag fault disable.
    pub affd: bool,
    /// Write implies execute-never.
    pub wxn: bool,
    /// Unprivileged write implies privileged execute-never.
    pub uwxn: bool,
    /// Top byte ignore for TTB0/TTB1.
    #[bits(2)]
    pub tbi: u8,
    /// Privileged access never.
    pub pan: bool,
    /// 1: AArch64 tables (required here).
    pub aa64: bool,
    /// Dirty flag update.
    pub hd: bool,
    /// Access flag update.
    pub ha: bool,
    /// Stall faults.
    pub s: bool,
    /// Record faults.
    pub r: bool,
    /// Abort (not RAZ/WI) terminated transactions.
    pub a: bool,
    /// ASID set (shared with PE).
    pub aset: bool,
    /// Address space id.
    #[bits(16)]
    pub asid: u16,
}

/// CD doublewords 1 and 2: translation table bases (IHI 0070 §5.4, TTB0/TTB1).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct CdTtb {
    /// Non-secure walks.
    pub nscfg: bool,
    /// Hierarchical attribute disable.
    pub had: bool,
    #[bits(2)]
    _reserved2: u8,
    /// Table base address bits [51:4].
    #[bits(48)]
    pub ttb: u64,
    #[bits(8)]
    _reserved52: u8,
    /// Hardware use bits.
    #[bits(4)]
    pub hwu: u8,
}

/// One context descriptor as eight doublewords (IHI 0070 §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cd(pub [u64; 8]);

impl Cd {
    /// Doubleword 0.
    pub fn w0(&self) -> Cd0 {
        Cd0::from_bits(self.0[0])
    }
    /// TTB0 doubleword.
    pub fn ttb0(&self) -> CdTtb {
        CdTtb::from_bits(self.0[1])
    }
    /// TTB1 doubleword.
    pub fn ttb1(&self) -> CdTtb {
        CdTtb::from_bits(self.0[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_positions() {
        assert_eq!(Cd0::new().with_v(true).into_bits(), 1 << 31);
        assert_eq!(Cd0::new().with_aa64(true).into_bits(), 1 << 41);
        assert_eq!(Cd0::new().with_r(true).into_bits(), 1 << 45);
        assert_eq!(Cd0::new().with_asid(0xffff).into_bits(), 0xffff << 48);
        assert_eq!(Cd0::new().with_epd1(true).into_bits(), 1 << 30);
        assert_eq!(Cd0::new().with_ips(5).into_bits(), 5 << 32);
        assert_eq!(CdTtb::new().with_ttb(0x1234).into_bits(), 0x1234 << 4);
    }
}
