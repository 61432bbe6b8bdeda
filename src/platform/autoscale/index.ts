// Autoscale of services on the embedded platform: the control loop, its arithmetic, what a clone is.
export {Autoscaler, DEFAULT_TICK_MS, type AutoscalerOptions} from './autoscaler.js'
export {desiredSize, policyTarget, stepFor, type GroupView, type MetricValues} from './decision.js'
export {cloneOf, cloneName} from './clone.js'
