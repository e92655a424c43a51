//! The legacy chipset on the buses: the IOAPIC, COM1/COM2, the CMOS RTC, power and
//! reset control, and PCI configuration mechanism #1.

use crate::config::SerialConfig;
use crate::config::VmConfig;
use anyhow::Context;
use pci_core::RootComplex;
use std::sync::Arc;
use vmm_core::bus::Bus;
use vmm_core::chipset::cmos;
use vmm_core::chipset::ioapic::Ioapic;
use vmm_core::chipset::ioapic::IoapicLine;
use vmm_core::chipset::power;
use vmm_core::chipset::serial;
use vmm_core::control::ExitReason;
use vmm_core::control::VmControl;
use vmm_core::layout;

fn serial_output(config: &SerialConfig) -> anyhow::Result<serial::SerialOutput> {
    Ok(match config {
        SerialConfig::Stdio => Box::new(std::io::stdout()),
        SerialConfig::File(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening serial output {}", path.display()))?,
        ),
        SerialConfig::None => Box::new(std::io::sink()),
    })
}

/// Puts the chipset devices on `pio` and `mmio`; power requests end `control`.
pub fn attach(
    config: &VmConfig,
    ioapic: &Arc<Ioapic>,
    root_complexes: &[Arc<RootComplex>],
    pio: &Bus,
    mmio: &Bus,
    control: &Arc<VmControl>,
) -> anyhow::Result<()> {
    mmio.insert(
        "ioapic",
        layout::IOAPIC_BASE,
        layout::IOAPIC_SIZE,
        ioapic.clone(),
    )?;
    for (name, base, irq, cfg) in [
        ("com1", serial::COM1_BASE, serial::COM1_IRQ, &config.com1),
        ("com2", serial::COM2_BASE, serial::COM2_IRQ, &config.com2),
    ] {
        let port = serial::SerialPort::new(
            IoapicLine::new(ioapic.clone(), irq.into()),
            serial_output(cfg)?,
        );
        if *cfg == SerialConfig::Stdio {
            port.spawn_input_thread(std::io::stdin());
        }
        pio.insert(name, base.into(), serial::COM_SIZE, port)?;
    }
    pio.insert(
        "cmos",
        cmos::CMOS_BASE.into(),
        cmos::CMOS_SIZE,
        Arc::new(cmos::Cmos::new()),
    )?;
    let handler: power::PowerHandler = {
        let control = control.clone();
        Arc::new(move |request| {
            control.request(match request {
                power::PowerRequest::PowerOff => ExitReason::PowerOff,
                power::PowerRequest::Reset => ExitReason::Reset,
            })
        })
    };
    pio.insert(
        "power",
        power::SLEEP_PORT.into(),
        2,
        Arc::new(power::PowerRegisters::new(handler.clone())),
    )?;
    pio.insert(
        "i8042",
        power::I8042_COMMAND_PORT.into(),
        1,
        Arc::new(power::I8042Reset::new(handler)),
    )?;
    pio.insert(
        "pci-conf1",
        pci_core::conf1::CONF1_ADDRESS_PORT.into(),
        pci_core::conf1::CONF1_PORTS,
        Arc::new(pci_core::conf1::Conf1::new(root_complexes)),
    )?;
    Ok(())
}
