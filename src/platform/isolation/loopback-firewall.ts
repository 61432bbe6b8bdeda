// The private network, enforced by the kernel: one nftables table per platform, named from its uid
// block, installed at start (replacing a stale one left by a killed daemon) and removed at stop.
// Its rules sit on the output hook and look at new connections only (`ct state new`; replies and
// established traffic pass) on the loopback interface:
//   - sockets of host uids (anything outside the platform's block: the platform, the CLI, the
//     operator) may connect anywhere;
//   - a socket of an instance uid may open a connection only to an address admitted for its uid:
//     the private and backend IPs of its own user's instances (v4), admitted while their private
//     endpoints are open. Everything else on loopback — the API, the gateway, other platforms, other
//     users' addresses, anything on 127.0.0.0/8 or ::1 — is refused (TCP reset, else ICMP);
//   - traffic of instance uids that leaves the machine is not touched.
// Instances are admitted one by one (`admit(uuid, …)`, `revoke(uuid)`).
//
// Kernel forwarding (`forward(uuid, routes)`, `unforward(uuid)`): while an instance runs, a `nat`
// `output` chain rewrites new connections to its private IP:port to its backend IP:port (DNAT, one
// map element per port), so they go straight to the instance's own socket instead of through the
// platform's user-space endpoint. The filter chain runs after NAT and sees the backend address: an
// instance uid still needs (its uid, the backend IP) admitted, which only its own user's instances
// have. Connections it forwarded skip the private endpoints' check of the source address, so the
// chain `forwarded` makes it here: a source in another user's range is refused for any uid.
// Established connections keep their translation (conntrack) when the element goes.
import {networkRanges} from '../network/index.js'
import type {UidBlock} from './uid-blocks.js'
import {NftQueue, listNft, nftBinary, runNft} from './nft.js'

/** The addresses one instance opens to its user's uid. */
export interface Admission {
  uid: number
  addresses: string[]
}

/** One port the kernel forwards: new connections to `from` go to `to` (IPv4 loopback addresses). */
export interface ForwardRoute {
  from: {host: string; port: number}
  to: {host: string; port: number}
}

export interface FirewallOptions {
  /** Forward private IPs to backends in the kernel while instances run (default true). */
  forwarding?: boolean
}

export class LoopbackFirewall {
  private readonly admitted = new Map<string, Admission>()
  private readonly forwarded = new Map<string, ForwardRoute[]>()
  /** The listing of the forwards' counters under way: callers at the same moment share one nft run. */
  private counting: Promise<Map<string, number>> | undefined

  private constructor(
    private readonly binary: string,
    private readonly queue: NftQueue,
    readonly table: string,
    /** `forward` does something (else the private endpoints carry every connection). */
    readonly forwarding: boolean,
  ) {}

  /** Installs the platform's table (replacing a stale one); rejects with the reason nft gave. */
  static async install(block: UidBlock, options: FirewallOptions = {}): Promise<LoopbackFirewall> {
    const binary = nftBinary()
    if (!binary) throw new Error('the nft binary is not installed (apt-get install nftables)')
    const table = `ukc_${block.first}`
    // `table` then `delete table` then the definition, in one transaction: a stale table is replaced
    // atomically, and a missing one is no error.
    await runNft(binary, [`table inet ${table} {}`, `delete table inet ${table}`, definition(table, block)].join('\n'))
    return new LoopbackFirewall(binary, new NftQueue(binary), table, options.forwarding ?? true)
  }

  /**
   * New connections to each route's `from` go to its `to` (replacing what was forwarded for
   * `instance`). Calls apply in the order they were made. No-op when forwarding is off.
   */
  forward(instance: string, routes: ForwardRoute[]): Promise<void> {
    if (!this.forwarding || routes.length === 0) return Promise.resolve()
    const script = [this.unforwardScript(instance), `add element inet ${this.table} forwards { ${routes.map(forwardElement).join(', ')} }`]
    this.forwarded.set(instance, routes)
    return this.queue.apply(script.filter(Boolean).join('\n'))
  }

  /** New connections to `instance`'s private IP go to its private endpoints again (no-op when none were forwarded). */
  unforward(instance: string): Promise<void> {
    const script = this.unforwardScript(instance)
    return script ? this.queue.apply(script) : Promise.resolve()
  }

  /**
   * New connections the kernel forwarded for `instance` since its routes were last added (a counter
   * per map element: the nat chain sees only the first packet of a connection).
   */
  async forwardedTotal(instance: string): Promise<number> {
    const routes = this.forwarded.get(instance)
    if (!routes) return 0
    this.counting ??= this.countForwards().finally(() => (this.counting = undefined))
    const counts = await this.counting
    return routes.reduce((sum, route) => sum + (counts.get(`${route.from.host}:${route.from.port}`) ?? 0), 0)
  }

  /** `host:port` → connections forwarded, from the map's element counters. */
  private async countForwards(): Promise<Map<string, number>> {
    const listing = (await listNft(this.binary, ['list', 'map', 'inet', this.table, 'forwards'])) as NftMapListing
    const counts = new Map<string, number>()
    for (const item of listing.nftables ?? []) {
      for (const [key] of item.map?.elem ?? []) {
        const [host, port] = key?.elem?.val?.concat ?? []
        if (host !== undefined && port !== undefined) counts.set(`${host}:${port}`, key?.elem?.counter?.packets ?? 0)
      }
    }
    return counts
  }

  private unforwardScript(instance: string): string {
    const routes = this.forwarded.get(instance)
    if (!routes) return ''
    this.forwarded.delete(instance)
    return `delete element inet ${this.table} forwards { ${routes.map((route) => `${route.from.host} . ${route.from.port}`).join(', ')} }`
  }

  /** Lets `uid`'s sockets open connections to `addresses` (an instance's private and backend IP). */
  async admit(instance: string, admission: Admission): Promise<void> {
    await this.revoke(instance)
    this.admitted.set(instance, admission)
    await this.queue.apply(`add element inet ${this.table} admitted { ${elements(admission)} }`)
  }

  /** Takes back what `admit` opened for `instance` (no-op when nothing was). */
  async revoke(instance: string): Promise<void> {
    const admission = this.admitted.get(instance)
    if (!admission) return
    this.admitted.delete(instance)
    await this.queue.apply(`delete element inet ${this.table} admitted { ${elements(admission)} }`)
  }

  /** Removes the table (at platform stop), once the changes already queued have been applied. */
  async remove(): Promise<void> {
    await this.queue.idle()
    this.admitted.clear()
    this.forwarded.clear()
    await runNft(this.binary, [`table inet ${this.table} {}`, `delete table inet ${this.table}`].join('\n'))
  }
}

/** What `nft -j list map` prints (the parts read here). */
interface NftMapListing {
  nftables?: Array<{map?: {elem?: Array<[{elem?: {val?: {concat?: [string, number]}; counter?: {packets?: number}}} | undefined, unknown]>}}>
}

/** Per user network: its backends refuse sources in another user's ranges (the endpoints' rule, address-scope.ts). */
function forwardedSourceRules(): string {
  return networkRanges()
    .map(({backends, foreign}) => `    ip daddr ${backends} ip saddr { ${foreign.join(', ')} } reject with tcp reset`)
    .join('\n')
}

function forwardElement({from, to}: ForwardRoute): string {
  return `${from.host} . ${from.port} : ${to.host} . ${to.port}`
}

function elements({uid, addresses}: Admission): string {
  return addresses.map((address) => `${uid} . ${address}`).join(', ')
}

function definition(table: string, block: UidBlock): string {
  return `table inet ${table} {
  set admitted {
    typeof meta skuid . ip daddr
  }
  map forwards {
    type ipv4_addr . inet_service : ipv4_addr . inet_service
    counter
  }
  chain forward {
    type nat hook output priority -100; policy accept;
    oif != "lo" accept
    dnat ip to ip daddr . tcp dport map @forwards
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ct state != new accept
    oif != "lo" accept
    ct status dnat jump forwarded
    meta skuid ${block.first}-${block.last} jump instance
  }
  chain forwarded {
${forwardedSourceRules()}
  }
  chain instance {
    meta skuid . ip daddr @admitted accept
    meta l4proto tcp reject with tcp reset
    reject
  }
}`
}
