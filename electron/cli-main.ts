import { readApiFile } from './core/api-file'
import { loadConfig, defaultDataDir } from './core/config'
import { createNode } from './core/node'
import { EXIT_GRACE_MS } from './core/util/lifecycle'
import { createLogger } from './core/util/logger'
import { parseCli, USAGE } from './cli/args'
import { callNode } from './cli/client'
import { earningsCommand } from './cli/earnings-command'
import { formatPeers, formatStatus } from './cli/format'
import type { PeersResponse, StatusResponse } from '../shared/api'

async function start(flags: ReturnType<typeof parseCli>['flags']): Promise<void> {
  const logger = createLogger('meshwork')
  const config = loadConfig(flags)
  const node = await createNode(config, { logger })
  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info(`${signal}: stopping gracefully`)
    // the node stops by itself within config.stopTimeoutMs (plus cleanup); this only catches a hang
    const timer = setTimeout(() => {
      logger.error('graceful stop took too long; exiting')
      process.exit(1)
    }, config.stopTimeoutMs + EXIT_GRACE_MS)
    node.stop().then(
      () => {
        clearTimeout(timer)
        process.exit(0)
      },
      (err) => {
        logger.error('stop failed', { err })
        process.exit(1)
      }
    )
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  await node.start()
  // not node.control.status(): a node that serves nothing detects its hardware only when asked
  process.stdout.write(
    `Meshwork node ${node.peerId}\n` +
      `  OpenAI API  ${node.apiUrl}/v1\n` +
      `  Dashboard   ${node.apiUrl}/\n` +
      node.multiaddrs.map((a) => `  P2P         ${a}\n`).join('')
  )
}

async function main(): Promise<void> {
  const { command, flags, json, csv, verify } = parseCli(process.argv.slice(2))
  const dataDir = flags.dataDir ?? defaultDataDir()
  const print = (value: unknown, pretty: (v: never) => string): void => {
    process.stdout.write((json ? JSON.stringify(value, null, 2) : pretty(value as never)) + '\n')
  }
  switch (command) {
    case 'start':
      return start(flags)
    case 'status':
      return print(await callNode(await readApiFile(dataDir), 'GET', '/api/status'), (s: StatusResponse) =>
        formatStatus(s)
      )
    case 'peers':
      return print(await callNode(await readApiFile(dataDir), 'GET', '/api/peers'), (p: PeersResponse) =>
        formatPeers(p)
      )
    case 'pause':
    case 'resume':
      return print(await callNode(await readApiFile(dataDir), 'POST', `/api/${command}`), (s: StatusResponse) =>
        s.paused ? 'paused: this node takes no new jobs' : 'resumed: this node takes jobs again'
      )
    case 'earnings':
      return earningsCommand(dataDir, { json, csv, verify })
    case 'help':
      process.stdout.write(USAGE + '\n')
      return
    default:
      throw new Error(`Unknown command '${command}'\n${USAGE}`)
  }
}

main().catch((err: Error) => {
  process.stderr.write(`meshwork: ${err.message}\n`)
  process.exit(1)
})
