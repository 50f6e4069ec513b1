import type Docker from 'dockerode'
import type { Logger } from '../../util/logger'
import { IMAGE_REPOSITORY } from '../image/recipe'

export interface RemovedImage {
  tag: string
  sizeBytes: number
}

/**
 * Removes the worker images an earlier version of Meshwork built (each upgrade builds a new one of
 * 175 MB and more) once a new one exists. Only our own repository is touched, and an image that any
 * container still references, running or not, is kept; a removal the engine refuses is skipped.
 */
export async function removeOldWorkerImages(docker: Docker, keepTag: string, log?: Logger): Promise<RemovedImage[]> {
  const images = await docker.listImages({ filters: { reference: [IMAGE_REPOSITORY] } })
  const containers = await docker.listContainers({ all: true })
  const inUse = new Set(containers.flatMap((c) => [c.ImageID, c.Image]))
  const removed: RemovedImage[] = []
  for (const image of images) {
    const tags = (image.RepoTags ?? []).filter((t) => t.startsWith(`${IMAGE_REPOSITORY}:`))
    if (tags.length === 0 || tags.includes(keepTag) || inUse.has(image.Id) || tags.some((t) => inUse.has(t))) continue
    try {
      for (const tag of tags) await docker.getImage(tag).remove()
      removed.push({ tag: tags[0], sizeBytes: image.Size })
      log?.info('removed an older worker image', { tag: tags[0], megabytes: Math.round(image.Size / 1e6) })
    } catch (err) {
      log?.debug('kept an older worker image the engine would not remove', { tag: tags[0], err })
    }
  }
  return removed
}
