import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {hashToken, tokenMatches} from '../../src/tunnel/relay/auth.js'
import {parseRelayConfig, relayArgs} from '../../src/tunnel/relay/config.js'
import {TargetNotAllowed, TargetPolicy} from '../../src/tunnel/relay/targets.js'

describe('tunnel relay auth and config', () => {
  it('accepts only the token whose hash it was given', () => {
    const hash = Buffer.from(hashToken('right'), 'hex')
    assert.equal(tokenMatches('right', hash), true)
    assert.equal(tokenMatches('wrong', hash), false)
    assert.equal(tokenMatches(undefined, hash), false)
    assert.equal(tokenMatches('', Buffer.from(hashToken(''), 'hex')), true)
  })

  it('the relay args carry the hash, never the token', () => {
    const args = relayArgs({tokenHash: hashToken('s3cret-token'), allow: ['127.16.0.2:5432'], heartbeatTimeoutMs: 30_000})
    assert.ok(!args.join(' ').includes('s3cret-token'))
    const config = parseRelayConfig(args, {PORT: '8080', UKC_LISTEN_HOST: '127.32.0.2', UKC_PRIVATE_IP: '127.16.0.3'})
    assert.equal(config.port, 8080)
    assert.equal(config.host, '127.32.0.2')
    assert.equal(config.localAddress, '127.16.0.3')
    assert.deepEqual(config.allow, ['127.16.0.2:5432'])
    assert.throws(() => parseRelayConfig(['--allow=a:1'], {}), /token-sha256/)
  })

  it('limits default to 1,024 streams, an 8 MiB buffer and loopback as the trusted proxy; bad values are one-line errors', () => {
    const args = relayArgs({tokenHash: hashToken('t'), allow: ['127.16.0.2:5432'], heartbeatTimeoutMs: 30_000})
    const config = parseRelayConfig(args, {})
    assert.equal(config.maxStreams, 1024)
    assert.equal(config.bufferBytes, 8 * 1024 * 1024)
    assert.deepEqual(config.trustedProxies, ['127.0.0.0/8', '::1/128'])
    const tuned = parseRelayConfig([...args, '--max-streams=16', '--buffer-bytes=65536', '--trust-proxy=10.0.0.0/8,fd00::/8'], {})
    assert.deepEqual([tuned.maxStreams, tuned.bufferBytes, tuned.trustedProxies], [16, 65536, ['10.0.0.0/8', 'fd00::/8']])
    assert.throws(() => parseRelayConfig([...args, '--max-streams=0'], {}), /--max-streams must be a whole number/)
    assert.throws(() => parseRelayConfig([...args, '--trust-proxy=gateway'], {}), /--trust-proxy gateway is not an address/)
    assert.throws(() => parseRelayConfig([...args, '--trust-proxy=10.0.0.0/33'], {}), /--trust-proxy/)
  })

  it('allows only listed targets, case-insensitively', () => {
    const policy = new TargetPolicy(['DB.internal:5432', '127.16.0.2:6379'])
    assert.deepEqual(policy.check('db.internal:5432'), {host: 'db.internal', port: 5432})
    assert.throws(() => policy.check('169.254.169.254:80'), TargetNotAllowed)
    assert.throws(() => policy.check('127.16.0.2:22'), TargetNotAllowed)
    assert.throws(() => policy.check('db.internal:5432@evil'), TargetNotAllowed)
  })
})
