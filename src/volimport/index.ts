// The public face of `volume import`: the run (import-run.ts), its pieces — the kraft request, the
// client session, the source tree and its wire stream — and the protocol both ends speak (the
// emulated image, src/platform/images/volimport/, is the other end).
export {type VolumeImportOptions, type VolumeImportResult, importVolume} from './import-run.js'
export {volimportCreateRequest} from './request.js'
export {type ImportSessionOptions, type ImportSessionResult, ImportRefusedError, runImportSession} from './session.js'
export {type SourceEntry, type SourceKind, type SourceTree, scanSource} from './source-tree.js'
export {wireChunks, wireSize} from './entry-stream.js'
export {
  CHUNK_SIZE,
  DEFAULT_TIMEOUT_S,
  MAX_NAME_SIZE,
  type Reply,
  ReplyReader,
  ReplyStatus,
  VOLIMPORT_IMAGE,
  VOLIMPORT_PORT,
  type VolimportArgs,
  type VolumeSpace,
  decodeStats,
  encodeAck,
  encodeFailure,
  encodeStats,
  errorText,
  parseVolimportArgs,
  volimportArgs,
} from './protocol.js'
export {NEWC_HEADER_SIZE, type NewcHeader, NewcError, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, TRAILER_NAME, decodeHeader, encodeEntryStart, encodeTrailer} from './newc.js'
