import { type FileHandle, open } from 'node:fs/promises'

/**
 * Flushes a WAL database's log to disk off the event loop. The ledger runs SQLite in WAL mode with
 * `synchronous = NORMAL`: a commit is in the log, in the OS's page cache, when COMMIT returns, so a
 * crash of the process (kill -9) loses nothing, but it reaches the disk only at the next checkpoint.
 * With `FULL`, SQLite flushed the log inside each COMMIT: a few ms of a busy disk on the event loop of
 * a node serving streams, before a provider's final frame and after every client's response. Here the
 * flush runs on libuv's thread pool right after each commit, so a power loss can take only what was
 * committed during the flush under way.
 */
export class WalSync {
  private handle?: FileHandle
  private running?: Promise<void>
  private again = false
  private closed = false
  /** The last flush failed: a disk that keeps failing is reported once, not at every commit. */
  private failing = false
  /** Flushes done (tests and metrics). */
  flushes = 0

  constructor(
    private readonly walPath: string,
    private readonly onError: (err: unknown) => void,
    private readonly openFile: (path: string) => Promise<FileHandle> = (path) => open(path, 'r')
  ) {}

  /** A transaction committed: flush the log soon. One flush covers every commit made before it began. */
  request(): void {
    if (this.closed) return
    if (this.running !== undefined) {
      this.again = true
      return
    }
    this.running = this.loop().finally(() => (this.running = undefined))
  }

  /** Resolves once the flushes asked for so far are done. */
  async settled(): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  /** Waits for the flush under way, then closes the log's file. */
  async close(): Promise<void> {
    this.closed = true
    await this.settled()
    await this.handle?.close().catch(() => {})
    this.handle = undefined
  }

  private async loop(): Promise<void> {
    do {
      this.again = false
      try {
        this.handle ??= await this.openFile(this.walPath)
        await this.handle.datasync()
        this.flushes++
        this.failing = false
      } catch (err) {
        // opened again next time: the next commit asks for a flush of its own
        await this.handle?.close().catch(() => {})
        this.handle = undefined
        if (!this.failing) this.onError(err)
        this.failing = true
      }
    } while (this.again && !this.closed)
  }
}
