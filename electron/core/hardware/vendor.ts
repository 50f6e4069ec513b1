/** Vendor and model names as detection tools print them, mapped to the names a user expects. */
export type GpuVendor = 'NVIDIA' | 'AMD' | 'Intel' | 'Apple'

const VENDOR_IDS: Record<string, GpuVendor> = {
  '10de': 'NVIDIA',
  '1002': 'AMD',
  '1022': 'AMD',
  '8086': 'Intel',
  '106b': 'Apple'
}

/** "NVIDIA Corporation", "Advanced Micro Devices, Inc. [AMD/ATI]", "sppci_vendor_Apple", "0x10de" … */
export function normaliseVendor(raw: string | undefined, vendorId?: string): string {
  const text = (raw ?? '').trim()
  const lower = text.toLowerCase()
  if (/nvidia/.test(lower)) return 'NVIDIA'
  if (/advanced micro devices|\bamd\b|\bati\b|amd\/ati|radeon/.test(lower)) return 'AMD'
  if (/intel/.test(lower)) return 'Intel'
  if (/apple/.test(lower)) return 'Apple'
  const id = (vendorId ?? '').toLowerCase().replace(/^0x/, '')
  if (id in VENDOR_IDS) return VENDOR_IDS[id]
  return text.replace(/\s+(corporation|corp\.?|inc\.?|ltd\.?|co\.,? ltd\.?)$/i, '').trim()
}

/**
 * lspci names a chip and puts the marketing name in brackets: "AD102 [GeForce RTX 4090]",
 * "Navi 31 [Radeon RX 7900 XT/7900 XTX/7900M]". Keep the marketing name and prefix the vendor
 * so that every source reads alike ("NVIDIA GeForce RTX 4090", as nvidia-smi prints it).
 */
export function normaliseModel(vendor: string, raw: string | undefined): string {
  let model = (raw ?? '').replace(/\s+/g, ' ').trim()
  const bracket = /\[([^\]]+)\]\s*$/.exec(model)
  if (bracket && !/^(AMD\/ATI)$/i.test(bracket[1])) model = bracket[1].trim()
  model = model.replace(/\s*\(rev [0-9a-f]+\)$/i, '')
  if (model === '') return vendor === '' ? 'Unknown GPU' : `${vendor} GPU`
  if (vendor !== '' && !model.toLowerCase().startsWith(vendor.toLowerCase())) model = `${vendor} ${model}`
  return model.slice(0, 128)
}

/** Display adapters that cannot run a model: emulated VGA of hypervisors and server BMCs. */
const VIRTUAL_ADAPTERS = [
  /aspeed/i,
  /matrox/i,
  /cirrus/i,
  /vmware/i,
  /virtualbox|innotek/i,
  /hyper-v/i,
  /virtio/i,
  /qxl/i,
  /bochs|qemu/i,
  /\b1234:1111\b/,
  /llvmpipe|softpipe|swrast/i,
  /xen/i
]

export function isVirtualAdapter(vendor: string, model: string): boolean {
  const text = `${vendor} ${model}`
  return VIRTUAL_ADAPTERS.some((re) => re.test(text))
}

/** Integrated GPUs share system memory; recognised by their PCI slot, name or platform. */
const AMD_APU =
  /raphael|renoir|cezanne|rembrandt|phoenix|hawk point|barcelo|lucienne|picasso|raven|mendocino|van gogh|strix|krackan|radeon (vega|graphics)\b/i
const INTEL_IGPU = /uhd graphics|iris|hd graphics|\bgt[123]\b|arrow lake|meteor lake|lunar lake/i

export function isIntegrated(vendor: string, model: string, busAddress: string | undefined, dynamic: boolean): boolean {
  if (dynamic || vendor === 'Apple') return true
  if (vendor === 'Intel') return busAddress === '00:02.0' || INTEL_IGPU.test(model)
  if (vendor === 'AMD') return AMD_APU.test(model)
  return false
}
