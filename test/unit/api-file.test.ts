import { statSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ApiFilePublisher, apiFilePath, readApiFile } from '../../electron/core/api-file'
import { tempDir } from '../helpers/temp-dir'

const dir = (): string => tempDir('mw-apifile-')

describe('api.json', () => {
  it('is written while the node runs (owner-only) and removed only after everything stopped', async () => {
    const dataDir = dir()
    const publisher = new ApiFilePublisher(
      { api: { url: 'http://127.0.0.1:4321' }, multiaddrs: () => ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWtest'] },
      { dataDir, peerId: '12D3KooWtest', apiKey: 'sk-12345678' }
    )
    await publisher.start()
    expect(await readApiFile(dataDir)).toEqual({
      apiUrl: 'http://127.0.0.1:4321',
      pid: process.pid,
      peerId: '12D3KooWtest',
      apiKey: 'sk-12345678',
      multiaddrs: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWtest']
    })
    expect(statSync(apiFilePath(dataDir)).mode & 0o077).toBe(0)
    await publisher.stop()
    expect(await readApiFile(dataDir)).toMatchObject({ peerId: '12D3KooWtest' })
    await publisher.afterStop()
    await expect(readApiFile(dataDir)).rejects.toMatchObject({ code: 'no_running_node' })
  })

  it('lists at most as many p2p addresses as its schema reads back (a host with many interfaces)', async () => {
    const dataDir = dir()
    const many = Array.from({ length: 100 }, (_, i) => `/ip4/10.0.${i}.1/tcp/4001/p2p/12D3KooWtest`)
    await new ApiFilePublisher(
      { api: { url: 'http://127.0.0.1:4321' }, multiaddrs: () => many },
      { dataDir, peerId: 'x' }
    ).start()
    expect((await readApiFile(dataDir)).multiaddrs).toEqual(many.slice(0, 64))
  })

  it('says how to start a node when none runs', async () => {
    const dataDir = dir()
    await expect(readApiFile(dataDir)).rejects.toThrow(`meshwork start --data-dir ${dataDir}`)
  })

  it('refuses an oversized or malformed file instead of parsing it', async () => {
    const dataDir = dir()
    const valid = { apiUrl: 'http://127.0.0.1:1', pid: 1, peerId: 'x' }
    writeFileSync(apiFilePath(dataDir), JSON.stringify({ ...valid, padding: 'x'.repeat(100 * 1024) }))
    await expect(readApiFile(dataDir)).rejects.toThrow(/larger than/)
    writeFileSync(apiFilePath(dataDir), JSON.stringify({ ...valid, apiUrl: 'not a url' }))
    await expect(readApiFile(dataDir)).rejects.toThrow()
  })
})
