// Certificates made in the tests (never checked in): a root CA, an intermediate it signs, and server
// leaves the intermediate signs, through @peculiar/x509 over node's WebCrypto.
import crypto, {webcrypto} from 'node:crypto'
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

const EC: webcrypto.EcKeyGenParams = {name: 'ECDSA', namedCurve: 'P-256'}
const SIGN: webcrypto.EcdsaParams = {name: 'ECDSA', hash: 'SHA-256'}
const DAY = 86_400_000

interface Authority {
  certificate: x509.X509Certificate
  keys: webcrypto.CryptoKeyPair
}

export interface LeafOptions {
  /** The subject's CN (none when undefined). */
  cn?: string
  /** DNS names of subjectAltName (none when empty). */
  names?: string[]
  /** Extra subject attributes before the CN, e.g. `O=Example`. */
  organization?: string
  notBefore?: Date
  notAfter?: Date
}

export interface TestLeaf {
  /** The leaf alone, PEM. */
  cert: string
  /** The leaf then the intermediate, PEM: what a user uploads. */
  chain: string
  /** The leaf's private key, PKCS#8 PEM. */
  key: string
  /** As node's tls reports it for a peer certificate. */
  fingerprint256: string
  /** Hex, upper case. */
  serialNumber: string
}

function serial(): string {
  const bytes = crypto.randomBytes(12)
  bytes[0] = (bytes[0]! & 0x7f) | 0x10
  return bytes.toString('hex')
}

async function pemKey(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')
}

/** A root CA and an intermediate; `leaf()` signs server certificates with the intermediate. */
export class TestPki {
  private constructor(
    readonly root: Authority,
    readonly intermediate: Authority,
  ) {}

  static async create(name = 'ukc test'): Promise<TestPki> {
    const rootKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])
    const root = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serial(),
        name: `CN=${name} root`,
        notBefore: new Date(Date.now() - DAY),
        notAfter: new Date(Date.now() + 30 * DAY),
        keys: rootKeys,
        signingAlgorithm: SIGN,
        extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
      },
      webcrypto,
    )
    const intermediateKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])
    const intermediate = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(),
        subject: `CN=${name} intermediate, O=ukc tests`,
        issuer: root.subjectName,
        notBefore: new Date(Date.now() - DAY),
        notAfter: new Date(Date.now() + 30 * DAY),
        publicKey: intermediateKeys.publicKey,
        signingKey: rootKeys.privateKey,
        signingAlgorithm: SIGN,
        extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
      },
      webcrypto,
    )
    return new TestPki({certificate: root, keys: rootKeys}, {certificate: intermediate, keys: intermediateKeys})
  }

  /** The root, PEM: what a client trusts. */
  get rootPem(): string {
    return this.root.certificate.toString('pem')
  }

  get intermediatePem(): string {
    return this.intermediate.certificate.toString('pem')
  }

  /** The intermediate's subject as the platform reports an issuer. */
  get intermediateSubject(): string {
    return this.intermediate.certificate.subject
  }

  async leaf(options: LeafOptions): Promise<TestLeaf> {
    const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])
    const subject = [options.organization, options.cn === undefined ? undefined : `CN=${options.cn}`].filter(Boolean).join(', ')
    const names = options.names ?? []
    const certificate = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serial(),
        subject,
        issuer: this.intermediate.certificate.subjectName,
        notBefore: options.notBefore ?? new Date(Date.now() - DAY),
        notAfter: options.notAfter ?? new Date(Date.now() + 10 * DAY),
        publicKey: keys.publicKey,
        signingKey: this.intermediate.keys.privateKey,
        signingAlgorithm: SIGN,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names.map((value) => ({type: 'dns' as const, value})))] : []),
        ],
      },
      webcrypto,
    )
    const cert = certificate.toString('pem')
    const node = new crypto.X509Certificate(cert)
    return {cert, chain: `${cert}\n${this.intermediatePem}`, key: await pemKey(keys.privateKey), fingerprint256: node.fingerprint256, serialNumber: node.serialNumber.replace(/^0+/, '').toUpperCase()}
  }
}
