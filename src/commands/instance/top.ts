import {setTimeout as delay} from 'node:timers/promises'

import {Args, Flags} from '@oclif/core'

import {type InstanceMetrics, getInstanceMetrics, instancesOrAll} from '../../api/index.js'
import {BaseCommand, INSTANCE_TOPICS, type TopRow, TopSampler, commandAliases, parseDuration, renderMetrics, renderTopFrame} from '../../cli/index.js'

/** Cursor home + clear screen: each frame replaces the last one. */
const CLEAR = '\x1b[H\x1b[2J'

export default class InstanceTop extends BaseCommand<typeof InstanceTop> {
  static override summary = 'Watch the metrics of instances live, refreshed in place.'
  static override description = `On a terminal, redraws every --interval a table of the instances' state, uptime, CPU share since the last frame, memory (RSS / size), connections, in-flight requests, bytes received and sent, and starts, until Ctrl-C (exit 0). When stdout is not a terminal, or with -o list|json|raw, it prints one snapshot as \`instance metrics\` does.
Without arguments it watches every instance that exists when it starts.`
  static override hiddenAliases = commandAliases(INSTANCE_TOPICS, ['top'])
  static override examples = [
    '<%= config.bin %> instance top',
    '<%= config.bin %> instance top my-instance other-instance --interval 5s',
    '<%= config.bin %> instance top my-instance --output list',
  ]
  static override strict = false
  static override args = {instance: Args.string({description: 'Name or UUID of an instance (several may be given; none: every instance).'})}
  static override defaultOutput = 'table' as const

  static override flags = {
    interval: Flags.string({default: '2s', summary: 'Time between refreshes, a duration of at least 500ms (ukc addition).'}),
  }

  async run(): Promise<InstanceMetrics[]> {
    const intervalMs = parseDuration(this.flags.interval, {flag: '--interval', minMs: 500})
    const client = await this.client()
    const ids = await instancesOrAll(client, this.positional)
    if (!process.stdout.isTTY || this.format !== 'table') {
      if (ids.length === 0) {
        this.show([], undefined, () => '', 'No instances. Create one with `ukc instance create IMAGE`.')
        return []
      }
      const result = await getInstanceMetrics(client, ids)
      const metrics = this.settleBatch(result.items)
      this.show(result.items, result.raw, (format) => renderMetrics(metrics, format, {color: this.color}))
      return result.items
    }
    const sampler = new TopSampler(client, ids)
    let rows: TopRow[] = []
    await this.untilStopped(async ({signal}) => {
      while (!signal.aborted) {
        try {
          rows = ids.length === 0 ? [] : await sampler.frame(signal)
        } catch (error) {
          if (signal.aborted) break // Ctrl-C while a frame was being read
          throw error
        }
        const heading = `${this.config.bin} instance top — ${new Date().toLocaleTimeString()} — every ${this.flags.interval} (Ctrl-C to quit)`
        process.stdout.write(CLEAR + renderTopFrame(rows, heading, {color: this.color}))
        await delay(intervalMs, undefined, {signal}).catch(() => undefined)
      }
    })
    return rows.map((r) => r.metrics)
  }
}
