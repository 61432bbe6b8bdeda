// The per-user private network: private endpoints owned by the platform, `.internal` names.
export {PrivateEndpoint, type PrivateEndpointOptions} from './private-endpoint.js'
export {InstanceEndpoints, type AddressAdmission, type EndpointPort, type InstanceEndpointsOptions} from './instance-endpoints.js'
export {ConnectionCount} from './connection-count.js'
export {resolveInternal, writeHostsFile, type InternalName} from './hosts-file.js'
export {mayConnect, networkIndexOf, networkRanges} from './address-scope.js'
export {splice, type SpliceHooks} from './socket-splice.js'
