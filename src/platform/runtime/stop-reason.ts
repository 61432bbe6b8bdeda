// stop_reason bits (reference §2.5): K kernel exited, A app exited, P platform initiated, U user
// initiated (always with P), F forced, Z scale-to-zero.
export const K = 1
export const A = 2
export const P = 4
export const U = 8
export const F = 16
export const Z = 32

export const StopReason = {
  /** The app exited on its own (exit_code valid). */
  appExit: A | K, // 3
  /** The process died from a signal nobody on the platform sent (a crash). */
  crash: K, // 1
  /** Regular user stop. */
  userStop: P | U | A | K, // 15
  /** Forced user stop. */
  forcedUserStop: F | U | P, // 28
  /** Stopped by the platform (shutdown, delete). */
  platformStop: P | A | K, // 7
  /** Standby by scale-to-zero. */
  standby: Z | P | A | K, // 39
} as const
