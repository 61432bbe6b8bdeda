// The public gateway: routes <fqdn> on published ports to a service's instances.
export {Gateway, type GatewayOptions} from './gateway.js'
export {DEFAULT_LIMITS, type GatewayLimits} from './limits.js'
export {NO_SERVICE} from './refusal.js'
export type {UserCertificateLookup} from './sni-certificates.js'
