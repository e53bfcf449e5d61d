// Refresh a page's data every few seconds while it is shown (not while the tab is hidden).
import { onBeforeUnmount, onMounted } from 'vue'

export function usePolling(refresh: () => Promise<unknown> | unknown, everyMs: number): void {
  let timer: number | undefined
  let stopped = false
  const tick = async () => {
    if (stopped) return
    if (document.visibilityState !== 'hidden') {
      try {
        await refresh()
      } catch {
        // the page shows its own error; the next tick tries again
      }
    }
    if (!stopped) timer = window.setTimeout(tick, everyMs)
  }
  onMounted(() => {
    void tick()
  })
  onBeforeUnmount(() => {
    stopped = true
    if (timer !== undefined) window.clearTimeout(timer)
  })
}
