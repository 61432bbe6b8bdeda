// Typed reading of request fields with the real API's messages: "Value of '<field>' must be …".
import {invalid} from './failures.js'

export type Json = Record<string, unknown>

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Refuses parameters the endpoint does not know ("aborts requests that contain unknown … parameters"). */
export function onlyKnown(body: Json, known: readonly string[], where = ''): void {
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) throw invalid(`Unknown parameter '${where}${key}'`)
  }
}

export function intInRange(body: Json, field: string, min: number, max: number, fallback: number, label = `Value of '${field}'`): number {
  const value = body[field]
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${label} must be in the range ${min} to ${max}`)
  }
  return value
}

export function bool(body: Json, field: string, fallback: boolean): boolean {
  const value = body[field]
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'boolean') throw invalid(`Value of '${field}' must be a boolean`)
  return value
}

export function oneOf<T extends string>(body: Json, field: string, options: readonly T[], fallback: T): T {
  const value = body[field]
  if (value === undefined || value === null) return fallback
  if (typeof value !== 'string' || !options.includes(value as T)) {
    throw invalid(`Value of '${field}' must be one of ${options.join(', ')}`)
  }
  return value as T
}

export function stringList(body: Json, field: string): string[] {
  const value = body[field]
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalid(`Value of '${field}' must be an array of strings`)
  return value as string[]
}

export function stringMap(body: Json, field: string): Record<string, string> {
  const value = body[field]
  if (value === undefined || value === null) return {}
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw invalid(`Value of '${field}' must be an object with string values`)
  }
  return {...(value as Record<string, string>)}
}
