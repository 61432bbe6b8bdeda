// Tenant isolation below the API: machine-wide uid blocks (per-user instance uids) and the nftables
// table that enforces the private network on loopback. See docs/threat-model.md.
export {isolateTenants, type IsolationOptions, type TenantIsolation} from './tenant-isolation.js'
export {LoopbackFirewall, type Admission} from './loopback-firewall.js'
export {
  BLOCK_RECORD,
  UID_REGISTRY,
  UIDS_PER_BLOCK,
  claimUidBlock,
  mapCovers,
  plannedUidBlock,
  recordedBlock,
  releaseUidBlock,
  uidBlock,
  unusableReason,
  type UidBlock,
} from './uid-blocks.js'
