#!/usr/bin/env node
// Cross-checks shared/tests/data/witness_set_properties.json (made with beem) with
// @hiveio/dhive 1.3.6: dhive builds each operation with its own buildWitnessUpdateOp (its
// helper for witness_set_properties), serializes the operation and the transaction, derives the
// digest and id, and recovers beem's signature. Prints one line per case and exits 1 on any
// difference. Run from the repository root with the node_modules of tests/outside/install.sh:
//   NODE_PATH=target/outside-clients/node_modules node tests/outside/vectors/check_witness_set_properties.js \
//       < shared/tests/data/witness_set_properties.json
'use strict'

const dhive = require('@hiveio/dhive')
const { buildWitnessUpdateOp } = require('@hiveio/dhive/lib/utils')
const ByteBuffer = require('@ecency/bytebuffer')

function bytes (serializer, value) {
  const buf = new ByteBuffer(ByteBuffer.DEFAULT_CAPACITY, ByteBuffer.LITTLE_ENDIAN)
  serializer(buf, value)
  buf.flip()
  return Buffer.from(buf.toBuffer()).toString('hex')
}

const vectors = JSON.parse(require('fs').readFileSync(0, 'utf8'))
const header = vectors.common_tx_header
let failed = 0
for (const c of vectors.cases) {
  const op = buildWitnessUpdateOp(c.owner, { key: c.current_key, new_signing_key: c.new_signing_key })
  const tx = {
    ref_block_num: header.ref_block_num,
    ref_block_prefix: header.ref_block_prefix,
    expiration: header.expiration,
    operations: [op],
    extensions: []
  }
  const chainId = Buffer.from(c.chain_id, 'hex')
  const got = {
    op_hex: bytes(dhive.Types.Operation, op),
    unsigned_tx_hex: bytes(dhive.Types.Transaction, tx),
    digest_hex: dhive.cryptoUtils.transactionDigest(tx, chainId).toString('hex'),
    tx_id: dhive.cryptoUtils.generateTrxId(tx)
  }
  const digest = Buffer.from(c.digest_hex, 'hex')
  const signature = dhive.Signature.fromString(c.beem_signature)
  got.recovered = signature.recover(digest, 'STM').toString()
  const want = { op_hex: c.op_hex, unsigned_tx_hex: c.unsigned_tx_hex, digest_hex: c.digest_hex, tx_id: c.tx_id, recovered: c.signer }
  const diffs = Object.keys(want).filter((k) => got[k] !== want[k])
  console.log(`${c.name}: ${diffs.length === 0 ? 'dhive agrees' : 'DIFFERS in ' + diffs.join(', ')}`)
  for (const k of diffs) console.log(`  ${k}: dhive ${got[k]} vs beem ${want[k]}`)
  if (diffs.length) failed = 1
}
process.exit(failed)
