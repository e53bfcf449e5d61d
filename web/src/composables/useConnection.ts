// Whether the console can reach the platform: the browser says when it goes offline, and a
// request that never got an answer (fetch's TypeError) says the API is unreachable. While
// either holds, /v1/health is tried every few seconds; the first answer ends the outage and
// bumps `reconnected`, on which every loaded resource refreshes itself.
import { ref } from 'vue'

/** How often an unreachable platform is tried again, in ms. */
export const RETRY_MS = 3000

/** Why the platform cannot be reached now: the browser is offline, or the API did not
 * answer; `null` while it answers. */
export const outage = ref<'offline' | 'unreachable' | null>(
  typeof navigator !== 'undefined' && navigator.onLine === false ? 'offline' : null,
)
/** Counts the outages that ended (resources watch it to load again). */
export const reconnected = ref(0)
/** When the next try is due (ms since the epoch), for the banner's countdown. */
export const nextTry = ref(0)

let timer: number | undefined

/** A request got an answer (any status): the platform is reachable. */
export function markReachable(): void {
  if (outage.value === null) return
  outage.value = null
  if (timer !== undefined) window.clearTimeout(timer)
  timer = undefined
  reconnected.value++
}

/** A request got no answer at all (not an abort): try again until the platform answers. */
export function markUnreachable(): void {
  if (outage.value === null) outage.value = navigator.onLine === false ? 'offline' : 'unreachable'
  schedule()
}

/** A failure that means the API was not reached: fetch's TypeError ("Failed to fetch"). */
export function isUnreachable(failure: unknown): boolean {
  return failure instanceof TypeError
}

function schedule(): void {
  if (timer !== undefined) return
  nextTry.value = Date.now() + RETRY_MS
  timer = window.setTimeout(tryNow, RETRY_MS)
}

/** Ask /v1/health now (the banner's Retry button, and the timer). */
export async function tryNow(): Promise<void> {
  if (timer !== undefined) window.clearTimeout(timer)
  timer = undefined
  try {
    await fetch('/v1/health', { cache: 'no-store' })
    markReachable()
  } catch {
    if (outage.value !== null) {
      outage.value = navigator.onLine === false ? 'offline' : 'unreachable'
      schedule()
    }
  }
}

if (typeof window !== 'undefined') {
  window.addEventListener('offline', () => {
    outage.value = 'offline'
    schedule()
  })
  window.addEventListener('online', () => void tryNow())
}
