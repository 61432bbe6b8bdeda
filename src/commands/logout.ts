import {BaseCommand, ConfigStore} from '../cli/index.js'

export interface LogoutResult {
  profile: string
  /** False when the profile held no token. */
  removed: boolean
}

export default class Logout extends BaseCommand<typeof Logout> {
  static override summary = 'Remove the saved token of a profile.'
  static override description = 'Deletes the token saved by `login` in the profile (--profile, default "default"); the profile\'s metro is kept. Tokens given through UKC_TOKEN or --token are not affected.'
  static override examples = ['<%= config.bin %> logout', '<%= config.bin %> logout --profile work']

  async run(): Promise<LogoutResult> {
    const store = new ConfigStore(this.config.configDir)
    const {name} = store.profile(this.flags.profile || process.env.UKC_PROFILE)
    let removed = false
    await store.write((config) => {
      const profile = config.profiles[name]
      if (profile?.token) {
        delete profile.token
        removed = true
      }
    })
    if (!this.jsonEnabled()) this.out(removed ? `Logged out (profile ${name})` : `Not logged in (profile ${name})`)
    return {profile: name, removed}
  }
}
