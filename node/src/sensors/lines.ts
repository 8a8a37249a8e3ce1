/**
 * Splits a byte stream into text lines (LF, with an optional CR) with a bound: serialport's ReadlineParser
 * buffers without limit, and a sensor spewing bytes without a newline must not grow the agent's memory.
 */
export class LineSplitter {
  private buffer = '';
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  /** Lines longer than this are dropped whole (counted); the stream resumes after the next newline. */
  constructor(private readonly maxLength = 256) {}
  private skipping = false;

  push(chunk: Uint8Array): string[] {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    const lines: string[] = [];
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline).replace(/\r$/, '');
      this.buffer = this.buffer.slice(newline + 1);
      if (this.skipping) this.skipping = false;
      else lines.push(line);
      newline = this.buffer.indexOf('\n');
    }
    if (this.buffer.length > this.maxLength) {
      this.buffer = '';
      this.skipping = true;
    }
    return lines;
  }
}

/**
 * A number from a sensor's text line: `36.5`, `아기 체온: 36.5°C`, `temp=36.5 C`. Null for anything else
 * (garbage, a status message, two numbers).
 */
export function numberInLine(line: string): number | null {
  const text = line.trim();
  if (!text || text.length > 128) return null;
  const numbers = text.match(/-?\d+(?:\.\d+)?/g);
  if (numbers?.length !== 1) return null;
  // The number, then at most a unit: nothing that makes it a different statement ("36.5 error").
  const after = text.slice(text.lastIndexOf(numbers[0]) + numbers[0].length).trim();
  if (after && !/^(?:°\s*[CF]?|℃|[CF]|%)$/i.test(after)) return null;
  const value = Number(numbers[0]);
  return Number.isFinite(value) ? value : null;
}
