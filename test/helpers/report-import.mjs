// Preloaded into a node under test (NODE_OPTIONS=--import): prints a line when the module named in
// MESHWORK_TEST_REPORT_IMPORT is first resolved, so a test can tell when a dependency loads.
import { registerHooks } from 'node:module'

const watched = process.env.MESHWORK_TEST_REPORT_IMPORT
let reported = false
registerHooks({
  resolve(specifier, context, next) {
    if (!reported && specifier === watched) {
      reported = true
      process.stderr.write(`test hook: ${specifier} imported\n`)
    }
    return next(specifier, context)
  }
})

// with MESHWORK_TEST_REPORT_BUFFER_POOL set: prints, as the node exits, the Buffer pool size it ran with
if (process.env.MESHWORK_TEST_REPORT_BUFFER_POOL)
  process.on('exit', () => process.stderr.write(`test hook: buffer pool ${Buffer.poolSize}\n`))
