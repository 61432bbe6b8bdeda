import {Flags} from '@oclif/core'

import {UsageError} from '../../api/index.js'
import {BaseCommand, Spinner, VOLUME_TOPICS, commandAliases, formatBytes, parseDuration} from '../../cli/index.js'
import type {VolumeImportResult} from '../../volimport/index.js'

export default class VolumeImport extends BaseCommand<typeof VolumeImport> {
  static override summary = 'Import a local directory into a persistent volume.'
  static override description = `Copies the files, directories and symbolic links below --source (with their modes and times) into an existing volume that no instance has attached, as kraft does: a short-lived import instance of the volimport image is created with the volume mounted at /, published on port 42069 (tls), and the directory is streamed to it over TLS; the instance is deleted at the end, also on Ctrl-C.
What is on the volume already stays; entries of the same name are replaced. Only directories are accepted as --source (not Dockerfiles, image references or cpio archives). --timeout is how long the import instance waits for data before it gives up (a plain number is seconds, as in kraft). See docs/volume-import.md.`
  static override hiddenAliases = commandAliases(VOLUME_TOPICS, ['import'])
  static override examples = [
    '<%= config.bin %> volume import --volume site --source ./public',
    '<%= config.bin %> volume import --volume pgdata --source ./seed --timeout 30s --json',
    '<%= config.bin %> volume import --volume 77d0316a-fbbe-488d-8618-5bf7a612477a --source . --force',
  ]
  static override defaultOutput = 'table' as const

  static override flags = {
    volume: Flags.string({char: 'v', required: true, summary: 'Name or UUID of the volume to import into (it must exist and be attached to nothing).'}),
    source: Flags.string({char: 's', default: '.', summary: 'The local directory to import.'}),
    image: Flags.string({summary: 'The import image.', default: 'official/utils/volimport:latest', env: 'UKC_VOLIMPORT_IMAGE'}),
    force: Flags.boolean({char: 'f', summary: 'Import even when the data might not fit in the free space (files may be overwritten).'}),
    timeout: Flags.string({char: 't', default: '10s', summary: 'How long the import instance waits for data before it gives up (e.g. 10s; a plain number is seconds).'}),
  }

  async run(): Promise<VolumeImportResult> {
    const {flags} = this
    const timeoutS = timeoutSeconds(flags.timeout)
    const {importVolume} = await import('../../volimport/index.js')
    const target = await this.resolveTarget()
    const api = await this.client()
    const spinner = new Spinner(this.jsonEnabled())
    const warn = (line: string): void => {
      spinner.stop()
      process.stderr.write(`Warning: ${line}\n`)
    }
    const result = await this.untilStopped(({signal, onForcedExit}) =>
      importVolume({
        api,
        reach: {local: target.local, ca: target.ca},
        volume: flags.volume,
        source: flags.source,
        image: flags.image,
        force: flags.force,
        timeoutS,
        signal,
        onForcedExit,
        phase: (text) => spinner.start(text),
        onProgress: (sent, total) => spinner.progress(`importing ${formatBytes(sent)} of ${formatBytes(total)} (${Math.floor((sent / total) * 100)}%)`),
        warn,
      }),
    ).finally(() => spinner.stop())
    const counts = [plural(result.files, 'file'), plural(result.directories, 'directory', 'directories'), plural(result.symlinks, 'symlink')]
    if (!this.jsonEnabled()) {
      this.out(`Imported ${counts.join(', ')} (${formatBytes(result.bytes)}) into ${result.volume.name}: ${formatBytes(result.free_bytes)} free of ${formatBytes(result.total_bytes)}`)
    }
    return result
  }
}

/** kraft's -t is whole seconds; ukc also takes a duration. The import instance counts in seconds. */
function timeoutSeconds(value: string): number {
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : parseDuration(value, {flag: '--timeout'})
  if (ms < 1000) throw new UsageError(`--timeout ${value}: at least 1s`, 'e.g. --timeout 10s')
  return Math.ceil(ms / 1000)
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}
