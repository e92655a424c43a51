//! MADT: processors (xAPIC entries below id 255, x2APIC entries from 255 on, as
//! Linux and other firmware expect), the IOAPIC, ISA overrides and NMI wiring.

use super::AcpiPlatform;
use acpi_spec::madt::*;
use acpi_spec::SdtHeader;
use acpi_spec::Table;

pub(super) fn build(p: &AcpiPlatform) -> Vec<u8> {
    let mut t = Table::new(SdtHeader::new(b"APIC", MADT_REVISION));
    // No 8259: PCAT_COMPAT clear.
    t.push(&MadtBody {
        local_apic_address: crate::layout::LAPIC_BASE as u32,
        flags: 0,
    });
    for (uid, &id) in p.apic_ids.iter().enumerate() {
        if id < 255 && uid < 255 {
            t.push(&MadtLocalApic::new(uid as u8, id as u8));
        } else {
            t.push(&MadtLocalX2Apic::new(uid as u32, id));
        }
    }
    t.push(&MadtIoApic::new(p.ioapic_id, p.ioapic_address, 0));
    // ISA IRQ 0 is wired to pin 2 on every PC; the rest are identity, edge, high.
    t.push(&MadtInterruptSourceOverride::new(
        0,
        2,
        INTI_POLARITY_HIGH | INTI_TRIGGER_EDGE,
    ));
    t.push(&MadtLocalApicNmi::all(1));
    if p.apic_ids.iter().any(|&id| id >= 255) || p.apic_ids.len() > 255 {
        t.push(&MadtLocalX2ApicNmi::all(1));
    }
    t.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x2apic_entries_above_254() {
        let t = build(&super::super::tests::platform(300));
        let mut off = 44;
        let (mut xapic, mut x2apic) = (0, 0);
        while off < t.len() {
            match t[off] {
                0 => xapic += 1,
                9 => x2apic += 1,
                _ => {}
            }
            off += t[off + 1] as usize;
        }
        assert_eq!(off, t.len());
        assert_eq!((xapic, x2apic), (255, 45));
    }
}
