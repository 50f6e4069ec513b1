import { z } from 'zod'

/** One GPU as detected on the host. Field names are part of the HTTP/advert contract. */
export const GpuSchema = z.object({
  vendor: z.string().max(64),
  model: z.string().max(128),
  vramMB: z.number().int().nonnegative(),
  vramFreeMB: z.number().int().nonnegative().optional(),
  driver: z.string().max(64).optional(),
  cudaVersion: z.string().max(32).optional(),
  rocmVersion: z.string().max(32).optional(),
  utilizationPercent: z.number().min(0).max(100).optional(),
  temperatureC: z.number().min(-50).max(200).optional(),
  bus: z.string().max(64).optional(),
  /** Shares system memory (iGPU, Apple Silicon): vramMB is dedicated memory only, often 0. */
  integrated: z.boolean().optional(),
  /** System memory the GPU may use on top of vramMB (integrated GPUs). */
  sharedMemoryMB: z.number().int().nonnegative().optional()
})
export type Gpu = z.infer<typeof GpuSchema>

export const CpuSchema = z.object({
  brand: z.string().max(128),
  cores: z.number().int().nonnegative(),
  physicalCores: z.number().int().nonnegative().optional(),
  speedGHz: z.number().nonnegative().optional()
})

export const HardwareProfileSchema = z.object({
  gpus: z.array(GpuSchema).max(64),
  cpu: CpuSchema,
  memoryMB: z.number().int().nonnegative(),
  os: z.string().max(128),
  docker: z
    .object({ available: z.boolean(), gpuRuntime: z.boolean().optional(), version: z.string().max(64).optional() })
    .optional()
})
export type HardwareProfile = z.infer<typeof HardwareProfileSchema>

/** Measured inference speed for one model on this host, through the real runtime. */
export const ModelBenchmarkSchema = z.object({
  decodeTokensPerSecond: z.number().nonnegative(),
  prefillTokensPerSecond: z.number().nonnegative(),
  ttftMs: z.number().nonnegative(),
  gflops: z.number().nonnegative(),
  runs: z.number().int().positive().optional(),
  spread: z.number().nonnegative().optional(),
  measuredAt: z.number().int().optional(),
  /** 'timings': the server reported prompt/decode times; 'wallclock': derived from stream arrival times. */
  method: z.enum(['timings', 'wallclock']).optional()
})
export type ModelBenchmark = z.infer<typeof ModelBenchmarkSchema>

export const BenchmarkMapSchema = z.record(z.string().max(128), ModelBenchmarkSchema)
export type BenchmarkMap = z.infer<typeof BenchmarkMapSchema>
