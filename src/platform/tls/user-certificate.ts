// Reading a certificate chain and private key a user gives (or the platform CA issued for a domain):
// the chain through @peculiar/x509, the key and their pairing through node's crypto and tls (the
// code that serves them). Failures are UnusableCertificate with a message fit for an API answer;
// no message quotes the key.
import crypto from 'node:crypto'
import tls from 'node:tls'
// @peculiar/x509 needs the Reflect metadata API (its README: import the polyfill before it).
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

/** What the API reports of a certificate: read from the chain's first certificate (the leaf). */
export interface CertificateFacts {
  /** The subject's CN as written, or undefined when it has none. */
  commonName?: string
  /** e.g. `C=US, O=Example, CN=www.example.com` (the order of the certificate, as openssl prints it). */
  subject: string
  issuer: string
  /** Hex, upper case, without leading zeros. */
  serialNumber: string
  notBefore: Date
  notAfter: Date
  /** Certificates in the chain, the leaf included. */
  length: number
}

export class UnusableCertificate extends Error {}

/** Parses a PEM chain, the leaf first; throws UnusableCertificate when it is not one. */
export function readCertificate(chain: string): CertificateFacts {
  const blocks = x509.PemConverter.decodeWithHeaders(chain)
  if (blocks.length === 0 || blocks.some((block) => block.type !== 'CERTIFICATE')) {
    throw new UnusableCertificate('The certificate chain must be PEM: one or more -----BEGIN CERTIFICATE----- blocks, the certificate first')
  }
  const certificates = blocks.map((block, i) => {
    try {
      return new x509.X509Certificate(block.rawData)
    } catch {
      throw new UnusableCertificate(`Certificate ${i + 1} of the chain cannot be parsed as X.509`)
    }
  })
  const leaf = certificates[0]!
  return {
    commonName: leaf.subjectName.getField('CN')[0],
    subject: leaf.subject,
    issuer: leaf.issuer,
    serialNumber: leaf.serialNumber.replace(/^0+(?=.)/, '').toUpperCase(),
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    length: certificates.length,
  }
}

/** The key is readable, belongs to the chain's leaf, and node's tls can serve the pair. */
export function checkKeyPair(chain: string, key: string): void {
  let privateKey: crypto.KeyObject
  try {
    privateKey = crypto.createPrivateKey(key)
  } catch {
    throw new UnusableCertificate('The private key cannot be read: give it in PEM, unencrypted')
  }
  if (!new crypto.X509Certificate(chain).checkPrivateKey(privateKey)) {
    throw new UnusableCertificate('The private key does not match the certificate (the first one of the chain)')
  }
  try {
    tls.createSecureContext({cert: chain, key})
  } catch (error) {
    throw new UnusableCertificate(`The certificate cannot be served: ${(error as Error).message}`)
  }
}

/**
 * Whether the chain's leaf is valid for `fqdn` as TLS clients check it (RFC 6125 through OpenSSL:
 * the DNS names of subjectAltName, the CN only when there are none; `*` only as a whole left label).
 */
export function certificateCovers(chain: string, fqdn: string): boolean {
  return new crypto.X509Certificate(chain).checkHost(fqdn, {partialWildcards: false}) !== undefined
}
