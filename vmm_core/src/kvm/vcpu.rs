//! vCPU threads: run KVM_RUN and route exits to the port and MMIO buses, the IOAPIC's
//! EOI handler and the VM's power control.

use crate::bus::Bus;
use crate::chipset::ioapic::Ioapic;
use crate::control::ExitReason;
use crate::control::VmControl;
use crate::kvm::exit_stats::ExitStats;
use kvm_ioctls::VcpuExit;
use kvm_ioctls::VcpuFd;
use std::sync::Arc;

/// What a vCPU's exits are routed to.
#[derive(Clone)]
pub struct ExitTargets {
    /// Port I/O devices.
    pub pio: Arc<Bus>,
    /// MMIO devices.
    pub mmio: Arc<Bus>,
    /// The IOAPIC (EOI exits).
    pub ioapic: Arc<Ioapic>,
    /// Where the VM's end is reported.
    pub control: Arc<VmControl>,
    /// Guest memory, kept alive while any vCPU can run (KVM maps it).
    pub memory: guestmem::GuestMemory,
    /// Exit counters.
    pub stats: Arc<ExitStats>,
}

/// Runs `vcpu` on a new thread until the VM ends.
pub fn spawn(index: u32, mut vcpu: VcpuFd, targets: ExitTargets) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(format!("vcpu{index}"))
        .spawn(move || run(index, &mut vcpu, &targets))
        .map(drop)
}

fn run(index: u32, vcpu: &mut VcpuFd, t: &ExitTargets) {
    loop {
        match vcpu.run() {
            Ok(exit) => match exit {
                VcpuExit::IoIn(port, data) => {
                    ExitStats::count(&t.stats.pio_read);
                    if !t.pio.read(port.into(), data) {
                        tracing::trace!(port, len = data.len(), "unclaimed port read");
                    }
                }
                VcpuExit::IoOut(port, data) => {
                    ExitStats::count(&t.stats.pio_write);
                    if !t.pio.write(port.into(), data) {
                        tracing::trace!(port, len = data.len(), "unclaimed port write");
                    }
                }
                VcpuExit::MmioRead(addr, data) => {
                    ExitStats::count(&t.stats.mmio_read);
                    if !t.mmio.read(addr, data) {
                        tracing::trace!(addr, len = data.len(), "unclaimed MMIO read");
                    }
                }
                VcpuExit::MmioWrite(addr, data) => {
                    ExitStats::count(&t.stats.mmio_write);
                    if !t.mmio.write(addr, data) {
                        tracing::trace!(addr, len = data.len(), "unclaimed MMIO write");
                    }
                }
                VcpuExit::IoapicEoi(vector) => {
                    ExitStats::count(&t.stats.ioapic_eoi);
                    t.ioapic.eoi(vector)
                }
                VcpuExit::Shutdown => {
                    tracing::info!(vcpu = index, "triple fault: resetting");
                    t.control.request(ExitReason::Reset);
                    return;
                }
                VcpuExit::SystemEvent(kind, _) => {
                    let reason = match kind {
                        kvm_bindings::KVM_SYSTEM_EVENT_SHUTDOWN => ExitReason::PowerOff,
                        kvm_bindings::KVM_SYSTEM_EVENT_RESET => ExitReason::Reset,
                        other => ExitReason::Error(format!("vcpu{index}: system event {other}")),
                    };
                    t.control.request(reason);
                    return;
                }
                VcpuExit::Hlt => {
                    // With the in-kernel LAPIC, HLT stays in KVM; a stray one just resumes.
                }
                VcpuExit::FailEntry(reason, cpu) => {
                    t.control.request(ExitReason::Error(format!(
                        "vcpu{index}: VM entry failed (reason {reason:#x}, cpu {cpu})"
                    )));
                    return;
                }
                VcpuExit::InternalError => {
                    t.control.request(ExitReason::Error(format!(
                        "vcpu{index}: KVM internal error"
                    )));
                    return;
                }
                other => {
                    t.control.request(ExitReason::Error(format!(
                        "vcpu{index}: unexpected exit {other:?}"
                    )));
                    return;
                }
            },
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                ExitStats::count(&t.stats.other);
            }
            Err(e) => {
                t.control.request(ExitReason::Error(format!(
                    "vcpu{index}: KVM_RUN failed: {e}"
                )));
                return;
            }
        }
        if t.control.ended() {
            return;
        }
    }
}
