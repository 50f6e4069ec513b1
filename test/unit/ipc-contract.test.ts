import { resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { createEventHistory } from '../../electron/core/api/event-history'
import { createIpcDispatcher } from '../../electron/core/api/ipc-dispatch'
import { settingsView } from '../../electron/core/api/settings-view'
import { loadConfig } from '../../electron/core/config'
import type { NodeEventMap } from '../../electron/core/events'
import {
  INVOKE_CHANNELS,
  InvokeContract,
  MAX_IPC_ARGS_BYTES,
  PUSH_EVENTS,
  PushEventSchemas,
  parseInvoke,
  parseResult,
  type PushEventName
} from '../../shared/ipc'
import { createFixtureControl, fixturePeer, fixtureStatus } from '../fixtures/dashboard/control'

/** One payload per pushed event, typed by the node's event map: what the node may emit. */
const nodePayloads: { [K in PushEventName]: NodeEventMap[K][0] } = {
  'status:changed': { paused: true },
  'peer:updated': { peerId: 'p', alive: true, paused: false },
  'peer:removed': { peerId: 'p', reason: 'gone' },
  'runtime:status': { kind: 'process', state: 'ready' },
  'runtime:progress': { task: 'model', fraction: 0.5 },
  'runtime:log': { line: 'hello', stream: 'stderr' },
  'request:started': { id: 'r', model: 'm', stream: true },
  'request:attempt': { id: 'r', provider: 'p', attempt: 1, continuation: false },
  'request:failover': { id: 'r', from: 'p', to: 'q', reason: 'stall', emittedTokens: 3, gapMs: 40 },
  'request:finished': { id: 'r', providers: ['p'], failovers: 0, ok: true, latencyMs: 12 },
  'job:served': { id: 'r', model: 'm', consumer: 'c', promptTokens: 4, completionTokens: 8, ok: true },
  'benchmark:progress': { task: 'decode' }
}

describe('shared/ipc contract', () => {
  it('has a schema for every channel and event name, and nothing else', () => {
    expect(Object.keys(InvokeContract).sort()).toEqual([...INVOKE_CHANNELS].sort())
    expect(Object.keys(PushEventSchemas).sort()).toEqual([...PUSH_EVENTS].sort())
  })

  it('describes each pushed payload exactly as the node event map does (type check of ipc-mirror.ts)', () => {
    const file = resolve(import.meta.dirname, 'ipc-mirror.ts')
    const configPath = resolve(import.meta.dirname, '../../tsconfig.node.json')
    const config = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} }
    )
    const program = ts.createProgram([file], {
      ...config!.options,
      noEmit: true,
      composite: false,
      emitDeclarationOnly: false
    })
    const diagnostics = ts.getPreEmitDiagnostics(program, program.getSourceFile(file))
    expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([])
  })

  it('accepts every payload the node emits and forwards each event to the dashboard', () => {
    const control = createFixtureControl()
    const history = createEventHistory(control.events)
    for (const name of PUSH_EVENTS) {
      const emit = control.events.emit.bind(control.events) as (n: string, p: unknown) => boolean
      emit(name, nodePayloads[name])
    }
    expect(
      history
        .recent(100)
        .map((e) => e.name)
        .sort()
    ).toEqual([...PUSH_EVENTS].sort())
    history.close()
  })

  it('every channel is served, and each answer matches the contract', async () => {
    const settings = settingsView(loadConfig({ dataDir: '/nonexistent-unused' }, {}))
    const control = createFixtureControl({ peers: [fixturePeer('12D3KooWPeerB')], settings })
    const dispatcher = createIpcDispatcher(control, { history: createEventHistory(control.events) })
    for (const channel of INVOKE_CHANNELS) {
      const outcome = await dispatcher.dispatch(channel, {})
      expect(outcome.result, channel).toMatchObject({ ok: true })
      if (outcome.result.ok) expect(parseResult(channel, outcome.result.value), channel).toMatchObject({ ok: true })
    }
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
