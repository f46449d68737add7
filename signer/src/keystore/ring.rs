//! The keys one age file holds, and which account each one signs for.
//!
//! In active-key mode the file holds one WIF: the account's active key. In signing-key mode
//! it holds the servers' block signing keys, one WIF per line (blank lines and `#` comments
//! allowed), and no active key. Which key is which follows from the policy alone, so `serve`,
//! `dry-run`, `witness` and `check-config` agree on it without asking the chain: a key the
//! policy names as a server of a signing-key account is a signing key; at most one other key
//! may be held, and only when an active-key account needs it.

use vwf_shared::keys::MemoryLockError;
use vwf_shared::{PrivateKey, PublicKey};

use crate::input::wif_from_bytes;
use crate::policy::{AccountPolicy, KeyMode, Policy, Refusal, Rule};

/// Most keys one file may hold: a primary and a few backups per account.
pub const MAX_KEYS: usize = 16;

/// Private keys with their public keys (private halves redacted in `Debug`, wiped on drop).
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<(PublicKey, PrivateKey)>,
}

impl KeyRing {
    /// One key.
    pub fn single(key: PrivateKey) -> Self {
        KeyRing {
            keys: vec![(key.public_key(), key)],
        }
    }

    /// Parses a decrypted age file: one WIF per line, blank lines and `#` comments skipped.
    /// Errors name the line number and never the line.
    pub fn parse(plaintext: &[u8]) -> Result<Self, String> {
        let mut keys: Vec<(PublicKey, PrivateKey)> = Vec::new();
        for (index, line) in plaintext.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = line.trim_ascii();
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            let key = wif_from_bytes(line).map_err(|e| format!("line {}: {e}", index + 1))?;
            let public = key.public_key();
            if keys.iter().any(|(p, _)| *p == public) {
                return Err(format!("line {}: the same key is listed twice", index + 1));
            }
            if keys.len() == MAX_KEYS {
                return Err(format!("more than {MAX_KEYS} keys"));
            }
            keys.push((public, key));
        }
        if keys.is_empty() {
            return Err("holds no key".into());
        }
        Ok(KeyRing { keys })
    }

    /// The only key, for an active-key file; an error when the file holds several.
    pub fn into_single(mut self) -> Result<(PrivateKey, PublicKey), String> {
        match self.keys.len() {
            1 => self
                .keys
                .pop()
                .map(|(public, key)| (key, public))
                .ok_or_else(|| "holds no key".into()),
            n => Err(format!(
                "holds {n} keys where one active key is expected (several keys are for signing-key mode)"
            )),
        }
    }

    /// Locks every key's page in RAM; the first failure, if any (the keys still work).
    pub fn lock_memory(&mut self) -> Option<MemoryLockError> {
        let mut first = None;
        for (_, key) in &mut self.keys {
            if let Err(error) = key.lock_memory() {
                first.get_or_insert(error);
            }
        }
        first
    }

    /// The public keys, in file order.
    pub fn public_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.iter().map(|(p, _)| p)
    }

    /// The private key of `public`, if held.
    pub fn get(&self, public: &PublicKey) -> Option<&PrivateKey> {
        self.keys.iter().find(|(p, _)| p == public).map(|(_, k)| k)
    }

    /// Sorts the keys by the policy: the active key (when an active-key account needs one)
    /// and, for each signing-key account, the servers' keys held. Refuses a file whose keys do
    /// not fit: an active-key account needs exactly one key that is no server's, and a file for
    /// signing-key accounts alone may hold no other key (the active key stays off the host).
    pub fn assign(self, policy: &Policy, prefix: &str) -> Result<AssignedKeys, String> {
        let is_server_key = |key: &PublicKey| {
            policy
                .accounts()
                .filter(|a| a.mode == KeyMode::SigningKey)
                .any(|a| a.server_keys().any(|s| s.key == *key))
        };
        let others: Vec<&PublicKey> = self.public_keys().filter(|k| !is_server_key(k)).collect();
        let needs_active = policy.accounts().any(|a| a.mode == KeyMode::ActiveKey);
        let text = |key: &PublicKey| key.to_string_with_prefix(prefix);
        let active = match (needs_active, others.as_slice()) {
            (true, [one]) => Some(**one),
            (true, []) => {
                return Err(
                    "holds no active key, which the active-key account(s) need (every key in it \
                     is a server's signing key of a signing-key account)"
                        .into(),
                );
            }
            (true, many) => {
                return Err(format!(
                    "holds {} keys that are no signing-key account's server ({}): an active-key \
                     account needs exactly one, its active key",
                    many.len(),
                    many.iter().map(|k| text(k)).collect::<Vec<_>>().join(", ")
                ));
            }
            (false, []) => None,
            (false, some) => {
                return Err(format!(
                    "holds {} that no account names as a server or target ({}); in signing-key \
                     mode the file holds only the servers' signing keys, never the active key",
                    if some.len() == 1 { "a key" } else { "keys" },
                    some.iter().map(|k| text(k)).collect::<Vec<_>>().join(", ")
                ));
            }
        };
        Ok(AssignedKeys { ring: self, active })
    }
}

/// Held keys sorted by the policy ([`KeyRing::assign`]): which one signs what.
#[derive(Debug)]
pub struct AssignedKeys {
    ring: KeyRing,
    active: Option<PublicKey>,
}

impl AssignedKeys {
    /// The key that signs `witness_update` for the active-key accounts, if any account is one.
    pub fn active(&self) -> Option<&PublicKey> {
        self.active.as_ref()
    }

    /// The held keys.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// The held signing keys of a signing-key account, in the policy's order.
    pub fn servers_held<'a>(
        &'a self,
        account: &'a AccountPolicy,
    ) -> impl Iterator<Item = &'a crate::policy::NamedTarget> {
        account
            .server_keys()
            .filter(|s| self.ring.get(&s.key).is_some())
    }

    /// The held signing keys of a signing-key account as "KEY (name)", for the status and logs.
    pub fn servers_held_text(&self, account: &AccountPolicy, prefix: &str) -> Vec<String> {
        self.servers_held(account)
            .map(|s| format!("{} ({})", s.key.to_string_with_prefix(prefix), s.name))
            .collect()
    }

    /// The public key that signs a change of `account` while the chain holds `on_chain`: the
    /// active key, or in signing-key mode `on_chain` itself when it is a server key the policy
    /// names for the account and its private key is held.
    pub fn signer_for(
        &self,
        account: &AccountPolicy,
        on_chain: &PublicKey,
        prefix: &str,
    ) -> Result<PublicKey, Refusal> {
        let not_held = |why: String| Refusal::new(Rule::SigningKeyNotHeld, why);
        match account.mode {
            KeyMode::ActiveKey => self.active.ok_or_else(|| {
                not_held(format!(
                    "{}: this signer holds no active key",
                    account.account
                ))
            }),
            KeyMode::SigningKey => {
                let held = account.server_keys().any(|s| s.key == *on_chain)
                    && self.ring.get(on_chain).is_some();
                if held {
                    Ok(*on_chain)
                } else {
                    Err(not_held(format!(
                        "{}: the chain holds signing key {}, and in signing-key mode only the current \
                         signing key can sign the change; this signer holds no private key for it that \
                         the policy names as a server of the account (add it as [[account.target]] or \
                         [[account.server]] and to the age file, or change it with `vwf-signer witness \
                         enable --active-key`)",
                        account.account,
                        on_chain.to_string_with_prefix(prefix)
                    )))
                }
            }
        }
    }

    /// The private key for a public key [`AssignedKeys::signer_for`] returned.
    pub fn private(&self, public: &PublicKey) -> Option<&PrivateKey> {
        self.ring.get(public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wif(seed: &str) -> String {
        let mut bytes = [7u8; 32];
        for (b, s) in bytes.iter_mut().zip(seed.bytes()) {
            *b ^= s;
        }
        PrivateKey::from_secret(secrecy::SecretBox::new(Box::new(bytes)))
            .map(|k| k.to_wif().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn parse_reads_lines_comments_and_refuses_bad_ones_without_echoing_them() {
        let text = format!("# primary\n{}\r\n\n  {}  \n", wif("a"), wif("b"));
        let ring = KeyRing::parse(text.as_bytes()).map_err(|e| e.to_string());
        assert_eq!(ring.map(|r| r.public_keys().count()), Ok(2));
        let secret_looking = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";
        let error = KeyRing::parse(format!("{}\n{secret_looking}x\n", wif("a")).as_bytes())
            .err()
            .unwrap_or_default();
        assert!(error.starts_with("line 2:"), "{error}");
        assert!(!error.contains(secret_looking), "{error}");
        let twice = format!("{}\n{}\n", wif("a"), wif("a"));
        assert_eq!(
            KeyRing::parse(twice.as_bytes()).err().as_deref(),
            Some("line 2: the same key is listed twice")
        );
        assert_eq!(
            KeyRing::parse(b"# nothing\n\n").err().as_deref(),
            Some("holds no key")
        );
        let many: String = (0..=MAX_KEYS).map(|i| wif(&i.to_string()) + "\n").collect();
        assert!(KeyRing::parse(many.as_bytes()).is_err());
    }

    fn policy(mode: &str, keys: &[&str]) -> Policy {
        let profile = vwf_shared::ChainProfile::builtin(vwf_shared::ProfileName::Steem);
        let prefix = profile.address_prefix.clone();
        let targets: String = keys
            .iter()
            .map(|seed| {
                let public = KeyRing::parse(wif(seed).as_bytes())
                    .ok()
                    .and_then(|r| {
                        r.public_keys()
                            .next()
                            .map(|k| k.to_string_with_prefix(&prefix))
                    })
                    .unwrap_or_default();
                format!("[[target]]\nname = \"{seed}\"\nkey = \"{public}\"\n")
            })
            .collect();
        let text = format!(
            "name = \"wit\"\nmode = \"{mode}\"\n{targets}[[client]]\nidentity = \"m\"\nmay = [\"switch\"]\n"
        );
        let raw: crate::policy::AccountConfig =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        Policy::new([raw.build(&profile).unwrap_or_else(|e| panic!("{e}"))])
    }

    fn ring(seeds: &[&str]) -> KeyRing {
        let text: String = seeds.iter().map(|s| wif(s) + "\n").collect();
        KeyRing::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn keys_are_sorted_by_the_policy_and_strays_are_refused() {
        // Signing-key mode: every key must be a server's; the active key has no place.
        let signing = policy("signing-key", &["p", "b"]);
        let assigned = ring(&["p", "b"]).assign(&signing, "STM");
        assert!(
            assigned.as_ref().is_ok_and(|a| a.active().is_none()),
            "{assigned:?}"
        );
        let stray = ring(&["p", "active"]).assign(&signing, "STM").err();
        assert!(
            stray
                .as_deref()
                .is_some_and(|e| e.contains("never the active key")),
            "{stray:?}"
        );
        // Active-key mode: exactly one key.
        let active = policy("active-key", &["b"]);
        let one = ring(&["active"]).assign(&active, "STM");
        assert!(one.as_ref().is_ok_and(|a| a.active().is_some()), "{one:?}");
        let two = ring(&["active", "other"]).assign(&active, "STM").err();
        assert!(
            two.as_deref().is_some_and(|e| e.contains("exactly one")),
            "{two:?}"
        );
    }

    #[test]
    fn debug_shows_public_keys_only() -> Result<(), String> {
        let secret = wif("a");
        let ring = KeyRing::parse(secret.as_bytes())?;
        let shown = format!("{ring:?}");
        assert!(!shown.contains(&secret), "{shown}");
        assert!(shown.contains("PrivateKey([REDACTED])"), "{shown}");
        Ok(())
    }
}
