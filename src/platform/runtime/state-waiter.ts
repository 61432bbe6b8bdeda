// What callers of the supervisor wait on: that a boot ends running (or why not), that a stop ends
// stopped. Settled by the supervisor when the state is reached; never an unhandled rejection when
// nobody waits.
export class StateWaiter {
  resolve!: () => void
  reject!: (error: Error) => void
  readonly promise = new Promise<void>((resolve, reject) => {
    this.resolve = resolve
    this.reject = reject
  })

  constructor() {
    this.promise.catch(() => {})
  }
}
