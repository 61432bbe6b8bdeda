// The sampling behind `instance top`: each frame reads the metrics and the instances (for their
// memory size) and keeps the previous sample per instance to compute the CPU share in between.
import {performance} from 'node:perf_hooks'

import {type InstanceMetrics, type UkcClient, getInstanceMetrics, getInstances} from '../api/index.js'
import {type TopRow, cpuShare} from './metrics-view.js'

export class TopSampler {
  private previous = new Map<string, {metrics: InstanceMetrics; at: number}>()

  constructor(
    private readonly client: UkcClient,
    private readonly ids: string[],
  ) {}

  /** One frame's rows; an instance that failed (e.g. was deleted) shows its API message as its state. */
  async frame(signal?: AbortSignal): Promise<TopRow[]> {
    const [metrics, instances] = await Promise.all([
      getInstanceMetrics(this.client, this.ids, {signal}),
      getInstances(this.client, this.ids),
    ])
    const at = performance.now()
    return metrics.items.map((item) => {
      if (item.status === 'error') return {metrics: {...item, state: undefined, name: item.name || item.uuid, uuid: item.uuid}, failure: item.message}
      const before = this.previous.get(item.uuid)
      this.previous.set(item.uuid, {metrics: item, at})
      const instance = instances.items.find((i) => i.uuid === item.uuid && i.status !== 'error')
      return {metrics: item, instance, cpuPercent: cpuShare(before?.metrics, item, before ? at - before.at : 0)}
    })
  }
}
