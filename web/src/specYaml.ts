// A run spec's YAML text as a document: read a key path's value, change one key keeping the
// user's comments, order and layout, and find where a key path (or a syntax error) is, to mark
// it in the editor.
import { isMap, isScalar, isSeq, parseDocument, stringify, type Document, type Node } from 'yaml'

/** A problem of a spec as the server's check gives it (`SpecIssueOut`). */
export interface SpecIssue {
  message: string
  path?: string | null
  line?: number | null
}

/** A problem placed in the text: the characters to mark and the line (from 1). */
export interface PlacedIssue {
  from: number
  to: number
  line: number
  message: string
  path: string | null
  source: 'syntax' | 'check'
}

export function parseSpec(text: string): Document.Parsed {
  return parseDocument(text, { prettyErrors: false })
}

function keyName(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key)
}

interface Found {
  key: Node | null
  value: Node | null
  /** how many parts of the path were found */
  depth: number
}

/** Walk `path` (`train.optimizer.lr`, `model.layers.0.units`) as far as the document has it. */
function walk(doc: Document.Parsed, path: string): Found {
  let node: unknown = doc.contents
  let found: Found = { key: null, value: null, depth: 0 }
  const parts = path.split('.')
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index]
    if (isMap(node)) {
      const pair = node.items.find((item) => keyName(item.key) === part)
      if (!pair) break
      found = { key: pair.key as Node, value: (pair.value as Node | null) ?? null, depth: index + 1 }
      node = pair.value
    } else if (isSeq(node) && /^\d+$/.test(part) && Number(part) < node.items.length) {
      const item = node.items[Number(part)] as Node
      found = { key: item, value: item, depth: index + 1 }
      node = item
    } else break
  }
  return found
}

/** The scalar at `path`; `undefined` when the document does not set it (or it is a section). */
export function valueOf(doc: Document.Parsed, path: string): unknown {
  const found = walk(doc, path)
  if (found.depth !== path.split('.').length) return undefined
  if (found.value === null) return null
  return isScalar(found.value) ? found.value.value : undefined
}

/** The value a form field's text stands for, as YAML reads it (`3` a number, `adam` a
 * string; with `asText`, the text itself); `undefined` for an empty field. */
export function valueOfText(text: string, nullable: boolean, asText = false): unknown {
  const trimmed = text.trim()
  if (trimmed === '') return nullable ? null : undefined
  if (asText) return trimmed
  try {
    const value = parseDocument(trimmed).toJS()
    if (value === null || ['number', 'boolean', 'string'].includes(typeof value)) return value
  } catch {
    // not YAML: kept as the text it is
  }
  return trimmed
}

/** `text` with the key at `path` set to `value` (`undefined`: removed), every other line as it
 * was; `null` when the text is not valid YAML (it cannot be edited safely). */
export function withValue(text: string, path: string, value: unknown): string | null {
  const doc = parseSpec(text)
  if (doc.errors.length) return null
  const parts = path.split('.')
  const found = walk(doc, path)
  if (value !== undefined && found.depth === parts.length && isScalar(found.value) && found.value.range) {
    // Only the value's characters change: comments, quotes and layout elsewhere stay.
    const [start, end] = found.value.range
    const written = stringify(value, { lineWidth: 0 }).trimEnd()
    const gap = start === end && text[start - 1] === ':' ? ' ' : ''
    return text.slice(0, start) + gap + written + text.slice(end)
  }
  if (value === undefined) {
    if (found.depth !== parts.length) return text
    doc.deleteIn(parts)
  } else {
    doc.setIn(parts, value)
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false })
}

function lineAt(text: string, offset: number): { line: number; from: number; to: number } {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const from = before.lastIndexOf('\n') + 1
  const next = text.indexOf('\n', offset)
  return { line, from, to: next === -1 ? text.length : next }
}

function lineRange(text: string, line: number): { from: number; to: number } {
  const lines = text.split('\n')
  const index = Math.min(Math.max(line, 1), lines.length) - 1
  const from = lines.slice(0, index).reduce((sum, l) => sum + l.length + 1, 0)
  return { from, to: from + lines[index].length }
}

/** The syntax errors of `text`, or else the check's `issues`, each placed at its line: an
 * issue at the key its path names, else at the line the check gave, else at the nearest
 * section the text has, else at the first line. */
export function placeIssues(text: string, issues: readonly SpecIssue[]): PlacedIssue[] {
  const doc = parseSpec(text)
  const placed: PlacedIssue[] = []
  for (const error of doc.errors) {
    const [start, end] = error.pos
    const at = lineAt(text, Math.min(start, text.length))
    placed.push({
      from: Math.min(start, text.length),
      to: Math.min(Math.max(end, start), text.length),
      line: at.line,
      message: error.message.split('\n')[0],
      path: null,
      source: 'syntax',
    })
  }
  // Text with syntax errors cannot be read further: the check says only what is marked here.
  for (const issue of doc.errors.length ? [] : issues) {
    const found = issue.path ? walk(doc, issue.path) : null
    const whole = found !== null && found.depth === issue.path!.split('.').length
    // the key itself; else the line the check named; else the nearest section the text has
    const key = whole || !issue.line ? found?.key : null
    let from: number
    let to: number
    let line: number
    if (key?.range) {
      const at = lineAt(text, key.range[0])
      from = key.range[0]
      line = at.line
      const valueEnd = found?.value?.range?.[1]
      to = valueEnd !== undefined && valueEnd <= at.to && valueEnd > from ? valueEnd : at.to
    } else {
      ;({ from, to } = lineRange(text, issue.line ?? 1))
      line = lineAt(text, from).line
    }
    placed.push({ from, to, line, message: issue.message, path: issue.path ?? null, source: 'check' })
  }
  return placed.sort((a, b) => a.from - b.from)
}
