// The mesh several benches start the same way: fake OpenAI servers, a bootstrap node, one external
// provider per fake server, and a router that lists every provider. Everything stops afterwards,
// whether the bench passed or threw.
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

/** Runs `bench` on a fresh fake mesh, then stops every bench node and fake server. */
export async function withFakeMesh<T>(options: FakeMeshOptions, bench: (mesh: FakeMesh) => Promise<T>): Promise<T> {
  const fakes: FakeOpenAI[] = []
  try {
    for (let i = 0; i < options.providers; i++)
      fakes.push(await startFakeOpenAI({ model: FAKE_MODEL, ...options.fake }))
    const bootstrap = await startBenchNode(['--no-serve'])
    const providers = await Promise.all(
      fakes.map((f) => startExternalProvider(f.url, FAKE_MODEL, [bootstrap.multiaddr], options.provider))
    )
    const router = await startBenchNode(['--no-serve'], [bootstrap.multiaddr])
    await until(async () => (await liveProviders(router, FAKE_MODEL)).length === options.providers, 60_000)
    return await bench({ fakes, bootstrap, providers, router })
  } finally {
    await stopBenchNodes()
    await Promise.all(fakes.map((f) => f.close()))
  }
}
