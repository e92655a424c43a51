//! Creating and starting the vCPUs: CPUID per APIC id, boot MSRs, the boot vCPU's
//! entry state, one thread each.

use crate::config::VmConfig;
use anyhow::Context;
use guestmem::GuestMemory;
use vmm_core::kvm;
use vmm_core::kvm::regs::BootEntry;
use vmm_core::kvm::vcpu::ExitTargets;

/// Starts every vCPU of `config` on `partition`; vCPU 0 begins at `entry`.
pub fn start(
    config: &VmConfig,
    partition: &kvm::KvmVm,
    memory: &GuestMemory,
    entry: BootEntry,
    targets: &ExitTargets,
) -> anyhow::Result<()> {
    let supported = partition.supported_cpuid()?;
    for (index, &apic_id) in config.apic_ids().iter().enumerate() {
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
        kvm::regs::setup_xcr0(&vcpu, &cpuid)?;
        kvm::regs::setup_msrs(&vcpu)?;
        if index == 0 {
            kvm::regs::setup_boot_vcpu(&vcpu, memory, entry)?;
        }
        kvm::vcpu::spawn(index as u32, vcpu, targets.clone()).context("spawning vcpu")?;
    }
    Ok(())
}
