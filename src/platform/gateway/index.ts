// The public gateway: routes <fqdn> on published ports to a service's instances.
export {Gateway, type GatewayOptions} from './gateway.js'
export {NO_SERVICE} from './refusal.js'
