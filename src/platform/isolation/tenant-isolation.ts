// What the platform can enforce between its users below the API, decided once at start:
//   - as root, with a usable uid block: each user's instances run under a uid of their own (files
//     and processes isolated), and with nft, the private network is enforced by the kernel;
//   - as root without nft: uids, but the network is only checked by the private endpoints;
//   - as root without a usable uid block (a user namespace that does not map it, no registry):
//     every user's instances run as `nobody`, like an unprivileged platform;
//   - not as root: every instance runs as the platform's own user.
// Each shortfall is one line in `limits`: logged, written to platform.json, shown by `local start`.
import os from 'node:os'

import {LoopbackFirewall} from './loopback-firewall.js'
import {claimUidBlock, UID_REGISTRY, unusableReason, type UidBlock} from './uid-blocks.js'

export interface TenantIsolation {
  /** The platform's uid block; undefined = instances do not get uids of their own. */
  uids?: UidBlock
  /** The kernel's enforcement of the private network; undefined = none. */
  firewall?: LoopbackFirewall
  /** What the platform cannot enforce, one line each. */
  limits: string[]
  /** Removes the firewall's table (platform stop). */
  close(): Promise<void>
}

export interface IsolationOptions {
  dataDir: string
  /** How many users the platform has (one user alone has nobody to be isolated from). */
  users: number
  /** The machine-wide uid registry (tests may point elsewhere). */
  registry?: string
}

function platformUser(): string {
  try {
    return os.userInfo().username
  } catch {
    return `uid ${process.getuid?.()}` // no passwd entry
  }
}

/**
 * Kernel forwarding of the private network (on by default where the firewall is installed);
 * `UKC_KERNEL_FORWARDING=off` keeps every private connection on the platform's endpoints.
 */
function kernelForwardingWanted(): boolean {
  return !['off', '0', 'false', 'no'].includes((process.env.UKC_KERNEL_FORWARDING ?? '').toLowerCase())
}

const NOT_ISOLATED = 'files, processes and private addresses are not isolated between users'

export async function isolateTenants(options: IsolationOptions): Promise<TenantIsolation> {
  const none = (limits: string[]): TenantIsolation => ({limits, close: async () => {}})
  if (process.getuid?.() !== 0) {
    const who = platformUser()
    return none(options.users > 1 ? [`the platform does not run as root, so every user's instances run as ${who}: ${NOT_ISOLATED}, and instances reach the host's loopback services; start it as root to isolate users`] : [])
  }
  let uids: UidBlock
  try {
    uids = await claimUidBlock(options.dataDir, options.registry ?? UID_REGISTRY)
  } catch (error) {
    return none([`no uid block for per-user instance uids (${(error as Error).message}), so every user's instances run as nobody: ${NOT_ISOLATED}`])
  }
  const unusable = unusableReason(uids)
  if (unusable) return none([`per-user instance uids cannot be used (${unusable}), so every user's instances run as nobody: ${NOT_ISOLATED}`])
  let firewall: LoopbackFirewall
  try {
    firewall = await LoopbackFirewall.install(uids, {forwarding: kernelForwardingWanted()})
  } catch (error) {
    const reason = (error as Error).message
    return {
      uids,
      limits: [`nftables is not usable (${reason}): files and processes are isolated per user, the private network is not (instances reach other users' addresses and the host's loopback services)`],
      close: async () => {},
    }
  }
  return {uids, firewall, limits: [], close: () => firewall.remove()}
}
