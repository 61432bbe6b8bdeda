// What instances use and move: CPU time and RSS from procfs, bytes in and out, connections and
// requests — for GET /instances/metrics and the autoscaler.
export {InstanceMeters, type MeterReading, type MeterSources} from './instance-meters.js'
export {TrafficMeter, type Traffic} from './traffic.js'
export {treeUsage, type TreeUsage} from './process-tree.js'
