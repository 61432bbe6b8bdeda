// Starting and stopping the platform daemon from the CLI. (Implemented with the platform.)
import type {PlatformInfo} from './info.js'

export interface EnsureOptions {
  dataDir: string
  apiPort?: number
  gatewayPort?: number
  users?: string[]
}

/** Returns the running platform in `dataDir`, starting it as a background daemon if needed. */
export async function ensurePlatform(options: EnsureOptions): Promise<PlatformInfo> {
  throw new Error(`the embedded platform is not available yet (data dir ${options.dataDir})`)
}
