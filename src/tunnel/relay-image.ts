// Which relay a run of `ukc tunnel` uses. An image the user named (--tunnel-image, UKC_TUNNEL_IMAGE
// or the profile's `tunnelImage`) wins, and an official `utils/tunnel` image means legacy mode. On
// metro local the built-in WebSocket relay always exists. On a real metro the WebSocket relay is an
// image the user builds from deploy/relay/ (default name `<user>/tunnel-relay:latest`): it is looked
// up first (GET /images/list), and when the account has no such image, or the lookup fails, the run
// uses the official relay that Unikraft Cloud offers, saying so in one line — never failing for want
// of an image.
import {AuthError, type Image, NotFoundError, type UkcClient, displayUser, isFailed, listImages} from '../api/index.js'
import {LegacyFlavour} from './legacy/flavour.js'
import {isLegacyImage} from './legacy/protocol.js'
import type {RelayReach} from './relay-instance.js'
import type {RelayFlavour} from './relay-link.js'
import {WebSocketFlavour} from './websocket/flavour.js'

/** The embedded platform's built-in WebSocket relay. */
export const LOCAL_RELAY_IMAGE = 'ukc/tunnel-relay'
/** The relay real Unikraft Cloud offers (kraft's default tag). */
export const OFFICIAL_RELAY_IMAGE = 'official/utils/tunnel:latest'

/** Where `ukc tunnel` looks for the WebSocket relay on a real metro unless told otherwise. */
export function defaultRelayImage(user: string): string {
  return `${displayUser(user)}/tunnel-relay:latest`
}

export interface RelayChoice {
  api: UkcClient
  reach: RelayReach
  /** The image the user named, if any. */
  image?: string
  /** How many mappings the run has (legacy mode gives each its own public port). */
  mappings: number
  /** Legacy mode's -p values and -P. */
  proxyPorts?: number[]
  controlPort?: number
  heartbeatMs: number
  connectMs: number
  progress: (text: string) => void
  log: (line: string) => void
}

export function chooseRelay(choice: RelayChoice): RelayFlavour {
  const legacy = (image: string): RelayFlavour => new LegacyFlavour({...choice, image})
  const webSocket = (image: string): RelayFlavour => {
    if ((choice.proxyPorts?.length ?? 0) > 0 || choice.controlPort !== undefined) {
      choice.log('note: --tunnel-proxy-port and --tunnel-control-port are ignored: the WebSocket relay serves every mapping and its heartbeat on port 443')
    }
    return new WebSocketFlavour({...choice, image})
  }
  if (choice.image !== undefined && isLegacyImage(choice.image)) return legacy(choice.image)
  if (choice.reach.local) return webSocket(choice.image ?? LOCAL_RELAY_IMAGE)
  const wanted = choice.image ?? defaultRelayImage(choice.api.user)
  return {
    open: async (targets) => {
      choice.progress(`looking up the relay image ${wanted}`)
      const found = await lookUp(choice.api, wanted)
      if (found === true) return webSocket(wanted).open(targets)
      const why = found === false ? `your account has no image ${wanted}` : `could not look up the relay image ${wanted} (${found.message})`
      choice.log(`${why}: using the official relay ${OFFICIAL_RELAY_IMAGE} (legacy mode); for the WebSocket relay, build and push deploy/relay/ as ${wanted} (see docs/tunnel.md)`)
      return legacy(OFFICIAL_RELAY_IMAGE).open(targets)
    },
  }
}

/** Whether the account has `image`; the failure when the API could not say (an auth failure is thrown). */
async function lookUp(api: UkcClient, image: string): Promise<boolean | Error> {
  try {
    const {items} = await listImages(api, image)
    return items.some((item) => !isFailed(item) && names(item, image))
  } catch (error) {
    if (error instanceof NotFoundError) return false
    if (error instanceof AuthError) throw error
    return error as Error
  }
}

/** An answer names `image` when one of its tags (or its digest) does; an answer without tags is taken at its word. */
function names(item: Image, image: string): boolean {
  if (item.digest === image) return true
  if (!item.tags || item.tags.length === 0) return true
  return item.tags.some((tag) => canonical(tag) === canonical(image))
}

/** `index.unikraft.io/alice/relay` → `alice/relay:latest`, as kraft normalises image names. */
function canonical(ref: string): string {
  const bare = ref.trim().toLowerCase().replace(/^index\.unikraft\.io\//, '')
  return bare.includes(':') || bare.includes('@') ? bare : `${bare}:latest`
}
