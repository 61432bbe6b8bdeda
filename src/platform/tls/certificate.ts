// X.509 certificates for the platform CA through @peculiar/x509 over node's WebCrypto: EC P-256 keys,
// ECDSA/SHA-256 signatures, PEM in and out. Everything here is async (WebCrypto is); callers cache.
// This module issues; user-certificate.ts reads. Both import @peculiar/x509 after its Reflect polyfill.
import crypto, {webcrypto} from 'node:crypto'
import net from 'node:net'
// @peculiar/x509 needs the Reflect metadata API (its README: import the polyfill before it).
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
const EC_P256: webcrypto.EcKeyGenParams & webcrypto.EcKeyImportParams = {name: 'ECDSA', namedCurve: 'P-256'}
const ECDSA_SHA256: webcrypto.EcdsaParams = {name: 'ECDSA', hash: 'SHA-256'}
/** Given to every @peculiar/x509 call rather than set as its global default. */
const provider = webcrypto
type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair

/** The signer of a certificate: its private key, and its certificate (issuer name, key identifier). */
export interface Issuer {
  key: CryptoKey
  certificate: x509.X509Certificate
}

/** A certificate and its private key, both PEM (what node's tls takes). */
export interface PemPair {
  cert: string
  key: string
}

function newKeyPair(): Promise<CryptoKeyPair> {
  return provider.subtle.generateKey(EC_P256, true, ['sign', 'verify'])
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await provider.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')
}

/** An existing CA: its PEM certificate and PKCS#8 PEM key (as this and older versions wrote them). */
export async function loadIssuer(ca: PemPair): Promise<Issuer> {
  const key = await provider.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), EC_P256, true, ['sign'])
  return {key, certificate: new x509.X509Certificate(ca.cert)}
}

/** A new CA: self-signed, may sign leaves only (path length 0). */
export async function newCa(commonName: string, organization: string, validDays: number): Promise<{pem: PemPair; issuer: Issuer}> {
  const keys = await newKeyPair()
  const name = new x509.Name([{O: [{utf8String: organization}]}, {CN: [{utf8String: commonName}]}])
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      ...validity(validDays),
      name,
      keys,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, provider),
        await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey, false, provider),
      ],
    },
    provider,
  )
  return {pem: {cert: certificate.toString('pem'), key: await exportPrivateKey(keys.privateKey)}, issuer: {key: keys.privateKey, certificate}}
}

/** A server leaf for DNS names and/or IP addresses (subjectAltName), signed by `issuer`. */
export async function signedLeaf(issuer: Issuer, names: string[], validDays: number): Promise<PemPair> {
  const keys = await newKeyPair()
  const certificate = await x509.X509CertificateGenerator.create(
    {
      ...validity(validDays),
      // CN is limited to 64 characters; the names that count are in subjectAltName.
      subject: new x509.Name([{CN: [{utf8String: names[0]!.slice(0, 64)}]}]),
      // The CA's subject as encoded in its certificate, so the chain matches byte for byte.
      issuer: issuer.certificate.subjectName,
      publicKey: keys.publicKey,
      signingKey: issuer.key,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names.map((value) => ({type: net.isIP(value) ? 'ip' : 'dns', value}))),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, provider),
        await authorityKeyId(issuer.certificate),
      ],
    },
    provider,
  )
  return {cert: certificate.toString('pem'), key: await exportPrivateKey(keys.privateKey)}
}

/** The leaf's authority key identifier: the CA's subject key identifier as the CA states it (else derived). */
async function authorityKeyId(ca: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension)
  if (ski !== null) return new x509.AuthorityKeyIdentifierExtension(ski.keyId)
  return x509.AuthorityKeyIdentifierExtension.create(ca.publicKey, false, provider)
}

function validity(days: number): {serialNumber: string; notBefore: Date; notAfter: Date} {
  const now = Date.now()
  const serial = crypto.randomBytes(16)
  // Positive and without a leading zero byte, so the DER INTEGER is exactly these 16 bytes.
  serial[0] = (serial[0]! & 0x7f) | 0x01
  // Backdated an hour so a clock that is slightly behind still accepts a fresh certificate.
  return {serialNumber: serial.toString('hex'), notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + days * DAY_MS)}
}
