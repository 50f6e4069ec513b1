import { describe, expect, it } from 'vitest'
import type { InferBody } from '../../../shared/infer'
import { call, collect, honest, mesh } from './scripted-mesh'

const withWishes = (meshwork: Record<string, unknown>): InferBody => {
  const c = call()
  return { ...c, body: { ...c.body, meshwork } } as InferBody
}

describe('where prompts may go', () => {
  it("a request's meshwork.peers keeps its prompt to those peers, and no provider sees the extension", async () => {
    const { router, opened } = mesh({ a: honest, b: honest, c: honest })
    for (let i = 0; i < 10; i++) await collect(router, withWishes({ peers: ['c'] }))
    expect(new Set(opened.map((o) => o.peer))).toEqual(new Set(['c']))
    expect(opened.every((o) => !('meshwork' in o.frame.call.body))).toBe(true)
  })

  it('the owner’s trustedPeers allow-list holds for every request', async () => {
    const { router, opened } = mesh({ a: honest, b: honest }, { promptPolicy: { trustedPeers: ['b'] } })
    for (let i = 0; i < 10; i++) await collect(router)
    expect(new Set(opened.map((o) => o.peer))).toEqual(new Set(['b']))
  })

  it('localOnly (config or request) sends nothing to other peers: no provider is a 503', async () => {
    const byConfig = mesh({ a: honest }, { promptPolicy: { localOnly: true } })
    expect(((await collect(byConfig.router)).error as { code?: string }).code).toBe('no_provider_available')
    const byRequest = mesh({ a: honest })
    expect(((await collect(byRequest.router, withWishes({ localOnly: true }))).error as { code?: string }).code).toBe(
      'no_provider_available'
    )
    expect([...byConfig.opened, ...byRequest.opened]).toEqual([])
  })
})
