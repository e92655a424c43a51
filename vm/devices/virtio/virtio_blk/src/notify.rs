//! Notification doorbells: one eventfd per queue, registered with the VMM (KVM
//! ioeventfd) at the queue's doorbell address whenever the BAR is mapped, so a guest
//! notification wakes the queue's worker without an exit to userspace. Writes that do
//! reach userspace (other widths, or a failed registration) signal the same eventfd.

use crate::layout::NOTIFY_MULTIPLIER;
use crate::ratelimit::RateLimit;
use parking_lot::Mutex;
use pci_core::DoorbellRegistrar;
use std::sync::Arc;
use vmm_sys_util::eventfd::EventFd;

/// Width of the driver's notification write (a 16-bit queue index, §4.1.5.2).
const DOORBELL_LEN: u32 = 2;

/// The queues' doorbells.
pub struct Doorbells {
    events: Vec<Arc<EventFd>>,
    registrar: Arc<dyn DoorbellRegistrar>,
    state: Mutex<State>,
}

struct State {
    /// Base address of the doorbells while registered.
    registered: Option<u64>,
    log_limit: RateLimit,
}

impl Doorbells {
    /// One eventfd per queue.
    pub fn new(num_queues: u16, registrar: Arc<dyn DoorbellRegistrar>) -> std::io::Result<Self> {
        let events = (0..num_queues)
            .map(|_| EventFd::new(0).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            events,
            registrar,
            state: Mutex::new(State {
                registered: None,
                log_limit: RateLimit::per_second(5),
            }),
        })
    }

    /// Queue `n`'s eventfd.
    pub fn event(&self, n: u16) -> &Arc<EventFd> {
        &self.events[n as usize]
    }

    /// The guest-physical base the doorbells are registered at.
    pub fn registered(&self) -> Option<u64> {
        self.state.lock().registered
    }

    fn address(base: u64, n: usize) -> u64 {
        base + n as u64 * u64::from(NOTIFY_MULTIPLIER)
    }

    /// The doorbell region moved to `base` (`None`: unmapped).
    pub fn set_base(&self, base: Option<u64>) {
        let mut s = self.state.lock();
        if s.registered == base {
            return;
        }
        if let Some(old) = s.registered.take() {
            for (n, e) in self.events.iter().enumerate() {
                if let Err(err) =
                    self.registrar
                        .unregister(Self::address(old, n), DOORBELL_LEN, None, e)
                {
                    if s.log_limit.allow() {
                        tracing::warn!(
                            error = &err as &dyn std::error::Error,
                            "doorbell unregister failed"
                        );
                    }
                }
            }
        }
        if let Some(new) = base {
            for (n, e) in self.events.iter().enumerate() {
                if let Err(err) =
                    self.registrar
                        .register(Self::address(new, n), DOORBELL_LEN, None, e)
                {
                    // Still works, through exits to userspace (`notify`).
                    if s.log_limit.allow() {
                        tracing::warn!(
                            error = &err as &dyn std::error::Error,
                            "doorbell register failed"
                        );
                    }
                }
            }
            s.registered = Some(new);
        }
    }

    /// A notification write that reached userspace at `offset` in the doorbell region.
    pub fn notify(&self, offset: u64) {
        let n = offset / u64::from(NOTIFY_MULTIPLIER);
        if let Some(e) = usize::try_from(n).ok().and_then(|n| self.events.get(n)) {
            let _ = e.write(1);
        }
    }
}

impl Drop for Doorbells {
    fn drop(&mut self) {
        self.set_base(None);
    }
}

impl inspect::Inspect for Doorbells {
    fn inspect(&self, node: &mut inspect::Node) {
        let s = self.state.lock();
        node.field("registered", &s.registered.map(inspect::AsHex))
            .value("log_suppressed", s.log_limit.suppressed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::RecordingDoorbells;

    #[test]
    fn register_move_unregister() {
        let reg = Arc::new(RecordingDoorbells::default());
        let d = Doorbells::new(2, reg.clone()).unwrap();
        d.set_base(Some(0x1000));
        d.set_base(Some(0x1000));
        d.set_base(Some(0x9000));
        d.set_base(None);
        assert_eq!(
            *reg.log.lock(),
            vec![
                (true, 0x1000, 2, None),
                (true, 0x1004, 2, None),
                (false, 0x1000, 2, None),
                (false, 0x1004, 2, None),
                (true, 0x9000, 2, None),
                (true, 0x9004, 2, None),
                (false, 0x9000, 2, None),
                (false, 0x9004, 2, None),
            ]
        );
        // Dropping while registered unregisters.
        d.set_base(Some(0x2000));
        drop(d);
        assert_eq!(reg.log.lock().len(), 12);
        assert!(reg.events.lock().is_empty());
    }

    #[test]
    fn userspace_notify_fallback() {
        let reg = Arc::new(RecordingDoorbells::default());
        let d = Doorbells::new(2, reg).unwrap();
        let probe = d.event(1).try_clone().unwrap();
        d.notify(4);
        d.notify(6);
        d.notify(8); // no queue 2
        d.notify(u64::MAX);
        assert_eq!(probe.read().unwrap(), 2);
    }
}
