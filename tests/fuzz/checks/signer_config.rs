//! `signer_config`: the signer's TOML through `SignerConfig::parse`, every check `serve`,
//! `dry-run` and `check-config` run before touching a file.

use std::path::Path;

use vwf_signer::config::SignerConfig;
use vwf_signer::policy::Permission;

/// Parses `data` as the signer's config; nothing may panic. A config that passes must give a
/// policy that grants each of its clients something.
pub(crate) fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(settings) = SignerConfig::parse(Path::new("fuzz.toml"), text) else {
        return;
    };
    let prefix = &settings.profile.address_prefix;
    for account in settings.policy.accounts() {
        let _ = account.allowed_target_strings(prefix);
        for client in account.clients.keys() {
            assert!(
                [
                    Permission::Switch,
                    Permission::Disable,
                    Permission::Reenable,
                    Permission::DryRun,
                    Permission::Status,
                ]
                .iter()
                .any(|p| settings.policy.allows_anywhere(client, *p)),
                "client {client:?} was granted nothing"
            );
        }
    }
}
