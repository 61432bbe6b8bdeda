// Which certificate the gateway presents for a TLS client's SNI name: a user's own certificate for the
// name when one exists (hook), the metro wildcard for `<domain>` and `<label>.<domain>`, a leaf of its
// own for any other name that routes somewhere. Names that route nowhere get the wildcard, so random
// SNI names cannot make the gateway mint (and cache) certificates without bound. A name whose leaf
// exists is answered at once; only a name's first handshake waits for its leaf to be issued.
import tls from 'node:tls'
import type {CertificateAuthority, LeafCertificate} from '../tls/index.js'
import type {Logger, RouteTable} from '../types.js'
import {fqdnOf} from './host-name.js'

/**
 * The certificate a user's service presents for a name (PEM chain and key: uploaded, or issued for
 * the domain by the platform CA), or undefined: the platform CA's leaf is used. The same object for
 * as long as the certificate stands (a context is made once per object).
 */
export type UserCertificateLookup = (fqdn: string) => LeafCertificate | undefined

export interface SniOptions {
  ca: CertificateAuthority
  /** Metro domain, e.g. `local.localhost`. */
  domain: string
  routes: RouteTable
  log: Logger
  userCertificate?: UserCertificateLookup
}

type SniCallback = (servername: string, done: (error: Error | null, context?: tls.SecureContext) => void) => void

export class SniCertificates {
  /** One context per user certificate (the lookup returns the same object while the certificate stands). */
  private readonly userContexts = new WeakMap<LeafCertificate, tls.SecureContext>()

  constructor(private readonly options: SniOptions) {}

  /** The TLS options every gateway listener shares: the metro wildcard for clients without SNI, and the SNI choice. */
  async serverOptions(): Promise<tls.TlsOptions> {
    const {ca, domain} = this.options
    const fallback = await ca.issue([`*.${domain}`, domain])
    return {cert: fallback.cert, key: fallback.key, SNICallback: this.callback}
  }

  private readonly callback: SniCallback = (servername, done) => {
    const name = fqdnOf(servername)
    const user = this.userContext(name)
    if (user !== undefined) return done(null, user)
    const {ca, domain} = this.options
    const leafName = this.leafName(name)
    const known = ca.cachedContext(leafName, domain)
    if (known !== undefined) return done(null, known)
    ca.secureContext(leafName, domain).then(
      (context) => done(null, context),
      (error: unknown) => {
        this.options.log(`gateway: no certificate for ${name}: ${(error as Error).message}`)
        done(error as Error)
      },
    )
  }

  /** The name whose leaf `name` gets: itself when it is the metro's or routes somewhere, else the metro domain (wildcard). */
  private leafName(name: string): string {
    const {domain} = this.options
    const dot = name.indexOf('.')
    if (name === domain || (dot > 0 && name.slice(dot + 1) === domain)) return name
    return this.routes(name) ? name : domain
  }

  private routes(name: string): boolean {
    try {
      return this.options.routes.route(name) !== undefined
    } catch (error) {
      this.options.log(`gateway: route lookup for ${name} failed: ${(error as Error).message}`)
      return false
    }
  }

  private userContext(name: string): tls.SecureContext | undefined {
    const lookup = this.options.userCertificate
    let pair: LeafCertificate | undefined
    try {
      pair = name && lookup !== undefined ? lookup(name) : undefined
    } catch (error) {
      this.options.log(`gateway: certificate lookup for ${name} failed: ${(error as Error).message}`)
    }
    if (pair === undefined) return undefined
    let context = this.userContexts.get(pair)
    if (context === undefined) {
      try {
        context = tls.createSecureContext({cert: pair.cert, key: pair.key})
      } catch (error) {
        // A broken upload must not break the handshake: the platform CA's leaf stands in.
        this.options.log(`gateway: the certificate for ${name} is unusable: ${(error as Error).message}`)
        return undefined
      }
      this.userContexts.set(pair, context)
    }
    return context
  }
}
