//! Multiple APIC Description Table (ACPI 6.5, section 5.2.12), signature "APIC".

use zerocopy::FromBytes;
use zerocopy::Immutable;
use zerocopy::IntoBytes;
use zerocopy::KnownLayout;
use zerocopy::Unaligned;

/// MADT revision (ACPI 6.5).
pub const MADT_REVISION: u8 = 6;
/// MADT flags: a dual 8259 is present (table 5.20, bit 0).
pub const MADT_PCAT_COMPAT: u32 = 1;
/// Local APIC flags: enabled (table 5.23, bit 0).
pub const LAPIC_ENABLED: u32 = 1;
/// MPS INTI flags: active high (table 5.26).
pub const INTI_POLARITY_HIGH: u16 = 1;
/// MPS INTI flags: active low.
pub const INTI_POLARITY_LOW: u16 = 3;
/// MPS INTI flags: edge-triggered.
pub const INTI_TRIGGER_EDGE: u16 = 1 << 2;
/// MPS INTI flags: level-triggered.
pub const INTI_TRIGGER_LEVEL: u16 = 3 << 2;

/// The fixed part after the header.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct MadtBody {
    /// Local APIC address.
    pub local_apic_address: u32,
    /// Flags ([`MADT_PCAT_COMPAT`]).
    pub flags: u32,
}

/// Processor Local APIC (type 0, section 5.2.12.2).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct MadtLocalApic {
    /// 0.
    pub typ: u8,
    /// 8.
    pub length: u8,
    /// ACPI processor UID.
    pub processor_uid: u8,
    /// APIC id.
    pub apic_id: u8,
    /// Flags ([`LAPIC_ENABLED`]).
    pub flags: u32,
}

impl MadtLocalApic {
    /// An enabled processor.
    pub fn new(uid: u8, apic_id: u8) -> Self {
        Self {
            typ: 0,
            length: size_of::<Self>() as u8,
            processor_uid: uid,
            apic_id,
            flags: LAPIC_ENABLED,
        }
    }
}

/// I/O APIC (type 1, section 5.2.12.3).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct MadtIoApic {
    /// 1.
    pub typ: u8,
    /// 12.
    pub length: u8,
    /// IOAPIC id.
    pub ioapic_id: u8,
    /// Reserved.
    pub reserved: u8,
    /// Register base address.
    pub address: u32,
    /// First GSI.
    pub gsi_base: u32,
}

impl MadtIoApic {
    /// An IOAPIC.
    pub fn new(id: u8, address: u32, gsi_base: u32) -> Self {
        Self {
            typ: 1,
            length: size_of::<Self>() as u8,
            ioapic_id: id,
            reserved: 0,
            address,
            gsi_base,
        }
    }
}

/// Interrupt Source Override (type 2, section 5.2.12.5).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct MadtInterruptSourceOverride {
    /// 2.
    pub typ: u8,
    /// 10.
    pub length: u8,
    /// 0 (ISA).
    pub bus: u8,
    /// ISA IRQ.
    pub source: u8,
    /// GSI it is wired to.
    pub gsi: u32,
    /// MPS INTI flags.
    pub flags: u16,
}

impl MadtInterruptSourceOverride {
    /// ISA `irq` is wired to `gsi` with `flags`.
    pub fn new(irq: u8, gsi: u32, flags: u16) -> Self {
        Self {
            typ: 2,
            length: size_of::<Self>() as u8,
            bus: 0,
            source: irq,
            gsi,
            flags,
        }
    }
}

/// Local APIC NMI (type 4, section 5.2.12.7).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct MadtLocalApicNmi {
    /// 4.
    pub typ: u8,
    /// 6.
    pub length: u8,
    /// Processor UID (0xff: all).
    pub processor_uid: u8,
    /// MPS INTI flags.
    pub flags: u16,
    /// LINTn input.
    pub lint: u8,
}

impl MadtLocalApicNmi {
    /// NMI on `lint` of every processor.
    pub fn all(lint: u8) -> Self {
        Self {
            typ: 4,
            length: size_of::<Self>() as u8,
            processor_uid: 0xff,
            flags: 0,
            lint,
        }
    }
}

/// Processor Local x2APIC (type 9, section 5.2.12.12).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct MadtLocalX2Apic {
    /// 9.
    pub typ: u8,
    /// 16.
    pub length: u8,
    /// Reserved.
    pub reserved: u16,
    /// x2APIC id.
    pub x2apic_id: u32,
    /// Flags ([`LAPIC_ENABLED`]).
    pub flags: u32,
    /// ACPI processor UID.
    pub processor_uid: u32,
}

impl MadtLocalX2Apic {
    /// An enabled processor.
    pub fn new(uid: u32, x2apic_id: u32) -> Self {
        Self {
            typ: 9,
            length: size_of::<Self>() as u8,
            reserved: 0,
            x2apic_id,
            flags: LAPIC_ENABLED,
            processor_uid: uid,
        }
    }
}

/// Local x2APIC NMI (type 0xA, section 5.2.12.13).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Unaligned)]
pub struct MadtLocalX2ApicNmi {
    /// 0xA.
    pub typ: u8,
    /// 12.
    pub length: u8,
    /// MPS INTI flags.
    pub flags: u16,
    /// Processor UID (0xffffffff: all).
    pub processor_uid: u32,
    /// LINTn input.
    pub lint: u8,
    /// Reserved.
    pub reserved: [u8; 3],
}

impl MadtLocalX2ApicNmi {
    /// NMI on `lint` of every processor.
    pub fn all(lint: u8) -> Self {
        Self {
            typ: 0xa,
            length: size_of::<Self>() as u8,
            flags: 0,
            processor_uid: u32::MAX,
            lint,
            reserved: [0; 3],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_lengths_match_spec() {
        assert_eq!(size_of::<MadtLocalApic>(), 8);
        assert_eq!(size_of::<MadtIoApic>(), 12);
        assert_eq!(size_of::<MadtInterruptSourceOverride>(), 10);
        assert_eq!(size_of::<MadtLocalApicNmi>(), 6);
        assert_eq!(size_of::<MadtLocalX2Apic>(), 16);
        assert_eq!(size_of::<MadtLocalX2ApicNmi>(), 12);
    }
}
