/** Variables a worker never gets: the node's own settings and anything that looks like a secret. */
const SECRET_NAME = /^MESHWORK_|KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION/i

/**
 * The environment of a worker child process: this process's environment without the node's
 * settings (MESHWORK_API_KEY and every other MESHWORK_*) and without variables named like secrets,
 * plus what the worker needs.
 */
export function workerEnv(parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !SECRET_NAME.test(name)) env[name] = value
  }
  return { ...env, ELECTRON_RUN_AS_NODE: '1', NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' }
}
