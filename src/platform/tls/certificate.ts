// Builds and signs X.509 certificates synchronously: the gateway's SNI callback needs a leaf for a new
// name in the middle of a handshake, and WebCrypto (hence @peculiar/x509's generator) is async only.
// The ASN.1 structures come from @peculiar/asn1-x509; signing is node:crypto's ECDSA P-256/SHA-256.
import crypto from 'node:crypto'
import net from 'node:net'
import {AsnConvert, OctetString} from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509'

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2'
const COMMON_NAME = '2.5.4.3'
const ORGANIZATION = '2.5.4.10'
const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/** The signer of a certificate: its private key plus what a child certificate copies from it. */
export interface Issuer {
  key: crypto.KeyObject
  /** DER of the issuer's subject Name. */
  name: ArrayBuffer
  keyId: ArrayBuffer
}

export interface CertificateRequest {
  /** Subject common name; also the subject when self-signed. */
  commonName: string
  organization?: string
  publicKey: crypto.KeyObject
  /** DNS names and IP addresses for subjectAltName (leaf certificates). */
  names?: string[]
  isCa: boolean
  validDays: number
  /** Omitted = self-signed with `selfKey`. */
  issuer?: Issuer
  selfKey?: crypto.KeyObject
}

export function newKeyPair(): {privateKey: crypto.KeyObject; publicKey: crypto.KeyObject} {
  return crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'})
}

function subjectName(commonName: string, organization?: string): Name {
  const rdn = (type: string, value: string) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({type, value: new AttributeValue({utf8String: value})})])
  // CN is limited to 64 characters; the real names live in subjectAltName anyway.
  const parts = [rdn(COMMON_NAME, commonName.slice(0, 64))]
  if (organization) parts.unshift(rdn(ORGANIZATION, organization))
  return new Name(parts)
}

function spkiOf(publicKey: crypto.KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(publicKey.export({type: 'spki', format: 'der'}), SubjectPublicKeyInfo)
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdOf(publicKey: crypto.KeyObject): ArrayBuffer {
  const bits = spkiOf(publicKey).subjectPublicKey
  return toArrayBuffer(crypto.createHash('sha1').update(new Uint8Array(bits)).digest())
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
}

function serialNumber(): ArrayBuffer {
  const bytes = crypto.randomBytes(16)
  // Positive and without a leading zero byte, so the DER INTEGER is exactly these 16 bytes.
  bytes[0] = (bytes[0]! & 0x7f) | 0x01
  return toArrayBuffer(bytes)
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value))})
}

function altName(name: string): GeneralName {
  return net.isIP(name) ? new GeneralName({iPAddress: name}) : new GeneralName({dNSName: name})
}

/** Returns the certificate as PEM. */
export function signCertificate(request: CertificateRequest): string {
  const signingKey = request.issuer?.key ?? request.selfKey
  if (!signingKey) throw new Error('signCertificate: an issuer or a self-signing key is required')
  const subject = subjectName(request.commonName, request.organization)
  const ownKeyId = keyIdOf(request.publicKey)
  const authorityKeyId = request.issuer?.keyId ?? ownKeyId
  const now = Date.now()
  const algorithm = new AlgorithmIdentifier({algorithm: ECDSA_WITH_SHA256})

  const extensions = request.isCa
    ? [
        extension(id_ce_basicConstraints, true, new BasicConstraints({cA: true, pathLenConstraint: 0})),
        extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature)),
      ]
    : [
        extension(id_ce_basicConstraints, true, new BasicConstraints({cA: false})),
        extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
        extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
        extension(id_ce_subjectAltName, false, new SubjectAlternativeName((request.names ?? []).map(altName))),
      ]
  extensions.push(extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(ownKeyId)))
  extensions.push(
    extension(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({keyIdentifier: new KeyIdentifier(authorityKeyId)})),
  )

  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: algorithm,
    issuer: request.issuer ? AsnConvert.parse(request.issuer.name, Name) : subject,
    // Backdated an hour so a clock that is slightly behind still accepts a fresh certificate.
    validity: new Validity({notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + request.validDays * DAY_MS)}),
    subject,
    subjectPublicKeyInfo: spkiOf(request.publicKey),
    extensions: new Extensions(extensions),
  })
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs))
  // node's ECDSA signature is DER (ECDSA-Sig-Value), which is what X.509 carries.
  const signature = crypto.sign('sha256', tbsDer, signingKey)
  const certificate = new Certificate({tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: toArrayBuffer(signature)})
  return toPem(Buffer.from(AsnConvert.serialize(certificate)))
}

function toPem(der: Buffer): string {
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n')
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`
}

/** The DER subject Name of a PEM certificate, to become a child's issuer. */
export function subjectOf(certPem: string): ArrayBuffer {
  const der = new crypto.X509Certificate(certPem).raw
  const cert = AsnConvert.parse(der, Certificate)
  return AsnConvert.serialize(cert.tbsCertificate.subject)
}
