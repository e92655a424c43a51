//! The KVM backend: a VM with a split irqchip (in-kernel local APICs, userspace IOAPIC),
//! the x2APIC API with 32-bit ids, guest memory slots, MSI GSI routes and vCPUs.

pub mod cpuid;
pub mod exit_stats;
pub mod regs;
pub mod vcpu;

use crate::irq::GsiBackend;
use crate::irq::MsiMessage;
use guestmem::GuestMemory;
use kvm_bindings::kvm_enable_cap;
use kvm_bindings::kvm_irq_routing_entry;
use kvm_bindings::kvm_userspace_memory_region;
use kvm_bindings::KvmIrqRouting;
use kvm_ioctls::Cap;
use kvm_ioctls::Kvm;
use kvm_ioctls::VmFd;
use std::sync::Arc;

/// Pins of the userspace IOAPIC that KVM treats as IOAPIC GSIs (EOI exits).
pub const IOAPIC_PINS: u64 = 24;
/// TSS area KVM needs on Intel hosts (inside the MMIO hole, never RAM).
const TSS_ADDRESS: usize = 0xfffb_d000;
/// Identity-map page for real-mode emulation on Intel hosts.
const IDENTITY_MAP_ADDRESS: u64 = 0xfffb_c000;

/// Errors creating the VM.
#[derive(Debug, thiserror::Error)]
pub enum KvmError {
    /// /dev/kvm could not be opened.
    #[error("opening /dev/kvm (is KVM available and accessible?)")]
    Open(#[source] kvm_ioctls::Error),
    /// A capability the VMM needs is missing.
    #[error("KVM lacks a required capability: {0}")]
    MissingCap(&'static str),
    /// An ioctl failed.
    #[error("{0}")]
    Ioctl(&'static str, #[source] kvm_ioctls::Error),
}

/// A KVM VM with memory installed and the irqchip configured.
pub struct KvmVm {
    /// The KVM system handle.
    pub kvm: Kvm,
    /// The VM handle.
    pub vm: Arc<VmFd>,
    /// Whether the in-kernel LAPIC offers the TSC-deadline timer.
    pub tsc_deadline: bool,
}

impl KvmVm {
    /// Creates the VM and maps `memory` into it.
    pub fn new(memory: &GuestMemory) -> Result<Self, KvmError> {
        let kvm = Kvm::new().map_err(KvmError::Open)?;
        for (cap, name) in [
            (Cap::SplitIrqchip, "KVM_CAP_SPLIT_IRQCHIP"),
            (Cap::X2ApicApi, "KVM_CAP_X2APIC_API"),
            (Cap::IrqRouting, "KVM_CAP_IRQ_ROUTING"),
            (Cap::Irqfd, "KVM_CAP_IRQFD"),
            (Cap::UserMemory, "KVM_CAP_USER_MEMORY"),
        ] {
            if !kvm.check_extension(cap) {
                return Err(KvmError::MissingCap(name));
            }
        }
        let tsc_deadline = kvm.check_extension(Cap::TscDeadlineTimer);
        let vm = kvm
            .create_vm()
            .map_err(|e| KvmError::Ioctl("creating the VM", e))?;
        vm.set_tss_address(TSS_ADDRESS)
            .map_err(|e| KvmError::Ioctl("setting the TSS address", e))?;
        vm.set_identity_map_address(IDENTITY_MAP_ADDRESS)
            .map_err(|e| KvmError::Ioctl("setting the identity map address", e))?;

        let mut split = kvm_enable_cap {
            cap: kvm_bindings::KVM_CAP_SPLIT_IRQCHIP,
            ..Default::default()
        };
        split.args[0] = IOAPIC_PINS;
        vm.enable_cap(&split)
            .map_err(|e| KvmError::Ioctl("enabling the split irqchip", e))?;

        let mut x2apic = kvm_enable_cap {
            cap: kvm_bindings::KVM_CAP_X2APIC_API,
            ..Default::default()
        };
        x2apic.args[0] = (kvm_bindings::KVM_X2APIC_API_USE_32BIT_IDS
            | kvm_bindings::KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK)
            .into();
        vm.enable_cap(&x2apic)
            .map_err(|e| KvmError::Ioctl("enabling the x2APIC API", e))?;

        for (slot, region) in memory.regions().iter().enumerate() {
            let mem_region = kvm_userspace_memory_region {
                slot: slot as u32,
                flags: 0,
                guest_phys_addr: region.gpa,
                memory_size: region.len,
                userspace_addr: region.host_addr,
            };
            // SAFETY: the host range is an anonymous mapping owned by `memory`'s
            // GuestMemory, which the VMM keeps alive for as long as the VM exists; the
            // slots do not overlap because GuestMemory rejects overlapping regions.
            unsafe { vm.set_user_memory_region(mem_region) }
                .map_err(|e| KvmError::Ioctl("mapping guest memory", e))?;
        }

        Ok(Self {
            kvm,
            vm: Arc::new(vm),
            tsc_deadline,
        })
    }

    /// KVM's supported CPUID set, the base of every vCPU's CPUID.
    pub fn supported_cpuid(&self) -> Result<kvm_bindings::CpuId, KvmError> {
        self.kvm
            .get_supported_cpuid(kvm_bindings::KVM_MAX_CPUID_ENTRIES)
            .map_err(|e| KvmError::Ioctl("KVM_GET_SUPPORTED_CPUID", e))
    }

    /// The GSI backend delivering through this VM's routing table.
    pub fn gsi_backend(&self) -> KvmGsiBackend {
        KvmGsiBackend(self.vm.clone())
    }
}

/// Installs MSI routes in KVM's GSI routing table and fires them with KVM_IRQ_LINE.
pub struct KvmGsiBackend(Arc<VmFd>);

impl GsiBackend for KvmGsiBackend {
    fn set_routes(&self, routes: &[(u32, MsiMessage)]) -> std::io::Result<()> {
        let mut table = KvmIrqRouting::new(0).map_err(std::io::Error::other)?;
        for &(gsi, msg) in routes {
            let mut entry = kvm_irq_routing_entry {
                gsi,
                type_: kvm_bindings::KVM_IRQ_ROUTING_MSI,
                ..Default::default()
            };
            entry.u.msi.address_lo = msg.address as u32;
            entry.u.msi.address_hi = (msg.address >> 32) as u32;
            entry.u.msi.data = msg.data;
            table.push(entry).map_err(std::io::Error::other)?;
        }
        self.0
            .set_gsi_routing(&table)
            .map_err(|e| std::io::Error::from_raw_os_error(e.errno()))
    }

    fn fire(&self, gsi: u32) -> std::io::Result<()> {
        self.0
            .set_irq_line(gsi, true)
            .map_err(|e| std::io::Error::from_raw_os_error(e.errno()))
    }
}

/// KVM irqfds and ioeventfds for device interrupts and doorbells.
pub struct KvmEventFds(pub Arc<VmFd>);

impl crate::msi_routes::IrqfdRegistrar for KvmEventFds {
    fn register_irqfd(
        &self,
        event: &vmm_sys_util::eventfd::EventFd,
        gsi: u32,
    ) -> std::io::Result<()> {
        self.0
            .register_irqfd(event, gsi)
            .map_err(|e| std::io::Error::from_raw_os_error(e.errno()))
    }
}

/// Calls `$vm.$method(event, addr, datamatch)` with the datamatch type that gives
/// KVM the access length (`NoDatamatch`: any length).
macro_rules! with_datamatch {
    ($vm:expr, $method:ident, $event:expr, $addr:expr, $len:expr, $datamatch:expr) => {
        match ($datamatch, $len) {
            (None, _) => $vm.$method($event, $addr, kvm_ioctls::NoDatamatch),
            (Some(v), 1) => $vm.$method($event, $addr, v as u8),
            (Some(v), 2) => $vm.$method($event, $addr, v as u16),
            (Some(v), 4) => $vm.$method($event, $addr, v as u32),
            (Some(v), _) => $vm.$method($event, $addr, v),
        }
        .map_err(|e| std::io::Error::from_raw_os_error(e.errno()))
    };
}

impl pci_core::DoorbellRegistrar for KvmEventFds {
    fn register(
        &self,
        address: u64,
        len: u32,
        datamatch: Option<u64>,
        event: &vmm_sys_util::eventfd::EventFd,
    ) -> std::io::Result<()> {
        let addr = kvm_ioctls::IoEventAddress::Mmio(address);
        with_datamatch!(self.0, register_ioevent, event, &addr, len, datamatch)
    }

    fn unregister(
        &self,
        address: u64,
        len: u32,
        datamatch: Option<u64>,
        event: &vmm_sys_util::eventfd::EventFd,
    ) -> std::io::Result<()> {
        let addr = kvm_ioctls::IoEventAddress::Mmio(address);
        with_datamatch!(self.0, unregister_ioevent, event, &addr, len, datamatch)
    }
}

/// Delivers an IOMMU's own interrupts (never remapped) with KVM_SIGNAL_MSI.
pub struct KvmMsiSink {
    vm: Arc<VmFd>,
    warnings: parking_lot::Mutex<ratelimit::RateLimit>,
}

impl KvmMsiSink {
    /// A sink injecting into `vm`.
    pub fn new(vm: Arc<VmFd>) -> Self {
        Self {
            vm,
            warnings: parking_lot::Mutex::new(ratelimit::RateLimit::per_second(5)),
        }
    }
}

impl iommu_common::MsiSink for KvmMsiSink {
    fn signal_msi(&self, msg: MsiMessage) {
        let msi = kvm_bindings::kvm_msi {
            address_lo: msg.address as u32,
            address_hi: (msg.address >> 32) as u32,
            data: msg.data,
            ..Default::default()
        };
        // The guest programs the address; a bad one is its problem, logged sparingly.
        if let Err(err) = self.vm.signal_msi(msi) {
            if self.warnings.lock().allow() {
                tracing::warn!(error = %err, address = msg.address, "KVM_SIGNAL_MSI failed");
            }
        }
    }
}
