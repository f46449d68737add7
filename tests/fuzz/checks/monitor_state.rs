//! `monitor_state`: `state.json` as `vwf_monitor::persist::state_file::load` reads it
//! (`serde_json` into `vwf_monitor::state::State`, then the version and account checks).

use vwf_monitor::state::{STATE_VERSION, State};

/// Parses `data` as a state file. A state that parses must survive what `state_file::save`
/// writes (pretty JSON) unchanged, and the account check must hold for its own account.
pub(crate) fn check(data: &[u8]) {
    let Ok(state) = serde_json::from_slice::<State>(data) else {
        return;
    };
    let _ = state.version == STATE_VERSION;
    let written = serde_json::to_vec_pretty(&state);
    let Ok(written) = written else {
        panic!("a parsed state does not serialize: {written:?}");
    };
    let again = serde_json::from_slice::<State>(&written);
    assert_eq!(
        again.as_ref().ok(),
        Some(&state),
        "save then load changed the state: {again:?}"
    );
}
