// The public face of the tunnel: mappings, the client bridge, the relay (as a library) and its args.
export {parseBind, parseMapping, parseMappings, targetAddress, type TargetKind, type TunnelMapping} from './mappings.js'
export {type ActiveForward, type ForwardSpec, TunnelClient, type TunnelClientOptions} from './client/tunnel-client.js'
export {type RelayEndpoint, RelayHandshakeError} from './client/relay-connection.js'
export {hashToken} from './relay/auth.js'
export {RELAY_DEFAULT_PORT, parseRelayConfig, relayArgs, type RelayConfig} from './relay/config.js'
export {RelayServer} from './relay/server.js'
export {CloseCode, DEFAULT_WINDOW, FrameType, ResetCode, SUBPROTOCOL, describeReset} from './protocol.js'
export {DEFAULT_RELAY_IMAGE, type RelayInstance, type ResolvedMapping, createRelay, deleteRelay, newRelayCredentials, relayAlive, relayEndpoint, resolveMappings} from './relay-instance.js'
