//! DSDT host bridges: one PNP0A08 device per root complex with its segment, base bus
//! and the bus range and MMIO windows it decodes, and an `_OSC` granting the OS native
//! control of PCI Express features.

use super::PciRootDescription;
use acpi_tables::aml;
use acpi_tables::Aml;

/// Appends the host bridge device of root complex number `index` to `sink`.
pub(super) fn host_bridge(index: usize, root: &PciRootDescription, sink: &mut Vec<u8>) {
    let name = format!("PC{index:02X}");
    let hid = aml::EISAName::new("PNP0A08");
    let cid = aml::EISAName::new("PNP0A03");
    let seg = root.segment as u64;
    let bbn = root.start_bus as u64;
    let uid = index as u64;
    let buses =
        aml::AddressSpace::<u16>::new_bus_number(root.start_bus.into(), root.end_bus.into());
    let low = aml::AddressSpace::<u32>::new_memory(
        aml::AddressSpaceCacheable::NotCacheable,
        true,
        root.low_mmio.0 as u32,
        (root.low_mmio.0 + root.low_mmio.1 - 1) as u32,
        None,
    );
    let high = aml::AddressSpace::<u64>::new_memory(
        aml::AddressSpaceCacheable::NotCacheable,
        true,
        root.high_mmio.0,
        root.high_mmio.0 + root.high_mmio.1 - 1,
        None,
    );
    let crs = aml::ResourceTemplate::new(vec![&buses, &low, &high]);
    let hid_n = aml::Name::new("_HID".into(), &hid);
    let cid_n = aml::Name::new("_CID".into(), &cid);
    let seg_n = aml::Name::new("_SEG".into(), &seg);
    let bbn_n = aml::Name::new("_BBN".into(), &bbn);
    let uid_n = aml::Name::new("_UID".into(), &uid);
    let crs_n = aml::Name::new("_CRS".into(), &crs);
    // _OSC: return the capabilities buffer unchanged, granting every control the OS
    // asks for (native hot-plug, AER, PME, PCIe capability, LTR, DPC).
    let arg3 = aml::Arg(3);
    let ret = aml::Return::new(&arg3);
    let osc = aml::Method::new("_OSC".into(), 4, false, vec![&ret]);
    aml::Device::new(
        name.as_str().into(),
        vec![&hid_n, &cid_n, &seg_n, &bbn_n, &uid_n, &crs_n, &osc],
    )
    .to_aml_bytes(sink);
}

/// Appends a motherboard-resources device (PNP0C02) reserving every ECAM window: Linux
/// uses MMCONFIG only where ACPI reserves it.
pub(super) fn ecam_reservations(roots: &[PciRootDescription], sink: &mut Vec<u8>) {
    if roots.is_empty() {
        return;
    }
    let hid = aml::EISAName::new("PNP0C02");
    let uid = 0x4543_414du64; // "MCAE"
    let ranges: Vec<_> = roots
        .iter()
        .map(|r| aml::Memory32Fixed::new(false, r.ecam_base as u32, r.ecam_size() as u32))
        .collect();
    let crs = aml::ResourceTemplate::new(ranges.iter().map(|r| r as &dyn Aml).collect());
    let hid_n = aml::Name::new("_HID".into(), &hid);
    let uid_n = aml::Name::new("_UID".into(), &uid);
    let crs_n = aml::Name::new("_CRS".into(), &crs);
    aml::Device::new("MRES".into(), vec![&hid_n, &uid_n, &crs_n]).to_aml_bytes(sink);
}
