import type { BenchmarkMap, Gpu, HardwareProfile } from '../../../shared/hardware'

function gb(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1).replace(/\.0$/, '')} GB` : `${mb} MB`
}

function num(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits })
}

function gpuLine(gpu: Gpu): string {
  const memory = gpu.integrated
    ? `shared memory${gpu.sharedMemoryMB ? ` up to ${gb(gpu.sharedMemoryMB)}` : ''}${gpu.vramMB > 0 ? `, ${gb(gpu.vramMB)} dedicated` : ''}`
    : `${gb(gpu.vramMB)} VRAM${gpu.vramFreeMB !== undefined ? ` (${gb(gpu.vramFreeMB)} free)` : ''}`
  const details = [
    gpu.driver && `driver ${gpu.driver}`,
    gpu.cudaVersion && `CUDA ${gpu.cudaVersion}`,
    gpu.rocmVersion && `ROCm ${gpu.rocmVersion}`,
    gpu.utilizationPercent !== undefined && `${num(gpu.utilizationPercent, 0)}% busy`,
    gpu.temperatureC !== undefined && `${num(gpu.temperatureC, 0)}°C`
  ].filter(Boolean)
  return `${gpu.model}, ${memory}${details.length > 0 ? `, ${details.join(', ')}` : ''}`
}

/** Readable multi-line text for `meshwork status`: hardware first, then measured speed per model. */
export function formatHardware(profile: HardwareProfile, benchmark: BenchmarkMap = {}): string {
  const lines: string[] = []
  if (profile.gpus.length === 0) lines.push('GPU:       none (CPU only)')
  profile.gpus.forEach((gpu, i) => lines.push(`${i === 0 ? 'GPU:' : '    '}       ${gpuLine(gpu)}`))
  const cpu = profile.cpu
  const cores =
    cpu.physicalCores && cpu.physicalCores !== cpu.cores
      ? `${cpu.physicalCores} cores / ${cpu.cores} threads`
      : `${cpu.cores} cores`
  lines.push(`CPU:       ${cpu.brand}, ${cores}${cpu.speedGHz ? ` @ ${num(cpu.speedGHz, 2)} GHz` : ''}`)
  lines.push(`Memory:    ${gb(profile.memoryMB)}`)
  lines.push(`OS:        ${profile.os}`)
  if (profile.docker) {
    const d = profile.docker
    lines.push(
      `Docker:    ${d.available ? `engine ${d.version ?? 'available'}${d.gpuRuntime ? ', nvidia runtime' : ', no GPU runtime'}` : 'not available'}`
    )
  }
  const models = Object.entries(benchmark)
  if (models.length === 0) {
    lines.push('Benchmark: not measured yet')
  } else {
    lines.push('Benchmark:')
    const width = Math.max(...models.map(([name]) => name.length))
    for (const [name, b] of models) {
      const spread =
        b.spread !== undefined && b.runs !== undefined ? ` (±${num(b.spread * 50, 1)}% over ${b.runs} runs)` : ''
      lines.push(
        `  ${name.padEnd(width)}  decode ${num(b.decodeTokensPerSecond)} tok/s${spread}, prefill ${num(b.prefillTokensPerSecond)} tok/s, ` +
          `first token ${num(b.ttftMs, 0)} ms, ${num(b.gflops, 2)} GFLOPS`
      )
    }
  }
  return lines.join('\n')
}
