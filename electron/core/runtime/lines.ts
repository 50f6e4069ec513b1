/** Splits a byte stream into lines (long lines are cut), for worker logs. */
export function lineSplitter(
  onLine: (line: string) => void,
  maxLine = 8192
): { push(chunk: Buffer | string): void; end(): void } {
  let buffer = ''
  return {
    push(chunk) {
      buffer += chunk.toString()
      let newline: number
      while ((newline = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, newline).replace(/\r$/, ''))
        buffer = buffer.slice(newline + 1)
      }
      if (buffer.length > maxLine) {
        onLine(buffer.slice(0, maxLine))
        buffer = ''
      }
    },
    end() {
      if (buffer !== '') onLine(buffer)
      buffer = ''
    }
  }
}
