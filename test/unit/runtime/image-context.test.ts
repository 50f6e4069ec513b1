import { execFileSync } from 'node:child_process'
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { bareImports, packageClosure } from '../../../electron/core/runtime/image/closure'
import { dockerfile, prebuiltPackages } from '../../../electron/core/runtime/image/recipe'
import { parseLdd } from '../../../electron/core/runtime/image/shared-libs'
import { tarStream } from '../../../electron/core/runtime/image/tar'

const dir = mkdtempSync(join(tmpdir(), 'meshwork-tar-'))
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('tar context', () => {
  it('writes an archive that GNU tar lists and extracts byte for byte, long names included', async () => {
    const source = join(dir, 'payload.bin')
    const payload = Buffer.alloc(70_001, 7)
    payload.write('start')
    writeFileSync(source, payload)
    const longDir = 'rootfs/app/node_modules/@scope/' + 'a-very-long-package-name-'.repeat(4) + '/dist/nested/deeper'
    const veryLong = 'rootfs/' + 'x'.repeat(180) + '/file.txt' // no split fits: needs a PAX record
    const entries = [
      { name: 'Dockerfile', mode: 0o644, size: 12, content: Buffer.from('FROM scratch') },
      { name: 'rootfs/', mode: 0o755, size: 0 },
      { name: 'rootfs/bin/', mode: 0o755, size: 0 },
      { name: 'rootfs/bin/tool', mode: 0o755, size: payload.length, source },
      { name: `${longDir}/index.js`, mode: 0o644, size: 3, content: Buffer.from('abc') },
      { name: veryLong, mode: 0o644, size: 2, content: Buffer.from('hi') }
    ]
    let sent = 0
    const archive = join(dir, 'context.tar')
    await pipeline(
      tarStream(entries, (n) => (sent = n)),
      createWriteStream(archive)
    )
    expect(sent).toBe(payload.length)
    const listing = execFileSync('tar', ['-tvf', archive], { encoding: 'utf8' })
    expect(listing).toContain('rwxr-xr-x')
    const names = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).trim().split('\n')
    expect(names).toEqual(['Dockerfile', 'rootfs/', 'rootfs/bin/', 'rootfs/bin/tool', `${longDir}/index.js`, veryLong])
    const out = join(dir, 'out')
    execFileSync('mkdir', ['-p', out])
    execFileSync('tar', ['-xf', archive, '-C', out])
    expect(execFileSync('cmp', [source, join(out, 'rootfs/bin/tool')]).length).toBe(0)
    expect(execFileSync('cat', [join(out, veryLong)], { encoding: 'utf8' })).toBe('hi')
  })
})

describe('ldd output', () => {
  it('keeps resolved paths and the loader, skips the vdso, reports missing libraries', () => {
    const parsed = parseLdd(
      [
        '\tlinux-vdso.so.1 (0x00007ffd)',
        '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f)',
        '\tlibcuda.so.1 => not found',
        '\t/lib64/ld-linux-x86-64.so.2 (0x00007f)'
      ].join('\n')
    )
    expect(parsed.paths).toEqual(['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib64/ld-linux-x86-64.so.2'])
    expect(parsed.missing).toEqual(['libcuda.so.1'])
  })
})

describe('worker closure', () => {
  it('finds the bare packages a bundle imports, not builtins or relative files', () => {
    const code = `import { a } from "node-llama-cpp";\nimport fs from "node:fs";\nimport path from "path";\nimport x from "./local.js";\nconst z = await import("@scope/pkg/sub");\nconst r = require("zod");`
    expect(bareImports(code)).toEqual(['@scope/pkg', 'node-llama-cpp', 'zod'])
  })

  it('follows dependencies of the installed node-llama-cpp and keeps only the wanted prebuilt', () => {
    const wanted = new Set(prebuiltPackages('cpu', 'x64'))
    const dirs = packageClosure(['node-llama-cpp', ...wanted], {
      rootDir: process.cwd(),
      skipPackage: (name) => name.startsWith('@node-llama-cpp/') && !wanted.has(name)
    })
    const names = dirs.map((d) => d.slice(process.cwd().length + 1))
    expect(names).toContain('node_modules/node-llama-cpp')
    expect(names).toContain('node_modules/@node-llama-cpp/linux-x64')
    expect(names).not.toContain('node_modules/@node-llama-cpp/linux-x64-cuda')
    expect(names.some((n) => n.endsWith('/chalk'))).toBe(true)
  })

  it('runs the worker as nobody from a scratch image', () => {
    const text = dockerfile(['/lib/x86_64-linux-gnu', '/lib64'])
    expect(text.split('\n')[0]).toBe('FROM scratch')
    expect(text).toContain('USER 65534:65534')
    expect(text).toContain('LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/lib64')
  })
})
