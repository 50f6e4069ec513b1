import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
// @ts-expect-error a plain .mjs script without types
import { buildIsStale } from '../../scripts/build-freshness.mjs'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

/** A project with one source file and one build output, the output written `outputAgeS` after the source. */
function project(outputAgeS: number): string {
  const root = mkdtempSync(join(tmpdir(), 'mw-fresh-'))
  roots.push(root)
  mkdirSync(join(root, 'electron/core'), { recursive: true })
  mkdirSync(join(root, 'dist'))
  writeFileSync(join(root, 'electron/core/node.ts'), 'export {}\n')
  writeFileSync(join(root, 'dist/cli.js'), '')
  const t = Date.now() / 1000 - 100
  utimesSync(join(root, 'electron/core/node.ts'), t, t)
  utimesSync(join(root, 'dist/cli.js'), t + outputAgeS, t + outputAgeS)
  return root
}

describe('npm start rebuilds a stale build', () => {
  it('is fresh when the output is newer than every source', () => {
    expect(buildIsStale(project(10), 'dist/cli.js')).toBe(false)
  })

  it('is stale when a source changed after the build (a git pull), or when there is no build', () => {
    const root = project(-10)
    expect(buildIsStale(root, 'dist/cli.js')).toBe(true)
    expect(buildIsStale(project(10), 'out/main/main.js')).toBe(true)
  })

  it('is stale when only how it is built changed (the build script, the TypeScript settings)', () => {
    for (const file of ['scripts/build.mjs', 'tsconfig.base.json', 'electron.vite.config.ts']) {
      const root = project(10)
      mkdirSync(join(root, 'scripts'), { recursive: true })
      writeFileSync(join(root, file), '// changed after the build\n')
      expect(buildIsStale(root, 'dist/cli.js'), file).toBe(true)
    }
  })
})
