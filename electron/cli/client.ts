import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ApiFileSchema, type ApiFile } from '../../shared/api'

/** Finds a running node through <data-dir>/api.json. */
export async function readApiFile(dataDir: string): Promise<ApiFile> {
  const path = join(dataDir, 'api.json')
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new Error(`No running node found: ${path} does not exist (start one with 'meshwork start --data-dir ${dataDir}')`)
  }
  return ApiFileSchema.parse(JSON.parse(text))
}

export async function callNode(api: ApiFile, method: 'GET' | 'POST', path: string): Promise<unknown> {
  const headers: Record<string, string> = {}
  if (method === 'POST') headers['content-type'] = 'application/json'
  if (api.apiKey !== undefined) headers.authorization = `Bearer ${api.apiKey}`
  let response: Response
  try {
    response = await fetch(api.apiUrl + path, { method, headers, body: method === 'POST' ? '{}' : undefined, signal: AbortSignal.timeout(10_000) })
  } catch (err) {
    throw new Error(`The node at ${api.apiUrl} does not answer (${(err as Error).message}); is it still running?`, { cause: err })
  }
  const body = (await response.json()) as { error?: { message: string } }
  if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`)
  return body
}
