// Numbers, sizes, moments and durations as the console shows them.
import { i18n } from './i18n'

const locale = () => i18n.global.locale.value

export function number(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–'
  if (Number.isInteger(value)) return value.toLocaleString(locale())
  const magnitude = Math.abs(value)
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) return value.toExponential(2)
  return value.toLocaleString(locale(), { maximumSignificantDigits: digits })
}

export function percent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return '–'
  return `${(value * 100).toFixed(digits)}%`
}

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let size = value
  let unit = 0
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024
    unit += 1
  }
  return `${size.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`
}

/** Large counts short: 61,706 -> 61.7K (FLOPs, parameters). */
export function compact(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–'
  return new Intl.NumberFormat(locale() === 'zh-CN' ? 'en' : locale(), {
    notation: 'compact',
    maximumFractionDigits: 2,
  }).format(value)
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–'
  const total = Math.max(0, Math.round(seconds))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  if (h) return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`
  return `${m}:${String(s).padStart(2, '0')}`
}

export function moment(iso: string | null | undefined): string {
  if (!iso) return '–'
  const date = new Date(iso)
  return date.toLocaleString(locale(), {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  })
}

/** The headline metric of a run: test accuracy (or F1, R²), else validation, else a loss. */
export function headline(summary: Record<string, unknown>): [string, number] | null {
  const metrics = (summary.metrics ?? {}) as Record<string, unknown>
  const keys = Object.keys(metrics).filter((key) => typeof metrics[key] === 'number')
  for (const pattern of [/accuracy|f1|r2/, /loss|mae|rmse/]) {
    for (const prefix of ['test_', 'val_', '']) {
      const key = keys.find((k) => k.startsWith(prefix) && pattern.test(k))
      if (key) return [key, metrics[key] as number]
    }
  }
  return null
}

/** A rough duration in words: "12 min", "3 h", "40 s" (estimates, ETAs). */
export function roughly(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–'
  const t = i18n.global.t
  if (seconds < 1) return t('estimate.units.ms', { n: Math.max(1, Math.round(seconds * 1000)) })
  if (seconds < 90) return t('estimate.units.s', { n: Math.round(seconds) })
  if (seconds < 5400) return t('estimate.units.min', { n: Math.round(seconds / 60) })
  if (seconds < 172800) return t('estimate.units.h', { n: Number((seconds / 3600).toPrecision(2)) })
  return t('estimate.units.d', { n: Number((seconds / 86400).toPrecision(2)) })
}

/** A span of rough durations: "4–6 min" style, "12 min" when both ends read the same. */
export function roughSpan(low: number, high: number): string {
  const a = roughly(low)
  const b = roughly(high)
  return a === b ? a : `${a} – ${b}`
}

/** Money with no invented precision: 2 decimals; "<¥0.01" for a positive amount below a cent. */
export function money(amount: number, currency: string): string {
  const sign = currency === 'CNY' ? '¥' : currency === 'USD' ? '$' : currency + ' '
  return amount > 0 && amount < 0.005 ? `<${sign}0.01` : `${sign}${amount.toFixed(2)}`
}
