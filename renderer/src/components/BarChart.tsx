/**
 * A small inline SVG bar chart: one bar per time bucket, newest on the right. `unit` is singular and
 * plural ("job", "jobs"), `per` the bucket ("15 s").
 */
export function BarChart(props: {
  values: number[]
  label: string
  unit: [string, string]
  per: string
  color?: string
  height?: number
  format?: (v: number) => string
}) {
  const height = props.height ?? 72
  const width = 300
  const max = Math.max(...props.values, 0)
  const gap = 2
  const barWidth = props.values.length > 0 ? width / props.values.length - gap : 0
  const total = props.values.reduce((a, b) => a + b, 0)
  return (
    <figure className="chart" aria-label={props.label}>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img">
        <line x1="0" x2={width} y1={height - 0.5} y2={height - 0.5} className="chart-axis" />
        {props.values.map((v, i) => {
          const h = max > 0 ? Math.max(v > 0 ? 2 : 0, (v / max) * (height - 6)) : 0
          return (
            <rect
              key={i}
              x={i * (barWidth + gap)}
              y={height - h}
              width={barWidth}
              height={h}
              rx="1.5"
              fill={props.color ?? 'currentColor'}
            />
          )
        })}
      </svg>
      <figcaption>
        {total === 0 ? (
          <span className="muted">nothing in this window</span>
        ) : (
          <span>
            peak {props.format ? props.format(max) : max.toLocaleString('en-US', { maximumFractionDigits: 1 })}{' '}
            {props.unit[max === 1 ? 0 : 1]} per {props.per}
          </span>
        )}
      </figcaption>
    </figure>
  )
}
