//! The registry of live interrupt routes: every MSI/MSI-X vector and IOAPIC pin whose
//! message the guest programmed, installed as a KVM GSI route holding the message *as
//! the covering IOMMU remapped it*.
//!
//! Remapping happens here, when the guest programs a source, and again when the IOMMU
//! says its remapping decisions changed (or requester ids changed): never per
//! interrupt. Raising a vector is a write to its irqfd, which KVM delivers in the kernel.

use crate::chipset::ioapic::IoapicRouting;
use crate::irq::GsiRoutes;
use iommu_common::MsiMessage;
use iommu_common::MsiRemapper;
use iommu_common::RemapChangeListener;
use iommu_common::RequesterId;
use iommu_common::RequesterIdCell;
use parking_lot::Mutex;
use pci_core::MsiController;
use pci_core::MsiVector;
use std::sync::Arc;
use std::sync::Weak;
use vmm_sys_util::eventfd::EventFd;

/// Registers an eventfd to inject a GSI (KVM irqfd).
pub trait IrqfdRegistrar: Send + Sync {
    /// Makes writes to `event` fire `gsi`.
    fn register_irqfd(&self, event: &EventFd, gsi: u32) -> std::io::Result<()>;
}

/// One source's route: what the guest programmed and where it is installed.
struct Route {
    gsi: u32,
    requester: RequesterIdCell,
    programmed: Mutex<Option<MsiMessage>>,
    remapper: Arc<dyn MsiRemapper>,
    routes: Arc<GsiRoutes>,
}

impl Route {
    /// Remaps the programmed message and installs the result (or removes the route if
    /// the IOMMU blocks it; the IOMMU has recorded why).
    fn install(&self) {
        let programmed = *self.programmed.lock();
        let installed =
            programmed.and_then(|msg| match self.remapper.remap(self.requester.get(), msg) {
                Ok(remapped) => Some(remapped.msg),
                Err(blocked) => {
                    tracing::debug!(gsi = self.gsi, %blocked, "interrupt blocked by the IOMMU");
                    None
                }
            });
        if let Err(err) = self.routes.set(self.gsi, installed) {
            tracing::error!(
                gsi = self.gsi,
                error = &err as &dyn std::error::Error,
                "installing route"
            );
        }
    }
}

/// A device vector: a route plus the irqfd that raises it.
struct Vector {
    route: Route,
    event: EventFd,
}

impl MsiVector for Vector {
    fn set_message(&self, msg: Option<MsiMessage>) {
        *self.route.programmed.lock() = msg;
        self.route.install();
    }

    fn signal(&self) {
        if let Err(err) = self.event.write(1) {
            tracing::warn!(
                gsi = self.route.gsi,
                error = &err as &dyn std::error::Error,
                "irqfd write"
            );
        }
    }
}

/// The registry. One per interrupt domain (an IOMMU's remapper, or pass-through).
pub struct MsiRouteRegistry {
    routes: Arc<GsiRoutes>,
    irqfd: Arc<dyn IrqfdRegistrar>,
    remapper: Arc<dyn MsiRemapper>,
    vectors: Mutex<Vec<Weak<Vector>>>,
    pins: Mutex<Vec<Arc<Route>>>,
}

impl MsiRouteRegistry {
    /// A registry installing routes in `routes`, remapping through `remapper`.
    pub fn new(
        routes: Arc<GsiRoutes>,
        irqfd: Arc<dyn IrqfdRegistrar>,
        remapper: Arc<dyn MsiRemapper>,
    ) -> Arc<Self> {
        Arc::new(Self {
            routes,
            irqfd,
            remapper,
            vectors: Mutex::new(Vec::new()),
            pins: Mutex::new(Vec::new()),
        })
    }

    /// Remaps and reinstalls every live route.
    pub fn retranslate_all(&self) {
        let vectors: Vec<_> = {
            let mut v = self.vectors.lock();
            v.retain(|w| w.strong_count() > 0);
            v.iter().filter_map(Weak::upgrade).collect()
        };
        for vector in vectors {
            vector.route.install();
        }
        let pins = self.pins.lock().clone();
        for pin in pins {
            pin.install();
        }
    }

    /// IOAPIC routing through this registry: pin `n` is GSI `n`, remapped as coming from
    /// `requester` (the IOAPIC's fixed source id).
    pub fn ioapic_routing(
        self: &Arc<Self>,
        requester: RequesterId,
        pins: usize,
    ) -> Arc<IoapicRoutes> {
        let cell = RequesterIdCell::new(requester.segment, requester.bdf);
        let routes: Vec<_> = (0..pins as u32)
            .map(|gsi| {
                Arc::new(Route {
                    gsi,
                    requester: cell.clone(),
                    programmed: Mutex::new(None),
                    remapper: self.remapper.clone(),
                    routes: self.routes.clone(),
                })
            })
            .collect();
        self.pins.lock().extend(routes.iter().cloned());
        Arc::new(IoapicRoutes {
            pins: routes,
            gsi: self.routes.clone(),
        })
    }
}

impl MsiController for MsiRouteRegistry {
    fn new_vector(&self, rid: RequesterIdCell) -> Arc<dyn MsiVector> {
        // Failing to get a GSI or an eventfd leaves a vector that never fires: the
        // device works without that interrupt and the log says why.
        let gsi = self.routes.allocate().unwrap_or_else(|err| {
            tracing::error!(
                error = &err as &dyn std::error::Error,
                "no GSI for a vector"
            );
            u32::MAX
        });
        let event = EventFd::new(libc::EFD_NONBLOCK).expect("eventfd");
        if gsi != u32::MAX {
            if let Err(err) = self.irqfd.register_irqfd(&event, gsi) {
                tracing::error!(gsi, error = &err as &dyn std::error::Error, "irqfd");
            }
        }
        let vector = Arc::new(Vector {
            route: Route {
                gsi,
                requester: rid,
                programmed: Mutex::new(None),
                remapper: self.remapper.clone(),
                routes: self.routes.clone(),
            },
            event,
        });
        self.vectors.lock().push(Arc::downgrade(&vector));
        vector
    }
}

impl RemapChangeListener for MsiRouteRegistry {
    fn remapping_changed(&self) {
        self.retranslate_all();
    }
}

/// The IOAPIC's pins as registry routes.
pub struct IoapicRoutes {
    pins: Vec<Arc<Route>>,
    gsi: Arc<GsiRoutes>,
}

impl IoapicRouting for IoapicRoutes {
    fn set_route(&self, pin: u8, msg: Option<MsiMessage>) {
        if let Some(route) = self.pins.get(pin as usize) {
            *route.programmed.lock() = msg;
            route.install();
        }
    }

    fn fire(&self, pin: u8) {
        self.gsi.fire(pin.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irq::tests::FakeBackend;
    use iommu_common::MsiBlocked;
    use iommu_common::RemappedMsi;

    #[derive(Default)]
    struct FakeIrqfd(Mutex<Vec<u32>>);

    impl IrqfdRegistrar for FakeIrqfd {
        fn register_irqfd(&self, _event: &EventFd, gsi: u32) -> std::io::Result<()> {
            self.0.lock().push(gsi);
            Ok(())
        }
    }

    /// Adds the requester's bus to the data; blocks everything while `block` is set.
    #[derive(Default)]
    struct TestRemapper {
        block: Mutex<bool>,
    }

    impl MsiRemapper for TestRemapper {
        fn remap(
            &self,
            requester: RequesterId,
            msg: MsiMessage,
        ) -> Result<RemappedMsi, MsiBlocked> {
            if *self.block.lock() {
                return Err(MsiBlocked { requester, msg });
            }
            Ok(RemappedMsi {
                msg: MsiMessage {
                    address: msg.address,
                    data: msg.data + (requester.bdf >> 8) as u32,
                },
                device_id: None,
            })
        }
    }

    #[test]
    fn vectors_are_remapped_when_programmed_and_on_change() {
        let backend = Arc::new(FakeBackend::default());
        let routes = Arc::new(GsiRoutes::new(Box::new(backend.clone())));
        let irqfd = Arc::new(FakeIrqfd::default());
        let remapper = Arc::new(TestRemapper::default());
        let reg = MsiRouteRegistry::new(routes.clone(), irqfd.clone(), remapper.clone());
        let rid = RequesterIdCell::new(0, 0x0100);
        let v = reg.new_vector(rid.clone());
        assert_eq!(*irqfd.0.lock(), vec![24]);
        v.set_message(Some(MsiMessage {
            address: 0xfee0_0000,
            data: 0x40,
        }));
        assert_eq!(routes.get(24).unwrap().data, 0x41);
        // Renumbering the bus and re-translating updates the route.
        rid.set_bus(3);
        reg.retranslate_all();
        assert_eq!(routes.get(24).unwrap().data, 0x43);
        // A blocked message removes the route.
        *remapper.block.lock() = true;
        reg.remapping_changed();
        assert_eq!(routes.get(24), None);
        *remapper.block.lock() = false;
        reg.remapping_changed();
        assert!(routes.get(24).is_some());
        v.set_message(None);
        assert_eq!(routes.get(24), None);
    }

    #[test]
    fn ioapic_pins_use_fixed_requester() {
        let backend = Arc::new(FakeBackend::default());
        let routes = Arc::new(GsiRoutes::new(Box::new(backend.clone())));
        let reg = MsiRouteRegistry::new(
            routes.clone(),
            Arc::new(FakeIrqfd::default()),
            Arc::new(TestRemapper::default()),
        );
        let pins = reg.ioapic_routing(RequesterId::new(0, 0xa000), 24);
        pins.set_route(
            4,
            Some(MsiMessage {
                address: 0xfee0_0000,
                data: 0x30,
            }),
        );
        assert_eq!(routes.get(4).unwrap().data, 0x30 + 0xa0);
        pins.fire(4);
        assert_eq!(*backend.fired.lock(), vec![4]);
    }
}
