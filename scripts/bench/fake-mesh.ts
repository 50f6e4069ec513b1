// What several benches start the same way: fake OpenAI servers and, on them, a mesh of a bootstrap
// node, one external provider per fake server and a router that lists every provider. Everything
// stops afterwards, whether the bench passed or threw.
import { type FakeOpenAI, type FakeOptions, startFakeOpenAI } from './fake-openai'
import {
  type BenchNode,
  type BenchNodeOptions,
  liveProviders,
  startBenchNode,
  startExternalProvider,
  stopBenchNodes,
  until
} from './routing-nodes'

// a node serves its configured model (meshwork-tiny by default) from the fake endpoint
export const FAKE_MODEL = 'meshwork-tiny'

export interface FakeMesh {
  fakes: FakeOpenAI[]
  bootstrap: BenchNode
  /** providers[i] serves from fakes[i]. */
  providers: BenchNode[]
  router: BenchNode
}

export interface FakeMeshOptions {
  providers: number
  fake?: Omit<FakeOptions, 'model'>
  provider?: BenchNodeOptions
}

/** Runs `bench` with `count` fake servers, then stops every bench node and the fake servers. */
export async function withFakeServers<T>(
  count: number,
  options: Omit<FakeOptions, 'model'>,
  bench: (fakes: FakeOpenAI[]) => Promise<T>
): Promise<T> {
  const fakes: FakeOpenAI[] = []
  try {
    for (let i = 0; i < count; i++) fakes.push(await startFakeOpenAI({ model: FAKE_MODEL, ...options }))
    return await bench(fakes)
  } finally {
    await stopBenchNodes()
    await Promise.all(fakes.map((f) => f.close()))
  }
}

/** Runs `bench` on a fresh fake mesh, then stops every bench node and fake server. */
export async function withFakeMesh<T>(options: FakeMeshOptions, bench: (mesh: FakeMesh) => Promise<T>): Promise<T> {
  return withFakeServers(options.providers, options.fake ?? {}, async (fakes) => {
    const bootstrap = await startBenchNode(['--no-serve'])
    const providers = await Promise.all(
      fakes.map((f) => startExternalProvider(f.url, FAKE_MODEL, [bootstrap.multiaddr], options.provider))
    )
    const router = await startBenchNode(['--no-serve'], [bootstrap.multiaddr])
    await until(async () => (await liveProviders(router, FAKE_MODEL)).length === options.providers, 60_000)
    return bench({ fakes, bootstrap, providers, router })
  })
}
