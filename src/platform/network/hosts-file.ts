// Writes a user's `.internal` name map (format: local/internal-names.ts) through the one durable writer,
// so that readers never see half a file. The file and its directory are readable by that user's instances only
// (the identity policy's file rules).
import path from 'node:path'

import {type InternalName, formatInternalNames} from '../../local/internal-names.js'
import {writeFileDurablySync} from '../store/durable-file.js'
import {makeReadableDir, makeReadableFile, type RunAs} from '../runtime/identity.js'

export type {InternalName}
export {resolveInternal} from '../../local/internal-names.js'

/** `reader`: who the user's instances run as (undefined = the platform's own identity). */
export function writeHostsFile(file: string, names: InternalName[], reader?: RunAs): void {
  makeReadableDir(reader, path.dirname(file))
  writeFileDurablySync(file, formatInternalNames(names), 0o640, (temp) => makeReadableFile(reader, temp))
}
