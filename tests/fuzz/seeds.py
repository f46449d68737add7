#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ from the project's own test data.

Sources: shared/tests/data/vectors.json (transactions, keys, assets, signatures), the example
configs in deploy/ and monitor/, and node responses shaped like shared/src/rpc/tests/fixtures.rs.
Re-run after those change:  python3 tests/fuzz/seeds.py   (deterministic; replaces seed-* files).
"""
import hashlib
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fuzz" / "corpus"
V = json.loads((ROOT / "shared" / "tests" / "data" / "vectors.json").read_text())


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


seeds = {}


def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, [])
    if data not in seeds[target]:
        seeds[target].append(data)


# legacy_tx_json: every vector transaction, unsigned and signed, plus the 3-field VIT layout.
for tx in V["transactions"]:
    add("legacy_tx_json", compact(tx["tx_json_legacy"]))
    add("legacy_tx_json", compact(tx["signed_tx_json_legacy"]))
add("legacy_tx_json", compact(V["alternative_vit_layout"]["tx_json_legacy"]))
first = V["transactions"][0]["tx_json_legacy"]
add("legacy_tx_json", compact(dict(first, operations=[[11, first["operations"][0][1]]])))
for bad in V["invalid_signatures"]:
    add("legacy_tx_json", compact(dict(first, signatures=[bad["signature_hex"]])))

# asset: the fees in the vectors, each symbol's extremes, and near misses.
for tx in V["transactions"]:
    op = tx["tx_json_legacy"]["operations"][0][1]
    add("asset", op["fee"])
    add("asset", op["props"]["account_creation_fee"])
for text in ["9223372036854775.807 VIT", "9223372036854775.808 VIT", "1.000000 VESTS",
             "5 X", "0.000000000000000001 BIG", "00.100 VIT", "0.1 VIT"]:
    add("asset", text)

# public_key, wif: the test keys, the null key and the vectors' negative cases.
for key in V["keys"]:
    add("wif", key["wif"])
    for text in key["pub"].values():
        add("public_key", text)
add("public_key", V["null_public_key"]["VIT"])
add("public_key", V["null_public_key"]["STM"])
for case in V["key_format_negative"]:
    add("wif" if case["kind"] == "wif" else "public_key", case["input"])

# time
for text in [V["common_tx_header"]["expiration"], "2106-02-07T06:28:15", "1970-01-01T00:00:00",
             "2024-02-29T23:59:59"]:
    add("time", text)

# signature: 32 digest bytes, then the signature as hex text or as 65 raw bytes.
for tx in V["transactions"]:
    digest = bytes.fromhex(tx["digest_hex"])
    for sig in [tx["signature_fc_scheme"]["hex"], tx["signed_tx_json_legacy"]["signatures"][0]]:
        add("signature", digest + sig.encode())
        add("signature", digest + bytes.fromhex(sig))
for bad in V["invalid_signatures"]:
    add("signature", bytes.fromhex(bad["digest_hex"]) + bad["signature_hex"].encode())

# rpc_responses: results shaped like shared/src/rpc/tests/fixtures.rs, and node error texts.
vit_key = V["keys"][0]["pub"]["VIT"]
vit_chain = V["profiles"]["VIT"]["chain_id"]
hive_chain = V["profiles"]["HIVE"]["chain_id"]
add("rpc_responses", compact({
    "IS_TEST_NET": False, "STEEMIT_ADDRESS_PREFIX": "VIT", "STEEMIT_BLOCKCHAIN_VERSION": "0.0.0",
    "STEEMIT_BLOCK_INTERVAL": 3, "STEEMIT_CHAIN_ID": vit_chain,
    "STEEMIT_MAX_TIME_UNTIL_EXPIRATION": 3600, "STEEMIT_MAX_SHARE_SUPPLY": "1000000000000000"}))
add("rpc_responses", compact({
    "HIVE_CHAIN_ID": hive_chain, "HIVE_BLOCKCHAIN_VERSION": "1.27.3", "OLD_CHAIN_ID": "0" * 64,
    "HIVE_ADDRESS_PREFIX": "STM", "HIVE_BLOCK_INTERVAL": "3", "HIVE_MAX_TIME_UNTIL_EXPIRATION": 3600}))
add("rpc_responses", compact({
    "id": 0, "head_block_number": 17000000, "head_block_id": "0103664040ab036dd76c16b7e0734c6f1b98c198",
    "time": "2024-01-01T00:00:30", "current_witness": "vit-test-witness",
    "recent_slots_filled": "340282366920938463463374607431768211455",
    "last_irreversible_block_num": "16999985"}))
witness = {
    "id": 42, "owner": "vit-test-witness", "url": "https://example.com/@vit-test-witness",
    "total_missed": "17", "last_confirmed_block_num": 8999000, "signing_key": vit_key,
    "props": {"account_creation_fee": "0.100 VIT", "maximum_block_size": 131072},
    "running_version": "0.19.2"}
add("rpc_responses", compact(witness))
add("rpc_responses", compact(dict(witness, signing_key=V["keys"][0]["pub"]["STM"], props={
    "account_creation_fee": "3.000 STEEM", "maximum_block_size": "65536", "sbd_interest_rate": 1000})))
add("rpc_responses", compact({
    "previous": "0103663f40ab036dd76c16b7e0734c6f1b98c198", "timestamp": "2024-01-01T00:00:30",
    "witness": "vit-test-witness", "transactions": [],
    "block_id": "0103664011223344d76c16b7e0734c6f1b98c198",
    "transaction_ids": ["AB" * 20]}))
add("rpc_responses", compact({"id": "ab" * 20, "block_num": 17000001, "trx_num": "0", "expired": False}))
add("rpc_responses", compact({"blockchain_version": "1.27.3", "hive_revision": "abc",
                              "fc_revision": "def", "chain_id": hive_chain}))
authority = {"weight_threshold": "1", "account_auths": [["other", 1]], "key_auths": [[vit_key, 1]]}
add("rpc_responses", compact([{"name": "vit-test-witness", "owner": authority, "active": authority}]))
for text in [
    "3010000 tx_missing_active_auth: missing required active authority\nMissing Active Authority vit-test-witness",
    "10 assert_exception: Assert Exception\n(skip & skip_transaction_dupe_check): Duplicate transaction check failed",
    "4030100 transaction_expiration_exception: transaction expiration exception",
    "4040000 transaction_tapos_exception: transaction tapos exception",
    "3030000 tx_irrelevant_sig: irrelevant signature included",
    "10 assert_exception: signature is not canonical",
]:
    add("rpc_responses", text)

# Configs: the shipped examples.
for path in sorted((ROOT / "deploy").glob("signer*.example.toml")):
    add("signer_config", path.read_bytes())
for path in sorted((ROOT / "deploy").glob("monitor*.example.toml")) + [ROOT / "monitor" / "monitor.example.toml"]:
    if path.exists():
        add("monitor_config", path.read_bytes())

# monitor_state: state.json in each mode and pending status.
k1 = V["keys"][0]["public_key_compressed_hex"]
k2 = V["keys"][1]["public_key_compressed_hex"]
null = "00" * 33
active = {"kind": "active", "server": "primary", "key": k1, "baseline_total_missed": 17,
          "takeover_block": 100, "last_total_missed": 18,
          "misses": [{"block": 101, "time": 1704067260, "count": 1}]}
pending = {"request_id": "vwf-1", "from_server": "primary", "expected_key": k1,
           "target_server": "backup-1", "target_key": k2, "reason": "3 misses in 600 s",
           "attempts": 1, "dry_run": False, "status": {"kind": "intent"}}
alerts = {"open": {"missed:primary": 1704067260000}, "suppressed": {"missed:primary": 2}}
for mode, pend in [
    ({"kind": "starting"}, None),
    (active, pending),
    (active, dict(pending, status={"kind": "applied", "tx_id": "ab" * 20, "block": 17000001})),
    ({"kind": "foreign", "key": k2}, None),
    ({"kind": "disabled"}, dict(pending, target_key=null, target_server="null", dry_run=True,
                                status={"kind": "dry_run_reported"})),
]:
    state = {"version": 1, "account": "vit-test-witness", "mode": mode, "pending": pend,
             "last_action": "switched to backup-1", "alerts": alerts}
    add("monitor_state", json.dumps(state, indent=2) + "\n")

# policy_request: flag byte (bits 0-1 target kind, bit 2 id_required, bit 3 STM), then
# request_id, account, target, expected_current, reason separated by newlines.
k1v, k2v = V["keys"][0]["pub"]["VIT"], V["keys"][1]["pub"]["VIT"]
for flags, fields in [
    (2 | 4, ["vwf-1:abc", "vit-test-witness", k2v, k1v, "3 misses in 600 s"]),
    (1 | 4, ["disable.1", "vit-test-witness", "", k1v, "kill switch"]),
    (2, ["", "vit-test-witness", k1v, V["null_public_key"]["VIT"], "re-enable"]),
    (2 | 8, ["a", "steem-witness", V["keys"][1]["pub"]["STM"], V["keys"][0]["pub"]["STM"], "x\ny"]),
]:
    add("policy_request", bytes([flags]) + "\n".join(fields).encode())

for target, items in seeds.items():
    folder = OUT / target
    if folder.exists():
        for old in folder.glob("seed-*"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for data in items:
        (folder / f"seed-{hashlib.sha1(data).hexdigest()[:16]}").write_bytes(data)
    print(f"{target}: {len(items)} seeds")
