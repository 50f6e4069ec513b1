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
