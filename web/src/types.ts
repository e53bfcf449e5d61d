// What the API answers (the parts the console reads); see /openapi.json.
export type Status = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface Progress {
  phase?: string | null
  step?: number | null
  total_steps?: number | null
  epoch?: number | null
  epochs?: number | null
  fraction?: number | null
  samples_per_second?: number | null
  eta_seconds?: number | null
  metrics?: Record<string, number>
}

export interface Job {
  id: number
  name: string
  status: Status
  reason: string
  dataset: string
  created_at: string
  started_at: string | null
  finished_at: string | null
  duration_seconds: number | null
  priority: number
  resources: { gpus: number; cpus: number; memory_gb: number | null }
  restarts: number
  max_restarts: number
  attempt: number
  queue_position: number | null
  wait_reason: string
  devices: number[]
  progress: Progress
  stop_requested: string | null
  worker: { pid: number; host: string } | null
  submitted_by: string
  summary: Record<string, unknown>
}

export interface Run {
  id: number
  name: string
  status: Status
  status_reason: string
  dataset: string
  created_at: string
  started_at: string | null
  finished_at: string | null
  duration_s: number | null
  summary: Record<string, unknown>
  job: boolean
}

export interface RunDetail extends Run {
  spec: Record<string, unknown>
  artifacts: string
}

export interface RunPage {
  items: Run[]
  total: number
  limit: number
  offset: number
}

export interface Series {
  name: string
  total: number
  last_step: number
  steps: number[]
  epochs: number[]
  values: (number | null)[]
}

export interface LogChunk {
  offset: number
  next_offset: number
  size: number
  text: string
  complete: boolean
}

export interface HostStats {
  cpu_percent: number
  cpu_count: number
  load_average: number[]
  memory_total_gb: number
  memory_used_gb: number
  memory_percent: number
  gpus: {
    index: number
    name: string
    memory_used_gb: number
    memory_total_gb: number
    utilization_percent: number | null
  }[]
  storage: {
    home: string
    used_bytes: number
    parts: Record<string, number>
    disk_free_bytes: number
    disk_total_bytes: number
  }
}

export interface Platform {
  version: string
  url: string
  machine: { host: string; cpus: number; memory_gb: number | null; gpus: { index: number; name: string }[] }
  usage: { gpus_in_use: number[]; cpus_in_use: number; jobs_queued: number; jobs_placed: number }
  scheduler: { running: boolean; executor: string; last_error: string | null }
}

export interface DatasetVersion {
  name: string
  number: number
  ref: string
  version: string
  kind: string
  task: string
  rows: number
  size_bytes: number
  created_at?: string
  source?: string
}

export interface Dataset {
  name: string
  versions: number
  latest: DatasetVersion
}

export interface CatalogEntry {
  name: string
  task: string
  kind: string
  description: string
  size?: string
}

export interface Example {
  name: string
  title: string
  dataset: string
  model: string
  yaml: string
}

export interface ModelSummary {
  name: string
  versions: number
  latest: number | null
  aliases?: Record<string, number>
  description?: string
  created_at?: string
}

export interface ModelVersion {
  name: string
  version: number
  ref: string
  run_id: number | null
  content_hash: string
  metrics: Record<string, number>
  created_at?: string
  aliases?: string[]
  tags?: Record<string, string>
}

export interface ModelDetail extends ModelVersion {
  spec: Record<string, unknown>
  lineage: Record<string, unknown>
  schema: Record<string, unknown>
  signature: { inputs: { kind: string; shape: (string | number)[]; features?: string[] }[] }
  parameters?: unknown
}

export interface LayerRow {
  name: string
  type: string
  output_shape: number[] | null
  parameters: { total: number; trainable: number }
  macs: number
  flops: number
}

export interface NetworkSummary {
  input_shape: number[]
  output_shape: number[] | null
  layers: LayerRow[]
  totals: { parameters: number; trainable: number; parameter_bytes: number; macs: number; flops: number }
}

export interface Served {
  ref: string
  task: string
  input: { kind: string; shape: number[]; features?: string[] }
  classes: string[] | null
}

export interface Deployment {
  name: string
  model: string
  status: 'running' | 'stopped' | 'failed'
  status_reason: string
  created_at: string
  serving: Served[]
  predict_path: string
}

export interface Prediction {
  label?: string
  probability?: number
  probabilities?: Record<string, number>
  values?: number[]
}
