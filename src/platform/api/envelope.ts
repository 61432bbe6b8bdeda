// Response envelopes: `{status, message?, data: {<key>: [...]}}`, always with `data`; a batch is
// `success`, `partial_success` or `error` by its items.
import type {ItemStatus} from '../../api/types.js'
import {ItemFailure} from './failures.js'

export type Item = ItemStatus & object

export interface EnvelopeBody {
  status: 'success' | 'partial_success' | 'error'
  message?: string
  data: Record<string, Item[]>
}

export function envelope(key: string, items: Item[]): EnvelopeBody {
  const failed = items.filter((i) => i.status === 'error')
  if (failed.length === 0) return {status: 'success', data: {[key]: items}}
  if (failed.length === items.length) {
    return {status: 'error', message: failed.length === 1 ? (failed[0].message ?? 'Operation failed') : 'All operations failed', data: {[key]: items}}
  }
  return {status: 'partial_success', message: `${failed.length} of ${items.length} operations failed`, data: {[key]: items}}
}

/** A failed item: what identified it plus the error code and message. */
export function failedItem(failure: ItemFailure, who: {uuid?: string; name?: string}): Item {
  return {status: 'error', ...(who.uuid ? {uuid: who.uuid} : {}), ...(who.name ? {name: who.name} : {}), error: failure.code, message: failure.message}
}

/** Runs `fn` per entry; ItemFailures become failed items, anything else propagates. */
export async function eachItem<T>(entries: T[], who: (entry: T) => {uuid?: string; name?: string}, fn: (entry: T) => Promise<Item>): Promise<Item[]> {
  return Promise.all(
    entries.map(async (entry) => {
      try {
        return await fn(entry)
      } catch (error) {
        if (error instanceof ItemFailure) return failedItem(error, who(entry))
        throw error
      }
    }),
  )
}
