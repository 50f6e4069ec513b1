import type { ApiFile } from '../../shared/api'

/** Calls a running node's HTTP API (found through its api.json, see core/api-file.ts). */
export async function callNode(api: ApiFile, method: 'GET' | 'POST', path: string): Promise<unknown> {
  const headers: Record<string, string> = {}
  if (method === 'POST') headers['content-type'] = 'application/json'
  if (api.apiKey !== undefined) headers.authorization = `Bearer ${api.apiKey}`
  let response: Response
  try {
    response = await fetch(api.apiUrl + path, {
      method,
      headers,
      body: method === 'POST' ? '{}' : undefined,
      signal: AbortSignal.timeout(10_000)
    })
  } catch (err) {
    throw new Error(`The node at ${api.apiUrl} does not answer (${(err as Error).message}); is it still running?`, {
      cause: err
    })
  }
  const body = (await response.json()) as { error?: { message: string } }
  if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`)
  return body
}
