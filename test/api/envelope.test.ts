import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {
  ApiError,
  AuthError,
  ConflictError,
  NetworkError,
  NotFoundError,
  ValidationError,
  allOrThrow,
  decodeEnvelope,
  errorForHttpStatus,
  errorForItem,
  firstOrThrow,
} from '../../src/api/index.js'
import type {Instance} from '../../src/api/index.js'

const URL = 'http://api.test/v1/instances'

describe('decodeEnvelope', () => {
  it('returns the items under the key and keeps the raw body', () => {
    const body = JSON.stringify({status: 'success', data: {instances: [{status: 'success', uuid: 'u1', name: 'a'}]}})
    const result = decodeEnvelope<Instance>(body, 'instances', URL)
    assert.equal(result.status, 'success')
    assert.deepEqual(result.items.map((i) => i.name), ['a'])
    assert.equal(result.raw, body)
  })
  it('treats data:{} and a missing data as an empty list', () => {
    assert.deepEqual(decodeEnvelope('{"status":"success","data":{}}', 'instances', URL).items, [])
    assert.deepEqual(decodeEnvelope('{"status":"success"}', 'instances', URL).items, [])
  })
  it('refuses data with several keys and bodies that are not envelopes', () => {
    assert.throws(() => decodeEnvelope('{"status":"success","data":{"a":[],"b":[]}}', 'a', URL), ApiError)
    assert.throws(() => decodeEnvelope('<html>bad gateway</html>', 'a', URL), /unexpected response/)
  })
  it('keeps partial_success: failed items stay in the list with their codes', () => {
    const body = JSON.stringify({
      status: 'partial_success',
      message: 'one or more operations failed',
      data: {instances: [{status: 'success', uuid: 'u1', name: 'a'}, {status: 'error', name: 'ghost', error: 8, message: 'instance not found'}]},
    })
    const result = decodeEnvelope<Instance>(body, 'instances', URL)
    assert.equal(result.status, 'partial_success')
    assert.equal(result.items.length, 2)
    assert.throws(() => allOrThrow(result), (error: unknown) => error instanceof NotFoundError && error.exitCode === 4 && error.message === 'ghost: instance not found')
  })
  it('throws the top-level message when status is error and there are no items', () => {
    assert.throws(() => decodeEnvelope('{"status":"error","message":"Quota exhausted"}', 'instances', URL), /Quota exhausted/)
  })
})

describe('errorForItem', () => {
  it('maps code 8 to not found (exit 4) and code 23 to already exists (exit 5)', () => {
    const missing = errorForItem({status: 'error', error: 8, message: 'instance not found', name: 'x'})
    assert.ok(missing instanceof NotFoundError)
    assert.equal(missing.exitCode, 4)
    const exists = errorForItem({status: 'error', error: 23, message: 'name already in use', name: 'web'})
    assert.ok(exists instanceof ConflictError)
    assert.equal(exists.exitCode, 5)
    assert.equal(exists.message, 'web: name already in use')
  })
  it('maps code 30 (the certificate is not for that name) to a usage error (exit 2) with a hint', () => {
    const mismatch = errorForItem({status: 'error', error: 30, message: "Certificate 'shop' (CN shop.example.com) is not valid for domain 'www.example.com'"})
    assert.ok(mismatch instanceof ValidationError)
    assert.equal(mismatch.exitCode, 2)
    assert.match(String(mismatch.hint), /subjectAltName/)
  })
  it('keeps unknown codes visible', () => {
    assert.match(errorForItem({status: 'error', error: 19, message: 'Quota exhausted'}).message, /Quota exhausted \(code=19\)/)
  })
  it('firstOrThrow returns the single item', () => {
    assert.equal(firstOrThrow({status: 'success', items: [{status: 'success', uuid: 'u', name: 'n'} as Instance], raw: ''}).name, 'n')
  })
})

describe('errorForHttpStatus', () => {
  it('maps statuses to typed errors and exit codes', () => {
    const cases: Array<[number, new (...args: never[]) => Error, number]> = [
      [400, ValidationError, 2],
      [401, AuthError, 3],
      [403, AuthError, 3],
      [404, NotFoundError, 4],
      [409, ConflictError, 5],
      [503, NetworkError, 7],
      [429, NetworkError, 7],
    ]
    for (const [status, type, exit] of cases) {
      const error = errorForHttpStatus(status, JSON.stringify({status: 'error', message: `m${status}`}), URL)
      assert.ok(error instanceof type, `HTTP ${status}`)
      assert.equal(error.exitCode, exit, `HTTP ${status}`)
      assert.match(error.message, new RegExp(`m${status}`))
    }
  })
})
