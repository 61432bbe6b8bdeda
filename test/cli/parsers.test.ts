import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {UsageError} from '../../src/api/index.js'
import {normalizeImage, parseDomains, parseDuration, parseEnv, parseMemory, parsePortMappings, parseVolume} from '../../src/cli/parsers.js'

function usage(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`)
    assert.equal(error.exitCode, 2)
    if (typeof message === 'string') assert.equal(error.message, message)
    else assert.match(error.message, message)
    return true
  })
}

describe('parsePortMappings', () => {
  it('reads EXTERNAL:INTERNAL/HANDLERS', () => {
    assert.deepEqual(parsePortMappings(['443:8080/http+tls', '8443:9000/tls']), [
      {port: 443, destination_port: 8080, handlers: ['http', 'tls']},
      {port: 8443, destination_port: 9000, handlers: ['tls']},
    ])
  })
  it('reads PORT[/HANDLERS] as the same port on both sides and omits absent handlers', () => {
    assert.deepEqual(parsePortMappings(['6379/tls', '8080:80']), [
      {port: 6379, destination_port: 6379, handlers: ['tls']},
      {port: 8080, destination_port: 80},
    ])
  })
  it('expands a single 443:X into HTTPS plus a redirect from 80', () => {
    assert.deepEqual(parsePortMappings(['443:8080']), [
      {port: 443, destination_port: 8080, handlers: ['http', 'tls']},
      {port: 80, destination_port: 443, handlers: ['http', 'redirect']},
    ])
  })
  it('does not expand 443:X when handlers are given or several ports are published', () => {
    assert.deepEqual(parsePortMappings(['443:8080/tls']), [{port: 443, destination_port: 8080, handlers: ['tls']}])
    assert.equal(parsePortMappings(['443:8080', '8443:8443/tls']).length, 2)
  })
  it("rejects unknown handlers with kraft's message", () => {
    usage(() => parsePortMappings(['443:8080/http+quic']), 'unknown handler: quic (choice of [tls http redirect])')
  })
  it("rejects malformed mappings with kraft's messages", () => {
    usage(() => parsePortMappings(['443:8080/http/tls']), 'malformed port expected format EXTERNAL:INTERNAL[/HANDLER]')
    usage(() => parsePortMappings(['1:2:3']), 'invalid --port value expected --port EXTERNAL:INTERNAL')
    usage(() => parsePortMappings(['web:80']), /could not parse port number: "web"/)
  })
})

describe('parseMemory', () => {
  it('reads a plain integer as MiB', () => assert.equal(parseMemory('256'), 256))
  it('reads binary and decimal quantities', () => {
    assert.equal(parseMemory('512Mi'), 512)
    assert.equal(parseMemory('1Gi'), 1024)
    assert.equal(parseMemory('1.5Gi'), 1536)
    assert.equal(parseMemory('1G'), 953)
    assert.equal(parseMemory('2048Ki'), 2)
  })
  it('refuses less than 1Mi', () => {
    usage(() => parseMemory('512Ki'), 'memory must be at least 1Mi')
    usage(() => parseMemory('0'), 'memory must be at least 1Mi')
  })
  it('refuses what is not a quantity', () => {
    usage(() => parseMemory('lots'), /invalid memory quantity "lots"/)
    usage(() => parseMemory('12Xi'), /invalid memory quantity/)
  })
})

describe('parseEnv', () => {
  it('splits on the first = and keeps commas and further = in the value', () => {
    assert.deepEqual(parseEnv(['HOSTS=a,b,c', 'URL=postgres://u:p@h/db?x=1']), {HOSTS: 'a,b,c', URL: 'postgres://u:p@h/db?x=1'})
  })
  it('copies a bare KEY from the local environment, empty when unset', () => {
    assert.deepEqual(parseEnv(['HOME_DIR', 'MISSING'], {HOME_DIR: '/home/alice'}), {HOME_DIR: '/home/alice', MISSING: ''})
  })
  it('keeps an explicit empty value', () => assert.deepEqual(parseEnv(['EMPTY='], {EMPTY: 'x'}), {EMPTY: ''}))
  it('refuses an empty key', () => usage(() => parseEnv(['=x']), /invalid environment variable/))
})

describe('parseVolume', () => {
  it('reads NAME:PATH and NAME:PATH:ro', () => {
    assert.deepEqual(parseVolume('data:/data'), {name: 'data', at: '/data', readonly: false})
    assert.deepEqual(parseVolume('cfg:/etc/app:ro'), {name: 'cfg', at: '/etc/app', readonly: true})
  })
  it('addresses a UUID-shaped volume by uuid', () => {
    assert.deepEqual(parseVolume('66D05E09-1C4A-4A8F-9C7E-0A1B2C3D4E5F:/data'), {uuid: '66d05e09-1c4a-4a8f-9c7e-0a1b2c3d4e5f', at: '/data', readonly: false})
  })
  it("rejects other shapes with kraft's message", () => {
    for (const bad of ['data', 'data:/x:rx', 'a:b:ro:d', ':/data']) {
      usage(() => parseVolume(bad), 'invalid syntax for -v|--volume: expected VOLUME:PATH[:ro]')
    }
  })
})

describe('parseDuration', () => {
  it('reads Go durations in milliseconds', () => {
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('10s'), 10_000)
    assert.equal(parseDuration('1m'), 60_000)
    assert.equal(parseDuration('1h30m'), 5_400_000)
    assert.equal(parseDuration('1.5s'), 1500)
    assert.equal(parseDuration('0'), 0)
  })
  it('enforces a minimum', () => usage(() => parseDuration('0', {flag: '--wait', minMs: 1}), '--wait duration must be at least 1ms'))
  it('refuses numbers without a unit and garbage', () => {
    usage(() => parseDuration('10'), /invalid duration "10"/)
    usage(() => parseDuration('10s junk'), /invalid duration/)
    usage(() => parseDuration('soon', {flag: '--wait'}), /invalid --wait duration "soon"/)
  })
})

describe('parseDomains', () => {
  it('appends a trailing dot only when missing', () => {
    assert.deepEqual(parseDomains({domains: ['example.com', 'www.example.com.']}), [{name: 'example.com.'}, {name: 'www.example.com.'}])
  })
  it('pairs certificates with domains and insists on equal counts', () => {
    assert.deepEqual(parseDomains({domains: ['example.com'], certificates: ['my-cert']}), [{name: 'example.com.', certificate: {name: 'my-cert'}}])
    usage(() => parseDomains({domains: ['a.com', 'b.com'], certificates: ['c']}), 'number of certificates does not match number of domains')
  })
  it('prefers subdomains, without a trailing dot', () => {
    assert.deepEqual(parseDomains({subdomains: ['shop.'], domains: ['example.com']}), [{name: 'shop'}])
  })
})

describe('normalizeImage', () => {
  it('adds :latest and drops the registry and official/ prefixes', () => {
    assert.equal(normalizeImage('nginx'), 'nginx:latest')
    assert.equal(normalizeImage('index.unikraft.io/official/nginx:1.25'), 'nginx:1.25')
    assert.equal(normalizeImage('alice/app@sha256:abc'), 'alice/app@sha256:abc')
    assert.equal(normalizeImage('localhost:5000/app'), 'localhost:5000/app:latest')
  })
})
