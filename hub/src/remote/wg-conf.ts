/**
 * wg-quick configuration files, read and written line by line: what `hearth remote` does not manage
 * (a PostUp an administrator added, their comments) survives every change it makes.
 * A peer the command added carries its name on a comment line, `# hearth: <name>`, right under `[Peer]`.
 */
export interface Section {
  kind: string;
  /** The lines under the `[Kind]` header, as written. */
  lines: string[];
}

export interface WgConf {
  /** Lines before the first section (the file's own comments). */
  head: string[];
  sections: Section[];
}

const NAME_LINE = /^#\s*hearth:\s*(\S+)\s*$/;

export function parseConf(text: string): WgConf {
  const conf: WgConf = { head: [], sections: [] };
  const lines = text.replace(/\n+$/, '').split('\n');
  for (const line of lines) {
    const header = /^\s*\[(\w+)\]\s*$/.exec(line);
    if (header) conf.sections.push({ kind: header[1]!, lines: [] });
    else (conf.sections.at(-1)?.lines ?? conf.head).push(line);
  }
  return conf;
}

export function renderConf(conf: WgConf): string {
  const blocks = conf.sections.map((section) =>
    [`[${section.kind}]`, ...trimBlank(section.lines)].join('\n'),
  );
  const head = trimBlank(conf.head);
  return `${[...(head.length ? [head.join('\n')] : []), ...blocks].join('\n\n')}\n`;
}

function trimBlank(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === '') end--;
  return lines.slice(0, end);
}

/** A key's value (keys are case-insensitive, `#` starts a comment anywhere, as wg reads them). */
export function keyValue(section: Section, key: string): string | undefined {
  for (const line of section.lines) {
    const stripped = line.split('#')[0]!;
    const at = stripped.indexOf('=');
    if (at > 0 && stripped.slice(0, at).trim().toLowerCase() === key.toLowerCase())
      return stripped.slice(at + 1).trim();
  }
  return undefined;
}

export function peerName(section: Section): string | null {
  for (const line of section.lines) {
    const match = NAME_LINE.exec(line.trim());
    if (match) return match[1]!;
  }
  return null;
}

export function interfaceOf(conf: WgConf): Section | undefined {
  return conf.sections.find((section) => section.kind.toLowerCase() === 'interface');
}

export function peersOf(conf: WgConf): Section[] {
  return conf.sections.filter((section) => section.kind.toLowerCase() === 'peer');
}

export function section(kind: string, name: string | null, entries: [string, string | undefined][]): Section {
  return {
    kind,
    lines: [
      ...(name ? [`# hearth: ${name}`] : []),
      ...entries.filter(([, value]) => value !== undefined).map(([key, value]) => `${key} = ${value}`),
    ],
  };
}
