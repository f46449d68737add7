#!/usr/bin/env node
// @hiveio/dhive 1.3.6 side of tests/tests/outside_clients.rs.
//
// Usage: NODE_PATH=<dir>/node_modules node dhive_client.js verify|broadcast < request.json
//
// Reads one JSON request on stdin and prints one JSON answer on stdout. A refusal by the node is
// an answer ({"ok": false, "error": ...}, exit 0); anything else that goes wrong is a crash
// (stack on stderr, exit 1). Only test keys ever reach this script.
//
// verify    {"profile", "chain_id", "prefix",
//            "transactions": [{"name", "tx", "expected_key", "wsp_keys"}]}
//           Re-serializes each signed legacy-JSON transaction (Types.Transaction on STEEM/HIVE,
//           with Steem's sbd_interest_rate given under dhive's name hbd_interest_rate; on VIT,
//           which dhive has no asset for, from dhive's primitive serializers exactly as the
//           research's crosscheck_js.js did for shared/tests/data/vectors.json), derives the
//           digest over the chain id and recovers / verifies each signature with dhive's
//           Signature and PublicKey. witness_set_properties (STEEM/HIVE) goes through dhive's
//           own operation serializer (tag 42; props a flat_map of string to hex bytes).
//           "wsp_keys" ({"key", "new_signing_key"}, public key strings, or null): dhive also
//           builds that witness_set_properties itself with its helper
//           utils.buildWitnessUpdateOp (dhive 1.3.6's name for it) and reports it as
//           "builder_op".
//           -> {"client", "results": [{"name", "serialized_hex", "digest", "tx_id",
//               "recovered_keys", "verified", "builder_op"}]}
//
// broadcast {"profile", "node", "chain_id", "prefix", "wif", "owner", "signing_key",
//            "witness_url", "props", "tamper"}
//           STEEM/HIVE only (dhive speaks condenser_api only; a steemd 0.19 node has none).
//           tamper=false: client.broadcast.sendOperations([['witness_update', op]], key).
//           tamper=true: the same transaction built from getDynamicGlobalProperties, signed
//           with client.broadcast.sign, one byte of its url changed, sent with
//           client.broadcast.send.
//           -> {"client", "ok", "tx_id", "tx", "error", "error_type"}
//
// broadcast {"operation": "witness_set_properties", "profile", "node", "chain_id", "prefix",
//            "wif", "owner", "current_key", "new_signing_key", "tamper_new_signing_key_hex"}
//           STEEM/HIVE. The operation is utils.buildWitnessUpdateOp(owner, {key: current_key,
//           new_signing_key}), signed with the WIF (meant to be the current signing key; any
//           key can be given to see it refused).
//           no tamper_new_signing_key_hex: client.broadcast.sendOperations([op], key).
//           tamper_new_signing_key_hex: built and signed as for witness_update's tamper, then
//           the new_signing_key prop replaced by that hex, sent with client.broadcast.send.
//           -> the same answer as above
'use strict'

const crypto = require('crypto')
const dhive = require('@hiveio/dhive')
const ByteBuffer = require('@ecency/bytebuffer')

const CLIENT = 'dhive ' + require('@hiveio/dhive/package.json').version

const sha256 = (b) => crypto.createHash('sha256').update(b).digest()

function readStdin () {
  return new Promise((resolve, reject) => {
    const chunks = []
    process.stdin.on('data', (c) => chunks.push(c))
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    process.stdin.on('error', reject)
  })
}

// dhive knows Steem's third chain property only as hbd_interest_rate.
function asDhiveTx (tx) {
  const copy = JSON.parse(JSON.stringify(tx))
  for (const [, op] of copy.operations) {
    const p = op.props
    if (p && p.sbd_interest_rate !== undefined && p.hbd_interest_rate === undefined) {
      p.hbd_interest_rate = p.sbd_interest_rate
      delete p.sbd_interest_rate
    }
  }
  return copy
}

// VIT: dhive has no VIT asset, so the transaction is assembled from dhive's primitive
// serializers with VIT's 2-field props (as crosscheck_js.js serializeVit does).
function vitAsset (buf, text) {
  const [amount, symbol] = text.split(' ')
  if (symbol !== 'VIT') throw new Error('unexpected symbol ' + symbol)
  const [int, frac] = amount.split('.')
  if (!frac || frac.length !== 3) throw new Error('bad precision in ' + text)
  buf.writeInt64(ByteBuffer.Long.fromString(int + frac, false))
  buf.writeUint8(3)
  for (let i = 0; i < 7; i++) buf.writeUint8(symbol.charCodeAt(i) || 0)
}

function serializeVit (tx) {
  const T = dhive.Types
  const buf = new ByteBuffer(ByteBuffer.DEFAULT_CAPACITY, ByteBuffer.LITTLE_ENDIAN)
  T.UInt16(buf, tx.ref_block_num)
  T.UInt32(buf, tx.ref_block_prefix)
  T.Date(buf, tx.expiration)
  buf.writeVarint32(tx.operations.length)
  for (const [name, op] of tx.operations) {
    if (name !== 'witness_update') throw new Error('unexpected operation ' + name)
    buf.writeVarint32(11)
    T.String(buf, op.owner)
    T.String(buf, op.url)
    T.PublicKey(buf, op.block_signing_key)
    vitAsset(buf, op.props.account_creation_fee)
    T.UInt32(buf, op.props.maximum_block_size)
    vitAsset(buf, op.fee)
  }
  buf.writeVarint32(0) // extensions
  buf.flip()
  return Buffer.from(buf.toBuffer())
}

function serializeDhive (tx) {
  const buf = new ByteBuffer(ByteBuffer.DEFAULT_CAPACITY, ByteBuffer.LITTLE_ENDIAN)
  dhive.Types.Transaction(buf, tx)
  buf.flip()
  return Buffer.from(buf.toBuffer())
}

function verify (request) {
  const chainId = Buffer.from(request.chain_id, 'hex')
  const results = []
  for (const item of request.transactions) {
    const signed = item.tx
    const unsigned = Object.assign({}, signed)
    delete unsigned.signatures
    let bytes, digest, txId
    if (request.profile === 'VIT') {
      bytes = serializeVit(unsigned)
      digest = sha256(Buffer.concat([chainId, bytes]))
      txId = sha256(bytes).toString('hex').slice(0, 40)
    } else {
      const tx = asDhiveTx(unsigned)
      bytes = serializeDhive(tx)
      digest = dhive.cryptoUtils.transactionDigest(tx, chainId)
      txId = dhive.cryptoUtils.generateTrxId(tx)
    }
    const expected = dhive.PublicKey.fromString(item.expected_key)
    const recovered = []
    let verified = (signed.signatures || []).length > 0
    for (const hex of signed.signatures || []) {
      const signature = dhive.Signature.fromString(hex)
      recovered.push(signature.recover(digest, request.prefix).toString())
      verified = verified && expected.verify(digest, signature)
    }
    const keys = item.wsp_keys
    results.push({
      name: item.name,
      serialized_hex: bytes.toString('hex'),
      digest: digest.toString('hex'),
      tx_id: txId,
      recovered_keys: recovered,
      verified,
      builder_op: keys
        ? dhive.utils.buildWitnessUpdateOp(signed.operations[0][1].owner, {
          key: keys.key,
          new_signing_key: keys.new_signing_key
        })
        : null
    })
  }
  return { client: CLIENT, results }
}

function tampered (tx) {
  const copy = JSON.parse(JSON.stringify(tx))
  const op = copy.operations[0][1]
  const url = op.url
  op.url = url.slice(0, -1) + String.fromCharCode(url.charCodeAt(url.length - 1) + 1)
  return copy
}

function newKeyChanged (tx, newHex) {
  const copy = JSON.parse(JSON.stringify(tx))
  const op = copy.operations[0][1]
  op.props = op.props.map(([k, v]) => [k, k === 'new_signing_key' ? newHex : v])
  return copy
}

// The one-operation transaction sendOperations would build, signed with client.broadcast.sign.
async function signByHand (client, op, key) {
  const props = await client.database.getDynamicGlobalProperties()
  const expiration = new Date(new Date(props.time + 'Z').getTime() + 60 * 1000)
    .toISOString()
    .slice(0, -5)
  const tx = {
    expiration,
    extensions: [],
    operations: [op],
    ref_block_num: props.head_block_number & 0xffff,
    ref_block_prefix: Buffer.from(props.head_block_id, 'hex').readUInt32LE(4)
  }
  return client.broadcast.sign(tx, key)
}

// The operation to broadcast and how to change it after signing (null: broadcast it as is).
function broadcastOperation (request) {
  if (request.operation === 'witness_set_properties') {
    const op = dhive.utils.buildWitnessUpdateOp(request.owner, {
      key: request.current_key,
      new_signing_key: request.new_signing_key
    })
    const hex = request.tamper_new_signing_key_hex
    return [op, hex == null ? null : (tx) => newKeyChanged(tx, hex)]
  }
  const core = request.profile === 'HIVE' ? 'HIVE' : 'STEEM'
  const op = ['witness_update', {
    owner: request.owner,
    url: request.witness_url,
    block_signing_key: request.signing_key,
    props: request.props,
    fee: '0.000 ' + core
  }]
  return [op, request.tamper ? tampered : null]
}

async function broadcast (request) {
  if (request.profile === 'VIT') throw new Error('dhive cannot talk to a steemd 0.19 (VIT) node')
  const client = new dhive.Client(request.node, {
    chainId: request.chain_id,
    addressPrefix: request.prefix,
    timeout: 15000,
    failoverThreshold: 1
  })
  const key = dhive.PrivateKey.fromString(request.wif)
  const [op, change] = broadcastOperation(request)
  const answer = { client: CLIENT, ok: false, tx_id: null, tx: null, error: null, error_type: null }
  try {
    if (!change) {
      const result = await client.broadcast.sendOperations([op], key)
      answer.tx_id = result.id
    } else {
      const signed = change(await signByHand(client, op, key))
      answer.tx = signed
      await client.broadcast.send(signed)
    }
    answer.ok = true
  } catch (e) {
    if (e.name !== 'RPCError') throw e
    answer.error = e.message
    answer.error_type = e.name
  }
  return answer
}

async function main () {
  const command = process.argv[2]
  if (command !== 'verify' && command !== 'broadcast') {
    process.stderr.write('usage: dhive_client.js verify|broadcast < request.json\n')
    process.exit(2)
  }
  const request = JSON.parse(await readStdin())
  const answer = command === 'verify' ? verify(request) : await broadcast(request)
  process.stdout.write(JSON.stringify(answer) + '\n')
}

main().catch((e) => {
  process.stderr.write((e && e.stack) || String(e))
  process.stderr.write('\n')
  process.exit(1)
})
