import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {Instance} from '../../src/api/index.js'
import {instanceFqdn, instanceStatus, renderCreateSummary, stopOrigin, stopReasonText} from '../../src/cli/instance-view.js'
import {renderServices} from '../../src/cli/service-view.js'

const base: Instance = {uuid: 'u', name: 'web'}

describe('instance view', () => {
  it('decodes stop reasons and origins', () => {
    assert.equal(stopOrigin(15), 'initiated by user (--UPAK)')
    assert.equal(stopOrigin(28), 'initiated by user (-FUP--)')
    assert.equal(stopReasonText({...base, stop_reason: 15}), 'stopped by user')
    assert.equal(stopReasonText({...base, stop_reason: 3, exit_code: 2}), 'exited with code 2')
    assert.equal(stopReasonText({...base, stop_reason: 1, stop_code: 0x000c7f04}), 'out of memory (i127 PGFAULT ENOMEM)')
    assert.equal(stopReasonText({...base, stop_reason: 39}), 'scaled to zero')
  })

  it('shows public FQDNs, else the private one for instances without a service', () => {
    assert.equal(instanceFqdn({...base, private_fqdn: 'web.internal', service_group: {uuid: 's', name: 's', domains: [{fqdn: 'a.x'}, {fqdn: 'b.x'}]}}), 'a.x, b.x')
    assert.equal(instanceFqdn({...base, private_fqdn: 'web.internal'}), 'web.internal')
  })

  it('says since when an instance runs, and why it stopped', () => {
    assert.equal(instanceStatus({...base, state: 'running', uptime_ms: 125_000}), 'since 2mins')
    assert.equal(instanceStatus({...base, state: 'stopped', stop_reason: 28}), 'forced stop by user')
    assert.equal(instanceStatus({...base, state: 'standby'}), 'standby')
    assert.equal(instanceStatus({...base, status: 'error', message: 'instance not found'}), 'instance not found')
  })

  it('prefixes the domain with https:// only when the service publishes 443', () => {
    const instance: Instance = {...base, state: 'running', service_group: {uuid: 's', name: 'svc', domains: [{fqdn: 'svc.fra.unikraft.app'}]}}
    const https = renderCreateSummary(instance, {metro: 'fra', service: {uuid: 's', name: 'svc', services: [{port: 443, destination_port: 8080}]}})
    assert.match(https, /^ ──────── domain: https:\/\/svc\.fra\.unikraft\.app$/m)
    const tls = renderCreateSummary(instance, {metro: 'fra', service: {uuid: 's', name: 'svc', services: [{port: 6379, destination_port: 6379}]}})
    assert.match(tls, /^ ──────── domain: svc\.fra\.unikraft\.app$/m)
    const local = renderCreateSummary(instance, {metro: 'local', httpsPort: 7443, service: {uuid: 's', name: 'svc', services: [{port: 443}]}})
    assert.match(local, /domain: https:\/\/svc\.fra\.unikraft\.app:7443$/m)
  })
})

describe('service view', () => {
  it('joins port mappings with spaces and omits absent handlers', () => {
    const table = renderServices([{uuid: 'u', name: 'svc', services: [{port: 8081, destination_port: 8080, handlers: ['tls']}, {port: 9000, destination_port: 9000}]}], 'table')
    assert.match(table, /^svc\s+8081:8080\/tls 9000:9000(\s|$)/m)
  })
})
