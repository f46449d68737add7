//! The block clock: processes every absolute slot in order when its time comes.
//!
//! Slots are processed one by one even when the process falls behind (a loaded test machine),
//! so lateness never turns into extra misses; only the scheduled witness's availability does.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info};

use crate::simchain::chain::SlotResult;
use crate::simchain::sim::Sim;

/// Runs until `shutdown` turns true. `origin` is the instant of the genesis slot.
pub async fn run(sim: Arc<Sim>, origin: Instant, mut shutdown: watch::Receiver<bool>) {
    let (interval, first) = {
        let chain = sim.chain();
        (
            Duration::from_millis(chain.interval_ms),
            chain.head().aslot + 1,
        )
    };
    let mut aslot = first;
    loop {
        let Ok(slots) = u32::try_from(aslot) else {
            return;
        };
        let due = origin + interval * slots;
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let result = sim.chain().process_slot(aslot);
        match result {
            SlotResult::Produced(num) => {
                debug!(block = num, aslot, "produced");
                sim.head.send_replace(num);
            }
            SlotResult::Missed(witness) => info!(%witness, aslot, "slot missed"),
            SlotResult::Empty => debug!(aslot, "nobody scheduled"),
        }
        aslot += 1;
    }
}
