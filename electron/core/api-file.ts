import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { API_FILE_MAX_MULTIADDRS, ApiFileSchema, type ApiFile } from '../../shared/api'
import { MeshworkError } from './util/errors'
import type { Startable } from './util/startable'

/**
 * `<data-dir>/api.json`: where a running node's API is, so the CLI subcommands can find it, and its
 * p2p addresses as it started (the ports it chose), for whoever bootstraps another node from it.
 * The node writes it once its API listens and removes it as the last step of stopping.
 */
const API_FILE = 'api.json'
const MAX_API_FILE_BYTES = 64 * 1024

export class NoRunningNodeError extends MeshworkError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'no_running_node', 503, options)
    this.name = 'NoRunningNodeError'
  }
}

export function apiFilePath(dataDir: string): string {
  return join(dataDir, API_FILE)
}

/** Finds a running node through its api.json. */
export async function readApiFile(dataDir: string): Promise<ApiFile> {
  const path = apiFilePath(dataDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new NoRunningNodeError(
      `No running node found: ${path} does not exist (start one with 'meshwork start --data-dir ${dataDir}')`,
      { cause: err }
    )
  }
  if (text.length > MAX_API_FILE_BYTES)
    throw new NoRunningNodeError(`${path} is larger than ${MAX_API_FILE_BYTES} bytes: not written by a node`)
  return ApiFileSchema.parse(JSON.parse(text))
}

/** Written atomically (rename), readable by the owner only: it may hold the API key. */
export async function writeApiFile(dataDir: string, file: ApiFile): Promise<void> {
  const path = apiFilePath(dataDir)
  await writeFile(`${path}.tmp`, JSON.stringify(file), { mode: 0o600 })
  await rename(`${path}.tmp`, path)
}

export async function removeApiFile(dataDir: string): Promise<void> {
  await rm(apiFilePath(dataDir), { force: true })
}

export interface ApiFileComponents {
  /** The API server, started before this service (its URL is known then). */
  api: { readonly url: string }
  /** This node's libp2p addresses (libp2p listens before this service starts). */
  multiaddrs?: () => string[]
}

export interface ApiFileInit {
  dataDir: string
  peerId: string
  apiKey?: string
}

/** Publishes api.json while the node runs; it goes last, after everything else has stopped. */
export class ApiFilePublisher implements Startable {
  constructor(
    private readonly components: ApiFileComponents,
    private readonly init: ApiFileInit
  ) {}

  async start(): Promise<void> {
    const { dataDir, peerId, apiKey } = this.init
    // as many as the file's schema takes (a host with many interfaces lists one per interface)
    const multiaddrs = this.components.multiaddrs?.().slice(0, API_FILE_MAX_MULTIADDRS)
    await writeApiFile(dataDir, { apiUrl: this.components.api.url, pid: process.pid, peerId, apiKey, multiaddrs })
  }

  async stop(): Promise<void> {}

  async afterStop(): Promise<void> {
    await removeApiFile(this.init.dataDir)
  }
}
