import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HardwareProfile, HardwareProfileSchema } from '../../shared/hardware'
import { bundle } from '../helpers/runtime'

// Detection runs in a fresh process per machine: systeminformation's real parsers read the real
// output of lspci / nvidia-smi / rocm-smi captured on that machine, replayed by fake executables
// placed first on PATH. Only the GPU tools are faked; CPU, memory and OS are this host's.
const run = promisify(execFile)
const fixtures = resolve('test/fixtures/hardware')
const work = mkdtempSync(join(tmpdir(), 'meshwork-hw-'))
let entry: string
const servers: Server[] = []

beforeAll(async () => {
  entry = await bundle('test/fixtures/hardware/detect-main.ts', 'hardware/detect-main.mjs')
})

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  rmSync(work, { recursive: true, force: true })
})

/** A Docker engine API that answers /info with what the captured machine's engine said. */
async function fakeEngine(name: string, infoFile: string): Promise<string> {
  const socket = join(work, `${name}.sock`)
  const body = readFileSync(infoFile)
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0].endsWith('/info')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(body)
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"page not found"}')
    }
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(socket, r))
  return socket
}

async function detectOn(name: string, args: string[] = []): Promise<HardwareProfile> {
  const dir = join(fixtures, name)
  const infoFile = join(dir, 'docker-info.json')
  const socket = existsSync(infoFile) ? await fakeEngine(name, infoFile) : join(work, 'no-engine.sock')
  const env = {
    ...process.env,
    PATH: `${join(fixtures, 'bin')}:${process.env.PATH}`,
    MESHWORK_FAKE_HW: dir,
    ROCM_PATH: join(dir, 'rocm'),
    DOCKER_HOST: `unix://${socket}`
  }
  const { stdout } = await run(process.execPath, [entry, ...args], { env, timeout: 60_000 })
  return HardwareProfileSchema.parse(JSON.parse(stdout))
}

function expectHostBasics(profile: HardwareProfile): void {
  expect(profile.cpu.cores).toBe(cpus().length)
  expect(Math.abs(profile.memoryMB - totalmem() / 1024 / 1024)).toBeLessThan(2)
  expect(profile.os).toContain(process.platform)
}

function shared(profile: HardwareProfile, fraction: number): number {
  return Math.round(profile.memoryMB * fraction)
}

// systeminformation takes the lspci path on Linux only (macOS asks system_profiler, Windows PowerShell)
describe.runIf(process.platform === 'linux')(
  'hardware detection through systeminformation with captured tool output',
  () => {
    it('RTX 4090 desktop: the 4090 with nvidia-smi details, then the iGPU; Docker without nvidia runtime', async () => {
      const profile = await detectOn('rtx4090')
      expectHostBasics(profile)
      expect(profile.gpus).toEqual([
        {
          vendor: 'NVIDIA',
          model: 'NVIDIA GeForce RTX 4090',
          vramMB: 24564,
          vramFreeMB: 22923,
          driver: '550.54.15',
          cudaVersion: '12.4',
          utilizationPercent: 4,
          temperatureC: 38,
          bus: '01:00.0'
        },
        {
          vendor: 'Intel',
          model: 'Intel UHD Graphics 770',
          vramMB: 0,
          bus: '00:02.0',
          integrated: true,
          sharedMemoryMB: shared(profile, 0.5)
        }
      ])
      expect(profile.docker).toEqual({ available: true, gpuRuntime: false, version: '24.0.7' })
    })

    it('RTX 3090: bus ids matched across upper and lower case', async () => {
      const profile = await detectOn('rtx3090')
      expect(profile.gpus).toEqual([
        {
          vendor: 'NVIDIA',
          model: 'NVIDIA GeForce RTX 3090',
          vramMB: 24576,
          vramFreeMB: 24237,
          driver: '535.183.01',
          cudaVersion: '12.2',
          utilizationPercent: 0,
          temperatureC: 34,
          bus: '2d:00.0'
        }
      ])
      expect(profile.docker).toEqual({ available: false })
    })

    it('H100 server: two GPUs, the BMC display adapter dropped, nvidia runtime in Docker', async () => {
      const profile = await detectOn('h100')
      const h100 = {
        vendor: 'NVIDIA',
        model: 'NVIDIA H100 PCIe',
        vramMB: 81559,
        vramFreeMB: 81080,
        driver: '550.90.07',
        cudaVersion: '12.4',
        utilizationPercent: 0
      }
      expect(profile.gpus).toEqual([
        { ...h100, temperatureC: 33, bus: '17:00.0' },
        { ...h100, temperatureC: 35, bus: '65:00.0' }
      ])
      expect(profile.docker).toEqual({ available: true, gpuRuntime: true, version: '26.1.4' })
    })

    it('AMD RX 7900 XTX: VRAM from rocm-smi, not the 32G PCI aperture; ROCm release from ROCM_PATH', async () => {
      const profile = await detectOn('amd-rx7900xtx')
      expect(profile.gpus).toEqual([
        {
          vendor: 'AMD',
          model: 'AMD Radeon RX 7900 XT/7900 XTX/7900M',
          vramMB: 24560,
          vramFreeMB: 24560 - 1026,
          driver: '6.7.0',
          rocmVersion: '6.1.2',
          utilizationPercent: 2,
          temperatureC: 41,
          bus: '03:00.0'
        }
      ])
    })

    it('Intel iGPU laptop: integrated, no dedicated VRAM, shares system memory', async () => {
      const profile = await detectOn('intel-igpu')
      expect(profile.gpus).toEqual([
        {
          vendor: 'Intel',
          model: 'Intel Iris Xe Graphics',
          vramMB: 0,
          bus: '00:02.0',
          integrated: true,
          sharedMemoryMB: shared(profile, 0.5)
        }
      ])
    })

    it('CPU-only VM: the emulated VGA is no GPU', async () => {
      const profile = await detectOn('cpu-only-vm')
      expectHostBasics(profile)
      expect(profile.gpus).toEqual([])
    })

    it('no tools at all (container): still a profile, with no GPU and no Docker', async () => {
      const profile = await detectOn('no-tools')
      expectHostBasics(profile)
      expect(profile.gpus).toEqual([])
      expect(profile.docker).toEqual({ available: false })
    })

    it('hung nvidia-smi: no GPUs rather than a frozen process', async () => {
      const started = Date.now()
      const profile = await detectOn('nvidia-hung', ['--tool-timeout', '1000'])
      expectHostBasics(profile)
      expect(profile.gpus).toEqual([])
      // the fake hangs for 60 s; systeminformation's synchronous call would have waited for all of it
      expect(Date.now() - started).toBeLessThan(30_000)
    })
  }
)
