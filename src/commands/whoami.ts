import {BaseCommand} from '../cli/index.js'
import {decodeToken, displayUser} from '../api/index.js'

export interface WhoamiResult {
  user: string
  metro: string
  url: string
  profile: string
}

export default class Whoami extends BaseCommand<typeof Whoami> {
  static override summary = 'Show the user and metro ukc acts as.'
  static override description = 'Resolves the token and metro as every command does (flag > env > profile > default) and prints who you are. The secret is never printed.'
  static override examples = ['<%= config.bin %> whoami', '<%= config.bin %> whoami --metro fra --json']

  async run(): Promise<WhoamiResult> {
    const target = await this.resolveTarget()
    const {user} = decodeToken(target.token)
    const result = {user: displayUser(user), metro: target.metro, url: target.baseUrl, profile: target.profile}
    this.show(result, undefined, () => `user: ${result.user}\nmetro: ${result.metro}\nurl: ${result.url}\nprofile: ${result.profile}`)
    return result
  }
}
