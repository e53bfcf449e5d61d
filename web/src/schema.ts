// Form fields of the run spec, read from its JSON Schema (GET /v1/specs/schema): the type,
// limits, choices, default and description of a key path, and the problems of a value.
type Node = Record<string, unknown>

export interface FieldRule {
  path: string
  type: 'integer' | 'number' | 'string' | 'boolean' | 'choice'
  nullable: boolean
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  pattern?: string
  choices?: string[]
  default?: unknown
  description?: string
  title?: string
}

function resolve(root: Node, node: Node): Node {
  let current = node
  while (typeof current.$ref === 'string') {
    const name = (current.$ref as string).split('/').pop() as string
    current = ((root.$defs as Node)[name] ?? {}) as Node
  }
  return current
}

function variants(root: Node, node: Node): Node[] {
  const list = (node.oneOf ?? node.anyOf) as Node[] | undefined
  return list ? list.map((item) => resolve(root, item)) : [node]
}

/** The rule of `path` (e.g. `train.optimizer.lr`); `values` picks among alternatives
 * (the optimizer's `type` picks its class). */
export function fieldRule(root: Node, path: string, values: Record<string, unknown>): FieldRule | null {
  let node: Node = root
  const parts = path.split('.')
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index]
    const here = parts.slice(0, index).join('.')
    const options = variants(root, resolve(root, node)).filter((v) => v.type !== 'null')
    let chosen = options.find((v) => (v.properties as Node | undefined)?.[part] !== undefined)
    if (options.length > 1) {
      const wanted = values[`${here}.type`]
      const match = options.find((v) => ((v.properties as Node | undefined)?.type as Node | undefined)?.const === wanted)
      if (match) chosen = match
    }
    if (!chosen) return null
    const properties = chosen.properties as Node
    if (part === 'type' && options.length > 1 && index === parts.length - 1) {
      const choices = options.map((v) => ((v.properties as Node).type as Node).const as string)
      return { path, type: 'choice', nullable: false, choices, title: 'type' }
    }
    node = resolve(root, properties[part] as Node)
  }
  const alternatives = variants(root, node)
  const nullable = alternatives.some((v) => v.type === 'null')
  const leaf = alternatives.find((v) => v.type !== 'null') ?? node
  const kind = leaf.enum ? 'choice' : (leaf.type as FieldRule['type'])
  return {
    path,
    type: kind,
    nullable,
    minimum: leaf.minimum as number | undefined,
    maximum: leaf.maximum as number | undefined,
    exclusiveMinimum: leaf.exclusiveMinimum as number | undefined,
    exclusiveMaximum: leaf.exclusiveMaximum as number | undefined,
    pattern: leaf.pattern as string | undefined,
    choices: leaf.enum as string[] | undefined,
    default: node.default ?? leaf.default,
    description: (node.description ?? leaf.description) as string | undefined,
    title: (node.title ?? leaf.title) as string | undefined,
  }
}

export type Problem = { key: string; params?: Record<string, unknown> }

/** What is wrong with `text` as a value of `rule` (null: nothing). */
export function problemOf(rule: FieldRule, text: string): Problem | null {
  const value = text.trim()
  if (!value) return rule.nullable || rule.default !== undefined ? null : { key: 'form.required' }
  if (rule.type === 'integer' || rule.type === 'number') {
    const parsed = Number(value)
    if (!Number.isFinite(parsed)) return { key: 'form.number' }
    if (rule.type === 'integer' && !Number.isInteger(parsed)) return { key: 'form.integer' }
    if (rule.minimum !== undefined && parsed < rule.minimum) return { key: 'form.min', params: { min: rule.minimum } }
    if (rule.exclusiveMinimum !== undefined && parsed <= rule.exclusiveMinimum) return { key: 'form.above', params: { min: rule.exclusiveMinimum } }
    if (rule.maximum !== undefined && parsed > rule.maximum) return { key: 'form.max', params: { max: rule.maximum } }
    if (rule.exclusiveMaximum !== undefined && parsed >= rule.exclusiveMaximum) return { key: 'form.below', params: { max: rule.exclusiveMaximum } }
  }
  if (rule.type === 'string' && rule.pattern && !new RegExp(rule.pattern).test(value)) {
    return { key: 'form.pattern', params: { pattern: rule.pattern } }
  }
  if (rule.type === 'choice' && rule.choices && !rule.choices.includes(value)) return { key: 'form.choice' }
  return null
}

/** The value at `path` of a nested mapping. */
export function valueAt(data: unknown, path: string): unknown {
  let current = data
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Node)[part]
  }
  return current
}
