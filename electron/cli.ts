// The `meshwork` command. Kept free of imports (but Node's own and one that uses only those) so it can
// refuse an old Node before libp2p loads.
import module from 'node:module'
import { useSmallBufferPool } from './core/util/buffer-pool'
import { settleDebugColors } from './core/util/debug-colors'

const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  process.stderr.write(
    `meshwork needs Node.js 22 or newer (this is ${process.version}); libp2p does not run on older versions.\n` +
      `Install Node 24, or run it through npm scripts in the project (they use the bundled Node 24).\n`
  )
  process.exit(1)
}
// A long-running node keeps V8's young generation small: with the default 16 MB semi-spaces an idle
// headless node holds ~50 MB more heap than it uses (measured: RSS 186 MB -> 140 MB with 4 MB, heap
// used unchanged). Flags must be set before V8 starts, so `start` re-executes itself in place (same
// pid) with the flag, where the platform can (process.execve: Node 23.11+, not Windows).
const SEMI_SPACE_FLAG = '--max-semi-space-size=4'
const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve
if (
  process.argv[2] === 'start' &&
  typeof execve === 'function' &&
  !process.execArgv.some((flag) => flag.startsWith('--max-semi-space-size')) &&
  !(process.env.NODE_OPTIONS ?? '').includes('semi-space')
) {
  execve.call(
    process,
    process.execPath,
    [process.execPath, SEMI_SPACE_FLAG, ...process.execArgv, ...process.argv.slice(1)],
    process.env
  )
}
// libp2p and its dependencies are hundreds of modules: with V8's code cache on disk a start parses
// them once, not on every start (a rig starting many nodes at once, the bench, the tests)
module.enableCompileCache?.()
settleDebugColors()
useSmallBufferPool()
const main = './meshwork.js'
await import(main)
export {}
