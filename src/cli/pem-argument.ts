// The PEM flags of `cert create` (--chain, --pkey): a value is the PEM text itself, `-` for stdin, or a
// file path (kraft sends any value that is no file as PEM; here a value that is neither is refused with
// one line). Messages about the private key never quote the value: it may be the key.
import fs from 'node:fs/promises'
import {text} from 'node:stream/consumers'

import {UsageError} from '../api/index.js'

const PEM_BEGIN = '-----BEGIN '

export interface PemArgumentOptions {
  /** `--chain`, `--pkey`: named in messages. */
  flag: string
  /** The value may be a secret: never quote it. */
  secret?: boolean
  stdin?: NodeJS.ReadableStream
}

export async function readPemArgument(value: string, options: PemArgumentOptions): Promise<string> {
  const {flag} = options
  if (value.includes(PEM_BEGIN)) return value
  const source = value === '-' ? 'stdin' : options.secret ? 'the file' : `file "${value}"`
  let pem: string
  try {
    pem = value === '-' ? await text(options.stdin ?? process.stdin) : await fs.readFile(value, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENAMETOOLONG') {
      const what = options.secret ? 'the value' : `"${value}"`
      throw new UsageError(`${flag}: ${what} is neither a file nor PEM text`, `pass the path of a PEM file, - to read it from stdin, or the PEM text itself`)
    }
    throw new UsageError(`${flag}: could not read ${source}: ${code ?? (error as Error).message}`, 'check that the file exists and that you may read it')
  }
  if (!pem.includes(PEM_BEGIN)) throw new UsageError(`${flag}: ${source} holds no PEM block (no "${PEM_BEGIN}" line)`)
  return pem
}
