import { useState } from 'react'
import type { SettingsView } from '../../../shared/ipc'
import type { MaxPrice, ModelPrice } from '../../../shared/price'
import { useApp } from '../hooks'
import { Card } from './ui'

type Draft = Record<string, { prompt: string; completion: string }>

const text = (n: number | undefined): string => (n === undefined ? '' : String(n))

function maxText(max: MaxPrice | undefined, unit: string): string {
  if (max === undefined) return 'none: any price'
  if (typeof max === 'number') return `${max} ${unit} per million tokens`
  return `prompt ${max.prompt ?? 'any'}, completion ${max.completion ?? 'any'} ${unit} per million tokens`
}

/**
 * This node's prices as a provider, per model (credits per million prompt and completion tokens).
 * Saving writes them to config.json and into the signed advert at once.
 */
export function PriceSettings(props: { settings: SettingsView }) {
  const { settings } = props
  // select the array itself: a selector that builds a new one each time never settles
  const served = useApp((s) => s.status?.models)
  const models = served?.map((m) => m.name) ?? []
  const refreshSettings = useApp((s) => s.refreshSettings)
  const transport = useApp((s) => s.transport)
  const names = [...new Set([...models, ...Object.keys(settings.prices ?? {})])].sort()
  const [flat, setFlat] = useState(text(settings.pricePerMillionTokens))
  const [unit, setUnit] = useState(settings.priceUnit ?? 'credits')
  const [draft, setDraft] = useState<Draft>(() =>
    Object.fromEntries(
      names.map((n) => [
        n,
        { prompt: text(settings.prices?.[n]?.prompt), completion: text(settings.prices?.[n]?.completion) }
      ])
    )
  )
  const [state, setState] = useState<{ saving: boolean; message?: string; ok?: boolean }>({ saving: false })

  async function save(): Promise<void> {
    const prices: Record<string, ModelPrice> = {}
    for (const [name, p] of Object.entries(draft)) {
      if (p.prompt.trim() === '' && p.completion.trim() === '') continue
      prices[name] = { prompt: Number(p.prompt || 0), completion: Number(p.completion || 0) }
    }
    setState({ saving: true })
    const result = await transport.invoke('prices:set', {
      pricePerMillionTokens: Number(flat || 0),
      prices,
      priceUnit: unit
    })
    if (result.ok) {
      await refreshSettings()
      setState({ saving: false, ok: true, message: 'Saved: peers see the new prices with the next advert.' })
    } else setState({ saving: false, ok: false, message: result.error.message })
  }

  const field = (name: string, kind: 'prompt' | 'completion') => (
    <input
      type="number"
      min={0}
      step="any"
      aria-label={`${name} ${kind} price`}
      placeholder={flat || '0'}
      value={draft[name]?.[kind] ?? ''}
      onChange={(e) =>
        setDraft({
          ...draft,
          [name]: {
            prompt: draft[name]?.prompt ?? '',
            completion: draft[name]?.completion ?? '',
            [kind]: e.target.value
          }
        })
      }
    />
  )
  return (
    <Card title="Prices" className="wide" testId="settings-prices">
      <p className="muted">
        What consumers pay you, in {unit} per million tokens. A model left empty costs the default price.
      </p>
      <table className="table price-table">
        <thead>
          <tr>
            <th>model</th>
            <th>prompt</th>
            <th>completion</th>
          </tr>
        </thead>
        <tbody>
          {names.map((name) => (
            <tr key={name}>
              <td className="mono">{name}</td>
              <td>{field(name, 'prompt')}</td>
              <td>{field(name, 'completion')}</td>
            </tr>
          ))}
          <tr>
            <td>every other model</td>
            <td colSpan={2}>
              <input
                type="number"
                min={0}
                step="any"
                aria-label="default price"
                value={flat}
                onChange={(e) => setFlat(e.target.value)}
              />{' '}
              (prompt and completion)
            </td>
          </tr>
          <tr>
            <td>unit</td>
            <td colSpan={2}>
              <input
                type="text"
                maxLength={16}
                aria-label="price unit"
                value={unit}
                onChange={(e) => setUnit(e.target.value)}
              />
            </td>
          </tr>
        </tbody>
      </table>
      <div className="verify">
        <button type="button" className="btn btn-primary" disabled={state.saving} onClick={() => void save()}>
          {state.saving ? 'Saving…' : 'Save prices'}
        </button>
        {state.message ? <span className={state.ok ? 'good' : 'bad'}>{state.message}</span> : null}
      </div>
      <p className="muted">
        The most you pay as a consumer: {maxText(settings.maxPrice, unit)} (config <code>maxPrice</code> or{' '}
        <code>--max-price</code>; a request may lower it with <code>meshwork.maxPrice</code>).
      </p>
    </Card>
  )
}
