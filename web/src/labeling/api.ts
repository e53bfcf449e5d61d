// The labeling API (/v1/label/projects): what a project, an item and a label are, and the calls
// the labeling pages make. Each action is posted at once; the answer brings the new counts.
import { get, post, put, query } from '../api'

import type { components } from '../api-types'

type Schemas = components['schemas']

export type ProjectKind = 'image' | 'text' | 'detection'
export type ItemState = 'all' | 'unlabeled' | 'prelabeled' | 'labeled' | 'rejected'
export type Strategy = 'least' | 'margin' | 'entropy'
export type Review = 'accepted' | 'fixed' | 'rejected'

export type LabelClass = Schemas['LabelOut']
export type Counts = Schemas['CountsOut']
export type Training = Schemas['TrainingOut']
export type PublishedVersion = Schemas['VersionOut']
export type Project = Omit<Schemas['ProjectOut'], 'kind'> & { kind: ProjectKind }
/** A project in the list (the list carries whole projects). */
export type ProjectSummary = Project
export type Item = Schemas['ItemOut']
export type Prelabel = NonNullable<Item['prediction']>
export type ItemPage = Schemas['ItemPage']
export type Changed = Schemas['UpdatedOut']
export type Prelabeled = Schemas['PrelabeledOut']
export type Trained = Schemas['TrainOut']
export type Published = Schemas['PublishOut']
export type Agreement = Schemas['AgreementOut']
export type ProjectCreate = Schemas['ProjectCreate']
/** A box in the pixels of its item's image (`score` on a model's boxes). */
export type Box = Schemas['BoxOut']
export type BoxFormat = 'coco' | 'voc' | 'yolo' | 'labelstudio'

/** An item's uncertainty by `strategy` (the API gives every strategy's). */
export function uncertaintyOf(prediction: Prelabel | null, strategy: Strategy = 'least'): number | null {
  return prediction?.uncertainty?.[strategy] ?? null
}

/** A prediction's confidence as a percentage, or a dash. */
export function percent(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)}%`
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
  prelabel: (name: string, model: string, minScore?: number) =>
    post<Prelabeled>(`${base(name)}/prelabel`, minScore === undefined ? { model } : { model, min_score: minScore }),
  item: (name: string, id: number, signal?: AbortSignal) => get<Item>(`${base(name)}/items/${id}`, signal),
  /** Replace an item's boxes (`[]`: nothing to box; `null`: unlabeled). */
  setBoxes: (name: string, id: number, boxes: Box[] | null) =>
    put<Changed>(`${base(name)}/items/${id}/boxes`, { boxes }),
  train: (name: string, template: string, epochs?: number) =>
    post<Trained>(`${base(name)}/train`, epochs ? { template, epochs } : { template }),
  publish: (name: string) => post<Published>(`${base(name)}/publish`, {}),
  agreement: (name: string, signal?: AbortSignal) => get<Agreement>(`${base(name)}/agreement`, signal),
  exportPath: (name: string, format: 'csv' | 'labelstudio' | 'folders' | BoxFormat) =>
    `${base(name)}/export${query({ format })}`,
}

/** The keys that label, key → class name: each class's hotkey, and a one-character class name
 * (a digit such as 0, which no hotkey can be) where it is no other class's hotkey. */
export function hotkeys(classes: LabelClass[]): Map<string, string> {
  const keys = new Map(classes.filter((c) => c.hotkey).map((c) => [c.hotkey.toLowerCase(), c.name]))
  for (const c of classes) {
    const own = c.name.toLowerCase()
    if (own.length === 1 && /[0-9a-z]/.test(own) && !keys.has(own)) keys.set(own, c.name)
  }
  return keys
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
