import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {UsageError, baseUrlForMetro} from '../../src/api/index.js'

describe('baseUrlForMetro', () => {
  it('maps new metros to api.<metro>.unikraft.cloud', () => {
    for (const m of ['fra', 'dal', 'sfo', 'sin', 'was']) assert.equal(baseUrlForMetro(m), `https://api.${m}.unikraft.cloud/v1`)
  })
  it('maps legacy metros to api.<metro>.kraft.cloud', () => {
    for (const m of ['fra0', 'dal0', 'sin0', 'was1']) assert.equal(baseUrlForMetro(m), `https://api.${m}.kraft.cloud/v1`)
  })
  it('uses a value with :// verbatim, without a trailing slash', () => {
    assert.equal(baseUrlForMetro('http://127.0.0.1:8080/v1/'), 'http://127.0.0.1:8080/v1')
  })
  it('maps local to the platform URL', () => {
    assert.equal(baseUrlForMetro('local', 'https://127.0.0.1:7780/v1'), 'https://127.0.0.1:7780/v1')
  })
  it('rejects an unknown metro with a usage error naming the known ones', () => {
    assert.throws(() => baseUrlForMetro('mars'), (error: unknown) => {
      assert.ok(error instanceof UsageError)
      assert.equal(error.exitCode, 2)
      assert.match(error.message, /unknown metro "mars".*fra, dal, sfo, sin, was, fra0/)
      return true
    })
  })
})
