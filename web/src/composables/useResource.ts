// What a page loads from the API, and what it does there: the data, whether it is loading or
// busy, the message of the last failure, and for a resource a refresh that can repeat itself.
import { onBeforeUnmount, onMounted, ref, shallowRef, watch, type Ref, type ShallowRef, type WatchSource } from 'vue'
import { reconnected } from './useConnection'
import { errorText } from './errorText'

/** The message a failed request leaves for the page: the text of its error code in the
 * user's language, else the API's own `detail`. */
export function messageOf(error: unknown): string {
  return errorText(error)
}

export interface ResourceOptions {
  /** Load again every `poll` ms while the page is shown; not while the browser tab is hidden. */
  poll?: number
  /** Load again when this changes (a route parameter, a filter). */
  key?: WatchSource | WatchSource[]
  /** When `key` changes, show the initial data until the new data arrives (it is another
   * thing, not a newer state of the same one). */
  clear?: boolean
  /** Load when the page mounts (default); otherwise only on `refresh()` or a changed key. */
  immediate?: boolean
}

export interface Resource<T> {
  /** The last data loaded, kept while a refresh runs and when one fails. */
  data: ShallowRef<T>
  loading: Ref<boolean>
  /** Whether a load has succeeded (since the key last changed, with `clear`): until then an
   * empty `data` means "not known yet", not "nothing there". */
  loaded: Ref<boolean>
  /** The message of the last load, if it failed; cleared by the next that succeeds. */
  error: Ref<string | null>
  /** Load now. A newer refresh supersedes one still running (its signal is aborted and its
   * answer dropped); the promise never rejects. */
  refresh: () => Promise<void>
}

export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  options: ResourceOptions & { initial: T },
): Resource<T>
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  options?: ResourceOptions & { initial?: undefined },
): Resource<T | null>
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  options: ResourceOptions & { initial?: T } = {},
): Resource<T | null> {
  const initial = options.initial ?? null
  const data = shallowRef<T | null>(initial)
  const loading = ref(false)
  const loaded = ref(false)
  const error = ref<string | null>(null)
  let latest = 0
  let running: AbortController | undefined
  let stopped = false
  let timer: number | undefined

  async function refresh(): Promise<void> {
    const call = ++latest
    running?.abort()
    const controller = (running = new AbortController())
    loading.value = true
    try {
      const value = await load(controller.signal)
      if (call === latest && !stopped) {
        data.value = value
        error.value = null
        loaded.value = true
      }
    } catch (failure) {
      if (call === latest && !stopped) error.value = messageOf(failure)
    } finally {
      if (call === latest) loading.value = false
    }
  }

  async function tick() {
    if (stopped) return
    if (document.visibilityState !== 'hidden') await refresh()
    if (!stopped && options.poll) timer = window.setTimeout(tick, options.poll)
  }

  if (options.key !== undefined) {
    watch(options.key, () => {
      if (options.clear) {
        data.value = initial
        error.value = null
        loaded.value = false
      }
      void refresh()
    })
  }
  // The platform answers again after an outage: what this page shows may be stale.
  watch(reconnected, () => {
    if (!stopped && (loaded.value || error.value !== null)) void refresh()
  })
  onMounted(() => {
    if (options.poll) void tick()
    else if (options.immediate !== false) void refresh()
  })
  onBeforeUnmount(() => {
    stopped = true
    running?.abort()
    if (timer !== undefined) window.clearTimeout(timer)
  })
  return { data, loading, loaded, error, refresh }
}

export interface Action {
  busy: Ref<boolean>
  /** The message of the last run, if it failed; cleared when the next starts. */
  error: Ref<string | null>
  /** The last run's failure itself (an ApiError carries its code and field), or null. */
  failure: ShallowRef<unknown>
  /** Run `work`; a failure becomes `error` (and the answer `undefined`), never an exception. */
  run: <R>(work: () => Promise<R>) => Promise<R | undefined>
}

/** Something the user does on a page (submit, cancel, delete): busy while it runs, and why it
 * failed. */
export function useAction(): Action {
  const busy = ref(false)
  const error = ref<string | null>(null)
  const failure = shallowRef<unknown>(null)
  async function run<R>(work: () => Promise<R>): Promise<R | undefined> {
    busy.value = true
    error.value = null
    failure.value = null
    try {
      return await work()
    } catch (caught) {
      error.value = messageOf(caught)
      failure.value = caught
      return undefined
    } finally {
      busy.value = false
    }
  }
  return { busy, error, failure, run }
}
