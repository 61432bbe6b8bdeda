// The platform's own certificate authority: one EC P-256 CA per data dir, created on first start and
// reused after (so a CA the user trusted once stays trusted), signing leaves for the API and the gateway.
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import tls from 'node:tls'

import {writeFileDurably} from '../store/durable-file.js'
import {type Issuer, type PemPair, loadIssuer, newCa, signedLeaf} from './certificate.js'

const CA_DAYS = 3650
const LEAF_DAYS = 365
const DAY_MS = 24 * 3_600_000
/** Re-issue a cached leaf this long before it expires (a daemon can run for months). */
const LEAF_RENEW_MS = 7 * DAY_MS

export type LeafCertificate = PemPair

interface CachedLeaf extends LeafCertificate {
  expiresAt: number
  context?: tls.SecureContext
}

/** The leaves for one set of names: the one in use, and the one being issued (first, or a renewal). */
interface LeafSlot {
  current?: CachedLeaf
  issuing?: Promise<CachedLeaf>
}

export interface AuthorityOptions {
  /** Metro domain (e.g. `local.localhost`): its names share one wildcard leaf. */
  domain?: string
}

export class CertificateAuthority {
  readonly certPath: string
  readonly certPem: string
  readonly domain?: string
  private readonly leaves = new Map<string, LeafSlot>()

  private constructor(
    certPath: string,
    certPem: string,
    private readonly issuer: Issuer,
    options: AuthorityOptions,
  ) {
    this.certPath = certPath
    this.certPem = certPem
    this.domain = options.domain?.toLowerCase()
  }

  /** `<dir>/ca.pem` (0644) and `<dir>/ca-key.pem` (0600): read when present, created otherwise. */
  static async loadOrCreate(dir: string, options: AuthorityOptions = {}): Promise<CertificateAuthority> {
    const certPath = path.join(dir, 'ca.pem')
    const keyPath = path.join(dir, 'ca-key.pem')
    const existing = await readIfPresent(certPath)
    if (existing === undefined) return CertificateAuthority.create(dir, certPath, keyPath, options)
    const keyPem = await readIfPresent(keyPath)
    if (keyPem === undefined) throw new Error(`${keyPath} is missing next to ${certPath}; remove ${certPath} to create a new CA`)
    let issuer: Issuer
    try {
      if (!new crypto.X509Certificate(existing).checkPrivateKey(crypto.createPrivateKey(keyPem))) throw new Error('the key does not match the certificate')
      issuer = await loadIssuer({cert: existing, key: keyPem})
    } catch (error) {
      throw new Error(`the platform CA in ${dir} is unusable (${(error as Error).message}); remove ca.pem and ca-key.pem to create a new one`)
    }
    // Tighten a key file someone loosened (copied with cp, restored from a backup).
    await fs.chmod(keyPath, 0o600)
    return new CertificateAuthority(certPath, existing, issuer, options)
  }

  /** A leaf for DNS names and/or IP addresses, signed by this CA; the same names return the cached leaf. */
  async issue(names: string[]): Promise<LeafCertificate> {
    return this.cachedLeaf(names) ?? this.issuing(names)
  }

  /**
   * A new leaf for a DNS name, never cached nor shared: the certificate of a user's custom domain
   * (a certificate object of its own, stored by the API and presented by the gateway).
   */
  mint(fqdn: string): Promise<LeafCertificate> {
    return signedLeaf(this.issuer, [fqdn.toLowerCase()], LEAF_DAYS)
  }

  /**
   * The TLS context for a client's SNI name: the metro domain's wildcard leaf for `<domain>` and
   * `<label>.<domain>`, a leaf of its own for any other (custom) FQDN. `domain` defaults to the one
   * given to loadOrCreate (the gateway passes its own).
   */
  async secureContext(servername: string, domain = this.domain): Promise<tls.SecureContext> {
    return this.cachedContext(servername, domain) ?? contextOf(await this.issuing(namesFor(servername, domain)))
  }

  /**
   * The context for `servername` when its leaf is already issued, without waiting for anything (a
   * TLS handshake for a known name); undefined when the leaf must be issued first.
   */
  cachedContext(servername: string, domain = this.domain): tls.SecureContext | undefined {
    const leaf = this.cachedLeaf(namesFor(servername, domain))
    return leaf === undefined ? undefined : contextOf(leaf)
  }

  /** A valid cached leaf; one due for renewal is still served while its successor is issued. */
  private cachedLeaf(names: string[]): CachedLeaf | undefined {
    const slot = this.leaves.get(cacheKey(names))
    const current = slot?.current
    if (current === undefined || current.expiresAt <= Date.now()) return undefined
    if (current.expiresAt - LEAF_RENEW_MS <= Date.now()) {
      // A failed renewal is tried again on the next use; the current leaf serves meanwhile.
      this.issuing(names).catch(() => {})
    }
    return current
  }

  /** The leaf being issued for `names`, started when none is: concurrent callers share one key generation. */
  private issuing(names: string[]): Promise<CachedLeaf> {
    if (names.length === 0) return Promise.reject(new Error('a certificate needs at least one name'))
    const key = cacheKey(names)
    let slot = this.leaves.get(key)
    if (slot === undefined) this.leaves.set(key, (slot = {}))
    const issuing = slot.issuing
    if (issuing !== undefined) return issuing
    const started = signedLeaf(this.issuer, names, LEAF_DAYS).then(
      (pair): CachedLeaf => {
        const leaf = {...pair, expiresAt: Date.now() + LEAF_DAYS * DAY_MS}
        slot.current = leaf
        slot.issuing = undefined
        return leaf
      },
      (error: unknown) => {
        slot.issuing = undefined
        throw error
      },
    )
    slot.issuing = started
    return started
  }

  private static async create(dir: string, certPath: string, keyPath: string, options: AuthorityOptions): Promise<CertificateAuthority> {
    await fs.mkdir(dir, {recursive: true, mode: 0o700})
    const {pem, issuer} = await newCa(`ukc local platform CA ${crypto.randomBytes(4).toString('hex')}`, 'ukc local platform', CA_DAYS)
    // Key first: a ca.pem on disk means the pair is complete.
    await writeFileDurably(keyPath, pem.key, 0o600)
    await writeFileDurably(certPath, pem.cert, 0o644)
    return new CertificateAuthority(certPath, pem.cert, issuer, options)
  }
}

function cacheKey(names: string[]): string {
  return names.map((n) => n.toLowerCase()).join(',')
}

function contextOf(leaf: CachedLeaf): tls.SecureContext {
  leaf.context ??= tls.createSecureContext({cert: leaf.cert, key: leaf.key})
  return leaf.context
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** The names a leaf for `servername` carries: the metro wildcard for the metro domain's names. */
function namesFor(name: string, metroDomain: string | undefined): string[] {
  const servername = name.toLowerCase()
  const domain = metroDomain?.toLowerCase()
  if (domain !== undefined) {
    if (servername === domain) return [`*.${domain}`, domain]
    const dot = servername.indexOf('.')
    if (dot > 0 && servername.slice(dot + 1) === domain) return [`*.${domain}`, domain]
  }
  return [servername]
}
