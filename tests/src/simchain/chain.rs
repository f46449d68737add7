//! The chain state: blocks, witnesses, servers, pending transactions, and block production with
//! steemd's miss accounting (SPEC §5, §8, §9). Pure: no I/O, no clock; the producer loop feeds
//! it one absolute slot at a time, so it is unit-tested without sockets or sleeps.

use std::collections::HashMap;

use rand::{Rng, SeedableRng, rngs::StdRng};
use vwf_shared::{
    BlockId, ChainProfile, ChainProperties, Digest, Operation, PublicKey, SignedTransaction,
};

use crate::simchain::config::{SimSetup, key_from_seed};
use crate::simchain::schedule::{ROUND_SLOTS, is_round_boundary, scheduled_witness, shuffle_round};

/// Name of the witness credited with the genesis block (as in steemd).
pub const GENESIS_WITNESS: &str = "initminer";

/// One witness and its account authorities.
#[derive(Clone, Debug)]
pub struct Witness {
    /// Object id (`2.3.<n>` style ids are not simulated; a plain counter).
    pub id: u32,
    /// Account name.
    pub name: String,
    /// Generated to fill the round; always produces.
    pub filler: bool,
    /// Active authority key.
    pub active_key: PublicKey,
    /// Owner authority key (fillers and unset: none).
    pub owner_key: Option<PublicKey>,
    /// Current block signing key.
    pub signing_key: PublicKey,
    /// Current url.
    pub url: String,
    /// Current props.
    pub props: ChainProperties,
    /// Lifetime missed-slot counter.
    pub total_missed: u32,
    /// Last block this witness produced.
    pub last_confirmed_block_num: u32,
    /// Absolute slot of that block.
    pub last_aslot: u64,
}

/// A block producer of the simulation.
#[derive(Clone, Debug)]
pub struct Server {
    /// Name used by the control API.
    pub name: String,
    /// The key it holds.
    pub signing_key: PublicKey,
    /// Whether it is producing.
    pub up: bool,
}

/// A transaction in a block or in the pending set.
#[derive(Clone, Debug)]
pub struct ChainTx {
    /// Transaction id (hex).
    pub id: String,
    /// The normalised legacy JSON, as served by `get_block`.
    pub json: serde_json::Value,
    /// The parsed transaction.
    pub signed: SignedTransaction,
}

/// A produced block.
#[derive(Clone, Debug)]
pub struct Block {
    /// Block number.
    pub num: u32,
    /// Block id: number big-endian then hash bytes.
    pub id: BlockId,
    /// Previous block's id (zero for block 1).
    pub previous: BlockId,
    /// Slot time in Unix milliseconds.
    pub time_ms: u64,
    /// Absolute slot number.
    pub aslot: u64,
    /// Producer.
    pub witness: String,
    /// Included transactions, in order.
    pub transactions: Vec<ChainTx>,
}

impl Block {
    /// The block time in whole seconds, as chain JSON shows it.
    pub fn time_sec(&self) -> u32 {
        u32::try_from(self.time_ms / 1000).unwrap_or(u32::MAX)
    }
}

/// A missed slot, recorded when the next block made it visible.
#[derive(Clone, Debug)]
pub struct Miss {
    /// Slot time in Unix milliseconds.
    pub slot_time_ms: u64,
    /// The block whose application counted the miss.
    pub block_num: u32,
    /// The witness that missed.
    pub witness: String,
}

/// An applied `witness_update`.
#[derive(Clone, Debug)]
pub struct UpdateRecord {
    /// Block that included it.
    pub block_num: u32,
    /// Transaction id.
    pub tx_id: String,
    /// Witness account.
    pub owner: String,
    /// New signing key.
    pub signing_key: PublicKey,
}

/// What happened to a transaction accepted into the pending set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxOutcome {
    /// Included in block `block_num` at position `trx_num`.
    Included {
        /// Block number.
        block_num: u32,
        /// Index in the block.
        trx_num: usize,
    },
    /// Expired before a block included it.
    Expired,
}

/// What processing one slot did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotResult {
    /// A block was produced.
    Produced(u32),
    /// The scheduled witness could not produce; the miss shows at the next block.
    Missed(String),
    /// Nobody is scheduled.
    Empty,
}

/// The whole simulated chain.
#[derive(Clone, Debug)]
pub struct ChainState {
    /// The chain profile.
    pub profile: ChainProfile,
    /// Block interval in milliseconds.
    pub interval_ms: u64,
    /// Genesis time in Unix milliseconds.
    pub start_ms: u64,
    seed: u64,
    irreversible_lag: u32,
    shutdown_after_blocks: u32,
    /// Witnesses, configured first, then fillers.
    pub witnesses: Vec<Witness>,
    /// Servers.
    pub servers: Vec<Server>,
    /// All blocks, block `n` at index `n - 1`.
    pub blocks: Vec<Block>,
    /// The current shuffled order.
    pub schedule: Vec<String>,
    recent_slots_filled: u128,
    /// Accepted, not yet included.
    pub pending: Vec<ChainTx>,
    /// Outcomes by transaction id.
    pub outcomes: HashMap<String, TxOutcome>,
    /// Misses in the order they became visible.
    pub misses: Vec<Miss>,
    /// Applied updates.
    pub updates: Vec<UpdateRecord>,
}

impl ChainState {
    /// Genesis: block 1 at the start time, configured witnesses plus fillers up to 21.
    pub fn new(setup: &SimSetup) -> Self {
        let mut rng = StdRng::seed_from_u64(setup.seed);
        let mut witnesses: Vec<Witness> = setup
            .witnesses
            .iter()
            .map(|w| Witness {
                id: 0,
                name: w.name.clone(),
                filler: false,
                active_key: w.active_key,
                owner_key: w.owner_key,
                signing_key: w.signing_key,
                url: w.url.clone(),
                props: w.props.clone(),
                total_missed: 0,
                last_confirmed_block_num: 0,
                last_aslot: 0,
            })
            .collect();
        let mut filler = 0;
        while witnesses.len() < ROUND_SLOTS {
            filler += 1;
            let key = loop {
                if let Some(key) = key_from_seed(rng.random()) {
                    break key;
                }
            };
            witnesses.push(Witness {
                id: 0,
                name: format!("sim-filler-{filler:02}"),
                filler: true,
                active_key: key,
                owner_key: None,
                signing_key: key,
                url: "https://filler.invalid".into(),
                props: crate::simchain::config::default_props(&ChainProfile::builtin(
                    setup.profile.name,
                )),
                total_missed: 0,
                last_confirmed_block_num: 0,
                last_aslot: 0,
            });
        }
        for (i, w) in witnesses.iter_mut().enumerate() {
            w.id = u32::try_from(i).unwrap_or(u32::MAX);
        }
        let servers = setup
            .servers
            .iter()
            .map(|s| Server {
                name: s.name.clone(),
                signing_key: s.signing_key,
                up: s.up,
            })
            .collect();
        let mut state = ChainState {
            profile: setup.profile.clone(),
            interval_ms: setup.block_interval_ms,
            start_ms: setup.start_time_ms,
            seed: setup.seed,
            irreversible_lag: setup.irreversible_lag,
            shutdown_after_blocks: setup.shutdown_after_blocks,
            witnesses,
            servers,
            blocks: Vec::new(),
            schedule: Vec::new(),
            recent_slots_filled: u128::MAX,
            pending: Vec::new(),
            outcomes: HashMap::new(),
            misses: Vec::new(),
            updates: Vec::new(),
        };
        state.push_block(0, GENESIS_WITNESS.into(), Vec::new());
        state.recompute_schedule();
        state
    }

    /// The head block (there is always one: genesis).
    pub fn head(&self) -> &Block {
        // `new` pushes the genesis block and blocks are never removed.
        &self.blocks[self.blocks.len() - 1]
    }

    /// Head block number.
    pub fn head_num(&self) -> u32 {
        self.head().num
    }

    /// `last_irreversible_block_num`: head − lag, floor 1.
    pub fn last_irreversible(&self) -> u32 {
        self.head_num().saturating_sub(self.irreversible_lag).max(1)
    }

    /// `recent_slots_filled` (u128 bit set of the last 128 slots).
    pub fn recent_slots_filled(&self) -> u128 {
        self.recent_slots_filled
    }

    /// The block of that number, if produced.
    pub fn block(&self, num: u32) -> Option<&Block> {
        let index = usize::try_from(num.checked_sub(1)?).ok()?;
        self.blocks.get(index)
    }

    /// The witness of that name.
    pub fn witness(&self, name: &str) -> Option<&Witness> {
        self.witnesses.iter().find(|w| w.name == name)
    }

    /// Slot time of absolute slot `aslot` in Unix milliseconds.
    pub fn slot_time_ms(&self, aslot: u64) -> u64 {
        self.start_ms + aslot * self.interval_ms
    }

    /// Whether a witness with this key can produce now: a filler, or an up server holds the key.
    fn can_produce(&self, witness: &Witness) -> bool {
        witness.filler
            || (!witness.signing_key.is_null()
                && self
                    .servers
                    .iter()
                    .any(|s| s.up && s.signing_key == witness.signing_key))
    }

    /// Processes absolute slot `aslot` (each slot once, in order, all after the head's slot).
    pub fn process_slot(&mut self, aslot: u64) -> SlotResult {
        let Some(name) = scheduled_witness(&self.schedule, aslot).map(str::to_owned) else {
            return SlotResult::Empty;
        };
        let able = self.witness(&name).is_some_and(|w| self.can_produce(w));
        if !able {
            return SlotResult::Missed(name);
        }
        let head_aslot = self.head().aslot;
        let new_num = self.head_num() + 1;
        // steemd update_global_dynamic_data: every skipped slot is a miss of its witness, unless
        // that witness signed the new block.
        let skipped = aslot.saturating_sub(head_aslot + 1);
        for missed in head_aslot + 1..aslot {
            let Some(who) = scheduled_witness(&self.schedule, missed).map(str::to_owned) else {
                continue;
            };
            if who == name {
                continue;
            }
            let slot_time_ms = self.slot_time_ms(missed);
            let head_num = self.head_num();
            let shutdown_after = self.shutdown_after_blocks;
            if let Some(w) = self.witnesses.iter_mut().find(|w| w.name == who) {
                w.total_missed += 1;
                if shutdown_after > 0
                    && head_num.saturating_sub(w.last_confirmed_block_num) > shutdown_after
                {
                    w.signing_key = PublicKey::NULL;
                }
            }
            self.misses.push(Miss {
                slot_time_ms,
                block_num: new_num,
                witness: who,
            });
        }
        self.recent_slots_filled = if skipped + 1 >= 128 {
            1
        } else {
            (self.recent_slots_filled << (skipped + 1)) | 1
        };
        let block_sec = self.slot_time_ms(aslot) / 1000;
        let mut included = Vec::new();
        for tx in std::mem::take(&mut self.pending) {
            if u64::from(tx.signed.transaction.expiration.0) <= block_sec {
                self.outcomes.insert(tx.id.clone(), TxOutcome::Expired);
                continue;
            }
            self.outcomes.insert(
                tx.id.clone(),
                TxOutcome::Included {
                    block_num: new_num,
                    trx_num: included.len(),
                },
            );
            self.apply_updates(&tx, new_num);
            included.push(tx);
        }
        self.push_block(aslot, name.clone(), included);
        if let Some(w) = self.witnesses.iter_mut().find(|w| w.name == name) {
            w.last_confirmed_block_num = new_num;
            w.last_aslot = aslot;
        }
        if is_round_boundary(new_num) {
            self.recompute_schedule();
        }
        SlotResult::Produced(new_num)
    }

    fn apply_updates(&mut self, tx: &ChainTx, block_num: u32) {
        for op in &tx.signed.transaction.operations {
            let Some(w) = self.witnesses.iter_mut().find(|w| w.name == op.owner()) else {
                continue;
            };
            match op {
                Operation::WitnessUpdate(op) => {
                    w.url = op.url.clone();
                    w.props = op.props.clone();
                    w.signing_key = op.block_signing_key;
                }
                Operation::WitnessSetProperties(op) => {
                    // The evaluator's `'key' does not match witness signing key.` check, again at
                    // inclusion: an earlier transaction in the block may have changed the key.
                    if w.signing_key != op.current_key {
                        continue;
                    }
                    w.signing_key = op.new_signing_key;
                }
            }
            self.updates.push(UpdateRecord {
                block_num,
                tx_id: tx.id.clone(),
                owner: op.owner().to_owned(),
                signing_key: op.new_signing_key(),
            });
        }
    }

    fn push_block(&mut self, aslot: u64, witness: String, transactions: Vec<ChainTx>) {
        let previous = self.blocks.last().map_or(BlockId([0; 20]), |b| b.id);
        let num = previous.block_num() + 1;
        let hash = Digest::sha256(&[&previous.0, &num.to_be_bytes(), witness.as_bytes()]);
        let mut id = [0u8; 20];
        id[..4].copy_from_slice(&num.to_be_bytes());
        id[4..].copy_from_slice(&hash.0[..16]);
        let time_ms = self.slot_time_ms(aslot);
        self.blocks.push(Block {
            num,
            id: BlockId(id),
            previous,
            time_ms,
            aslot,
            witness,
            transactions,
        });
    }

    fn recompute_schedule(&mut self) {
        let eligible: Vec<String> = self
            .witnesses
            .iter()
            .filter(|w| !w.signing_key.is_null())
            .map(|w| w.name.clone())
            .collect();
        self.schedule = shuffle_round(&eligible, self.seed, self.head_num());
    }

    /// Sets a server up or down; false if there is no such server.
    pub fn set_server(&mut self, name: &str, up: bool) -> bool {
        self.servers
            .iter_mut()
            .find(|s| s.name == name)
            .map(|s| s.up = up)
            .is_some()
    }

    /// Whether a transaction id is already included or pending (the duplicate check).
    pub fn is_known_tx(&self, id: &str) -> bool {
        self.pending.iter().any(|t| t.id == id)
            || matches!(self.outcomes.get(id), Some(TxOutcome::Included { .. }))
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
