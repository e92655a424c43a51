//! Builds and runs the VM until the guest powers off or resets.

use crate::chipset;
use crate::config::VmConfig;
use crate::devices;
use crate::firmware;
use crate::iommu;
use crate::pcie;
use crate::platform;
use crate::vcpus;
use anyhow::Context;
use guestmem::GuestMemory;
use iommu_common::MsiSink;
use iommu_common::PassthroughMsi;
use std::io::Write;
use std::sync::Arc;
use vmm_core::bus::Bus;
use vmm_core::chipset::ioapic;
use vmm_core::chipset::ioapic::Ioapic;
use vmm_core::control::ExitReason;
use vmm_core::control::VmControl;
use vmm_core::irq::GsiRoutes;
use vmm_core::kvm;
use vmm_core::kvm::exit_stats::ExitStats;
use vmm_core::kvm::vcpu::ExitTargets;
use vmm_core::layout;
use vmm_core::msi_routes::IrqfdRegistrar;
use vmm_core::msi_routes::MsiRouteRegistry;

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
    chipset::attach(config, &ioapic, &root_complexes, &pio, &mmio, &control)?;

    let entry = firmware::load(config, &topology, &memory)?;

    let stats = Arc::new(ExitStats::default());
    let targets = ExitTargets {
        pio,
        mmio,
        ioapic,
        control: control.clone(),
        memory: memory.clone(),
        stats: stats.clone(),
    };
    vcpus::start(config, &partition, &memory, entry, &targets)?;

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
