import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {after, describe, it} from 'node:test'

import {UsageError} from '../../src/api/index.js'
import {readPemArgument} from '../../src/cli/pem-argument.js'

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukc-pem-test-'))

describe('readPemArgument', () => {
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  it('reads a file, takes PEM text as it is, and reads - from stdin', async () => {
    const file = path.join(dir, 'chain.pem')
    fs.writeFileSync(file, PEM)
    assert.equal(await readPemArgument(file, {flag: '--chain'}), PEM)
    assert.equal(await readPemArgument(PEM, {flag: '--chain'}), PEM)
    assert.equal(await readPemArgument('-', {flag: '--chain', stdin: Readable.from([PEM.slice(0, 10), PEM.slice(10)])}), PEM)
  })

  it('refuses stdin without a PEM block as a usage error', async () => {
    await assert.rejects(readPemArgument('-', {flag: '--pkey', secret: true, stdin: Readable.from(['oops'])}), (error: unknown) => {
      assert.ok(error instanceof UsageError)
      assert.equal(error.message, '--pkey: stdin holds no PEM block (no "-----BEGIN " line)')
      return true
    })
  })

  it('never quotes the value of a secret flag', async () => {
    const secret = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg'
    await assert.rejects(readPemArgument(secret, {flag: '--pkey', secret: true}), (error: unknown) => {
      assert.ok(error instanceof UsageError)
      assert.ok(!error.message.includes(secret) && !(error.hint ?? '').includes(secret))
      return true
    })
  })
})
