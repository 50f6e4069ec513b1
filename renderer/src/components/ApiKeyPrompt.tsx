import { useEffect, useState, type FormEvent } from 'react'
import { keyNeeded, loadApiKey, onKeyNeeded, saveApiKey } from '../api-key'
import { Notice } from './ui'

/** Shown when the node refused the dashboard (401): asks for its API key, keeps it, and reloads. */
export function ApiKeyPrompt() {
  const [needed, setNeeded] = useState(keyNeeded)
  const [key, setKey] = useState('')
  const [remember, setRemember] = useState(false)
  useEffect(() => {
    const unsubscribe = onKeyNeeded(setNeeded)
    setNeeded(keyNeeded()) // a refusal that came between the first render and this effect
    return unsubscribe
  }, [])
  if (!needed) return null
  const hadKey = loadApiKey() !== undefined
  const submit = (event: FormEvent): void => {
    event.preventDefault()
    if (key.trim() === '') return
    saveApiKey(key, remember)
    window.location.reload()
  }
  return (
    <div className="banner" data-testid="api-key-prompt">
      <Notice tone="warn" title={hadKey ? 'The node refused this API key' : 'This node needs its API key'}>
        <form className="key-form" onSubmit={submit}>
          <input
            type="password"
            aria-label="API key"
            autoComplete="current-password"
            placeholder="the node's --api-key"
            value={key}
            onChange={(e) => setKey(e.target.value)}
          />
          <label>
            <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} /> remember on
            this browser
          </label>
          <button className="btn btn-primary" type="submit">
            Unlock
          </button>
        </form>
      </Notice>
    </div>
  )
}
