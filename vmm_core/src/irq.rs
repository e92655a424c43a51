//! Interrupt plumbing shared by the chipset and KVM: MSI messages, the GSI route table
//! KVM delivers through, and the interface an interrupt source uses to reach it.
//!
//! Every interrupt here ends as an MSI address/data pair installed as a KVM GSI route:
//! the IOAPIC's pins own GSIs 0..24 (split irqchip: KVM scans these routes to know which
//! vectors need an EOI exit), device MSIs get GSIs above. Routes are written when the
//! guest programs a source, never per interrupt.

use parking_lot::Mutex;
use std::collections::BTreeMap;

pub use iommu_common::MsiMessage;

/// The kernel side of interrupt delivery: installs GSI routes and fires them.
pub trait GsiBackend: Send + Sync {
    /// Replaces the whole routing table with `routes`.
    fn set_routes(&self, routes: &[(u32, MsiMessage)]) -> std::io::Result<()>;
    /// Fires the route installed at `gsi`.
    fn fire(&self, gsi: u32) -> std::io::Result<()>;
}

/// First GSI handed to device MSIs; below are the IOAPIC pins.
pub const FIRST_MSI_GSI: u32 = 24;

/// The GSI route table: the single owner of what KVM's routing table contains.
pub struct GsiRoutes {
    backend: Box<dyn GsiBackend>,
    state: Mutex<RouteState>,
    invalid_warnings: Mutex<ratelimit::RateLimit>,
}

struct RouteState {
    routes: BTreeMap<u32, MsiMessage>,
    next_gsi: u32,
    free: Vec<u32>,
}

/// Error from the route table.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// KVM rejected the routing table.
    #[error("installing GSI routes")]
    Kernel(#[source] std::io::Error),
    /// No GSI left.
    #[error("out of GSIs")]
    Exhausted,
}

/// Highest GSI the table hands out (KVM's KVM_MAX_IRQ_ROUTES is 4096).
const MAX_GSI: u32 = 4095;

impl GsiRoutes {
    /// A table with no routes.
    pub fn new(backend: Box<dyn GsiBackend>) -> Self {
        Self {
            backend,
            state: Mutex::new(RouteState {
                routes: BTreeMap::new(),
                next_gsi: FIRST_MSI_GSI,
                free: Vec::new(),
            }),
            invalid_warnings: Mutex::new(ratelimit::RateLimit::per_second(5)),
        }
    }

    /// Allocates a GSI for a device MSI.
    pub fn allocate(&self) -> Result<u32, RouteError> {
        let mut state = self.state.lock();
        if let Some(gsi) = state.free.pop() {
            return Ok(gsi);
        }
        if state.next_gsi > MAX_GSI {
            return Err(RouteError::Exhausted);
        }
        let gsi = state.next_gsi;
        state.next_gsi += 1;
        Ok(gsi)
    }

    /// Returns a GSI to the pool, removing its route.
    pub fn release(&self, gsi: u32) -> Result<(), RouteError> {
        self.set(gsi, None)?;
        self.state.lock().free.push(gsi);
        Ok(())
    }

    /// Installs (or with `None` removes) the route of `gsi`; a no-op if unchanged.
    ///
    /// A message KVM would reject (address bits 39:32 set: with 32-bit x2APIC ids the
    /// destination's upper bits live in address bits 63:40) gets no route: the
    /// interrupt goes nowhere, as on hardware, instead of failing the whole table and
    /// every other source's route with it.
    pub fn set(&self, gsi: u32, msg: Option<MsiMessage>) -> Result<(), RouteError> {
        let msg = msg.filter(|m| {
            let valid = (m.address >> 32) & 0xff == 0;
            if !valid && self.invalid_warnings.lock().allow() {
                tracing::warn!(
                    gsi,
                    address = m.address,
                    "MSI address not deliverable; no route"
                );
            }
            valid
        });
        let mut state = self.state.lock();
        let changed = match msg {
            Some(msg) => state.routes.insert(gsi, msg) != Some(msg),
            None => state.routes.remove(&gsi).is_some(),
        };
        if !changed {
            return Ok(());
        }
        let table: Vec<_> = state.routes.iter().map(|(&g, &m)| (g, m)).collect();
        self.backend.set_routes(&table).map_err(RouteError::Kernel)
    }

    /// The route currently installed at `gsi`.
    pub fn get(&self, gsi: u32) -> Option<MsiMessage> {
        self.state.lock().routes.get(&gsi).copied()
    }

    /// Fires `gsi`'s route (a no-op if it has none).
    pub fn fire(&self, gsi: u32) {
        if self.state.lock().routes.contains_key(&gsi) {
            if let Err(err) = self.backend.fire(gsi) {
                tracing::warn!(
                    gsi,
                    error = &err as &dyn std::error::Error,
                    "firing GSI failed"
                );
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;

    /// Records what a backend was asked to do.
    #[derive(Default)]
    pub struct FakeBackend {
        pub tables: Mutex<Vec<Vec<(u32, MsiMessage)>>>,
        pub fired: Mutex<Vec<u32>>,
    }

    impl GsiBackend for Arc<FakeBackend> {
        fn set_routes(&self, routes: &[(u32, MsiMessage)]) -> std::io::Result<()> {
            self.tables.lock().push(routes.to_vec());
            Ok(())
        }
        fn fire(&self, gsi: u32) -> std::io::Result<()> {
            self.fired.lock().push(gsi);
            Ok(())
        }
    }

    #[test]
    fn routes_are_pushed_only_on_change() {
        let fake = Arc::new(FakeBackend::default());
        let routes = GsiRoutes::new(Box::new(fake.clone()));
        let msg = MsiMessage {
            address: 0xfee0_0000,
            data: 0x30,
        };
        routes.set(4, Some(msg)).unwrap();
        routes.set(4, Some(msg)).unwrap();
        assert_eq!(fake.tables.lock().len(), 1);
        routes.fire(4);
        routes.fire(5);
        assert_eq!(*fake.fired.lock(), vec![4]);
        routes.set(4, None).unwrap();
        assert_eq!(fake.tables.lock().last().unwrap().len(), 0);
    }

    #[test]
    fn undeliverable_address_gets_no_route() {
        let fake = Arc::new(FakeBackend::default());
        let routes = GsiRoutes::new(Box::new(fake.clone()));
        let good = MsiMessage {
            address: 0xfee0_0000,
            data: 0x30,
        };
        routes.set(24, Some(good)).unwrap();
        // A guest-written address with bits 39:32 set would make KVM refuse the table.
        routes
            .set(
                25,
                Some(MsiMessage {
                    address: 0x1_fee0_0000,
                    data: 0x31,
                }),
            )
            .unwrap();
        assert_eq!(routes.get(25), None);
        assert_eq!(routes.get(24), Some(good));
        assert_eq!(*fake.tables.lock().last().unwrap(), vec![(24, good)]);
    }

    #[test]
    fn allocation_reuses_released() {
        let fake = Arc::new(FakeBackend::default());
        let routes = GsiRoutes::new(Box::new(fake));
        let a = routes.allocate().unwrap();
        assert_eq!(a, FIRST_MSI_GSI);
        routes.release(a).unwrap();
        assert_eq!(routes.allocate().unwrap(), a);
    }
}
