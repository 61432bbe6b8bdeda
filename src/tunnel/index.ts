// The public face of the tunnel: mappings, the run loop and the relay choice (what `ukc tunnel`
// uses), the pieces a run is made of (listeners, the two relay flavours' links), and the relay as a
// library.
export {type ResolvedMapping, type TargetKind, type TunnelMapping, parseBind, parseMapping, parseMappings, resolveMappings, targetAddress} from './mappings.js'
export {type TunnelReady, type TunnelRunOptions, runTunnel} from './run-loop.js'
export {LOCAL_RELAY_IMAGE, OFFICIAL_RELAY_IMAGE, type RelayChoice, chooseRelay, defaultRelayImage} from './relay-image.js'
export {type ActiveForward, type ForwardSpec, TunnelListeners} from './listeners.js'
export {Backoff, type BackoffPolicy, RELAY_BACKOFF} from './backoff.js'
export type {CarriedConnection, OpenRelay, RelayFlavour, RelayLink} from './relay-link.js'
export {type RelayInstance, type RelayReach, createRelayInstance, deleteRelay, publicAddress, relayAlive} from './relay-instance.js'
export {WebSocketLink} from './websocket/link.js'
export {type RelayEndpoint, RelayConnection, RelayHandshakeError} from './websocket/relay-connection.js'
export {createRelay, newRelayCredentials, relayEndpoint} from './websocket/flavour.js'
export {LegacyLink} from './legacy/link.js'
export {isLegacyImage, newCookie} from './legacy/protocol.js'
export {hashToken} from './relay/auth.js'
export {RELAY_DEFAULT_PORT, parseRelayConfig, relayArgs, type RelayConfig} from './relay/config.js'
export {RelayServer} from './relay/server.js'
export {CloseCode, DEFAULT_WINDOW, FrameType, MAX_STREAM_WINDOW, OPEN_CREDIT, ResetCode, SUBPROTOCOL, SUBPROTOCOL_V1, describeReset} from './protocol.js'
