import { describe, expect, it } from 'vitest'
import { INVOKE_CHANNELS, InvokeContract, MAX_IPC_ARGS_BYTES, PUSH_EVENTS, PushEventSchemas, parseInvoke, parseResult } from '../../shared/ipc'
import type { NodeEventMap } from '../../electron/core/events'
import type { PushEvents } from '../../shared/ipc'
import { fixtureStatus } from '../fixtures/dashboard/control'

// Compile-time: every event the contract pushes exists in the node's event map with the same payload.
type Mirrors = { [K in keyof PushEvents]: NodeEventMap[K][0] extends PushEvents[K] ? (PushEvents[K] extends NodeEventMap[K][0] ? true : false) : false }
const mirrors: Mirrors = Object.fromEntries(PUSH_EVENTS.map((n) => [n, true])) as Mirrors

describe('shared/ipc contract', () => {
  it('has a schema for every channel and event name, and nothing else', () => {
    expect(Object.keys(InvokeContract).sort()).toEqual([...INVOKE_CHANNELS].sort())
    expect(Object.keys(PushEventSchemas).sort()).toEqual([...PUSH_EVENTS].sort())
    expect(Object.keys(mirrors).length).toBe(PUSH_EVENTS.length)
  })

  it('accepts well-formed calls and returns the parsed args', () => {
    const call = parseInvoke('peers:list', { all: true })
    expect(call).toEqual({ ok: true, call: { channel: 'peers:list', args: { all: true } } })
    expect(parseInvoke('status:get', undefined).ok).toBe(true)
    expect(parseInvoke('earning:pause', {}).ok).toBe(true)
  })

  it('rejects unknown channels, including prototype names', () => {
    for (const name of ['nope', '__proto__', 'constructor', 'toString', '', 42, null]) {
      const r = parseInvoke(name, {})
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.code).toBe('unknown_channel')
    }
  })

  it('rejects bad payloads with a clear message', () => {
    const wrongType = parseInvoke('peers:list', { all: 'yes' })
    expect(wrongType.ok).toBe(false)
    if (!wrongType.ok) {
      expect(wrongType.error.code).toBe('invalid_args')
      expect(wrongType.error.message).toMatch(/peers:list.*all/)
    }
    const extraKey = parseInvoke('earning:pause', { force: true })
    expect(extraKey.ok).toBe(false)
    const notObject = parseInvoke('status:get', 'hello')
    expect(notObject.ok).toBe(false)
    const outOfRange = parseInvoke('events:recent', { limit: 5000 })
    expect(outOfRange.ok).toBe(false)
  })

  it('rejects oversized and unserialisable payloads', () => {
    const big = parseInvoke('peers:list', { all: true, pad: 'x'.repeat(MAX_IPC_ARGS_BYTES) })
    expect(big.ok).toBe(false)
    if (!big.ok) expect(big.error.code).toBe('payload_too_large')
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(parseInvoke('status:get', cyclic).ok).toBe(false)
  })

  it('validates results against the contract', () => {
    expect(parseResult('status:get', fixtureStatus()).ok).toBe(true)
    const bad = parseResult('status:get', { ...fixtureStatus(), paused: 'no' })
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.error.message).toMatch(/paused/)
  })
})
