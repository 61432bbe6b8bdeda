// Writes a user's `.internal` name map (format: local/internal-names.ts) atomically, so that readers
// never see half a file.
import fs from 'node:fs'
import path from 'node:path'

import {type InternalName, formatInternalNames} from '../../local/internal-names.js'

export type {InternalName}
export {resolveInternal} from '../../local/internal-names.js'

export function writeHostsFile(file: string, names: InternalName[]): void {
  fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o755})
  const temp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(temp, formatInternalNames(names), {mode: 0o644})
  fs.renameSync(temp, file)
}
