import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerOpenAiRoutes } from '../../electron/core/api/openai-routes'
import { ApiServer } from '../../electron/core/api/server'
import type { Router } from '../../electron/core/router/router'
import { createLogger } from '../../electron/core/util/logger'

const run = promisify(execFile)
const KEY = 'sk-test-key-0123456789'
let server: ApiServer

beforeAll(async () => {
  const logger = createLogger('test', { level: 'error' })
  // the body is refused before the router is asked for anything
  const router = { knownModels: () => new Set<string>(), candidates: () => [] } as unknown as Router
  server = new ApiServer(
    { logger },
    {
      host: '127.0.0.1',
      port: 0,
      apiKey: KEY,
      maxBodyBytes: 4 * 1024 * 1024,
      routes: [(app) => registerOpenAiRoutes(app, { router, logger })]
    }
  )
  await server.start()
})

afterAll(() => server.stop())

/**
 * The uploads run in a child process: with client and server on one event loop the server never
 * answers before the client has written everything, and the reset the test guards against cannot happen.
 */
const CLIENT = `
const [url, key, count, size, chunked, auth] = process.argv.slice(1)
const body = JSON.stringify({ model: 'meshwork-tiny', messages: [{ role: 'user', content: 'x'.repeat(Number(size)) }] })
const bytes = new TextEncoder().encode(body)
const results = []
for (let i = 0; i < Number(count); i++) {
  let payload = body
  if (chunked === '1') {
    let at = 0
    payload = new ReadableStream({ pull(c) { if (at < bytes.length) { c.enqueue(bytes.subarray(at, at + 262144)); at += 262144 } else c.close() } })
  }
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + auth }, body: payload, duplex: 'half' })
    results.push({ status: res.status, body: await res.text() })
  } catch (err) {
    results.push({ error: err.cause?.code ?? err.cause?.message ?? String(err) })
  }
}
process.stdout.write(JSON.stringify(results))
`

type Upload = { status: number; body: string } | { error: string }

async function uploads(count: number, options: { chunked?: boolean; key?: string } = {}): Promise<Upload[]> {
  const args = [
    `${server.url}/v1/chat/completions`,
    KEY,
    String(count),
    String(6 * 1024 * 1024),
    options.chunked ? '1' : '0',
    options.key ?? KEY
  ]
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CLIENT, ...args], {
    maxBuffer: 16 * 1024 * 1024
  })
  return JSON.parse(stdout) as Upload[]
}

describe('request body over the limit', () => {
  it('answers every 6 MB upload with 413 and the OpenAI error body, never a reset', async () => {
    const results = await uploads(30)
    const resets = results.filter((r) => 'error' in r)
    expect(resets, `${resets.length} of 30 reset: ${JSON.stringify(resets.slice(0, 3))}`).toEqual([])
    for (const r of results) {
      expect(r).toMatchObject({ status: 413 })
      const parsed = JSON.parse((r as { body: string }).body)
      expect(parsed.error).toMatchObject({ code: 'request_too_large', type: 'invalid_request_error' })
      expect(parsed.error.message).toContain('4194304')
    }
  })

  it('does the same for a chunked upload that names no length', async () => {
    const results = await uploads(10, { chunked: true })
    expect(results.filter((r) => 'error' in r)).toEqual([])
    for (const r of results) expect(r).toMatchObject({ status: 413 })
  })

  it('answers a keyless oversized upload with 401, not a reset', async () => {
    const results = await uploads(10, { key: 'wrong-key-123' })
    expect(results.filter((r) => 'error' in r)).toEqual([])
    for (const r of results) expect(r).toMatchObject({ status: 401 })
  })
})
