import { fstatSync } from 'node:fs'
import { log } from './log'

/**
 * Calls `stop(reason)` when the worker should end: SIGTERM/SIGINT, the `--parent-pid` process
 * gone (polled, so it also works when the parent was SIGKILLed), or stdin closed when it is a pipe
 * (a parent that dies closes its end). A second signal exits at once.
 */
export function watchLifecycle(stop: (reason: string) => void, parentPid?: number): () => void {
  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) {
      log.warn('second signal, exiting now', { signal })
      process.exit(1)
    }
    stop(signal)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)

  let timer: NodeJS.Timeout | undefined
  if (parentPid !== undefined) {
    const wasChild = process.ppid === parentPid
    timer = setInterval(() => {
      let gone = wasChild && process.ppid !== parentPid // re-parented: our parent died
      try {
        process.kill(parentPid, 0)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ESRCH') gone = true
      }
      if (gone) stop(`parent process ${parentPid} is gone`)
    }, 500)
    timer.unref()
  }

  let stdinPipe = false
  try {
    const info = fstatSync(0)
    stdinPipe = info.isFIFO() || info.isSocket()
  } catch {
    stdinPipe = false
  }
  if (stdinPipe) {
    process.stdin.on('data', () => undefined)
    process.stdin.on('error', () => undefined)
    process.stdin.on('end', () => stop('stdin closed'))
    process.stdin.resume()
  }

  return () => {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    if (timer) clearInterval(timer)
    if (stdinPipe) process.stdin.pause()
  }
}
