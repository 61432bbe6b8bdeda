import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {AuthError, decodeToken, displayUser, encodeToken} from '../../src/api/index.js'

describe('tokens', () => {
  it('decodes base64(user:secret) and encodes it back', () => {
    const token = Buffer.from('robot$alice.users.kraftcloud:s3cret').toString('base64')
    assert.deepEqual(decodeToken(token), {user: 'robot$alice.users.kraftcloud', secret: 's3cret'})
    assert.equal(encodeToken(decodeToken(token)), token)
  })
  it('tolerates surrounding whitespace (a pasted token)', () => {
    assert.equal(decodeToken(` ${Buffer.from('bob:x').toString('base64')}\n`).user, 'bob')
  })
  it('shows robot$<name>.users.kraftcloud as <name>', () => {
    assert.equal(displayUser('robot$alice.users.kraftcloud'), 'alice')
    assert.equal(displayUser('bob'), 'bob')
  })
  it('refuses what is not base64 and what lacks two parts, as auth errors (exit 3)', () => {
    for (const [token, message] of [
      ['not base64!', /could not decode token/],
      [Buffer.from('no-colon').toString('base64'), /invalid token format/],
      [Buffer.from('a:b:c').toString('base64'), /invalid token format/],
      [Buffer.from(':secret').toString('base64'), /invalid token format/],
    ] as const) {
      assert.throws(() => decodeToken(token), (error: unknown) => error instanceof AuthError && error.exitCode === 3 && message.test(error.message))
    }
  })
})
