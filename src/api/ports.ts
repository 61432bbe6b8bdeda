// What a TCP port is, for every layer (flags, tunnel mappings, relay config, image catalog, daemon
// flags): an integer 1..65535, or 0 where "any free port" is meant. Callers word their own messages.
export const MAX_PORT = 65_535

export interface PortOptions {
  /** Accept 0 (= pick a free port). */
  allowZero?: boolean
}

export function isPort(value: unknown, options: PortOptions = {}): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= (options.allowZero ? 0 : 1) && value <= MAX_PORT
}

/** Decimal digits naming a port, or undefined ("08080" and "8080" alike; never "0x50", "80.0", " 80"). */
export function parsePort(text: string | undefined, options: PortOptions = {}): number | undefined {
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined
  const value = Number(text)
  return isPort(value, options) ? value : undefined
}
