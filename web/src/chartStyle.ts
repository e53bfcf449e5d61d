// What every chart of the console shares: the palette, a colour that stays with a metric's
// name wherever and whenever it is drawn, the grid lines and the tooltip's numbers.

export const PALETTE = ['#2457d6', '#e8590c', '#2b8a3e', '#ae3ec9', '#0c8599', '#c92a2a', '#5c7cfa', '#f08c00']

function slotOf(name: string): number {
  let hash = 0
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) >>> 0
  return hash % PALETTE.length
}

/** Colours for the series of one chart, by name: a name keeps its colour wherever it is drawn
 * and when other series arrive later (a metric's validation curve after the first epoch), and
 * no two series of the chart share one while the palette lasts. Names take their preferred
 * colour in sorted order, so `loss` keeps its colour when `val_loss` comes. */
export function colorsFor(names: string[]): Map<string, string> {
  const colors = new Map<string, string>()
  const taken = new Set<number>()
  for (const name of [...new Set(names)].sort()) {
    let slot = slotOf(name)
    while (taken.has(slot) && taken.size < PALETTE.length) slot = (slot + 1) % PALETTE.length
    taken.add(slot)
    colors.set(name, PALETTE[slot])
  }
  return colors
}

export const SPLIT_LINE = { lineStyle: { color: '#eef1f6' } }

export const TOOLTIP_NUMBER = (v: unknown) => (typeof v === 'number' ? v.toPrecision(4) : '–')
