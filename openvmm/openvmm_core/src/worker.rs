//! Builds and runs the VM until the guest powers off or resets.

use crate::config::SerialConfig;
use crate::config::VmConfig;
use crate::devices;
use crate::iommu;
use crate::pcie;
use crate::platform;
use anyhow::Context;
use guestmem::GuestMemory;
use iommu_common::MsiSink;
use iommu_common::PassthroughMsi;
use std::io::Write;
use std::sync::Arc;
use vmm_core::bus::Bus;
use vmm_core::chipset::cmos;
use vmm_core::chipset::ioapic;
use vmm_core::chipset::ioapic::Ioapic;
use vmm_core::chipset::ioapic::IoapicLine;
use vmm_core::chipset::power;
use vmm_core::chipset::serial;
use vmm_core::control::ExitReason;
use vmm_core::control::VmControl;
use vmm_core::irq::GsiRoutes;
use vmm_core::kvm;
use vmm_core::kvm::exit_stats::ExitStats;
use vmm_core::kvm::vcpu::ExitTargets;
use vmm_core::layout;
use vmm_core::loader;
use vmm_core::msi_routes::IrqfdRegistrar;
use vmm_core::msi_routes::MsiRouteRegistry;

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

/// Runs the VM described by `config` until it ends.
pub fn run(config: &VmConfig) -> anyhow::Result<ExitReason> {
    let ranges: Vec<_> = layout::ram_ranges(config.memory)
        .iter()
        .map(|r| (r.start, r.len))
        .collect();
    let memory = GuestMemory::new(&ranges).context("allocating guest memory")?;
    let partition = kvm::KvmVm::new(&memory)?;
    let max_vcpus = partition.kvm.get_max_vcpus() as u32;
    anyhow::ensure!(
        config.processors <= max_vcpus,
        "--processors {} exceeds what KVM supports here ({max_vcpus})",
        config.processors
    );

    let topology = config.topology.place(config.memory)?;
    let control = Arc::new(VmControl::new());
    let routes = Arc::new(GsiRoutes::new(Box::new(partition.gsi_backend())));
    let event_fds = Arc::new(kvm::KvmEventFds(partition.vm.clone()));
    let irqfd: Arc<dyn IrqfdRegistrar> = event_fds.clone();
    let msi_sink: Arc<dyn MsiSink> = Arc::new(kvm::KvmMsiSink::new(partition.vm.clone()));
    let passthrough =
        MsiRouteRegistry::new(routes.clone(), irqfd.clone(), Arc::new(PassthroughMsi));

    let pio = Arc::new(Bus::new());
    let mmio = Arc::new(Bus::new());
    let root_complexes = pcie::build_root_complexes(&topology, &mmio)?;
    let domains = iommu::build_domains(
        &topology,
        &root_complexes,
        &memory,
        &mmio,
        &routes,
        &irqfd,
        &msi_sink,
        &passthrough,
    )?;
    let doorbells: Arc<dyn pci_core::DoorbellRegistrar> = event_fds.clone();
    let mut inspected = iommu::inspectables(&topology, &domains);
    inspected.extend(devices::attach_devices(
        &topology,
        &root_complexes,
        &domains,
        &memory,
        &doorbells,
        config.processors,
    )?);
    // The IOAPIC's interrupts go through the domain holding its source id.
    let ioapic_registry = topology
        .root_complexes
        .iter()
        .zip(&domains)
        .find(|(rc, _)| platform::covers_ioapic(rc))
        .map_or(passthrough.clone(), |(_, d)| d.registry.clone());
    let ioapic =
        Ioapic::new(ioapic_registry.ioapic_routing(platform::IOAPIC_REQUESTER, ioapic::NUM_PINS));
    let inspected_ioapic = ioapic.clone();

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
        Arc::new(pci_core::conf1::Conf1::new(&root_complexes)),
    )?;

    let tables = platform::tables_for(config, &topology);
    anyhow::ensure!(
        layout::ACPI_START + tables.span() <= layout::BIOS_RESET_ENTRY,
        "ACPI tables do not fit below 1 MiB ({} bytes)",
        tables.span()
    );
    for (addr, bytes) in &tables.blobs {
        memory
            .write_at(*addr, bytes)
            .context("writing ACPI tables")?;
    }

    memory
        .write_at(layout::BIOS_RESET_ENTRY, &power::reset_entry_stub())
        .context("writing the reset entry stub")?;

    let entry = loader::load(
        &memory,
        &loader::BootConfig {
            kernel: &config.kernel,
            initrd: config.initrd.as_deref(),
            cmdline: &config.cmdline,
            memory_size: config.memory,
            rsdp: tables.rsdp_address,
            reserved: &topology.ecam_ranges(),
        },
    )?;

    let supported = partition.supported_cpuid()?;
    let stats = Arc::new(ExitStats::default());
    let targets = ExitTargets {
        pio,
        mmio,
        ioapic,
        control: control.clone(),
        memory: memory.clone(),
        stats: stats.clone(),
    };
    let apic_ids = config.apic_ids();
    for (index, &apic_id) in apic_ids.iter().enumerate() {
        let vcpu = partition
            .vm
            .create_vcpu(apic_id.into())
            .with_context(|| format!("creating vcpu {index}"))?;
        let mut cpuid = supported.clone();
        kvm::cpuid::customize(
            &mut cpuid,
            apic_id,
            config.processors,
            partition.tsc_deadline,
        );
        vcpu.set_cpuid2(&cpuid).context("KVM_SET_CPUID2")?;
        kvm::regs::setup_msrs(&vcpu)?;
        if index == 0 {
            kvm::regs::setup_boot_vcpu(&vcpu, &memory, entry)?;
        }
        kvm::vcpu::spawn(index as u32, vcpu, targets.clone()).context("spawning vcpu")?;
    }

    let reason = control.wait();
    // One line a harness can parse: how often the guest left the kernel.
    if std::env::var_os("OPENVMM_EXIT_STATS").is_some() {
        eprintln!("openvmm: {}", stats.summary());
    }
    // The state of every device, as JSON, for post-mortems and tests.
    if std::env::var_os("OPENVMM_INSPECT_ON_EXIT").is_some() {
        let mut root = inspect::Node::new();
        root.field("ioapic", &*inspected_ioapic);
        for (name, item) in &inspected {
            root.field(name.clone(), &**item);
        }
        eprintln!("openvmm: inspect {}", inspect::inspect_to_json(&root));
    }
    std::io::stdout().flush().ok();
    Ok(reason)
}
