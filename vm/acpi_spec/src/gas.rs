//! Generic Address Structure (ACPI 6.5, section 5.2.3.2).

use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::Unaligned;

/// Address space id: system memory.
pub const SPACE_SYSTEM_MEMORY: u8 = 0;
/// Address space id: system I/O.
pub const SPACE_SYSTEM_IO: u8 = 1;
/// Access size: byte.
pub const ACCESS_BYTE: u8 = 1;

/// A register location (12 bytes).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct Gas {
    /// Address space id.
    pub space_id: u8,
    /// Register width in bits.
    pub bit_width: u8,
    /// Register offset in bits.
    pub bit_offset: u8,
    /// Access size (1 byte, 2 word, 3 dword, 4 qword).
    pub access_size: u8,
    /// Address in the space.
    pub address: u64,
}

impl Gas {
    /// An 8-bit I/O port register.
    pub fn io_byte(port: u16) -> Self {
        Self {
            space_id: SPACE_SYSTEM_IO,
            bit_width: 8,
            bit_offset: 0,
            access_size: ACCESS_BYTE,
            address: port.into(),
        }
    }
}
