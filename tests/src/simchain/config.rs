//! Command line and TOML configuration of `vwf-simchain`.
//!
//! Two layers, as in STYLE.md: the raw serde structs ([`ConfigFile`]) and the checked runtime
//! [`SimSetup`], where every key string has been parsed and every default filled in.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use serde::Deserialize;
use vwf_shared::{
    Asset, ChainProfile, ChainProperties, PrivateKey, ProfileName, PropsLayout, PublicKey,
    TimePointSec,
};

/// Test-only key #0 of `vectors.json` (the default witness's active key).
const TEST_KEY_0: &str = "VIT84Ceg4qMGbozJgq9524Dc8qFqoLySP5xSihYNdRSdiERFXB5B4";
/// Test-only key #1 of `vectors.json` (the default primary server's signing key).
const TEST_KEY_1: &str = "VIT6qcfB4dwgLg5Geygaf3jP1L6wjyMPaCJheWZ3P74R5L2T5EZwG";
/// Test-only key #2 of `vectors.json` (the default backup server's signing key).
const TEST_KEY_2: &str = "VIT7jmd5okMfRahJwxD8ChpViTPwQdzfbf8qeWkq1bvHjgDcTmBKy";

/// Prefixes accepted in config files whatever the profile, so one file serves every profile.
const KNOWN_PREFIXES: [&str; 2] = ["VIT", "STM"];

/// `vwf-simchain`: a simulated Steem-family node for tests and the demo.
#[derive(Debug, Parser)]
#[command(version, about, after_help = crate::simchain::control::FAULTS_HELP)]
pub struct Cli {
    /// Number of JSON-RPC ports serving the same chain state.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Address to listen on. Default 127.0.0.1 (loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    pub listen: std::net::IpAddr,
    /// Fixed ports for rehearsals: the control API on PORT, node i on PORT+1+i. Default 0: free
    /// ports picked by the system (printed on the first stdout line either way).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Chain profile: VIT, STEEM or HIVE.
    #[arg(long, default_value = "VIT")]
    pub profile: ProfileName,
    /// Block interval in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub block_interval_ms: u64,
    /// Seed of the schedule shuffle and the filler keys.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// TOML file listing `[[witness]]` and `[[server]]` entries.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Time of the genesis block, `YYYY-MM-DDTHH:MM:SS` UTC; default now, rounded down to the
    /// interval. Chain time then advances with the wall clock.
    #[arg(long)]
    pub start_time: Option<String>,
    /// last_irreversible_block_num = head - this (floor 1).
    #[arg(long, default_value_t = 15)]
    pub irreversible_lag: u32,
    /// A witness that misses a slot after producing nothing for more than this many blocks gets
    /// the null key (steemd HF14 shutdown, SPEC §9); 0 disables.
    #[arg(long, default_value_t = 28_800)]
    pub shutdown_after_blocks: u32,
}

/// The TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The witnesses under test.
    #[serde(default)]
    pub witness: Vec<WitnessConfig>,
    /// The block-producing servers; a witness produces if a server with its key is up.
    #[serde(default)]
    pub server: Vec<ServerConfig>,
}

/// One `[[witness]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// Account name.
    pub name: String,
    /// Public active key; updates must be signed by it or by the owner key.
    pub active_key: String,
    /// Public owner key (optional).
    pub owner_key: Option<String>,
    /// Initial block signing key (the null key makes the witness start disabled).
    pub signing_key: String,
    /// Witness url; default "No website yet".
    pub url: Option<String>,
    /// Witness props; default 0.100 core / 131072 (+ interest rate 0 on 3-field profiles).
    pub props: Option<PropsConfig>,
}

/// The `props` table of a witness.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropsConfig {
    /// e.g. "0.100 VIT".
    pub account_creation_fee: String,
    /// In bytes.
    pub maximum_block_size: u32,
    /// Only on 3-field profiles; default 0.
    pub interest_rate: Option<u16>,
}

/// One `[[server]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Name used by the control API (`POST /servers/{name}`).
    pub name: String,
    /// The block signing key this server holds.
    pub signing_key: String,
    /// Whether it is producing at start; default true.
    #[serde(default = "default_up")]
    pub up: bool,
}

fn default_up() -> bool {
    true
}

/// A configured witness, checked.
#[derive(Clone, Debug)]
pub struct WitnessSetup {
    /// Account name.
    pub name: String,
    /// Active authority key.
    pub active_key: PublicKey,
    /// Owner authority key, if given.
    pub owner_key: Option<PublicKey>,
    /// Initial signing key.
    pub signing_key: PublicKey,
    /// Initial url.
    pub url: String,
    /// Initial props.
    pub props: ChainProperties,
}

/// A configured server, checked.
#[derive(Clone, Debug)]
pub struct ServerSetup {
    /// Name.
    pub name: String,
    /// The key it signs blocks with.
    pub signing_key: PublicKey,
    /// Initial state.
    pub up: bool,
}

/// Everything the simulator needs, parsed and defaulted.
#[derive(Clone, Debug)]
pub struct SimSetup {
    /// The chain profile.
    pub profile: ChainProfile,
    /// Number of JSON-RPC ports.
    pub nodes: usize,
    /// Block interval in milliseconds (≥ 10).
    pub block_interval_ms: u64,
    /// Schedule seed.
    pub seed: u64,
    /// Genesis time in Unix milliseconds, a multiple of the interval.
    pub start_time_ms: u64,
    /// LIB lag in blocks.
    pub irreversible_lag: u32,
    /// HF14 shutdown threshold in blocks (0 = off).
    pub shutdown_after_blocks: u32,
    /// Configured witnesses.
    pub witnesses: Vec<WitnessSetup>,
    /// Configured servers.
    pub servers: Vec<ServerSetup>,
}

impl SimSetup {
    /// Builds the setup from the command line, reading the config file if one is named.
    pub fn from_cli(cli: &Cli, now_ms: u64) -> anyhow::Result<Self> {
        let file = match &cli.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => default_config(),
        };
        let profile = ChainProfile::builtin(cli.profile);
        if cli.nodes == 0 || cli.nodes > 64 {
            bail!("--nodes must be between 1 and 64, not {}", cli.nodes);
        }
        if cli.block_interval_ms < 10 {
            bail!("--block-interval-ms must be at least 10");
        }
        let start_time_ms = match &cli.start_time {
            Some(text) => {
                let t = TimePointSec::parse(text).context("--start-time")?;
                u64::from(t.0) * 1000
            }
            None => now_ms - now_ms % cli.block_interval_ms,
        };
        let witnesses = file
            .witness
            .iter()
            .map(|w| witness_setup(w, &profile).with_context(|| format!("witness {:?}", w.name)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if witnesses.len() > crate::simchain::schedule::ROUND_SLOTS {
            bail!("at most 21 witnesses can be configured");
        }
        let servers = file
            .server
            .iter()
            .map(|s| {
                Ok(ServerSetup {
                    name: s.name.clone(),
                    signing_key: parse_key(&s.signing_key)
                        .with_context(|| format!("server {:?} signing_key", s.name))?,
                    up: s.up,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(SimSetup {
            profile,
            nodes: cli.nodes,
            block_interval_ms: cli.block_interval_ms,
            seed: cli.seed,
            start_time_ms,
            irreversible_lag: cli.irreversible_lag,
            shutdown_after_blocks: cli.shutdown_after_blocks,
            witnesses,
            servers,
        })
    }
}

/// Without `--config`: `vit-test-witness` (active = test key 0, signing = test key 1), a
/// `primary` server with key 1 (up) and a `backup` server with key 2 (up).
fn default_config() -> ConfigFile {
    ConfigFile {
        witness: vec![WitnessConfig {
            name: "vit-test-witness".into(),
            active_key: TEST_KEY_0.into(),
            owner_key: None,
            signing_key: TEST_KEY_1.into(),
            url: None,
            props: None,
        }],
        server: vec![
            ServerConfig {
                name: "primary".into(),
                signing_key: TEST_KEY_1.into(),
                up: true,
            },
            ServerConfig {
                name: "backup".into(),
                signing_key: TEST_KEY_2.into(),
                up: true,
            },
        ],
    }
}

/// Parses a public key with any known prefix (the profile's own prefix is checked on the wire).
pub fn parse_key(text: &str) -> anyhow::Result<PublicKey> {
    KNOWN_PREFIXES
        .iter()
        .find_map(|prefix| PublicKey::parse(text, prefix).ok())
        .with_context(|| format!("{text:?} is not a VIT/STM public key"))
}

fn witness_setup(w: &WitnessConfig, profile: &ChainProfile) -> anyhow::Result<WitnessSetup> {
    vwf_shared::names::check_account_name(&w.name)?;
    let props = match &w.props {
        None => default_props(profile),
        Some(p) => ChainProperties {
            account_creation_fee: Asset::parse(&p.account_creation_fee, &profile.core_symbol)?,
            maximum_block_size: p.maximum_block_size,
            interest_rate: match profile.props_layout {
                PropsLayout::TwoFields => None,
                PropsLayout::WithInterestRate { .. } => Some(p.interest_rate.unwrap_or(0)),
            },
        },
    };
    Ok(WitnessSetup {
        name: w.name.clone(),
        active_key: parse_key(&w.active_key).context("active_key")?,
        owner_key: w
            .owner_key
            .as_deref()
            .map(parse_key)
            .transpose()
            .context("owner_key")?,
        signing_key: parse_key(&w.signing_key).context("signing_key")?,
        url: w.url.clone().unwrap_or_else(|| "No website yet".into()),
        props,
    })
}

/// 0.100 core / 131072, plus interest rate 0 on 3-field profiles.
pub fn default_props(profile: &ChainProfile) -> ChainProperties {
    ChainProperties {
        account_creation_fee: Asset {
            amount: 100,
            symbol: profile.core_symbol.clone(),
        },
        maximum_block_size: 131_072,
        interest_rate: match profile.props_layout {
            PropsLayout::TwoFields => None,
            PropsLayout::WithInterestRate { .. } => Some(0),
        },
    }
}

/// The public key of a private key made from 32 seeded bytes (filler witnesses).
pub fn key_from_seed(bytes: [u8; 32]) -> Option<PublicKey> {
    PrivateKey::from_secret(secrecy::SecretBox::new(Box::new(bytes)))
        .ok()
        .map(|k| k.public_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/simchain.example.toml");
        let cli = Cli::parse_from(["vwf-simchain", "--config", path]);
        let setup = SimSetup::from_cli(&cli, 1_700_000_000_000);
        assert!(setup.is_ok_and(|s| s.witnesses.len() == 1 && s.servers.len() == 2));
    }

    #[test]
    fn config_rejects_unknown_key() {
        let text = "[[server]]\nname = \"a\"\nsigning_key = \"x\"\ncolour = 1\n";
        assert!(toml::from_str::<ConfigFile>(text).is_err());
    }

    #[test]
    fn default_config_parses_for_every_profile() {
        for profile in ProfileName::ALL {
            let cli = Cli::parse_from(["vwf-simchain", "--profile", profile.as_str()]);
            let Ok(setup) = SimSetup::from_cli(&cli, 1_700_000_000_123) else {
                panic!("{profile}: default config refused");
            };
            assert_eq!(setup.start_time_ms % 3000, 0);
            assert!(1_700_000_000_123 - setup.start_time_ms < 3000);
            assert_eq!(setup.witnesses.len(), 1);
        }
    }
}
