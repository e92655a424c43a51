//! Event log entries (#48882 §2.5, "Event Logging"): 128 bits; DeviceID in bits 15:0,
//! event code in bits 63:60, flags in bits 59:48, address in bits 127:64.

/// Bytes per event log entry.
pub const EVENT_SIZE: u64 = 16;

/// Event codes (#48882 §2.5, Table "Event Codes").
pub mod code {
    /// ILLEGAL_DEV_TABLE_ENTRY (#48882 §2.5.2).
    pub const ILLEGAL_DEV_TABLE_ENTRY: u8 = 0x1;
    /// IO_PAGE_FAULT (#48882 §2.5.3).
    pub const IO_PAGE_FAULT: u8 = 0x2;
    /// DEV_TAB_HARDWARE_ERROR (#48882 §2.5.4).
    pub const DEV_TAB_HARDWARE_ERROR: u8 = 0x3;
    /// PAGE_TAB_HARDWARE_ERROR (#48882 §2.5.5).
    pub const PAGE_TAB_HARDWARE_ERROR: u8 = 0x4;
    /// ILLEGAL_COMMAND_ERROR (#48882 §2.5.6).
    pub const ILLEGAL_COMMAND_ERROR: u8 = 0x5;
    /// COMMAND_HARDWARE_ERROR (#48882 §2.5.7).
    pub const COMMAND_HARDWARE_ERROR: u8 = 0x6;
    /// INVALID_DEVICE_REQUEST (#48882 §2.5.9).
    pub const INVALID_DEVICE_REQUEST: u8 = 0x8;
}

/// Event flag bits, as the 12-bit field at event bits 59:48 (#48882 §2.5.3).
pub mod flags {
    /// GN: the address is a guest (PASID) address.
    pub const GN: u16 = 1 << 0;
    /// NX: execute access.
    pub const NX: u16 = 1 << 1;
    /// US: user access.
    pub const US: u16 = 1 << 2;
    /// I: the request was an interrupt.
    pub const I: u16 = 1 << 3;
    /// PR: the entry that stopped the walk was present.
    pub const PR: u16 = 1 << 4;
    /// RW: the access was a write.
    pub const RW: u16 = 1 << 5;
    /// PE: permission denied.
    pub const PE: u16 = 1 << 6;
    /// RZ: a reserved bit was set or a field held an illegal value.
    pub const RZ: u16 = 1 << 7;
    /// TR: the request was an ATS translation request.
    pub const TR: u16 = 1 << 8;
}

/// One event, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Event code (see [`code`]).
    pub code: u8,
    /// DeviceID.
    pub device_id: u16,
    /// DomainID (IO_PAGE_FAULT) or PASID bits 15:0, event bits 47:32.
    pub domain_or_pasid: u16,
    /// Flags (see [`flags`]), event bits 59:48.
    pub flags: u16,
    /// Address, event bits 127:64.
    pub address: u64,
}

impl Event {
    /// The 16-byte little-endian image written to the log.
    pub fn to_bytes(&self) -> [u8; 16] {
        let q0 = u64::from(self.device_id)
            | (u64::from(self.domain_or_pasid) << 32)
            | (u64::from(self.flags & 0xfff) << 48)
            | (u64::from(self.code & 0xf) << 60);
        let mut out = [0; 16];
        out[..8].copy_from_slice(&q0.to_le_bytes());
        out[8..].copy_from_slice(&self.address.to_le_bytes());
        out
    }

    /// Decodes a 16-byte log entry.
    pub fn from_bytes(b: &[u8; 16]) -> Self {
        let mut q = [0u8; 8];
        q.copy_from_slice(&b[..8]);
        let q0 = u64::from_le_bytes(q);
        q.copy_from_slice(&b[8..]);
        Self {
            code: (q0 >> 60) as u8,
            device_id: q0 as u16,
            domain_or_pasid: (q0 >> 32) as u16,
            flags: ((q0 >> 48) & 0xfff) as u16,
            address: u64::from_le_bytes(q),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_linux_layout() {
        let ev = Event {
            code: code::IO_PAGE_FAULT,
            device_id: 0x0108,
            domain_or_pasid: 0x0005,
            flags: flags::RW | flags::PR,
            address: 0xdead_b000,
        };
        let b = ev.to_bytes();
        assert_eq!(Event::from_bytes(&b), ev);
        // Linux reads u32 words: type at word1 bits 31:28, flags at word1 27:16.
        let w1 = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        assert_eq!(w1 >> 28, 2);
        assert_eq!((w1 >> 16) & 0xfff, 0x30);
        assert_eq!(w1 & 0xffff, 5);
    }
}
