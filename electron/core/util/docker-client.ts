import type Docker from 'dockerode'

/**
 * A client of the Docker engine: the Docker runtime's, and hardware detection's when DOCKER_HOST is
 * not the local socket (docker-info.ts). dockerode reads DOCKER_HOST (and the TLS variables) itself;
 * the default is the local socket. It is imported on first use: with grpc, ssh2 and protobufjs
 * under it, loading it cost every start about 0.14 CPU-s, and most nodes never need it.
 */
export async function createDockerClient(options?: Docker.DockerOptions): Promise<Docker> {
  const { default: Dockerode } = await import('dockerode')
  return new Dockerode(options)
}
