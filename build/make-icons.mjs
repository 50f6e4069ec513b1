// Draws the app, tray and favicon PNGs from geometry (no image tools or downloads needed).
// Run: node build/make-icons.mjs   (outputs are committed; rerun after changing the shapes)
import { writeFileSync, mkdirSync } from 'node:fs'
import { deflateSync } from 'node:zlib'

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}
function png(size, rgba) {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header[8] = 8 // bit depth
  header[9] = 6 // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1))
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4)
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))])
}

// Shapes in a unit square; each returns [r,g,b,a] (0..1) or null at point (x,y).
const NODES = [
  [0.5, 0.24],
  [0.24, 0.7],
  [0.76, 0.7],
  [0.5, 0.54]
]
const EDGES = [[0, 1], [1, 2], [2, 0], [0, 3], [1, 3], [2, 3]]
function segDist(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax, dy = by - ay
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(px - ax - t * dx, py - ay - t * dy)
}
function roundedSquare(x, y, r) {
  const qx = Math.max(Math.abs(x - 0.5) - (0.5 - r), 0), qy = Math.max(Math.abs(y - 0.5) - (0.5 - r), 0)
  return Math.hypot(qx, qy) <= r
}
function mix(a, b, t) {
  return a.map((v, i) => v + (b[i] - v) * t)
}
const BLUE = [0.486, 0.612, 1], GREEN = [0.243, 0.812, 0.557], WHITE = [1, 1, 1]
const STATUS = { earning: GREEN, paused: [0.961, 0.725, 0.259], offline: [0.55, 0.58, 0.65] }

function mesh(x, y, nodeR, edgeW) {
  if (NODES.some(([nx, ny]) => Math.hypot(x - nx, y - ny) <= nodeR)) return true
  return EDGES.some(([a, b]) => segDist(x, y, NODES[a], NODES[b]) <= edgeW)
}

function appIcon(x, y) {
  const m = 0.06
  if (!roundedSquare((x - m) / (1 - 2 * m), (y - m) / (1 - 2 * m), 0.22)) return null
  if (mesh(x, y, 0.085, 0.018)) return [...WHITE, 1]
  return [...mix(BLUE, GREEN, (x + y) / 2), 1]
}
function trayIcon(state) {
  return (x, y) => {
    const dot = STATUS[state]
    if (Math.hypot(x - 0.8, y - 0.8) <= 0.2) return [...dot, 1]
    if (Math.hypot(x - 0.8, y - 0.8) <= 0.29) return null // gap so the dot reads on any panel colour
    if (mesh(x, y, 0.13, 0.05)) return state === 'offline' ? [0.8, 0.82, 0.86, 1] : [...WHITE, 1]
    return null
  }
}

function render(size, shape, samples = 4) {
  const out = Buffer.alloc(size * size * 4)
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const c = shape((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)
          if (!c) continue
          r += c[0] * c[3]; g += c[1] * c[3]; b += c[2] * c[3]; a += c[3]
        }
      }
      const n = samples * samples, i = (py * size + px) * 4
      out[i] = a ? Math.round((r / a) * 255) : 0
      out[i + 1] = a ? Math.round((g / a) * 255) : 0
      out[i + 2] = a ? Math.round((b / a) * 255) : 0
      out[i + 3] = Math.round((a / n) * 255)
    }
  }
  return png(size, out)
}

const dir = new URL('.', import.meta.url)
writeFileSync(new URL('icon.png', dir), render(512, appIcon))
for (const state of Object.keys(STATUS)) {
  writeFileSync(new URL(`tray-${state}.png`, dir), render(16, trayIcon(state), 8))
  writeFileSync(new URL(`tray-${state}@2x.png`, dir), render(32, trayIcon(state), 8))
}
mkdirSync(new URL('../renderer/public/', dir), { recursive: true })
writeFileSync(new URL('../renderer/public/favicon.png', dir), render(64, appIcon))
console.log('icons written')
