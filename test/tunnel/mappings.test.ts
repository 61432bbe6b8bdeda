import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {UsageError} from '../../src/api/index.js'
import {parseBind, parseMapping, parseMappings, targetAddress} from '../../src/tunnel/index.js'

describe('tunnel mappings', () => {
  it('parses every form kraft accepts', () => {
    assert.deepEqual(parseMapping('nginx:8080'), {localPort: 8080, host: 'nginx', kind: 'instance', destPort: 8080, spec: 'nginx:8080'})
    assert.deepEqual(parseMapping('8333:nginx:8080/tcp'), {localPort: 8333, host: 'nginx', kind: 'instance', destPort: 8080, spec: '8333:nginx:8080/tcp'})
    assert.equal(parseMapping('0:db:5432').localPort, 0)
    assert.equal(parseMapping('nginx.internal:8080').kind, 'fqdn')
    assert.equal(parseMapping('172.16.28.8:8080').kind, 'ip')
    assert.equal(parseMapping('8080:my-instance1:8080/TCP').destPort, 8080)
  })

  it('takes IPv6 targets in brackets', () => {
    const m = parseMapping('15432:[fd00::1]:5432')
    assert.equal(m.host, 'fd00::1')
    assert.equal(m.kind, 'ip')
    assert.equal(targetAddress(m.host, m.destPort), '[fd00::1]:5432')
    assert.equal(parseMapping('[::1]:80').localPort, 80)
  })

  const bad: Array<[string, RegExp]> = [
    ['8080', /a bare port is not enough/],
    ['nginx', /no destination port/],
    ['8080:5432', /"8080" is not an instance/],
    ['db:70000', /destination port 70000 is out of range/],
    ['70000:db:5432', /local port 70000 is out of range/],
    ['db:0', /destination port 0 is out of range/],
    ['db:http', /"http" is not a valid destination port/],
    ['172.16.22.2:8123/udp', /UDP is not supported/],
    ['db:53/sctp', /unknown protocol "sctp"/],
    ['1:2:3:4', /IPv6 targets go in brackets/],
    ['[nothost]:80', /not an IPv6 address/],
    [':5432', /missing the target/],
  ]
  for (const [spec, message] of bad) {
    it(`refuses ${JSON.stringify(spec)} with one usage line (exit 2)`, () => {
      assert.throws(() => parseMapping(spec), (error: unknown) => {
        assert.ok(error instanceof UsageError)
        assert.equal(error.exitCode, 2)
        assert.match(error.message, message)
        assert.ok(!error.message.includes('\n'))
        return true
      })
    })
  }

  it('refuses the same local port twice but allows several 0s', () => {
    assert.throws(() => parseMappings(['5432:db:5432', 'other:5432']), /local port 5432 is already used by 5432:db:5432/)
    assert.equal(parseMappings(['0:a:1', '0:b:1']).length, 2)
    assert.throws(() => parseMappings([]), /no port mapping/)
  })

  it('parses --bind with IPv6 brackets', () => {
    assert.equal(parseBind('[::1]'), '::1')
    assert.equal(parseBind('127.0.0.1'), '127.0.0.1')
    assert.throws(() => parseBind('1:2:zz'), UsageError)
  })
})
