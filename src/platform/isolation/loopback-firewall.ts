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
// Instances are admitted one by one (`admit(uuid, …)`, `revoke(uuid)`), so per-instance rules (e.g.
// a DNAT from private IP to backend while the instance runs) have one place to go.
import type {UidBlock} from './uid-blocks.js'
import {NftQueue, nftBinary, runNft} from './nft.js'

/** The addresses one instance opens to its user's uid. */
export interface Admission {
  uid: number
  addresses: string[]
}

export class LoopbackFirewall {
  private readonly admitted = new Map<string, Admission>()

  private constructor(
    private readonly binary: string,
    private readonly queue: NftQueue,
    readonly table: string,
  ) {}

  /** Installs the platform's table (replacing a stale one); rejects with the reason nft gave. */
  static async install(block: UidBlock): Promise<LoopbackFirewall> {
    const binary = nftBinary()
    if (!binary) throw new Error('the nft binary is not installed (apt-get install nftables)')
    const table = `ukc_${block.first}`
    // `table` then `delete table` then the definition, in one transaction: a stale table is replaced
    // atomically, and a missing one is no error.
    await runNft(binary, [`table inet ${table} {}`, `delete table inet ${table}`, definition(table, block)].join('\n'))
    return new LoopbackFirewall(binary, new NftQueue(binary), table)
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
    await runNft(this.binary, [`table inet ${this.table} {}`, `delete table inet ${this.table}`].join('\n'))
  }
}

function elements({uid, addresses}: Admission): string {
  return addresses.map((address) => `${uid} . ${address}`).join(', ')
}

function definition(table: string, block: UidBlock): string {
  return `table inet ${table} {
  set admitted {
    typeof meta skuid . ip daddr
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ct state != new accept
    oif != "lo" accept
    meta skuid ${block.first}-${block.last} jump instance
  }
  chain instance {
    meta skuid . ip daddr @admitted accept
    meta l4proto tcp reject with tcp reset
    reject
  }
}`
}
