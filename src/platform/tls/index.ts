// The platform CA: signs the API's certificate and the gateway's per-name leaves.
export {CertificateAuthority, type AuthorityOptions, type LeafCertificate} from './authority.js'
