export type { RuntimeComponents, RuntimeOptions } from './components'
export {
  createDockerRuntime,
  createExternalRuntime,
  createProcessRuntime,
  createRuntime,
  type RuntimeConfig
} from './create'
export { DockerUnavailableError, detectDocker, createDockerClient, LABEL_MANAGED, LABEL_PEER } from './docker/engine'
export { removePeerContainers } from './docker/docker-launcher'
export { ensureWorkerImage, type WorkerImage } from './docker/image'
export { ExternalRuntime } from './external/external-runtime'
export { SupervisedRuntime } from './supervisor'
export type { InferenceRuntime, ProgressEvent } from './types'
