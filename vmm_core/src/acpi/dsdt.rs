//! DSDT: the legacy serial ports and the S5 sleep object.

use super::AcpiPlatform;
use acpi_spec::SdtHeader;
use acpi_spec::Table;
use acpi_tables::aml;
use acpi_tables::Aml;

pub(super) fn build(p: &AcpiPlatform) -> Vec<u8> {
    let mut body = Vec::new();

    let uart_names: Vec<String> = (1..=p.serial_ports.len())
        .map(|i| format!("COM{i}"))
        .collect();
    let hid = aml::EISAName::new("PNP0501");
    let resources: Vec<_> = p
        .serial_ports
        .iter()
        .map(|s| {
            (
                aml::IO::new(s.io_base, s.io_base, 1, 8),
                aml::Interrupt::new(true, true, false, false, s.irq.into()),
            )
        })
        .collect();
    let crs: Vec<_> = resources
        .iter()
        .map(|(io, irq)| aml::ResourceTemplate::new(vec![io, irq]))
        .collect();
    let uids: Vec<u8> = (1..=p.serial_ports.len() as u8).collect();
    let hid_names: Vec<_> = (0..p.serial_ports.len())
        .map(|_| aml::Name::new("_HID".into(), &hid))
        .collect();
    let uid_names: Vec<_> = uids
        .iter()
        .map(|u| aml::Name::new("_UID".into(), u))
        .collect();
    let crs_names: Vec<_> = crs
        .iter()
        .map(|c| aml::Name::new("_CRS".into(), c))
        .collect();
    let devices: Vec<_> = (0..p.serial_ports.len())
        .map(|i| {
            aml::Device::new(
                uart_names[i].as_str().into(),
                vec![&hid_names[i], &uid_names[i], &crs_names[i]],
            )
        })
        .collect();
    // The CMOS RTC, so Linux's rtc_cmos binds through PNP with its IRQ 8 as a GSI
    // (hardware-reduced ACPI has no legacy IRQ numbers to fall back on).
    let rtc_hid = aml::EISAName::new("PNP0B00");
    let rtc_io = aml::IO::new(p.rtc_io_base, p.rtc_io_base, 1, 2);
    let rtc_irq = aml::Interrupt::new(true, true, false, false, p.rtc_irq.into());
    let rtc_crs = aml::ResourceTemplate::new(vec![&rtc_io, &rtc_irq]);
    let rtc_hid_name = aml::Name::new("_HID".into(), &rtc_hid);
    let rtc_crs_name = aml::Name::new("_CRS".into(), &rtc_crs);
    let rtc = aml::Device::new("RTC_".into(), vec![&rtc_hid_name, &rtc_crs_name]);
    let mut children: Vec<&dyn Aml> = devices.iter().map(|d| d as &dyn Aml).collect();
    children.push(&rtc);
    let mut bridges = Vec::new();
    for (i, root) in p.pci_roots.iter().enumerate() {
        super::pci::host_bridge(i, root, &mut bridges);
    }
    super::pci::ecam_reservations(&p.pci_roots, &mut bridges);
    let bridges = RawAml(&bridges);
    children.push(&bridges);
    aml::Scope::new("\\_SB_".into(), children).to_aml_bytes(&mut body);

    let zero = 0u8;
    let s5 = aml::Package::new(vec![&p.s5_slp_typ, &zero, &zero, &zero]);
    aml::Name::new("_S5_".into(), &s5).to_aml_bytes(&mut body);

    let mut t = Table::new(SdtHeader::new(b"DSDT", 2));
    t.extend(&body);
    t.finish()
}

/// Already-encoded AML to splice into a scope.
struct RawAml<'a>(&'a [u8]);

impl Aml for RawAml<'_> {
    fn to_aml_bytes(&self, sink: &mut dyn acpi_tables::AmlSink) {
        sink.vec(self.0);
    }
}
