import fs from 'node:fs'
import path from 'node:path'

/** One saved set of credentials and defaults. The token is a secret: never printed. */
export interface Profile {
  token?: string
  metro?: string
  /** The relay image `ukc tunnel` uses (as --tunnel-image); see docs/tunnel.md. */
  tunnelImage?: string
}

export interface StoredConfig {
  activeProfile?: string
  profiles: Record<string, Profile>
}

export const DEFAULT_PROFILE = 'default'

/**
 * Profiles in `<configDir>/config.json`, written with mode 0600 through `conf` (loaded lazily:
 * it costs ~100 ms to import and most commands only read).
 */
export class ConfigStore {
  readonly file: string

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'config.json')
  }

  read(): StoredConfig {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<StoredConfig>
      return {activeProfile: parsed.activeProfile, profiles: parsed.profiles ?? {}}
    } catch {
      return {profiles: {}}
    }
  }

  profile(name?: string): {name: string; profile: Profile} {
    const stored = this.read()
    const chosen = name || stored.activeProfile || DEFAULT_PROFILE
    return {name: chosen, profile: stored.profiles[chosen] ?? {}}
  }

  async write(update: (config: StoredConfig) => void): Promise<void> {
    const {default: Conf} = await import('conf')
    const store = new Conf<StoredConfig>({
      cwd: this.dir,
      configName: 'config',
      configFileMode: 0o600,
      projectName: 'ukc',
      defaults: {profiles: {}},
    })
    const current: StoredConfig = {activeProfile: store.get('activeProfile'), profiles: store.get('profiles') ?? {}}
    update(current)
    store.store = JSON.parse(JSON.stringify(current)) as StoredConfig
    fs.chmodSync(this.file, 0o600)
  }
}
