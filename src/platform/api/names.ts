// Names as the real API accepts and generates them (reference §1.8, §4.3).
import crypto from 'node:crypto'

import {invalid} from './failures.js'

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'

/** `n` random characters from [a-z0-9]. */
export function randomSuffix(n: number): string {
  const bytes = crypto.randomBytes(n)
  let text = ''
  for (const byte of bytes) text += ALNUM[byte % ALNUM.length]
  return text
}

/**
 * Upper case is accepted and lower-cased; a leading digit is fine; everything else that would not
 * make a DNS label sequence is "Invalid name". Instances, services and volumes: at most 63
 * characters (an instance's name is a DNS label of `<name>.internal`); certificates: 255.
 */
export function validName(raw: unknown, maxLength = 63): string {
  if (typeof raw !== 'string') throw invalid("Value of 'name' must be a string")
  const name = raw.toLowerCase()
  const bad =
    name.length === 0 ||
    name.length > maxLength ||
    !/^[a-z0-9.-]+$/.test(name) ||
    /^[-.]/.test(name) ||
    /[-.]$/.test(name) ||
    name.includes('--') ||
    name.includes('..')
  if (bad) throw invalid('Invalid name')
  return name
}

/**
 * A fully-qualified DNS name (lower case, no trailing dot): two labels or more of letters, digits and
 * inner dashes, at most 253 characters, and a top-level label that is not all digits (an IP address
 * is no domain, RFC 3696 §2). With `wildcard`, a leading `*.` is allowed (a certificate's name).
 */
export function isFqdn(name: string, options: {wildcard?: boolean} = {}): boolean {
  const labels = (options.wildcard && name.startsWith('*.') ? name.slice(2) : name).split('.')
  const labelOk = (l: string) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)
  return name.length <= 253 && labels.length >= 2 && labels.every(labelOk) && !/^\d+$/.test(labels.at(-1) as string)
}

/** `ukc/hello:latest` → `hello`, `index.unikraft.io/official/postgres:16` → `postgres`. */
export function imageBase(image: string): string {
  const withoutDigest = image.split('@')[0]
  const lastSegment = withoutDigest.split('/').pop() ?? withoutDigest
  const repo = lastSegment.split(':')[0]
  const base = repo.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '')
  return (base || 'instance').slice(0, 50)
}

/** The default instance name: `<image-base>-xxxxx`. */
export function generatedInstanceName(image: string): string {
  return `${imageBase(image)}-${randomSuffix(5)}`
}

const ADJECTIVES = [
  'autumn', 'billowing', 'bold', 'calm', 'crimson', 'damp', 'dawn', 'divine', 'dry', 'falling', 'floral', 'fragrant',
  'frosty', 'gentle', 'green', 'hidden', 'holy', 'icy', 'lingering', 'little', 'lively', 'misty', 'morning', 'muddy',
  'nameless', 'old', 'patient', 'polished', 'proud', 'purple', 'quiet', 'restless', 'rough', 'shy', 'silent', 'snowy',
  'solitary', 'sparkling', 'spring', 'still', 'summer', 'twilight', 'wandering', 'weathered', 'wild', 'winter', 'young',
]
const NOUNS = [
  'bird', 'breeze', 'brook', 'bush', 'butterfly', 'cherry', 'cloud', 'darkness', 'dawn', 'dew', 'dream', 'dust',
  'feather', 'field', 'fire', 'firefly', 'flower', 'fog', 'forest', 'frog', 'frost', 'glade', 'glitter', 'gorilla',
  'grass', 'haze', 'hill', 'lake', 'leaf', 'meadow', 'moon', 'morning', 'mountain', 'night', 'paper', 'pine', 'pond',
  'rain', 'resonance', 'river', 'sea', 'shadow', 'shape', 'silence', 'sky', 'smoke', 'snow', 'sound', 'star', 'sun',
  'sunset', 'surf', 'thunder', 'tree', 'violet', 'water', 'waterfall', 'wave', 'wildflower', 'wind', 'wood',
]

function pick(list: string[]): string {
  return list[crypto.randomInt(list.length)]
}

/** Names of services nobody named: `<adjective>-<noun>-<8 random>`, e.g. `twilight-gorilla-ui5b6kwt`. */
export function generatedServiceName(): string {
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomSuffix(8)}`
}
