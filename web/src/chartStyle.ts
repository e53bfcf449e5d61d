// What every chart of the console shares: the palette, a colour that stays with a metric's
// name wherever and whenever it is drawn, the grid lines and the tooltip's numbers.

export const PALETTE = ['#2457d6', '#e8590c', '#2b8a3e', '#ae3ec9', '#0c8599', '#c92a2a', '#5c7cfa', '#f08c00']

function hashOf(name: string): number {
  let hash = 0
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) >>> 0
  return hash
}

function slotOf(name: string): number {
  return hashOf(name) % PALETTE.length
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

// A training metric's colour depends on its name alone, never on which other metrics share the
// chart or the order they arrived in: `val_loss` is the same orange on the job page, in every
// panel and on the compare page. The common metrics have hand-picked colours that tell the
// training and validation curves of one panel apart; other names hash into a wider palette.
const METRIC_COLORS: Record<string, string> = {
  batch_loss: '#9aa6bd',
  train_loss: '#2457d6',
  val_loss: '#e8590c',
  test_loss: '#5f3dc4',
  train_accuracy: '#2b8a3e',
  val_accuracy: '#c2255c',
  lr: '#0c8599',
  lr_step: '#0c8599',
  epoch_seconds: '#868e96',
  train_rmse: '#1971c2',
  val_rmse: '#f08c00',
  train_mae: '#6741d9',
  val_mae: '#d6336c',
  train_r2: '#2f9e44',
  val_r2: '#e03131',
}

const METRIC_PALETTE = [
  '#2457d6', '#e8590c', '#2b8a3e', '#ae3ec9', '#0c8599', '#c92a2a', '#5c7cfa', '#f08c00',
  '#1098ad', '#d6336c', '#74b816', '#7048e8', '#e67700', '#364fc7', '#a61e4d', '#087f5b',
]

/** The colour of a metric (by its full name, e.g. `val_accuracy`), the same on every chart. */
export function metricColor(name: string): string {
  return METRIC_COLORS[name] ?? METRIC_PALETTE[hashOf(name) % METRIC_PALETTE.length]
}
