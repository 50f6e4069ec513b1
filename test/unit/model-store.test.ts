import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ProgressEvent } from '../../electron/core/runtime/types'
import { ensureBuiltinModel } from '../../electron/core/runtime/models/builtin'
import { downloadFile, partPathFor } from '../../electron/core/runtime/models/download'
import { parseModelSpec, resolveModel } from '../../electron/core/runtime/models/store'

/** A local file server with Range support that can cut the connection after N bytes. */
interface Served {
  body: Buffer
  /** cut the first `cuts` responses after this many bytes of the body */
  cutAfter?: number
  cuts?: number
  contentType?: string
  status?: number
}

let server: Server
let base: string
const routes = new Map<string, Served>()
const requests: { path: string; range?: string }[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/'
    requests.push({ path, range: req.headers.range })
    const route = routes.get(path)
    if (!route) return void res.writeHead(404).end('not found')
    if (route.status) return void res.writeHead(route.status).end('nope')
    let start = 0
    const range = req.headers.range?.match(/^bytes=(\d+)-$/)
    if (range) start = Number(range[1])
    const slice = route.body.subarray(start)
    const headers = {
      'content-type': route.contentType ?? 'application/octet-stream',
      'content-length': String(slice.length),
      'accept-ranges': 'bytes'
    }
    if (range)
      res.writeHead(206, {
        ...headers,
        'content-range': `bytes ${start}-${route.body.length - 1}/${route.body.length}`
      })
    else res.writeHead(200, headers)
    if (route.cuts && route.cutAfter !== undefined && route.cutAfter < slice.length) {
      route.cuts--
      // send part of the body, then kill the socket mid-file
      res.write(slice.subarray(0, route.cutAfter), () => setTimeout(() => res.socket?.destroy(), 20))
      return
    }
    res.end(slice)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meshwork-store-'))
  dirs.push(dir)
  return dir
}

let gguf: Buffer
let ggufSha: string
let ggufPath: string
beforeAll(async () => {
  const tiny = await ensureBuiltinModel('meshwork-tiny', await tempDir())
  ggufPath = tiny.path
  gguf = await readFile(tiny.path)
  ggufSha = tiny.sha256
})
beforeEach(() => {
  requests.length = 0
  routes.clear()
})

describe('parseModelSpec', () => {
  it('tells built-in names, paths and URLs apart', () => {
    expect(parseModelSpec('meshwork-tiny')).toEqual({ kind: 'builtin', name: 'meshwork-tiny' })
    expect(parseModelSpec('/m/Llama 3.gguf')).toMatchObject({ kind: 'path', name: 'Llama-3', path: '/m/Llama 3.gguf' })
    expect(parseModelSpec('mine=/m/x.gguf')).toMatchObject({ kind: 'path', name: 'mine' })
    const sha = 'ab'.repeat(32)
    expect(parseModelSpec(`https://h.example/a/qwen.Q4.gguf?x=1#sha256=${sha.toUpperCase()}`)).toEqual({
      kind: 'url',
      name: 'qwen.Q4',
      url: 'https://h.example/a/qwen.Q4.gguf?x=1',
      sha256: sha,
      fileName: 'qwen.Q4.gguf'
    })
    expect(() => parseModelSpec('https://h.example/x.gguf#md5=1')).toThrow(/sha256/)
    expect(() => parseModelSpec('not-a-model')).toThrow(/neither a built-in/)
  })
})

describe('resolveModel', () => {
  it('resolves a built-in name into <dataDir>/models', async () => {
    const dataDir = await tempDir()
    const model = await resolveModel('meshwork-tiny', dataDir)
    expect(model).toMatchObject({
      name: 'meshwork-tiny',
      path: join(dataDir, 'models', 'meshwork-tiny.gguf'),
      sha256: ggufSha,
      contextLength: 4096
    })
  })

  it('resolves a .gguf path: name from the stem, params and context read from the file', async () => {
    const dataDir = await tempDir()
    const copy = join(dataDir, 'My Model.gguf')
    await writeFile(copy, gguf)
    const model = await resolveModel(copy, dataDir)
    const builtin = await resolveModel('meshwork-tiny', dataDir)
    expect(model).toEqual({
      name: 'My-Model',
      path: copy,
      sha256: ggufSha,
      params: builtin.params,
      contextLength: 4096
    })
    await expect(resolveModel(join(dataDir, 'missing.gguf'), dataDir)).rejects.toMatchObject({ code: 'invalid_model' })
    const notGguf = join(dataDir, 'fake.gguf')
    await writeFile(notGguf, 'hello')
    await expect(resolveModel(notGguf, dataDir)).rejects.toThrow(/not a GGUF/)
  })

  it('downloads a URL with progress events and verifies its sha256', async () => {
    const dataDir = await tempDir()
    routes.set('/files/tiny.gguf', { body: gguf })
    const events: ProgressEvent[] = []
    const model = await resolveModel(`${base}/files/tiny.gguf#sha256=${ggufSha}`, dataDir, {
      onProgress: (e) => events.push(e)
    })
    expect(model).toMatchObject({
      name: 'tiny',
      path: join(dataDir, 'models', 'tiny.gguf'),
      sha256: ggufSha,
      contextLength: 4096
    })
    expect(
      createHash('sha256')
        .update(await readFile(model.path))
        .digest('hex')
    ).toBe(ggufSha)
    expect(events.length).toBeGreaterThanOrEqual(2)
    expect(events.every((e) => e.task === 'download:tiny')).toBe(true)
    const fractions = events.map((e) => e.fraction ?? 0)
    expect(fractions).toEqual([...fractions].sort((x, y) => x - y))
    expect(fractions[0]).toBeGreaterThan(0)
    expect(fractions.at(-1)).toBe(1)
    expect(existsSync(partPathFor(model.path, `${base}/files/tiny.gguf`))).toBe(false)

    // a second resolve reuses the download
    requests.length = 0
    expect(await resolveModel(`${base}/files/tiny.gguf#sha256=${ggufSha}`, dataDir)).toEqual(model)
    expect(requests).toHaveLength(0)
  })

  it('resumes with a Range request after the server cuts the connection mid-file', async () => {
    const dataDir = await tempDir()
    routes.set('/cut/tiny.gguf', { body: gguf, cutAfter: 200_000, cuts: 2 })
    const events: ProgressEvent[] = []
    const model = await resolveModel(`${base}/cut/tiny.gguf#sha256=${ggufSha}`, dataDir, {
      onProgress: (e) => events.push(e)
    })
    expect(model.sha256).toBe(ggufSha)
    expect(requests.map((r) => r.range)).toEqual([undefined, 'bytes=200000-', 'bytes=400000-'])
    expect(events.some((e) => /resuming/.test(e.message ?? ''))).toBe(true)
    expect((await stat(model.path)).size).toBe(gguf.length)
  })

  it('rejects a checksum mismatch and leaves no file behind', async () => {
    const dataDir = await tempDir()
    routes.set('/bad/tiny.gguf', { body: gguf })
    const wrong = '0'.repeat(64)
    await expect(resolveModel(`${base}/bad/tiny.gguf#sha256=${wrong}`, dataDir)).rejects.toMatchObject({
      code: 'checksum_mismatch',
      message: expect.stringContaining(ggufSha)
    })
    const left = (await readdir(join(dataDir, 'models'))).filter((f) => f !== 'cache')
    expect(left).toEqual([])
  })

  it('rejects a URL that serves something other than a GGUF, and HTTP errors, clearly', async () => {
    const dataDir = await tempDir()
    const html = Buffer.from('<html>login</html>')
    routes.set('/html/model.gguf', { body: html, contentType: 'text/html' })
    const htmlSha = createHash('sha256').update(html).digest('hex')
    await expect(resolveModel(`${base}/html/model.gguf#sha256=${htmlSha}`, dataDir)).rejects.toThrow(/not a GGUF/)
    expect(existsSync(join(dataDir, 'models', 'model.gguf'))).toBe(false)
    await expect(resolveModel(`${base}/missing/x.gguf#sha256=${ggufSha}`, dataDir)).rejects.toMatchObject({
      code: 'download_failed',
      message: expect.stringContaining('404')
    })
    expect(requests.filter((r) => r.path === '/missing/x.gguf')).toHaveLength(1)
  })

  it('keeps the .part of an aborted download and resumes it on the next call', async () => {
    const dataDir = await tempDir()
    // the first response stalls after 100 kB (cut happens only after we abort)
    routes.set('/slow/tiny.gguf', { body: gguf, cutAfter: 100_000, cuts: 1 })
    const controller = new AbortController()
    const first = resolveModel(`${base}/slow/tiny.gguf#sha256=${ggufSha}`, dataDir, {
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('user cancelled'))
    })
    await expect(first).rejects.toThrow(/cancelled/)
    const part = partPathFor(join(dataDir, 'models', 'tiny.gguf'), `${base}/slow/tiny.gguf`)
    const partial = (await stat(part)).size
    expect(partial).toBeGreaterThan(0)
    expect(partial).toBeLessThan(gguf.length)
    const model = await resolveModel(`${base}/slow/tiny.gguf#sha256=${ggufSha}`, dataDir)
    expect(model.sha256).toBe(ggufSha)
    expect(requests.at(-1)?.range).toBe(`bytes=${partial}-`)
    expect(ggufPath).not.toBe(model.path)
  })

  it('refuses a plain http URL without a sha256 before any request, and accepts https without one', async () => {
    expect(() => parseModelSpec('http://h.example/x.gguf')).toThrow(/needs #sha256/)
    expect(parseModelSpec('https://h.example/x.gguf')).toMatchObject({ kind: 'url', sha256: undefined })
    const dataDir = await tempDir()
    routes.set('/plain/tiny.gguf', { body: gguf })
    await expect(resolveModel(`${base}/plain/tiny.gguf`, dataDir)).rejects.toMatchObject({ code: 'invalid_model' })
    await expect(downloadFile(`${base}/plain/tiny.gguf`, join(dataDir, 'x.gguf'))).rejects.toMatchObject({
      code: 'insecure_model_url'
    })
    await expect(downloadFile(`file:///etc/passwd`, join(dataDir, 'x.gguf'))).rejects.toMatchObject({
      code: 'insecure_model_url'
    })
    expect(requests).toHaveLength(0)
  })

  it('refuses a file over the size cap, announced or not, and removes its partial file', async () => {
    const dataDir = await tempDir()
    routes.set('/big/tiny.gguf', { body: gguf })
    const dest = join(dataDir, 'big.gguf')
    const url = `${base}/big/tiny.gguf#sha256=${ggufSha}`
    await expect(downloadFile(url, dest, { sha256: ggufSha, maxBytes: 100_000 })).rejects.toMatchObject({
      code: 'model_too_large'
    })
    expect(existsSync(partPathFor(dest, url))).toBe(false)
    // a server that names no length: the cap holds while the bytes come
    const chunked = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      res.end(gguf)
    })
    await new Promise<void>((resolve) => chunked.listen(0, '127.0.0.1', resolve))
    try {
      const unannounced = `http://127.0.0.1:${(chunked.address() as AddressInfo).port}/x.gguf`
      await expect(
        downloadFile(unannounced, dest, { sha256: ggufSha, maxBytes: 100_000, maxRetries: 0 })
      ).rejects.toMatchObject({ code: 'model_too_large' })
      expect(existsSync(partPathFor(dest, unannounced))).toBe(false)
    } finally {
      chunked.closeAllConnections()
      await new Promise((resolve) => chunked.close(resolve))
    }
  })

  it("gives each URL its own .part: a second URL for the same file name never resumes the first one's bytes", async () => {
    const dataDir = await tempDir()
    routes.set('/a/tiny.gguf', { body: gguf, cutAfter: 100_000, cuts: 1 })
    routes.set('/b/tiny.gguf', { body: gguf })
    const controller = new AbortController()
    const first = resolveModel(`${base}/a/tiny.gguf#sha256=${ggufSha}`, dataDir, {
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('user cancelled'))
    })
    await expect(first).rejects.toThrow(/cancelled/)
    const dest = join(dataDir, 'models', 'tiny.gguf')
    const partA = partPathFor(dest, `${base}/a/tiny.gguf`)
    expect((await stat(partA)).size).toBeGreaterThan(0)
    expect(partPathFor(dest, `${base}/b/tiny.gguf`)).not.toBe(partA)
    const model = await resolveModel(`${base}/b/tiny.gguf#sha256=${ggufSha}`, dataDir)
    expect(model.sha256).toBe(ggufSha)
    expect(requests.filter((r) => r.path === '/b/tiny.gguf').map((r) => r.range)).toEqual([undefined])
  })
})
