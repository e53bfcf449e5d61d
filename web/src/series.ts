// A run's metric series, loaded thinned and then followed live (points after the last step).
import { ref } from 'vue'
import { get } from './api'
import type { Curve } from './components/LineChart.vue'
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
      }
    }
    series.value = merged
  }

  return { series, load, follow }
}

/** Curves of the metrics whose names `pick` accepts. */
export function curves(series: Record<string, Series>, pick: (name: string) => boolean, prefix = ''): Curve[] {
  return Object.values(series)
    .filter((s) => pick(s.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => ({
      name: prefix + s.name,
      points: s.steps.map((step, i) => [step, s.values[i]] as [number, number | null]),
    }))
}

export const isLoss = (name: string) => /loss/.test(name)
export const isRate = (name: string) => name === 'lr' || name.startsWith('lr')
export const isTiming = (name: string) => name.endsWith('_seconds')
export const isMetric = (name: string) => !isLoss(name) && !isRate(name) && !isTiming(name)
