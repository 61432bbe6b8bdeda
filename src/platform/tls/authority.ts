// The platform's own certificate authority: one EC P-256 CA per data dir, created on first start and
// reused after (so a CA the user trusted once stays trusted), signing leaves for the API and the gateway.
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import tls from 'node:tls'
import {type Issuer, keyIdOf, newKeyPair, signCertificate, subjectOf} from './certificate.js'

const CA_DAYS = 3650
const LEAF_DAYS = 365
/** Re-issue a cached leaf this long before it expires (a daemon can run for months). */
const LEAF_RENEW_MS = 7 * 24 * 3_600_000

export interface LeafCertificate {
  cert: string
  key: string
}

interface CachedLeaf extends LeafCertificate {
  expiresAt: number
  context?: tls.SecureContext
}

export interface AuthorityOptions {
  /** Metro domain (e.g. `local.localhost`): its names share one wildcard leaf. */
  domain?: string
}

export class CertificateAuthority {
  readonly certPath: string
  readonly certPem: string
  readonly domain?: string
  private readonly issuer: Issuer
  private readonly leaves = new Map<string, CachedLeaf>()

  private constructor(certPath: string, certPem: string, key: crypto.KeyObject, options: AuthorityOptions) {
    this.certPath = certPath
    this.certPem = certPem
    this.domain = options.domain?.toLowerCase()
    this.issuer = {key, name: subjectOf(certPem), keyId: keyIdOf(crypto.createPublicKey(key))}
  }

  /** `<dir>/ca.pem` (0644) and `<dir>/ca-key.pem` (0600): read when present, created otherwise. */
  static async loadOrCreate(dir: string, options: AuthorityOptions = {}): Promise<CertificateAuthority> {
    const certPath = path.join(dir, 'ca.pem')
    const keyPath = path.join(dir, 'ca-key.pem')
    const existing = await readIfPresent(certPath)
    if (existing === undefined) return CertificateAuthority.create(dir, certPath, keyPath, options)
    const keyPem = await readIfPresent(keyPath)
    if (keyPem === undefined) throw new Error(`${keyPath} is missing next to ${certPath}; remove ${certPath} to create a new CA`)
    let key: crypto.KeyObject
    try {
      key = crypto.createPrivateKey(keyPem)
      if (!new crypto.X509Certificate(existing).checkPrivateKey(key)) throw new Error('the key does not match the certificate')
    } catch (error) {
      throw new Error(`the platform CA in ${dir} is unusable (${(error as Error).message}); remove ca.pem and ca-key.pem to create a new one`)
    }
    // Tighten a key file someone loosened (copied with cp, restored from a backup).
    await fs.chmod(keyPath, 0o600)
    return new CertificateAuthority(certPath, existing, key, options)
  }

  /** A leaf for DNS names and/or IP addresses, signed by this CA; the same names return the cached leaf. */
  issue(names: string[]): LeafCertificate {
    return this.leaf(names)
  }

  /**
   * The TLS context for a client's SNI name: the metro domain's wildcard leaf for `<domain>` and
   * `<label>.<domain>`, a leaf of its own for any other (custom) FQDN. `domain` defaults to the one
   * given to loadOrCreate (the gateway passes its own).
   */
  secureContext(servername: string, domain = this.domain): tls.SecureContext {
    const leaf = this.leaf(namesFor(servername.toLowerCase(), domain?.toLowerCase()))
    leaf.context ??= tls.createSecureContext({cert: leaf.cert, key: leaf.key})
    return leaf.context
  }

  private leaf(names: string[]): CachedLeaf {
    if (names.length === 0) throw new Error('a certificate needs at least one name')
    const cacheKey = names.map((n) => n.toLowerCase()).join(',')
    const cached = this.leaves.get(cacheKey)
    if (cached !== undefined && cached.expiresAt - LEAF_RENEW_MS > Date.now()) return cached
    const {privateKey, publicKey} = newKeyPair()
    const cert = signCertificate({
      commonName: names[0]!,
      publicKey,
      names,
      isCa: false,
      validDays: LEAF_DAYS,
      issuer: this.issuer,
    })
    const leaf: CachedLeaf = {
      cert,
      key: privateKey.export({type: 'pkcs8', format: 'pem'}).toString(),
      expiresAt: Date.now() + LEAF_DAYS * 24 * 3_600_000,
    }
    this.leaves.set(cacheKey, leaf)
    return leaf
  }

  private static async create(dir: string, certPath: string, keyPath: string, options: AuthorityOptions): Promise<CertificateAuthority> {
    await fs.mkdir(dir, {recursive: true, mode: 0o700})
    const {privateKey, publicKey} = newKeyPair()
    const certPem = signCertificate({
      commonName: `ukc local platform CA ${crypto.randomBytes(4).toString('hex')}`,
      organization: 'ukc local platform',
      publicKey,
      isCa: true,
      validDays: CA_DAYS,
      selfKey: privateKey,
    })
    // Key first: a ca.pem on disk means the pair is complete.
    await writeAtomic(keyPath, privateKey.export({type: 'pkcs8', format: 'pem'}).toString(), 0o600)
    await writeAtomic(certPath, certPem, 0o644)
    return new CertificateAuthority(certPath, certPem, privateKey, options)
  }
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`
  const handle = await fs.open(temp, 'w', mode)
  try {
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
  // The umask may have cleared bits of `mode` (or kept none off): set it exactly.
  await fs.chmod(temp, mode)
  await fs.rename(temp, file)
}

/** The names a leaf for `servername` carries: the metro wildcard for the metro domain's names. */
function namesFor(servername: string, domain: string | undefined): string[] {
  if (domain !== undefined) {
    if (servername === domain) return [`*.${domain}`, domain]
    const dot = servername.indexOf('.')
    if (dot > 0 && servername.slice(dot + 1) === domain) return [`*.${domain}`, domain]
  }
  return [servername]
}
