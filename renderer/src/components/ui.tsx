import type { ReactNode } from 'react'

export function Card(props: {
  title: string
  aside?: ReactNode
  children: ReactNode
  className?: string
  testId?: string
}) {
  return (
    <section className={`card ${props.className ?? ''}`} data-testid={props.testId}>
      <header className="card-head">
        <h2>{props.title}</h2>
        {props.aside}
      </header>
      {props.children}
    </section>
  )
}

export type Tone = 'good' | 'warn' | 'bad' | 'muted' | 'info'

export function Badge(props: { tone: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${props.tone}`} title={props.title}>
      {props.children}
    </span>
  )
}

/** An empty or error state that says what happened and what to do about it. */
export function Notice(props: { tone: Tone; title: string; children?: ReactNode; testId?: string }) {
  return (
    <div
      className={`notice notice-${props.tone}`}
      role={props.tone === 'bad' ? 'alert' : 'status'}
      data-testid={props.testId}
    >
      <strong>{props.title}</strong>
      {props.children ? <div className="notice-body">{props.children}</div> : null}
    </div>
  )
}

export function Stat(props: { label: string; value: ReactNode; hint?: string }) {
  return (
    <div className="stat" title={props.hint}>
      <div className="stat-value">{props.value}</div>
      <div className="stat-label">{props.label}</div>
    </div>
  )
}

export function Field(props: { label: string; children: ReactNode; mono?: boolean }) {
  return (
    <div className="field">
      <dt>{props.label}</dt>
      <dd className={props.mono ? 'mono' : undefined}>{props.children}</dd>
    </div>
  )
}

/** fraction undefined → an indeterminate (moving) bar. */
export function ProgressBar(props: { fraction?: number; label: string; done?: boolean }) {
  const pct = props.fraction === undefined ? undefined : Math.round(Math.min(1, Math.max(0, props.fraction)) * 100)
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
    >
      <div
        className={
          pct === undefined ? 'progress-fill indeterminate' : props.done ? 'progress-fill done' : 'progress-fill'
        }
        style={pct === undefined ? undefined : { width: `${pct}%` }}
      />
    </div>
  )
}
