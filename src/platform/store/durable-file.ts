// The project's one crash-safe file writer: temp file beside the target, write, fsync, exact mode,
// rename over the target, fsync of the directory. A reader sees the old file or the new one, never
// half of one, and once the promise resolves the new content survives a crash or kill -9.
import fs from 'node:fs'
import path from 'node:path'

let sequence = 0

/** Unique per call, so that two writes of one file in the same process never share a temp file. */
function tempOf(file: string): string {
  return `${file}.${process.pid}.${++sequence}.tmp`
}

/** Called with the temp file before it replaces the target: e.g. to hand it to the reader's uid. */
export type BeforeReplace = (temp: string) => void

export async function writeFileDurably(file: string, content: string | Uint8Array, mode = 0o600, beforeReplace?: BeforeReplace): Promise<void> {
  const temp = tempOf(file)
  const handle = await fs.promises.open(temp, 'w', mode)
  try {
    await handle.writeFile(content)
    // The umask may have cleared bits of `mode`: set it exactly.
    await handle.chmod(mode)
    await handle.sync()
  } finally {
    await handle.close()
  }
  beforeReplace?.(temp)
  await fs.promises.rename(temp, file)
  const dir = await fs.promises.open(path.dirname(file), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/** The same, synchronously (for the few writers that run where awaiting is not possible). */
export function writeFileDurablySync(file: string, content: string | Uint8Array, mode = 0o600, beforeReplace?: BeforeReplace): void {
  const temp = tempOf(file)
  const fd = fs.openSync(temp, 'w', mode)
  try {
    fs.writeFileSync(fd, content)
    fs.fchmodSync(fd, mode)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  beforeReplace?.(temp)
  fs.renameSync(temp, file)
  const dir = fs.openSync(path.dirname(file), 'r')
  try {
    fs.fsyncSync(dir)
  } finally {
    fs.closeSync(dir)
  }
}
