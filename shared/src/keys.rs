//! Keys (SPEC §2): WIF private keys, prefixed public keys and the null key.
//!
//! A [`PrivateKey`] keeps its 32 secret bytes in a [`SecretBox`], wiped on drop; its `Debug` is
//! redacted and it has no `Display`, `Clone` or `Serialize`. The only ways to the bytes are
//! [`PrivateKey::sign_digest`] (in [`crate::signature`]) and the explicit [`PrivateKey::to_wif`].
//! A long-lived key can pin its secret's page in RAM with [`PrivateKey::lock_memory`].

use std::fmt;

use ripemd::Ripemd160;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::KeyError;

/// The WIF version byte for Steem-family private keys.
const WIF_VERSION: u8 = 0x80;

/// A secp256k1 private key. Wiped on drop, never printed.
pub struct PrivateKey {
    // Declared before `lock` so that, even without the explicit `Drop` below, the secret would be
    // wiped before its page is unlocked. `Drop` goes further: wipe, unlock, and only then free.
    secret: SecretBox<[u8; 32]>,
    /// Keeps the secret's page(s) locked in RAM (mlock) while the key lives; see `lock_memory`.
    /// `region::LockGuard` is `Send + Sync` in region 4.0.1, so `PrivateKey` stays both (a test
    /// below asserts it).
    lock: Option<region::LockGuard>,
}

/// The secret's page could not be locked in RAM (mlock refused).
///
/// Usually RLIMIT_MEMLOCK is too low (systemd `LimitMEMLOCK=`, `ulimit -l`) and the process lacks
/// CAP_IPC_LOCK. The key still works; it may just be written to swap.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot lock the key in RAM (mlock): {reason}; raise RLIMIT_MEMLOCK (systemd LimitMEMLOCK=) or grant CAP_IPC_LOCK"
)]
pub struct MemoryLockError {
    /// What the OS said.
    pub reason: String,
}

impl PrivateKey {
    /// Decodes a WIF strictly (SPEC §2.1): 37 bytes, version 0x80, double-SHA256 checksum,
    /// 1 ≤ secret < n. Surrounding whitespace is ignored; nothing of the input reaches an error.
    pub fn from_wif(wif: &str) -> Result<Self, KeyError> {
        let decoded = Zeroizing::new(
            bs58::decode(wif.trim())
                .into_vec()
                .map_err(|_| KeyError::WifBase58)?,
        );
        if decoded.len() != 37 {
            return Err(KeyError::WifLength(decoded.len()));
        }
        if decoded[0] != WIF_VERSION {
            return Err(KeyError::WifVersion(decoded[0]));
        }
        let checksum = Sha256::digest(Sha256::digest(&decoded[..33]));
        if checksum[..4] != decoded[33..] {
            return Err(KeyError::WifChecksum);
        }
        let secret = SecretBox::init_with_mut(|bytes: &mut [u8; 32]| {
            bytes.copy_from_slice(&decoded[1..33]);
        });
        Self::from_secret(secret)
    }

    /// Wraps 32 secret bytes, refusing 0 and values ≥ n.
    pub fn from_secret(secret: SecretBox<[u8; 32]>) -> Result<Self, KeyError> {
        let key = PrivateKey { secret, lock: None };
        // Validate once here so every later use of the bytes can rely on it.
        key.with_secret_key(|_| ())?;
        Ok(key)
    }

    /// Encodes the key as WIF. The result is the secret: it is wiped when dropped.
    pub fn to_wif(&self) -> Zeroizing<String> {
        let mut payload = Zeroizing::new([0u8; 37]);
        payload[0] = WIF_VERSION;
        payload[1..33].copy_from_slice(self.secret.expose_secret());
        let checksum = Sha256::digest(Sha256::digest(&payload[..33]));
        payload[33..].copy_from_slice(&checksum[..4]);
        Zeroizing::new(bs58::encode(&payload[..]).into_string())
    }

    /// The matching compressed public key.
    pub fn public_key(&self) -> PublicKey {
        // from_secret validated the scalar, so the closure always runs; the fallback is the null
        // key, which no account can have as its active key, so a mistake could not sign anything.
        self.with_secret_key(|sk| PublicKey(sk.public_key().serialize()))
            .unwrap_or(PublicKey::NULL)
    }

    /// Locks the page(s) holding the secret in RAM so they are never swapped out.
    ///
    /// The secret lives in its own heap allocation, so its address does not change when the key
    /// is moved. Calling this again once locked does nothing. On error the key is unchanged and
    /// still usable; callers that can run without the lock should log the error and go on.
    ///
    /// Caveat: mlock works on whole pages and does not nest, so unlocking (when this key drops)
    /// also unlocks anything else on the same page.
    pub fn lock_memory(&mut self) -> Result<(), MemoryLockError> {
        if self.lock.is_some() {
            return Ok(());
        }
        let secret: &[u8; 32] = self.secret.expose_secret();
        let guard = region::lock(secret.as_ptr(), secret.len()).map_err(|e| MemoryLockError {
            reason: e.to_string(),
        })?;
        self.lock = Some(guard);
        Ok(())
    }

    /// Whether [`PrivateKey::lock_memory`] succeeded for this key.
    pub fn is_memory_locked(&self) -> bool {
        self.lock.is_some()
    }

    /// Runs `f` with a libsecp256k1 key built from the secret, then erases that copy.
    pub(crate) fn with_secret_key<R>(
        &self,
        f: impl FnOnce(&secp256k1::SecretKey) -> R,
    ) -> Result<R, KeyError> {
        let mut sk = secp256k1::SecretKey::from_secret_bytes(*self.secret.expose_secret())
            .map_err(|_| KeyError::WifScalar)?;
        let result = f(&sk);
        sk.non_secure_erase();
        Ok(result)
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        // Wipe while the page is still locked and allocated, then unlock; the SecretBox frees
        // (and wipes again) afterwards. Unlocking after the free could hit an unmapped page.
        self.secret.expose_secret_mut().zeroize();
        drop(self.lock.take());
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey([REDACTED])")
    }
}

/// A public key: 33 bytes, either a compressed secp256k1 point or the null key (33 zero bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; 33]);

impl PublicKey {
    /// The chain's null key: 33 zero bytes, not a curve point. A witness with this signing key
    /// is left out of the schedule (SPEC §2.3).
    pub const NULL: PublicKey = PublicKey([0; 33]);

    /// Accepts the null key or a valid compressed point.
    pub fn from_bytes(bytes: [u8; 33]) -> Result<Self, KeyError> {
        let key = PublicKey(bytes);
        if !key.is_null() && secp256k1::PublicKey::from_slice(&bytes).is_err() {
            return Err(KeyError::PublicKeyPoint);
        }
        Ok(key)
    }

    /// Whether this is the null key.
    pub fn is_null(&self) -> bool {
        *self == Self::NULL
    }

    /// The 33 bytes written on the wire.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }

    /// Parses `<prefix><base58(key33 ‖ ripemd160(key33)[..4])>` (SPEC §2.2).
    pub fn parse(text: &str, prefix: &str) -> Result<Self, KeyError> {
        let body = text
            .strip_prefix(prefix)
            .ok_or_else(|| KeyError::PublicKeyPrefix {
                expected: prefix.to_owned(),
            })?;
        let decoded = bs58::decode(body)
            .into_vec()
            .map_err(|_| KeyError::PublicKeyBase58)?;
        if decoded.len() != 37 {
            return Err(KeyError::PublicKeyLength(decoded.len()));
        }
        let mut bytes = [0u8; 33];
        bytes.copy_from_slice(&decoded[..33]);
        if checksum(&bytes) != decoded[33..] {
            return Err(KeyError::PublicKeyChecksum);
        }
        Self::from_bytes(bytes)
    }

    /// The string form with the given prefix.
    pub fn to_string_with_prefix(&self, prefix: &str) -> String {
        let mut payload = [0u8; 37];
        payload[..33].copy_from_slice(&self.0);
        payload[33..].copy_from_slice(&checksum(&self.0));
        format!("{prefix}{}", bs58::encode(payload).into_string())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_null() {
            f.write_str("PublicKey(null)")
        } else {
            write!(f, "PublicKey({})", hex::encode(self.0))
        }
    }
}

/// The first 4 bytes of RIPEMD160(key33).
fn checksum(key: &[u8; 33]) -> [u8; 4] {
    let hash = Ripemd160::digest(key);
    [hash[0], hash[1], hash[2], hash[3]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WIF0: &str = "5K5WrHCEqHdoiaWjbwBedbYnu9vA8BUPBMRsbkggk2FbhTsFVJP";

    #[test]
    fn debug_never_shows_the_secret() {
        let key = PrivateKey::from_wif(WIF0).ok();
        let shown = format!("{key:?}");
        assert!(shown.contains("REDACTED"));
        assert!(!shown.contains("a6465f50"), "{shown}");
        assert!(!shown.contains(WIF0));
    }

    #[test]
    fn wif_round_trips() {
        let key = PrivateKey::from_wif(WIF0).ok();
        assert_eq!(key.map(|k| k.to_wif().to_string()).as_deref(), Some(WIF0));
    }

    #[test]
    fn refuses_zero_and_order_secrets() {
        let zero = SecretBox::new(Box::new([0u8; 32]));
        assert_eq!(
            PrivateKey::from_secret(zero).err(),
            Some(KeyError::WifScalar)
        );
        let n = hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
            .unwrap_or_default();
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&n);
        let order = SecretBox::new(Box::new(bytes));
        assert_eq!(
            PrivateKey::from_secret(order).err(),
            Some(KeyError::WifScalar)
        );
    }

    #[test]
    fn null_key_parses_with_any_prefix_and_is_null() {
        let key = PublicKey::parse("VIT1111111111111111111111111111111114T1Anm", "VIT");
        assert_eq!(key, Ok(PublicKey::NULL));
        assert_eq!(
            PublicKey::NULL.to_string_with_prefix("STM"),
            "STM1111111111111111111111111111111114T1Anm"
        );
    }

    #[test]
    fn refuses_a_non_point() {
        let mut bytes = [0u8; 33];
        bytes[0] = 0x02;
        bytes[32] = 0x05; // x = 5 is not on secp256k1
        let text = PublicKey(bytes).to_string_with_prefix("VIT");
        assert_eq!(
            PublicKey::parse(&text, "VIT"),
            Err(KeyError::PublicKeyPoint)
        );
    }

    #[test]
    fn private_key_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PrivateKey>();
    }

    #[test]
    fn lock_memory_locks_and_keeps_the_key_usable() {
        let Ok(mut key) = PrivateKey::from_wif(WIF0) else {
            panic!("vector WIF must parse");
        };
        let public = key.public_key();
        match key.lock_memory() {
            Ok(()) => assert!(key.is_memory_locked()),
            // A CI sandbox may forbid mlock entirely; the error must then say what to fix.
            Err(error) => assert!(error.to_string().contains("RLIMIT_MEMLOCK"), "{error}"),
        }
        assert_eq!(key.public_key(), public);
        assert!(key.lock_memory().is_ok() || !key.is_memory_locked());
        assert_eq!(format!("{key:?}"), "PrivateKey([REDACTED])");
    }

    /// Runs only inside the child started by `lock_memory_reports_a_clear_error_under_zero_memlock`.
    #[test]
    fn lock_memory_child() {
        if std::env::var_os("VWF_LOCK_MEMORY_CHILD").is_none() {
            return;
        }
        let Ok(mut key) = PrivateKey::from_wif(WIF0) else {
            panic!("vector WIF must parse");
        };
        match key.lock_memory() {
            Ok(()) => println!("LOCKED"),
            Err(error) => println!("REFUSED {error}"),
        }
    }

    #[test]
    fn lock_memory_reports_a_clear_error_under_zero_memlock() {
        let Ok(exe) = std::env::current_exe() else {
            panic!("no current exe");
        };
        // `ulimit -l 0` in a shell, then exec this test binary running only the child test. Root
        // ignores the limit through CAP_IPC_LOCK, so root drops that capability with setpriv.
        let script = r#"ulimit -l 0 || exit 3
set -- "$0" keys::tests::lock_memory_child --exact --nocapture --test-threads=1
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
  exec setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock "$@"
fi
exec "$@""#;
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(exe)
            .env("VWF_LOCK_MEMORY_CHILD", "1")
            .output();
        let Ok(output) = output else {
            panic!("cannot run the child test");
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        // Root (CAP_IPC_LOCK) ignores RLIMIT_MEMLOCK; everyone else gets the clear error.
        let root = stdout.contains("LOCKED");
        let refused = stdout.contains("REFUSED cannot lock the key in RAM")
            && stdout.contains("RLIMIT_MEMLOCK");
        assert!(root || refused, "{stdout}");
        assert!(!stdout.contains(WIF0));
    }

    proptest! {
        #[test]
        fn public_key_text_round_trips(seed in prop::array::uniform32(any::<u8>())) {
            if let Ok(key) = PrivateKey::from_secret(SecretBox::new(Box::new(seed))) {
                let public = key.public_key();
                let text = public.to_string_with_prefix("VIT");
                prop_assert_eq!(PublicKey::parse(&text, "VIT"), Ok(public));
            }
        }

        #[test]
        fn parsers_never_panic(text in ".{0,80}") {
            let _ = PrivateKey::from_wif(&text);
            let _ = PublicKey::parse(&text, "VIT");
            let _ = PublicKey::parse(&text, "");
        }
    }
}
