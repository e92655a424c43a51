//! Event records (IHI 0070 §7.3). Each record is 32 bytes.

use bitfield_struct::bitfield;

/// Size of one event record in bytes (IHI 0070 §7.3).
pub const EVENT_SIZE: u64 = 32;

/// Event numbers (IHI 0070 §7.3.2 onwards).
pub mod id {
    /// Unsupported upstream transaction (IHI 0070 §7.3.2).
    pub const F_UUT: u8 = 0x01;
    /// StreamID out of range (IHI 0070 §7.3.3).
    pub const C_BAD_STREAMID: u8 = 0x02;
    /// STE fetch aborted (IHI 0070 §7.3.4).
    pub const F_STE_FETCH: u8 = 0x03;
    /// Invalid STE (IHI 0070 §7.3.5).
    pub const C_BAD_STE: u8 = 0x04;
    /// Bad ATS translation request (IHI 0070 §7.3.6).
    pub const F_BAD_ATS_TREQ: u8 = 0x05;
    /// Non-substream traffic disabled by STE.S1DSS (IHI 0070 §7.3.7).
    pub const F_STREAM_DISABLED: u8 = 0x06;
    /// Translation forbidden (IHI 0070 §7.3.8).
    pub const F_TRANSL_FORBIDDEN: u8 = 0x07;
    /// SubstreamID out of range (IHI 0070 §7.3.9).
    pub const C_BAD_SUBSTREAMID: u8 = 0x08;
    /// CD fetch aborted (IHI 0070 §7.3.10).
    pub const F_CD_FETCH: u8 = 0x09;
    /// Invalid CD (IHI 0070 §7.3.11).
    pub const C_BAD_CD: u8 = 0x0a;
    /// Translation table walk aborted (IHI 0070 §7.3.12).
    pub const F_WALK_EABT: u8 = 0x0b;
    /// Translation fault (IHI 0070 §7.3.13).
    pub const F_TRANSLATION: u8 = 0x10;
    /// Address size fault (IHI 0070 §7.3.14).
    pub const F_ADDR_SIZE: u8 = 0x11;
    /// Access flag fault (IHI 0070 §7.3.15).
    pub const F_ACCESS: u8 = 0x12;
    /// Permission fault (IHI 0070 §7.3.16).
    pub const F_PERMISSION: u8 = 0x13;
    /// TLB conflict (IHI 0070 §7.3.17).
    pub const F_TLB_CONFLICT: u8 = 0x20;
    /// Configuration cache conflict (IHI 0070 §7.3.18).
    pub const F_CFG_CONFLICT: u8 = 0x21;
    /// Page request (IHI 0070 §7.3.19).
    pub const E_PAGE_REQUEST: u8 = 0x24;
}

/// Fault class: what the SMMU was doing when a translation-related fault struck
/// (IHI 0070 §7.3, CLASS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FaultClass {
    /// Fetching a CD (through stage 2).
    Cd = 0b00,
    /// Fetching a stage 1 translation table descriptor (through stage 2).
    Ttd = 0b01,
    /// Translating the input address.
    In = 0b10,
}

/// Event doubleword 0, common to all records (IHI 0070 §7.3).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct Event0 {
    /// Event number: see [`id`].
    pub event_type: u8,
    #[bits(3)]
    _reserved8: u8,
    /// SubstreamID valid.
    pub ssv: bool,
    /// SubstreamID.
    #[bits(20)]
    pub ssid: u32,
    /// StreamID.
    pub sid: u32,
}

/// Event doubleword 1 of translation fault records (IHI 0070 §7.3.13-§7.3.16).
#[bitfield(u64)]
#[derive(PartialEq, Eq)]
pub struct EventFault1 {
    /// Stall tag.
    pub stag: u16,
    #[bits(15)]
    _reserved16: u16,
    /// The transaction is stalled.
    pub stall: bool,
    #[bits(1)]
    _reserved32: u8,
    /// Privileged.
    pub pnu: bool,
    /// Instruction.
    pub ind: bool,
    /// Read (1) or write (0).
    pub rnw: bool,
    #[bits(2)]
    _reserved36: u8,
    /// Non-secure IPA.
    pub nsipa: bool,
    /// Stage 2 fault.
    pub s2: bool,
    /// Fault class ([`FaultClass`]).
    #[bits(2)]
    pub class: u8,
    #[bits(2)]
    _reserved42: u8,
    /// F_PERMISSION with CLASS = TT: the stage 1 descriptor access that faulted at
    /// stage 2 was a read (1) or a write (0) (IHI 0070 §7.3.16, TTRnW).
    pub ttrnw: bool,
    #[bits(19)]
    _reserved45: u32,
}

/// One event record as four doublewords (IHI 0070 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventRecord(pub [u64; 4]);

impl EventRecord {
    /// Doubleword 0.
    pub fn w0(&self) -> Event0 {
        Event0::from_bits(self.0[0])
    }
    /// The event number.
    pub fn event_type(&self) -> u8 {
        self.w0().event_type()
    }
    /// Doubleword 1 as a fault record.
    pub fn fault(&self) -> EventFault1 {
        EventFault1::from_bits(self.0[1])
    }
    /// InputAddr (doubleword 2) of fault records.
    pub fn input_addr(&self) -> u64 {
        self.0[2]
    }
    /// IPA (bits [51:12]) of stage 2 fault records, or FetchAddr (bits [51:3]) of
    /// fetch-abort records (doubleword 3).
    pub fn addr3(&self) -> u64 {
        self.0[3]
    }
}

/// Mask of the IPA field in doubleword 3 of fault records (IHI 0070 §7.3.13).
pub const IPA_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Mask of the FetchAddr field in doubleword 3 of fetch-abort records (IHI 0070 §7.3.4).
pub const FETCH_ADDR_MASK: u64 = 0x00ff_ffff_ffff_fff8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_positions() {
        assert_eq!(Event0::new().with_ssv(true).into_bits(), 1 << 11);
        assert_eq!(Event0::new().with_sid(1).into_bits(), 1 << 32);
        assert_eq!(EventFault1::new().with_rnw(true).into_bits(), 1 << 35);
        assert_eq!(EventFault1::new().with_s2(true).into_bits(), 1 << 39);
        assert_eq!(EventFault1::new().with_class(2).into_bits(), 2 << 40);
        assert_eq!(EventFault1::new().with_ttrnw(true).into_bits(), 1 << 44);
    }
}
