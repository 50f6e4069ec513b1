/** Reads a stream of newline-separated JSON objects (docker build/pull/events), one callback each. */
export async function readJsonLines(
  stream: NodeJS.ReadableStream,
  onObject: (value: Record<string, unknown>) => void,
  options: { maxLineBytes?: number } = {}
): Promise<void> {
  const maxLine = options.maxLineBytes ?? 1 << 20
  let buffer = ''
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    buffer += chunk.toString()
    let newline: number
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim()
      buffer = buffer.slice(newline + 1)
      if (line !== '') onObject(JSON.parse(line) as Record<string, unknown>)
    }
    if (buffer.length > maxLine) throw new Error(`A line from the Docker engine exceeded ${maxLine} bytes`)
  }
  const rest = buffer.trim()
  if (rest !== '') onObject(JSON.parse(rest) as Record<string, unknown>)
}
