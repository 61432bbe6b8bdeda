// The platform CA (signs the API's certificate and the gateway's per-name leaves), and reading users' certificates.
export {CertificateAuthority, type AuthorityOptions, type LeafCertificate} from './authority.js'
export {type CertificateFacts, UnusableCertificate, certificateCovers, checkKeyPair, readCertificate} from './user-certificate.js'
