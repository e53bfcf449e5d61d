// One ECharts instance on an element: created when mounted, resized with its box, disposed
// when unmounted, redrawn by `render` whenever a watched source changes.
import * as echarts from 'echarts/core'
import { onBeforeUnmount, onMounted, type Ref, type WatchSource, watch } from 'vue'

// Browser tests read what a chart draws (its series, colours and axes) through this hook:
// `window.athanorChartOption(element)` is the option of the chart drawn in `element`.
declare global {
  interface Window {
    athanorChartOption?: (element: Element) => unknown
  }
}
window.athanorChartOption = (element) =>
  echarts.getInstanceByDom(element as HTMLElement)?.getOption() ?? null

export function useEChart(
  element: Ref<HTMLDivElement | undefined>,
  render: (chart: echarts.ECharts) => void,
  sources: WatchSource[],
) {
  let chart: echarts.ECharts | undefined
  let observer: ResizeObserver | undefined
  const draw = () => {
    if (chart) render(chart)
  }
  onMounted(() => {
    if (!element.value) return
    chart = echarts.init(element.value)
    draw()
    observer = new ResizeObserver(() => chart?.resize())
    observer.observe(element.value)
  })
  onBeforeUnmount(() => {
    observer?.disconnect()
    chart?.dispose()
  })
  watch(sources, draw, { deep: false })
}
