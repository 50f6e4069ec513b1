import { afterAll } from 'vitest'
import { removeTempDirs } from '../helpers/temp-dir'

// Registered before the file's own hooks, so it runs after them: its nodes are stopped by then.
afterAll(removeTempDirs)
