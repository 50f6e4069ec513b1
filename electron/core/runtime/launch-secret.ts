import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Per-launch files a worker gets: its token (read-only for it) and, for a container, a socket dir. */
export interface LaunchSecret {
  /** Sent by the node as `Authorization: Bearer`; the worker refuses every route but /health without it. */
  readonly token: string
  /** Directory holding only the `token` file (mounted read-only into a container). */
  readonly tokenDir: string
  readonly tokenFile: string
  /** Directory the worker may write its unix socket into (mounted read-write into a container). */
  readonly socketDir: string
  /** Removes both directories. */
  remove(): Promise<void>
}

/**
 * A fresh token for one worker launch, in a file rather than in the command line or the environment
 * (`docker inspect` and `ps` show those). `runDir` should be private to this user (0700); the files
 * inside are readable by the container's unprivileged user, which is not this user.
 */
export async function createLaunchSecret(runDir: string): Promise<LaunchSecret> {
  await mkdir(runDir, { recursive: true, mode: 0o700 })
  await chmod(runDir, 0o700)
  const base = await mkdtemp(join(runDir, `worker-${process.pid}-`))
  await chmod(base, 0o711)
  const tokenDir = join(base, 'secret')
  const socketDir = join(base, 'sock')
  await mkdir(tokenDir, { mode: 0o755 })
  await mkdir(socketDir)
  // the container user (nobody) creates its socket here; the dir above it keeps other host users out
  await chmod(socketDir, 0o777)
  const token = randomBytes(32).toString('base64url')
  const tokenFile = join(tokenDir, 'token')
  await writeFile(tokenFile, token + '\n', { mode: 0o444 })
  return { token, tokenDir, tokenFile, socketDir, remove: () => rm(base, { recursive: true, force: true }) }
}

/** Removes what launches by node processes that are gone left in `runDir` (a killed node cannot clean up). */
export async function removeLaunchSecrets(runDir: string): Promise<number> {
  const names = await readdir(runDir).catch(() => [] as string[])
  const stale = names.filter((name) => {
    const pid = Number(/^worker-(\d+)-/.exec(name)?.[1])
    return pid > 0 && !processAlive(pid)
  })
  await Promise.all(stale.map((name) => rm(join(runDir, name), { recursive: true, force: true })))
  return stale.length
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
