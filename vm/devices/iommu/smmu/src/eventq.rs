//! Event queue writes with overflow (IHI 0070 §3.5.3 "Event queue", §7.4
//! "Event queue overflow").

use crate::irq::SmmuIrq;
use crate::mem::write_dwords;
use crate::queue::Queue;
use crate::spec::event::EventRecord;
use crate::spec::event::EVENT_SIZE;
use crate::spec::regs::Gerror;
use crate::spec::regs::EVENTQ_CONS_OVACKFLG;
use crate::spec::regs::EVENTQ_PROD_OVFLG;
use crate::state::State;

impl State {
    /// The event queue's geometry.
    pub(crate) fn eventq(&self) -> Queue {
        Queue {
            base: self.eventq_base.addr() << 5,
            log2: self.eventq_base.log2size().min(self.caps.eventq_log2),
            entry: EVENT_SIZE,
        }
    }

    /// Records `ev`: written at PROD if the queue is enabled and has room; on a full
    /// queue the overflow flag toggles and the event is lost; a failed write raises
    /// GERROR.EVENTQ_ABT_ERR.
    pub(crate) fn record_event(&mut self, ev: EventRecord) {
        self.stats.events += 1;
        if !self.cr0.eventqen() || self.gerror_active(Gerror::new().with_eventq_abt_err(true)) {
            self.stats.events_dropped += 1;
            return;
        }
        let q = self.eventq();
        if q.is_full(self.eventq_prod, self.eventq_cons) {
            // Toggle OVFLG only if software acknowledged the previous overflow.
            let ovflg = self.eventq_prod & EVENTQ_PROD_OVFLG != 0;
            let ovack = self.eventq_cons & EVENTQ_CONS_OVACKFLG != 0;
            if ovflg == ovack {
                self.eventq_prod ^= EVENTQ_PROD_OVFLG;
            }
            self.stats.events_dropped += 1;
            return;
        }
        let addr = q.addr(self.eventq_prod);
        if write_dwords(&self.mem, addr, &ev.0).is_err() {
            self.stats.events_dropped += 1;
            self.raise_gerror(Gerror::new().with_eventq_abt_err(true));
            return;
        }
        self.eventq_prod = (self.eventq_prod & EVENTQ_PROD_OVFLG) | q.inc(self.eventq_prod);
        if self.irq_ctrl.eventq_irqen() {
            let p = self.eventq_irq.pending(SmmuIrq::EventQueue, self.caps.msi);
            self.pending.push(p);
        }
    }
}
