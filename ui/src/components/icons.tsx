/** Hand-drawn 24×24 stroke icons; decorative (the text next to them carries the meaning). */
const circle = (cx: number, cy: number, r: number) =>
  `M${cx - r} ${cy}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;

const PATHS = {
  dashboard: 'M3 3h7v9H3zM14 3h7v5h-7zM14 12h7v9h-7zM3 16h7v5H3z',
  devices: `M3 8h4l2-3h6l2 3h4v12H3z${circle(12, 13, 3.5)}`,
  events: 'M6 9a6 6 0 0 1 12 0c0 6 3 8 3 8H3s3-2 3-8M10 21h4',
  users: `${circle(9, 7, 4)}M2 21v-1a5 5 0 0 1 5-5h4a5 5 0 0 1 5 5v1M16 3.5a4 4 0 0 1 0 7M22 21v-1a5 5 0 0 0-3.5-4.8`,
  settings: 'M4 21v-7M4 10V3M12 21v-9M12 8V3M20 21v-5M20 12V3M1 14h6M9 8h6M17 16h6',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  globe: `${circle(12, 12, 9.5)}M2.5 12h19M12 2.5c2.5 2.6 3.8 5.8 3.8 9.5s-1.3 6.9-3.8 9.5c-2.5-2.6-3.8-5.8-3.8-9.5s1.3-6.9 3.8-9.5`,
  copy: 'M10 9h10a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H10a1 1 0 0 1-1-1V10a1 1 0 0 1 1-1zM5 15H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1',
  plus: 'M12 5v14M5 12h14',
  key: `${circle(7.5, 15.5, 4.5)}M10.7 12.3 21 2M16 7l3 3M18.5 4.5l2 2`,
  warning: 'M12 3 2 20h20zM12 10v4M12 17v.5',
  close: 'M6 6l12 12M18 6 6 18',
  camera: `M2 7h13v10H2zM15 10.5l6-3.5v10l-6-3.5`,
  play: 'M7 4.5v15l12.5-7.5z',
  pause: 'M7 4.5v15M17 4.5v15',
  back: 'M15 5l-7 7 7 7',
  forward: 'M9 5l7 7-7 7',
  download: 'M12 3v12M7 10l5 5 5-5M4 20h16',
  shield: 'M12 2.5 4 5.5v6c0 5 3.4 8.6 8 10 4.6-1.4 8-5 8-10v-6zM8.5 12l2.5 2.5 4.5-5',
  edit: 'M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4',
  history: `M3.5 12a8.5 8.5 0 1 0 2.5-6M3 3.5V8h4.5M12 7.5V12l3 2`,
  storage: 'M3 5h18v5H3zM3 14h18v5H3zM7 7.5h.5M7 16.5h.5',
  photo: `M3 5h18v14H3zM3 16l5-5 4 4 3-3 6 6${circle(15.5, 9, 1.5)}`,
  star: 'M12 3l2.7 5.6 6.1.9-4.4 4.3 1 6.1-5.4-2.9-5.4 2.9 1-6.1-4.4-4.3 6.1-.9z',
  scissors: `${circle(6, 6, 2.8)}${circle(6, 18, 2.8)}M8.3 7.7 20 18M8.3 16.3 20 6`,
  node: 'M6 6h12v12H6zM9 2v4M15 2v4M9 18v4M15 18v4M2 9h4M2 15h4M18 9h4M18 15h4M10 10h4v4h-4z',
  heart: 'M12 20.5s-8-4.6-8-10.5A4.5 4.5 0 0 1 12 7a4.5 4.5 0 0 1 8 3c0 5.9-8 10.5-8 10.5z',
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, class: className }: { name: IconName; class?: string }) {
  return (
    <svg
      class={className ? `icon ${className}` : 'icon'}
      viewBox="0 0 24 24"
      aria-hidden="true"
      focusable="false"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}

export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="8" />
      <path d="M16 6 6 14v12h7v-7h6v7h7V14z" />
    </svg>
  );
}
