import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { MODEL_NAME } from '../../shared/models'
import { MAX_PRICE_PER_MILLION, MaxPriceSchema, ModelPriceSchema } from '../../shared/price'

export const RUNTIME_KINDS = ['auto', 'docker', 'process', 'external'] as const

/** Which addresses the DHT keeps for peers: public only (internet), LAN too, or loopback too (tests). */
export const ADDRESS_SCOPES = ['auto', 'public', 'lan', 'loopback'] as const

/** A peer to join through: a multiaddr that names the peer, so the handshake can verify who answers. */
const BootstrapAddrSchema = z
  .string()
  .max(512)
  .refine(
    (value) => {
      try {
        const peer = multiaddr(value)
          .getComponents()
          .findLast((c) => c.name === 'p2p')?.value
        return peer !== undefined && peerIdFromString(peer) !== undefined
      } catch {
        return false
      }
    },
    { message: 'must be a multiaddr ending in /p2p/<peer id>, like /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…' }
  )

const MultiaddrSchema = z
  .string()
  .max(512)
  .refine(
    (value) => {
      try {
        return multiaddr(value).getComponents().length > 0
      } catch {
        return false
      }
    },
    { message: 'must be a multiaddr, like /ip4/203.0.113.7/tcp/4001' }
  )

export const REACHABILITY_MODES = ['auto', 'public', 'private'] as const

/** Circuit relay v2: what this node offers to peers behind NAT, and how many relays it uses itself. */
const RelayConfigSchema = z
  .object({
    /** Relay for others while this node is not known to be behind NAT itself. */
    enabled: z.boolean().default(true),
    /** Peers that may hold a relay slot here at once. */
    maxReservations: z.number().int().min(0).max(1024).default(15),
    /** A relayed connection through this node is cut after this long. */
    limitDurationMs: z.number().int().min(1_000).max(86_400_000).default(300_000),
    /** ...or after this many bytes, both directions together. */
    limitBytes: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 40)
      .default(16 * 1024 * 1024),
    /** Relays this node reserves a slot on while it is behind NAT (0: never relayed). */
    reservations: z.number().int().min(0).max(8).default(2)
  })
  .prefault({})
export type RelayConfig = z.infer<typeof RelayConfigSchema>

export const ConfigSchema = z.object({
  dataDir: z.string().min(1),
  apiHost: z.string().default('127.0.0.1'),
  apiPort: z.number().int().min(0).max(65535).default(8080),
  apiKey: z.string().min(8).max(256).optional(),
  p2pHost: z.string().default('0.0.0.0'),
  p2pPort: z.number().int().min(0).max(65535).default(0),
  bootstrap: z.array(BootstrapAddrSchema).max(64).default([]),
  mdns: z.boolean().default(true),
  addressScope: z.enum(ADDRESS_SCOPES).default('auto'),
  serve: z.boolean().default(true),
  runtime: z.enum(RUNTIME_KINDS).default('auto'),
  /** Fall back to the (less isolated) process runtime when Docker is missing. */
  allowProcessFallback: z.boolean().default(true),
  models: z.array(z.string().max(2048)).max(16).default(['meshwork-tiny']),
  endpoint: z.string().url().optional(),
  /** A registry image speaking the worker CLI, pulled instead of building the worker image locally. */
  workerImage: z.string().max(256).optional(),
  /** Stop containers on pause to free the GPU. */
  pauseStopsRuntime: z.boolean().default(true),
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024),
  /** Credits per million tokens, prompt and completion alike, for every model not named in `prices`. */
  pricePerMillionTokens: z.number().nonnegative().max(MAX_PRICE_PER_MILLION).default(0),
  /** Per model: credits per million prompt and per million completion tokens. */
  prices: z.record(z.string().regex(MODEL_NAME), ModelPriceSchema).default({}),
  /** What the credits are called (receipts, dashboard, CLI). */
  priceUnit: z.string().min(1).max(16).default('credits'),
  /** The most this node pays as a consumer; a request's `meshwork.maxPrice` can only lower it. */
  maxPrice: MaxPriceSchema.optional(),
  /** How often a provider re-announces itself; peers drop it after missing ~3 of these. */
  advertIntervalMs: z.number().int().min(200).default(3000),
  /** How often the DHT is searched for providers of known models. */
  discoveryIntervalMs: z.number().int().min(200).default(5000),
  workerThreads: z.number().int().min(1).max(256).default(1),
  maxConcurrentJobs: z.number().int().min(1).max(64).default(2),
  maxQueuedJobs: z.number().int().min(0).max(1024).default(16),
  /** Peers this owner trusts: when set, prompts go only to them (and this node); reputation counts them as pre-trusted. */
  trustedPeers: z
    .array(z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,64}$/, 'must be a peer id'))
    .max(256)
    .default([]),
  /** Keep every prompt on this node: never route to another peer. */
  localOnly: z.boolean().default(false),
  /** Longest one routed request may take in all, failovers included. */
  requestDeadlineMs: z.number().int().min(1_000).max(3_600_000).default(600_000),
  /** How the router picks among providers: power of two choices (spreads load), best score, or random. */
  routingPolicy: z.enum(['p2c', 'best', 'random']).default('p2c'),
  /** How long a graceful stop lets routed streams and provider jobs finish before it cuts them. */
  stopTimeoutMs: z.number().int().min(1_000).max(600_000).default(30_000),
  /** 'auto': libp2p's AutoNAT and what peers observe decide; 'public'/'private': the owner knows. */
  reachability: z.enum(REACHABILITY_MODES).default('auto'),
  /** Addresses where peers reach this node, e.g. a port forwarded on the home router. */
  announce: z.array(MultiaddrSchema).max(16).default([]),
  /** Ask the home router for a port mapping (UPnP/NAT-PMP); off unless the owner allows it. */
  upnp: z.boolean().default(false),
  relay: RelayConfigSchema,
  /** Trust: how often this node gossips its signed summary, checks for due challenges, and probes the excluded. */
  reputation: z
    .object({
      gossipIntervalMs: z.number().int().min(500).max(3_600_000).default(30_000),
      challengeIntervalMs: z.number().int().min(200).max(3_600_000).default(5_000),
      /** Share of routed jobs followed by a verification challenge of the same provider. */
      challengeShare: z.number().min(0).max(1).default(0.05),
      /** First re-probe of an excluded provider; doubles up to 10 minutes. */
      probeIntervalMs: z.number().int().min(1_000).max(3_600_000).default(30_000),
      /** Evidence loses half its weight in this time. */
      halfLifeMs: z
        .number()
        .int()
        .min(60_000)
        .default(24 * 3_600_000)
    })
    .default({
      gossipIntervalMs: 30_000,
      challengeIntervalMs: 5_000,
      challengeShare: 0.05,
      probeIntervalMs: 30_000,
      halfLifeMs: 24 * 3_600_000
    })
})
export type Config = z.infer<typeof ConfigSchema>
export type ConfigInput = z.input<typeof ConfigSchema>

export function defaultDataDir(): string {
  return process.env.MESHWORK_DATA_DIR ?? join(homedir(), '.meshwork')
}

const ENV_KEYS: Record<string, keyof ConfigInput> = {
  MESHWORK_API_HOST: 'apiHost',
  MESHWORK_API_PORT: 'apiPort',
  MESHWORK_API_KEY: 'apiKey',
  MESHWORK_P2P_HOST: 'p2pHost',
  MESHWORK_P2P_PORT: 'p2pPort',
  MESHWORK_RUNTIME: 'runtime',
  MESHWORK_ENDPOINT: 'endpoint',
  MESHWORK_ADDRESS_SCOPE: 'addressScope',
  MESHWORK_ADVERT_INTERVAL_MS: 'advertIntervalMs',
  MESHWORK_DISCOVERY_INTERVAL_MS: 'discoveryIntervalMs',
  MESHWORK_STOP_TIMEOUT_MS: 'stopTimeoutMs'
}
const NUMERIC = new Set<keyof ConfigInput>([
  'apiPort',
  'p2pPort',
  'advertIntervalMs',
  'discoveryIntervalMs',
  'stopTimeoutMs'
])

function fromEnv(env: NodeJS.ProcessEnv): Partial<ConfigInput> {
  const out: Record<string, unknown> = {}
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name]
    if (value === undefined || value === '') continue
    out[key] = NUMERIC.has(key) ? Number(value) : value
  }
  if (env.MESHWORK_BOOTSTRAP) out.bootstrap = env.MESHWORK_BOOTSTRAP.split(',').filter(Boolean)
  return out as Partial<ConfigInput>
}

function fromFile(dataDir: string): Partial<ConfigInput> {
  const path = join(dataDir, 'config.json')
  if (!existsSync(path)) return {}
  const text = readFileSync(path, 'utf8')
  if (text.length > 256 * 1024) throw new Error(`${path} is larger than 256 KiB`)
  try {
    return JSON.parse(text) as Partial<ConfigInput>
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
}

/** Merge (lowest to highest precedence): defaults, <dataDir>/config.json, environment, flags. */
export function loadConfig(flags: Partial<ConfigInput> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = flags.dataDir ?? defaultDataDir()
  const merged = { ...fromFile(dataDir), ...fromEnv(env), ...stripUndefined(flags), dataDir }
  const parsed = ConfigSchema.safeParse(merged)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ')
    throw new Error(`Invalid configuration: ${issues}`)
  }
  const config = parsed.data
  if (!isLoopback(config.apiHost) && config.apiKey === undefined) {
    throw new Error(`The API binds to ${config.apiHost}, which is not loopback: set --api-key (or MESHWORK_API_KEY)`)
  }
  if (config.runtime === 'external' && config.endpoint === undefined) {
    throw new Error('--runtime external needs --endpoint URL of an OpenAI-compatible server')
  }
  return config
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
