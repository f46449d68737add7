#!/usr/bin/env python3
"""beem 0.24.26 side of tests/tests/outside_clients.rs.

Usage: python beem_client.py verify|broadcast < request.json

Reads one JSON request on stdin and prints one JSON answer on stdout. A refusal by the node is
an answer ({"ok": false, "error": ...}, exit 0); anything else that goes wrong is a crash
(traceback on stderr, exit 1). Only test keys ever reach this script.

verify    {"profile", "chain_id", "prefix",
           "transactions": [{"name", "tx", "expected_key", "wsp_keys"}]}
          Rebuilds each signed legacy-JSON transaction (witness_update or
          witness_set_properties) with beem's own classes (the way the research's
          gen_vectors.py built them for shared/tests/data/vectors.json, and
          tests/outside/vectors/gen_witness_set_properties.py for witness_set_properties),
          serializes it, derives the digest over the chain id and recovers the signer from
          each signature (Signed_Transaction.verify). "wsp_keys" ({"key", "new_signing_key"},
          public key strings, or null): beem also builds that witness_set_properties itself
          from the two keys and reports its JSON as "builder_op".
          -> {"client", "results": [{"name", "serialized_hex", "digest", "tx_id",
              "recovered_keys", "verified", "json", "builder_op"}]}

broadcast {"profile", "node", "chain_id", "prefix", "wif", "owner", "signing_key",
           "witness_url", "props", "tamper"}
          Connects to the node, signs a witness_update with the WIF and broadcasts it:
          * STEEM/HIVE: Witness(owner).update(...) (tamper=false), or a TransactionBuilder signed
            normally whose url then has one byte changed before TransactionBuilder(tx=...)
            .broadcast() sends it (tamper=true);
          * VIT (steemd 0.19): beem 0.24.26 treats every HTTP node as appbase and cannot detect a
            0.19 chain, so the instance is given beem's own known_chains["VIT"] parameters,
            switched to beem's non-appbase ("jsonrpc") request mode, and the transaction is
            built with TransactionBuilder and sent with
            rpc.broadcast_transaction(tx, api="network_broadcast") (see README.md).
          -> {"client", "ok", "tx_id", "tx", "error", "error_type", "node_error"}
          ("node_error": the message of the node's last JSON-RPC error answer)

broadcast {"operation": "witness_set_properties", "profile", "node", "chain_id", "prefix",
           "wif", "owner", "current_key", "new_signing_key", "tamper_new_signing_key_hex"}
          (STEEM/HIVE) Signs a witness_set_properties changing the witness's signing key from
          current_key (the "key" prop, the operation's authority) to new_signing_key with the
          WIF and broadcasts it:
          * the ordinary high-level call Steem/Hive.witness_set_properties(wif, owner,
            {"new_signing_key": ...}) when nothing is to be tampered with and current_key is the
            WIF's public key (that call always puts the WIF's public key in "key");
          * otherwise a TransactionBuilder with a Witness_set_properties op (key current_key,
            so a WIF that is not the current key can sign it), signed normally; with
            tamper_new_signing_key_hex the new_signing_key prop is then replaced by that value
            before TransactionBuilder(tx=...).broadcast() sends it.
          -> the same answer as above
"""

import json
import logging
import sys

import beem
from beem.hive import Hive
from beem.steem import Steem
from beem.transactionbuilder import TransactionBuilder
from beem.witness import Witness
from beemapi.exceptions import RPCError
from beembase import operations
from beembase.objects import Operation
from beembase.signedtransactions import Signed_Transaction
from beemgraphenebase.account import PrivateKey, PublicKey
from beemgraphenebase.chains import known_chains
from beemgraphenebase.ecdsasig import SECP256K1_MODULE

CLIENT = "beem %s (ecdsa back end: %s)" % (beem.__version__, SECP256K1_MODULE)

class LastNodeAnswer(logging.Handler):
    """Keeps the last answer body beemapi logs (rpcexec logs json.dumps(reply) at DEBUG), so a
    refusal is reported with the node's own words: beem raises some errors without a message."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.text = None

    def emit(self, record):
        message = record.getMessage()
        if message.startswith('"'):
            try:
                self.text = json.loads(message)
            except ValueError:
                self.text = message


LAST_ANSWER = LastNodeAnswer()
_rpc_log = logging.getLogger("beemapi.graphenerpc")
_rpc_log.setLevel(logging.DEBUG)
_rpc_log.addHandler(LAST_ANSWER)
_rpc_log.propagate = False


def node_error_message():
    """The error message of the last node answer, if it was a JSON-RPC error."""
    try:
        answer = json.loads(LAST_ANSWER.text or "")
    except ValueError:
        return LAST_ANSWER.text
    error = answer.get("error") if isinstance(answer, dict) else None
    return error.get("message") if isinstance(error, dict) else None


# Bounded network behaviour: one node, no endless reconnects, short HTTP timeouts.
NODE_OPTIONS = {"num_retries": 1, "num_retries_call": 1, "timeout": 15}


def chain_params(request):
    return {
        "chain_id": request["chain_id"],
        "prefix": request["prefix"],
        "min_version": "0.0.0",
        "chain_assets": [],
    }


def witness_update_op(body, prefix):
    """The operation built from legacy JSON, as gen_vectors.py's beem_build does."""
    props = dict(body["props"])
    props["prefix"] = prefix
    return operations.Witness_update(
        **{
            "owner": body["owner"],
            "url": body["url"],
            "block_signing_key": body["block_signing_key"],
            "props": props,
            "fee": body["fee"],
            "prefix": prefix,
        }
    )


def witness_set_properties_op(owner, props, prefix):
    """A witness_set_properties from [name, value] props: key values may be public key strings
    or the hex of the packed key, as beem's Witness_set_properties reads both."""
    return operations.Witness_set_properties(
        **{"owner": owner, "props": [list(p) for p in props], "prefix": prefix, "extensions": []}
    )


def operation_from_json(name, body, prefix):
    if name == "witness_update":
        return witness_update_op(body, prefix)
    if name == "witness_set_properties":
        if body.get("extensions"):
            raise ValueError("unexpected extensions in %s" % body)
        return witness_set_properties_op(body["owner"], body["props"], prefix)
    raise ValueError("unexpected operation %s" % name)


def builder_op(owner, keys, prefix):
    """beem's own witness_set_properties from the two public key strings, as legacy JSON."""
    if not keys:
        return None
    props = [["key", keys["key"]], ["new_signing_key", keys["new_signing_key"]]]
    tagged = Operation(["witness_set_properties", witness_set_properties_op(owner, props, prefix)])
    return json.loads(str(tagged))


def signed_transaction(tx, prefix):
    """beem's Signed_Transaction rebuilt from signed legacy JSON."""
    ops = []
    for name, body in tx["operations"]:
        ops.append(Operation(operation_from_json(name, body, prefix), prefix=prefix))
    return Signed_Transaction(
        ref_block_num=tx["ref_block_num"],
        ref_block_prefix=tx["ref_block_prefix"],
        expiration=tx["expiration"],
        operations=ops,
        signatures=tx.get("signatures", []),
        prefix=prefix,
    )


def verify(request):
    prefix = request["prefix"]
    chain = chain_params(request)
    results = []
    for item in request["transactions"]:
        tx = item["tx"]
        stx = signed_transaction(tx, prefix)
        found = stx.verify([], chain=chain, recover_parameter=True)
        recovered = [str(PublicKey(k, prefix=prefix)) for k in found]
        try:
            stx.verify(
                [PublicKey(item["expected_key"], prefix=prefix)],
                chain=chain,
                recover_parameter=True,
            )
            verified = True
        except Exception:  # beem raises a bare Exception("Signature for ... missing!")
            verified = False
        results.append(
            {
                "name": item["name"],
                # deriveDigest (run by verify) keeps chain_id || bytes in .message
                "serialized_hex": stx.message[32:].hex(),
                "digest": stx.digest.hex(),
                "tx_id": stx.id,
                "recovered_keys": recovered,
                "verified": verified,
                "json": stx.json(),
                "builder_op": builder_op(
                    tx["operations"][0][1]["owner"], item.get("wsp_keys"), prefix
                ),
            }
        )
    return {"client": CLIENT, "results": results}


class VitSteem(Steem):
    """A Steem instance for a VIT (steemd 0.19) node with beem's own VIT chain parameters.

    beem 0.24.26 cannot detect a 0.19 chain from get_config: its get_network expects
    *_SYMBOL values to be {"nai", "decimals"} objects, fails on 0.19's integer STEEMIT_SYMBOL
    and silently falls back to the Steem chain id. This override is the "custom chain
    parameters" a beem user needs for VIT.
    """

    def get_network(self, use_stored_data=True, config=None):
        return known_chains["VIT"]


def connect(request):
    common = dict(
        node=request["node"],
        keys=[request["wif"]],
        nobroadcast=False,
        expiration=60,
        **NODE_OPTIONS,
    )
    profile = request["profile"]
    if profile == "HIVE":
        return Hive(**common)
    if profile == "STEEM":
        return Steem(**common)
    if profile == "VIT":
        # No get_config at start-up (beem's appbase detection would send database_api.get_config
        # with object params); then beem's non-appbase request mode: "call" with database_api /
        # network_broadcast_api and array params, as steemd 0.19 expects.
        instance = VitSteem(disable_chain_detection=True, **common)
        instance.rpc.current_rpc = instance.rpc.rpc_methods["jsonrpc"]
        return instance
    raise ValueError("unknown profile %s" % profile)


def tampered(tx_json):
    """The signed transaction with one byte of the url changed (last character +1)."""
    tx = json.loads(json.dumps(tx_json))
    body = tx["operations"][0][1]
    url = body["url"]
    body["url"] = url[:-1] + chr(ord(url[-1]) + 1)
    return tx


def new_key_changed(tx_json, new_hex):
    """The signed transaction with its new_signing_key prop replaced by new_hex."""
    tx = json.loads(json.dumps(tx_json))
    body = tx["operations"][0][1]
    body["props"] = [[k, new_hex if k == "new_signing_key" else v] for k, v in body["props"]]
    return tx


def empty_answer():
    return {"client": CLIENT, "ok": False, "tx_id": None, "tx": None, "error": None,
            "error_type": None, "node_error": None}


def broadcast_set_properties(request):
    if request["profile"] == "VIT":
        raise ValueError("witness_set_properties does not exist on VIT (steemd 0.19)")
    instance = connect(request)
    prefix = request["prefix"]
    wif = request["wif"]
    tamper_hex = request.get("tamper_new_signing_key_hex")
    own_key = str(PrivateKey(wif, prefix=prefix).pubkey)
    answer = empty_answer()
    try:
        if tamper_hex is None and request["current_key"] == own_key:
            # The ordinary high-level call ("key" = the WIF's public key).
            result = instance.witness_set_properties(
                wif, request["owner"], {"new_signing_key": request["new_signing_key"]}
            )
            answer["tx"] = {k: v for k, v in result.items() if k != "trx_id"}
            # This call returns the broadcast transaction without its id (Witness.update's
            # finalizeOp adds one): beem derives it from the transaction it rebuilds.
            answer["tx_id"] = result.get("trx_id") or signed_transaction(answer["tx"], prefix).id
        else:
            props = [["key", request["current_key"]],
                     ["new_signing_key", request["new_signing_key"]]]
            tb = TransactionBuilder(blockchain_instance=instance)
            tb.appendOps(witness_set_properties_op(request["owner"], props, prefix))
            tb.appendWif(wif)
            signed = tb.sign()
            tx = tb.json()
            if tamper_hex is not None:
                tx = new_key_changed(tx, tamper_hex)
            answer["tx"] = tx
            answer["tx_id"] = signed.id if signed is not None else None
            TransactionBuilder(tx=tx, blockchain_instance=instance).broadcast()
        answer["ok"] = True
    except RPCError as e:
        answer["error"] = str(e) or e.__class__.__name__
        answer["error_type"] = e.__class__.__name__
        answer["node_error"] = node_error_message()
    return answer


def broadcast(request):
    if request.get("operation", "witness_update") == "witness_set_properties":
        return broadcast_set_properties(request)
    instance = connect(request)
    prefix = request["prefix"]
    props = dict(request["props"])
    vit = request["profile"] == "VIT"
    answer = empty_answer()
    try:
        if not vit and not request["tamper"]:
            # The ordinary high-level call.
            result = Witness(request["owner"], blockchain_instance=instance).update(
                request["signing_key"], request["witness_url"], props
            )
            answer["tx"] = {k: v for k, v in result.items() if k != "trx_id"}
            answer["tx_id"] = result.get("trx_id")
        else:
            core = instance.token_symbol if not vit else "VIT"
            body = {
                "owner": request["owner"],
                "url": request["witness_url"],
                "block_signing_key": request["signing_key"],
                "props": props,
                "fee": "0.000 %s" % core,
            }
            tb = TransactionBuilder(blockchain_instance=instance)
            tb.appendOps(witness_update_op(body, prefix))
            tb.appendWif(request["wif"])
            signed = tb.sign()
            tx = tb.json()
            tx_id = signed.id if signed is not None else None
            if request["tamper"]:
                tx = tampered(tx)
            answer["tx"] = tx
            answer["tx_id"] = tx_id
            if vit:
                instance.rpc.broadcast_transaction(tx, api="network_broadcast")
            else:
                TransactionBuilder(tx=tx, blockchain_instance=instance).broadcast()
        answer["ok"] = True
    except RPCError as e:
        answer["error"] = str(e) or e.__class__.__name__
        answer["error_type"] = e.__class__.__name__
        answer["node_error"] = node_error_message()
    return answer


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("verify", "broadcast"):
        sys.exit("usage: beem_client.py verify|broadcast < request.json")
    request = json.load(sys.stdin)
    answer = verify(request) if sys.argv[1] == "verify" else broadcast(request)
    print(json.dumps(answer, default=str))


if __name__ == "__main__":
    main()
