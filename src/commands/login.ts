import {Flags} from '@oclif/core'

import {AuthError, NotFoundError, UsageError, decodeToken, displayUser, getInstances, getQuotas} from '../api/index.js'
import {BaseCommand, ConfigStore, type Target, clientFor, prompts} from '../cli/index.js'

export interface LoginResult {
  user: string
  metro: string
  profile: string
}

export default class Login extends BaseCommand<typeof Login> {
  static override summary = 'Save a token for a metro in a profile.'
  static override description = `Asks for the token on a terminal (without echo); otherwise takes --token, or reads it from stdin. The token is checked against the API, then saved with the metro in the profile (--profile, default "default") in a file only you can read.
A token is base64 of user:secret, as Unikraft Cloud issues it.`
  static override examples = [
    '<%= config.bin %> login --metro fra',
    'echo "$UKC_TOKEN" | <%= config.bin %> login --metro fra --profile work',
    '<%= config.bin %> login --metro http://127.0.0.1:8080/v1 --token "$TOKEN"',
  ]
  static override flags = {
    // The global --token also reads UKC_TOKEN; login wants an explicit token, so it is redeclared without the env.
    token: Flags.string({summary: 'The token to save (otherwise asked for on a terminal, or read from stdin).', helpGroup: 'GLOBAL'}),
  }

  async run(): Promise<LoginResult> {
    const token = await this.readToken()
    decodeToken(token)
    const target = await this.resolveTargetWith(token)
    await this.validate(target)
    const store = new ConfigStore(this.config.configDir)
    await store.write((config) => {
      config.profiles[target.profile] = {...config.profiles[target.profile], token, metro: target.metro}
    })
    const result = {user: displayUser(decodeToken(token).user), metro: target.metro, profile: target.profile}
    if (!this.jsonEnabled()) this.out(`Logged in as ${result.user} on ${result.metro} (profile ${result.profile})`)
    return result
  }

  private async readToken(): Promise<string> {
    if (this.flags.token) return this.flags.token.trim()
    if (this.interactive) return (await prompts.secret('Unikraft Cloud token:')).trim()
    if (process.stdin.isTTY) throw new UsageError('no token given', 'pass --token, or pipe the token on stdin')
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    const token = Buffer.concat(chunks).toString('utf8').trim()
    if (!token) throw new UsageError('no token given', 'pass --token, or pipe the token on stdin')
    return token
  }

  private resolveTargetWith(token: string): Promise<Target> {
    this.flags.token = token
    return this.resolveTarget()
  }

  /** Any authenticated call will do: the quotas, or the instance list where quotas do not exist. */
  private async validate(target: Target): Promise<void> {
    const client = clientFor(target)
    try {
      await getQuotas(client)
    } catch (error) {
      if (error instanceof NotFoundError) {
        await getInstances(client)
        return
      }
      if (error instanceof AuthError) throw new AuthError(`the API at ${target.baseUrl} refused this token`, 'check the token and the metro')
      throw error
    }
  }
}
