import { describe, expect, it } from 'vitest'
import { workerEnv } from '../../../electron/core/runtime/process/worker-env'

describe('worker process environment', () => {
  it('carries no MESHWORK_* setting and nothing named like a secret', () => {
    const env = workerEnv({
      PATH: '/usr/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      CUDA_VISIBLE_DEVICES: '0',
      MESHWORK_API_KEY: 'sk-node-secret',
      MESHWORK_DATA_DIR: '/d',
      meshwork_api_key: 'lower',
      OPENAI_API_KEY: 'sk-other',
      AWS_SECRET_ACCESS_KEY: 'x',
      GITHUB_TOKEN: 'ghp',
      DB_PASSWORD: 'p'
    })
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      CUDA_VISIBLE_DEVICES: '0',
      ELECTRON_RUN_AS_NODE: '1',
      NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true'
    })
  })
})
