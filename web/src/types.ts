// What the API answers and accepts, under the names the console uses. The types come from
// api-types.ts, generated from the platform's OpenAPI document (`make api-types`), so a
// changed API shows here as a type error. Where the API's schema leaves a body open (a
// mapping of any keys), `Refined` adds the fields the console reads.
import type { components } from './api-types'

type Schemas = components['schemas']

/** The declared fields of `T` (without its open index signature), with `R`'s replacing or
 * adding to them. */
type Refined<T, R> = {
  [K in keyof T as string extends K ? never : number extends K ? never : K extends keyof R ? never : K]: T[K]
} & R

// --- runs and jobs -----------------------------------------------------------------------

export type Status = Schemas['RunOut']['status']
export type Job = Schemas['JobOut']
export type Progress = Job['progress']
export type Run = Schemas['RunOut']
export type RunDetail = Schemas['RunDetailOut']
export type RunPage = Schemas['RunPageOut']
export type Series = Schemas['MetricSeriesOut']
export type LogChunk = Schemas['LogOut']
export type JobSubmit = Schemas['JobSubmit']
export type Example = Schemas['ExampleSpecOut']
export type SpecCheck = Schemas['SpecCheckOut']
export type Estimate = Schemas['EstimateOut']
export type DeviceEstimate = Schemas['DeviceEstimateOut']
export type Evaluation = Schemas['EvaluationOut']
export type WrongExample = Schemas['WrongExampleOut']

// --- the platform ------------------------------------------------------------------------

export type HostStats = Schemas['HostStatsOut']
export type Platform = Schemas['PlatformOut']

// --- datasets and uploads ----------------------------------------------------------------

export type DatasetVersion = Refined<Schemas['DatasetVersionOut'], { created_at?: string; source?: string }>
export type ImportedVersion = Refined<Schemas['ImportedOut'], { created_at?: string; source?: string }>
export type Dataset = Refined<Schemas['DatasetOut'], { latest: DatasetVersion }>
export type CatalogEntry = Refined<Schemas['CatalogEntryOut'], { size?: string }>
export type Upload = Schemas['UploadOut']
export type TargetChoice = Schemas['TargetChoice']
export type ImportRequest = Schemas['ImportRequest']
export type PathImportRequest = Schemas['PathImportRequest']

// --- models ------------------------------------------------------------------------------

export type ModelSummary = Refined<
  Schemas['ModelOut'],
  { aliases?: Record<string, number>; description?: string; created_at?: string }
>

interface VersionFields {
  metrics: Record<string, number>
  created_at?: string
  aliases?: string[]
  tags?: Record<string, string>
}

export type ModelVersion = Refined<Schemas['ModelVersionOut'], VersionFields>

export type ModelDetail = Refined<
  Schemas['ModelDetailOut'],
  VersionFields & {
    schema: Record<string, unknown>
    signature: { inputs: { kind: string; shape: (string | number)[]; features?: string[] }[] }
    parameters?: unknown
  }
>

export type ModelRegister = Schemas['ModelRegister']
export type AliasSet = Schemas['AliasSet']

/** One layer of a network summary. */
export interface LayerRow {
  name: string
  type: string
  output_shape: number[] | null
  parameters: { total: number; trainable: number }
  macs: number
  flops: number
}

export type NetworkSummary = Refined<
  Schemas['NetworkSummaryOut'],
  {
    output_shape: number[] | null
    layers: LayerRow[]
    totals: { parameters: number; trainable: number; parameter_bytes: number; macs: number; flops: number }
  }
>

// --- deployments -------------------------------------------------------------------------

/** A version a deployment serves, with the input it takes. */
export interface Served {
  ref: string
  task: string
  input: { kind: string; shape: number[]; features?: string[] }
  classes: string[] | null
  /** A typical row of a table model's training data, `{column: value}` (else null). */
  example?: Record<string, string | number | boolean | null> | null
}

export type Deployment = Refined<Schemas['DeploymentOut'], { serving: Served[] }>
export type DeploymentCreate = Schemas['DeploymentCreate']
export type DeploymentMetrics = Schemas['DeploymentMetricsOut']
export type DeploymentDrift = Schemas['DeploymentDriftOut']

/** One box a detector found: its class (name and index), score and pixel corners. */
export interface DetectedBox {
  label: string
  class: number
  score: number
  xyxy: [number, number, number, number]
}

/** One sample's prediction: a classifier's label and probabilities, a regressor's values, a
 * detector's boxes. */
export interface Prediction {
  label?: string
  probability?: number
  probabilities?: Record<string, number>
  values?: number[]
  boxes?: DetectedBox[]
}

export type Predictions = Refined<Schemas['PredictionsOut'], { predictions: Prediction[] }>

// --- generation --------------------------------------------------------------------------

export type GenerateRequest = Schemas['GenerateRequest']
export type GeneratedText = Schemas['GeneratedText']
export type GeneratedImages = Schemas['GeneratedImages']

// --- users and the audit trail -----------------------------------------------------------

export type Me = Schemas['MeOut']
export type AuditEntry = Schemas['AuditEntryOut']
export type RunDependents = Schemas['RunDependentsOut']
export type DatasetDependents = Schemas['DatasetDependentsOut']
export type ScoreWarning = Schemas['ScoreWarningOut']
