// Sandboxed preload (built as CommonJS): exposes window.meshwork, allow-listed by shared/ipc-names.ts.
import { contextBridge, ipcRenderer } from 'electron'
import { createBridge } from './bridge'

contextBridge.exposeInMainWorld('meshwork', createBridge(ipcRenderer as never))
