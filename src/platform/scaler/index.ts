// Scale-to-zero: when an instance goes to standby (policies on/idle, cooldown).
export {StandbyWatch, DEFAULT_COOLDOWN_MS, FORWARDED_POLL_MS, SYSTEM_CLOCK, type ForwardedReading, type StandbyWatchOptions, type WatchClock} from './standby-watch.js'
