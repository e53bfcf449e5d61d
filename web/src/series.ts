// A run's metric series, loaded thinned and then followed live (points after the last step),
// and how they become charts: one panel per kind of metric, one learning-rate curve, an
// x-axis of steps, epochs or wall time, and TensorBoard's smoothing.
import { reactive, ref, watch } from 'vue'
import { get } from './api'
import type { Series } from './types'

export function useSeries(points = 600) {
  const series = ref<Record<string, Series>>({})

  async function load(runId: number) {
    series.value = await get<Record<string, Series>>(`/v1/runs/${runId}/series?points=${points}`)
  }

  /** Fetch the points after the newest one held, and append them. */
  async function follow(runId: number) {
    const known = Object.values(series.value)
    const after = known.length ? Math.min(...known.map((s) => s.last_step)) : -1
    const fresh = await get<Record<string, Series>>(
      `/v1/runs/${runId}/series?points=${points}&after_step=${after}`,
    )
    if (!Object.keys(fresh).length) return
    const merged = { ...series.value }
    for (const [name, tail] of Object.entries(fresh)) {
      const head = merged[name]
      if (!head) {
        merged[name] = tail
        continue
      }
      const keep = head.steps.findIndex((step) => step > after)
      const cut = keep === -1 ? head.steps.length : keep
      merged[name] = {
        ...head,
        total: head.total - (head.steps.length - cut) + tail.steps.length,
        last_step: tail.last_step,
        steps: [...head.steps.slice(0, cut), ...tail.steps],
        epochs: [...head.epochs.slice(0, cut), ...tail.epochs],
        values: [...head.values.slice(0, cut), ...tail.values],
        times: [...(head.times ?? []).slice(0, cut), ...(tail.times ?? [])],
      }
    }
    series.value = merged
  }

  return { series, load, follow }
}

/** One line of a chart. `metric` picks its colour (curves without one share the palette by
 * name); `best` marks its lowest or highest value. */
export interface Curve {
  name: string
  metric?: string
  points: [number, number | null][]
  dash?: 'solid' | 'dashed' | 'dotted'
  symbol?: string
  best?: 'min' | 'max'
  /** A value that holds until the next point (a learning rate); never smoothed. */
  stepped?: boolean
}

export type XAxis = 'step' | 'epoch' | 'time'

/** What every metric chart of the console is drawn with; kept across pages and visits. */
export interface ChartSettings {
  x: XAxis
  log: boolean
  smoothing: number
}

const SAVED = 'athanor.charts'
const settings = reactive<ChartSettings>({ x: 'step', log: false, smoothing: 0 })
try {
  Object.assign(settings, JSON.parse(localStorage.getItem(SAVED) ?? '{}'))
} catch {
  // a damaged entry is forgotten
}
watch(settings, (now) => localStorage.setItem(SAVED, JSON.stringify(now)))

export function useChartSettings(): ChartSettings {
  return settings
}

const PREFIX = /^(train|val|test)_/

/** The panel a metric is drawn in: losses together, 0..1 scores together, errors in the
 * target's unit apart from R², the learning rate and the timings each in their own. */
export function metricKind(name: string): string {
  const base = name.replace(PREFIX, '')
  if (/loss/.test(base)) return 'loss'
  if (base === 'lr' || base.startsWith('lr_')) return 'rate'
  if (base.endsWith('_seconds')) return 'timing'
  if (/^(top\d+_)?accuracy$|^(precision|recall|f1)_|_auc$|^map(\d+)?$|^d_(real|fake)$/.test(base)) return 'score'
  if (/^(mse|rmse|mae|mape)$/.test(base)) return 'error'
  if (base === 'r2') return 'r2'
  return `other:${base}`
}

const KIND_ORDER = ['loss', 'score', 'error', 'r2', 'rate', 'timing']

function kindRank(kind: string): number {
  const rank = KIND_ORDER.indexOf(kind)
  return rank === -1 ? KIND_ORDER.length - 2 : rank // other metrics before the rate and timings
}

/** Which way a metric improves: losses and errors go down, scores up; a rate has no best. */
export function direction(name: string): 'min' | 'max' | undefined {
  const kind = metricKind(name)
  if (kind === 'rate' || kind === 'timing') return undefined
  if (kind === 'loss' || kind === 'error' || /perplexity/.test(name)) return 'min'
  return 'max'
}

/** The run's one learning-rate curve. The trainer logs the rate twice: ``lr_step`` while it
 * trains (the rate in force at that step) and ``lr`` once an epoch ends (the rate the epoch
 * *started* with, at the epoch's *last* step). On a step axis the two disagree by an epoch
 * whenever a schedule changes the rate, so the per-step record is the truth shown; a run
 * without it shows ``lr`` at the step its epoch started, held until the next epoch. */
export function learningRates(series: Record<string, Series>): Record<string, Series> {
  // a rate holds until the next record: each curve is drawn on to the run's last step
  const all = Object.values(series)
  const lastStep = Math.max(0, ...all.map((s) => s.last_step))
  const lastEpoch = Math.max(0, ...all.flatMap((s) => s.epochs))
  const lastTime = Math.max(0, ...all.flatMap((s) => s.times ?? []))
  const heldToEnd = (s: Series, name: string): Series => {
    const n = s.steps.length
    if (!n || s.steps[n - 1] >= lastStep) return { ...s, name }
    return {
      ...s,
      name,
      steps: [...s.steps, lastStep],
      epochs: [...s.epochs, lastEpoch],
      values: [...s.values, s.values[n - 1]],
      times: s.times?.length ? [...s.times, lastTime] : s.times,
    }
  }
  const steps = Object.keys(series).filter((name) => /^lr_step(_group\d+)?$/.test(name))
  if (steps.length) {
    return Object.fromEntries(
      steps.map((name) => {
        const shown = name === 'lr_step' ? 'lr' : name.replace('lr_step_', 'lr_')
        return [shown, heldToEnd(series[name], shown)]
      }),
    )
  }
  const epochly = series.lr
  if (!epochly || !epochly.steps.length) return {}
  const starts = epochly.steps.map((_, i) => (i === 0 ? 0 : epochly.steps[i - 1]))
  const shifted: Series = {
    ...epochly,
    steps: starts,
    epochs: epochly.epochs.map((e) => e - 1),
    times: [],
  }
  return { lr: heldToEnd(shifted, 'lr') }
}

/** The metrics drawn, by name: the learning rate once, everything else as logged. */
function drawn(series: Record<string, Series>): Record<string, Series> {
  const rest = Object.fromEntries(Object.entries(series).filter(([name]) => metricKind(name) !== 'rate'))
  return { ...rest, ...learningRates(series) }
}

/** Turns a point of `series` into its x under `axis`: its step, its fractional epoch (from the
 * steps at which the run's epochs ended) or the seconds since the run's first point. */
export function xMapper(series: Record<string, Series>, axis: XAxis): (s: Series, i: number) => number {
  if (axis === 'time') {
    // the test metrics and a run's final figures are stored without a time (0): they are
    // drawn where the run's recorded points end
    const all = Object.values(series).flatMap((s) => (s.times ?? []).filter((t) => t > 0))
    if (all.length) {
      const start = all.reduce((a, b) => Math.min(a, b))
      const end = all.reduce((a, b) => Math.max(a, b))
      return (s, i) => {
        const at = s.times?.[i] ?? 0
        return (at > 0 ? at : end) - start
      }
    }
    return (s, i) => s.steps[i]
  }
  if (axis === 'epoch') {
    const ends = new Map<number, number>() // epoch -> its last step
    for (const s of Object.values(series))
      s.epochs.forEach((epoch, i) => ends.set(epoch, Math.max(ends.get(epoch) ?? 0, s.steps[i])))
    return (s, i) => {
      const epoch = s.epochs[i]
      const from = ends.get(epoch - 1) ?? 0
      const to = ends.get(epoch) ?? from
      return to > from ? epoch - 1 + Math.min(1, (s.steps[i] - from) / (to - from)) : epoch
    }
  }
  return (s, i) => s.steps[i]
}

export interface Panel {
  kind: string
  curves: Curve[]
}

/** The panels of one or more runs' metrics, `pick`ed by name; with several runs each run's
 * curves are prefixed `#id ` and drawn with a dash and symbol of their own. */
export function panels(
  runs: { id?: number; series: Record<string, Series> }[],
  axis: XAxis,
  pick: (name: string) => boolean = () => true,
  markBest = false,
): Panel[] {
  const byKind = new Map<string, Curve[]>()
  const DASHES = ['solid', 'dashed', 'dotted'] as const
  const SYMBOLS = ['circle', 'rect', 'triangle', 'diamond', 'pin', 'arrow', 'roundRect', 'emptyCircle']
  runs.forEach((run, r) => {
    const shown = drawn(run.series)
    const x = xMapper(run.series, axis)
    for (const s of Object.values(shown).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!pick(s.name)) continue
      const kind = metricKind(s.name)
      const curve: Curve = {
        name: run.id === undefined ? s.name : `#${run.id} ${s.name}`,
        metric: s.name,
        points: s.steps.map((_, i) => [x(s, i), s.values[i]] as [number, number | null]),
        stepped: kind === 'rate',
        best: markBest ? direction(s.name) : undefined,
      }
      if (runs.length > 1) {
        curve.dash = DASHES[r % DASHES.length]
        curve.symbol = SYMBOLS[r % SYMBOLS.length]
      }
      byKind.set(kind, [...(byKind.get(kind) ?? []), curve])
    }
  })
  return [...byKind.entries()]
    .sort(([a], [b]) => kindRank(a) - kindRank(b) || a.localeCompare(b))
    .map(([kind, curves]) => ({ kind, curves }))
}

/** TensorBoard's smoothing: an exponential moving average, debiased so that it starts at the
 * first value rather than at zero; gaps stay gaps. */
export function smoothed(points: [number, number | null][], weight: number): [number, number | null][] {
  if (weight <= 0) return points
  let last = 0
  let count = 0
  return points.map(([x, y]) => {
    if (y === null || !Number.isFinite(y)) return [x, null]
    last = last * weight + (1 - weight) * y
    count += 1
    return [x, last / (1 - weight ** count)]
  })
}

/** Each metric's best value over a run's points, in the metric's direction. */
export function best(values: (number | null | undefined)[], way: 'min' | 'max'): number | undefined {
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  if (!numbers.length) return undefined
  return way === 'min' ? Math.min(...numbers) : Math.max(...numbers)
}
