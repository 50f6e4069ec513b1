import type { StatusResponse } from '../../../../shared/api'
import { Badge, Card, Field, Notice, Stat } from '../../components/ui'
import { gb, ms, num } from '../../format'

export function GpuCard({ status }: { status: StatusResponse }) {
  const { gpus, cpu, memoryMB, os, docker } = status.hardware
  return (
    <Card title="Hardware" testId="gpu-card">
      {gpus.length === 0 && !status.serving ? (
        <Notice tone="muted" title="No GPU detected" testId="no-gpu">
          This node serves no model (--no-serve), so it needs none.
        </Notice>
      ) : gpus.length === 0 ? (
        <Notice tone="warn" title="No GPU detected" testId="no-gpu">
          This node runs models on the CPU, which is much slower. If this machine has a GPU, check its driver (
          <code>nvidia-smi</code> or <code>rocm-smi</code> must work).
        </Notice>
      ) : (
        gpus.map((gpu, i) => (
          <div className="gpu" key={i}>
            <div className="gpu-name">
              {gpu.vendor} {gpu.model}
            </div>
            <div className="gpu-specs">
              <span>{gb(gpu.vramMB)} VRAM</span>
              {gpu.vramFreeMB !== undefined ? <span>{gb(gpu.vramFreeMB)} free</span> : null}
              {gpu.driver ? <span>driver {gpu.driver}</span> : null}
              {gpu.cudaVersion ? <span>CUDA {gpu.cudaVersion}</span> : null}
              {gpu.rocmVersion ? <span>ROCm {gpu.rocmVersion}</span> : null}
              {gpu.temperatureC !== undefined ? <span>{num(gpu.temperatureC)} °C</span> : null}
              {gpu.utilizationPercent !== undefined ? <span>{num(gpu.utilizationPercent)}% busy</span> : null}
            </div>
          </div>
        ))
      )}
      <dl className="fields compact">
        <Field label="CPU">
          {cpu.brand} · {cpu.cores} threads
        </Field>
        <Field label="Memory">{gb(memoryMB)}</Field>
        <Field label="System">{os}</Field>
        <Field label="Docker">
          {docker === undefined ? (
            'not checked'
          ) : docker.available ? (
            <>
              <Badge tone="good">running</Badge> {docker.version ?? ''} {docker.gpuRuntime ? '· GPU runtime' : ''}
            </>
          ) : (
            <Badge tone="warn" title="Install Docker and start it; until then models run as a plain process">
              not available
            </Badge>
          )}
        </Field>
      </dl>
    </Card>
  )
}

export function BenchmarkCard({ status }: { status: StatusResponse }) {
  const entries = Object.entries(status.benchmark)
  return (
    <Card
      title="Measured speed"
      testId="benchmark-card"
      aside={<span className="muted small">benchmarked on this machine</span>}
    >
      {entries.length === 0 && !status.serving ? (
        <Notice tone="muted" title="Nothing to measure">
          This node serves no model (--no-serve); providers in the mesh advertise their measured speed.
        </Notice>
      ) : entries.length === 0 ? (
        <Notice tone="muted" title="Not benchmarked yet">
          The node measures each model once its runtime is ready; results appear here and in your advert.
        </Notice>
      ) : (
        entries.map(([model, b]) => (
          <div key={model} className="bench">
            <div className="bench-model">{model}</div>
            <div className="bench-stats">
              <Stat label="tokens/s generated" value={num(b.decodeTokensPerSecond, 1)} />
              <Stat label="tokens/s prompt" value={num(b.prefillTokensPerSecond, 0)} />
              <Stat label="first token" value={ms(b.ttftMs)} />
              <Stat
                label="GFLOPS"
                value={b.gflops > 0 ? num(b.gflops, 1) : '—'}
                hint={b.gflops > 0 ? undefined : 'not measured by this runtime'}
              />
            </div>
          </div>
        ))
      )}
    </Card>
  )
}
