// The labeling API (/v1/label/projects): what a project, an item and a label are, and the calls
// the labeling pages make. Each action is posted at once; the answer brings the new counts.
import { get, post, query } from '../api'

export type ProjectKind = 'image' | 'text'
export type ItemState = 'all' | 'unlabeled' | 'prelabeled' | 'labeled' | 'rejected'
export type Strategy = 'least' | 'margin' | 'entropy'
export type Review = 'accepted' | 'fixed' | 'rejected'

export interface LabelClass {
  name: string
  color: string
  hotkey: string
}

export interface Counts {
  total: number
  labeled: number
  prelabeled: number
  unlabeled: number
  rejected: number
  per_class: Record<string, number>
}

export interface Training {
  job_id: number
  status: string
  model: string | null
}

export interface PublishedVersion {
  dataset: string
  created_at?: string
  labels: number
}

export interface Project {
  name: string
  dataset: string
  kind: ProjectKind
  labels: LabelClass[]
  instructions: string
  created_at?: string
  counts: Counts
  training: Training | null
  versions: PublishedVersion[]
}

/** A project in the list; the list may carry fewer fields than a project's own page. */
export type ProjectSummary = Partial<Project> & { name: string }

export interface Prelabel {
  label: string
  confidence: number
  uncertainty: number
  model: string
}

export interface Item {
  id: number
  name: string
  text: string | null
  label: string | null
  source: 'person' | 'model' | null
  by: string | null
  at: string | null
  prediction: Prelabel | null
  review: Review | null
}

export interface ItemPage {
  total: number
  offset: number
  items: Item[]
}

export interface Changed {
  updated: number
  counts: Counts
}

export interface Published {
  dataset: string
  content_hash: string
  labels: number
  from_model: number
}

export interface Agreement {
  items_with_several: number
  agreement: number | null
  kappa: number | null
  pairs: { a?: string; b?: string; users?: string[]; items?: number; agreement?: number; kappa?: number }[]
}

export interface ProjectCreate {
  name: string
  dataset: string
  kind: ProjectKind
  labels: LabelClass[]
  instructions: string
}

const base = (project: string) => `/v1/label/projects/${encodeURIComponent(project)}`

export const labeling = {
  projects: (signal?: AbortSignal) => get<ProjectSummary[]>('/v1/label/projects', signal),
  create: (body: ProjectCreate) => post<Project>('/v1/label/projects', body),
  project: (name: string, signal?: AbortSignal) => get<Project>(base(name), signal),
  items: (
    name: string,
    params: { state: ItemState; sort?: 'index' | 'uncertainty'; strategy?: Strategy; label?: string; offset: number; limit: number },
    signal?: AbortSignal,
  ) => get<ItemPage>(`${base(name)}/items${query({ ...params })}`, signal),
  imagePath: (name: string, id: number, size?: number) =>
    `${base(name)}/items/${id}/image${query({ size })}`,
  label: (name: string, items: { id: number; label: string | null }[]) =>
    post<Changed>(`${base(name)}/labels`, { items }),
  accept: (name: string, body: { ids: number[] } | { min_confidence: number }) =>
    post<Changed>(`${base(name)}/accept`, body),
  review: (name: string, items: { id: number; review: Review; label?: string }[]) =>
    post<Changed>(`${base(name)}/review`, { items }),
  prelabel: (name: string, model: string) =>
    post<{ prelabeled: number; counts: Counts }>(`${base(name)}/prelabel`, { model }),
  train: (name: string, template: string, epochs?: number) =>
    post<{ job_id: number; model: string }>(`${base(name)}/train`, epochs ? { template, epochs } : { template }),
  publish: (name: string) => post<Published>(`${base(name)}/publish`, {}),
  agreement: (name: string, signal?: AbortSignal) => get<Agreement>(`${base(name)}/agreement`, signal),
  exportPath: (name: string, format: 'csv' | 'labelstudio' | 'folders') =>
    `${base(name)}/export${query({ format })}`,
}

/** The classes' hotkeys, key → class name. */
export function hotkeys(classes: LabelClass[]): Map<string, string> {
  return new Map(classes.filter((c) => c.hotkey).map((c) => [c.hotkey.toLowerCase(), c.name]))
}

/** A readable text colour on a class colour. */
export function inkOn(color: string): string {
  const hex = color.replace('#', '')
  if (hex.length !== 6) return '#fff'
  const [r, g, b] = [0, 2, 4].map((at) => parseInt(hex.slice(at, at + 2), 16))
  return 0.299 * r + 0.587 * g + 0.114 * b > 160 ? '#1d2433' : '#fff'
}

/** Ten distinct colours for a new label set. */
export const PALETTE = ['#2457d6', '#d0453a', '#17803d', '#a25b00', '#7a3fc4', '#0f8a8a', '#c2367f', '#5f6b7f', '#b08900', '#3b7dd8']
