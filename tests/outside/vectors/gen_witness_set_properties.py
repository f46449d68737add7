#!/usr/bin/env python3
"""Reference vectors for `witness_set_properties` (issue 16), made with beem 0.24.26.

Run with the venv of tests/outside/install.sh:
    target/outside-clients/venv/bin/python tests/outside/vectors/gen_witness_set_properties.py \
        > shared/tests/data/witness_set_properties.json
then cross-check with dhive: node tests/outside/vectors/check_witness_set_properties.js \
        < shared/tests/data/witness_set_properties.json

Keys are the test-only keys of shared/tests/data/vectors.json (derived from public fake
passwords). For STEEM and HIVE, one switch (current key = test key 1 -> test key 2) and one
kill switch (test key 2 -> the null key). Per case: the operation's bytes (tag + body), the
unsigned transaction's bytes over vectors.json's common header, the digest over the chain id,
the transaction id, and one signature by the current signing key (beem's ecdsa back end draws
k at random: the signature is kept as drawn and checked by recovery, not compared).
"""

import hashlib
import json
import sys
from binascii import hexlify

import beem
from beembase.objects import Operation
from beembase.operations import Witness_set_properties
from beembase.signedtransactions import Signed_Transaction
from beemgraphenebase.ecdsasig import SECP256K1_MODULE

VECTORS = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "shared/tests/data/vectors.json"))
HEADER = VECTORS["common_tx_header"]
KEYS = VECTORS["keys"]
NULL = VECTORS["null_public_key"]["STM"]
CHAINS = {
    "STEEM": {"chain_id": VECTORS["profiles"]["STEEM"]["chain_id"], "prefix": "STM"},
    "HIVE": {"chain_id": VECTORS["profiles"]["HIVE"]["chain_id"], "prefix": "STM"},
}
OWNER = "vit-test-witness"


def case(profile, name, current, new, signer_wif):
    chain = CHAINS[profile]
    props = [["key", current], ["new_signing_key", new]]
    op = Witness_set_properties(
        **{"owner": OWNER, "props": props, "prefix": chain["prefix"], "extensions": []}
    )
    tagged = Operation(["witness_set_properties", op])
    tx = Signed_Transaction(
        ref_block_num=HEADER["ref_block_num"],
        ref_block_prefix=HEADER["ref_block_prefix"],
        expiration=HEADER["expiration"],
        operations=[tagged],
        extensions=[],
        signatures=[],
    )
    params = {"chain_id": chain["chain_id"], "prefix": chain["prefix"], "min_version": "0.0.0"}
    # beem's own digest and id: the message it signs is the chain id + the transaction's bytes
    # without the signatures.
    tx.deriveDigest(params)
    chain_id = bytes.fromhex(chain["chain_id"])
    assert tx.message.startswith(chain_id)
    unsigned = tx.message[len(chain_id):]
    digest = hexlify(tx.digest).decode()
    assert digest == hashlib.sha256(chain_id + unsigned).hexdigest()
    tx_id = tx.id
    assert tx_id == hashlib.sha256(unsigned).hexdigest()[:40]
    json_op = json.loads(str(tagged))
    tx.sign([signer_wif], chain=params)
    signature = tx.json()["signatures"][0]
    return {
        "name": name,
        "profile": profile,
        "chain_id": chain["chain_id"],
        "owner": OWNER,
        "current_key": current,
        "new_signing_key": new,
        "op_json": json_op,
        "op_hex": hexlify(bytes(tagged)).decode(),
        "unsigned_tx_hex": hexlify(unsigned).decode(),
        "digest_hex": digest,
        "tx_id": tx_id,
        "signer": current,
        "beem_signature": signature,
    }


def main():
    k1, k2 = KEYS[1], KEYS[2]
    cases = []
    for profile in ("STEEM", "HIVE"):
        p = profile.lower()
        cases.append(case(profile, p + "_switch_key1_to_key2", k1["pub"]["STM"], k2["pub"]["STM"], k1["wif"]))
        cases.append(case(profile, p + "_kill_switch_key2_to_null", k2["pub"]["STM"], NULL, k2["wif"]))
    json.dump({
        "_README": "witness_set_properties reference vectors, made by tests/outside/vectors/"
                   "gen_witness_set_properties.py; TEST-ONLY keys from vectors.json",
        "generator": {"beem": beem.__version__, "beem_ecdsa_backend": SECP256K1_MODULE},
        "common_tx_header": HEADER,
        "cases": cases,
    }, sys.stdout, indent=1)
    sys.stdout.write("\n")


main()
