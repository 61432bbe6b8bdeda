// Preloaded with NODE_OPTIONS="--import <this file>" by `BENCH_CPU_PROF=<dir> npm run bench:tunnel`:
// starts V8's CPU profiler in this process and writes <dir>/<program>.<command>.<pid>.cpuprofile when it
// exits. Node refuses --cpu-prof in NODE_OPTIONS, and the platform daemon and ukc tunnel are started
// by other processes, so the flag cannot be put on their command lines.
import fs from 'node:fs'
import inspector from 'node:inspector'
import path from 'node:path'

const dir = process.env.UKC_BENCH_CPU_PROF_DIR
if (dir) {
  const session = new inspector.Session()
  session.connect()
  session.post('Profiler.enable')
  session.post('Profiler.setSamplingInterval', {interval: 1000})
  session.post('Profiler.start')
  const program = path.basename(process.argv[1] ?? 'node').replace(/\W+/g, '-')
  // The first argument names the command (`tunnel`, `local`); later ones may carry a token's hash.
  const command = (process.argv[2] ?? '').startsWith('-') ? '' : (process.argv[2] ?? '').replace(/\W+/g, '-')
  process.once('exit', () => {
    // The in-process inspector session answers synchronously, so this completes inside 'exit'.
    session.post('Profiler.stop', (error, result) => {
      if (!error) fs.writeFileSync(path.join(dir, `${program}.${command}.${process.pid}.cpuprofile`), JSON.stringify(result.profile))
    })
  })
}
