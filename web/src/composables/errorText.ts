// An error as the user reads it: the API's stable code rendered from the locale
// (`errors.<code>`, with the values it names), or else its English message; and the routing
// of an error that concerns one form field to that field.
import { computed, type Ref } from 'vue'
import { ApiError } from '../api'
import { bytes, number } from '../format'
import { i18n } from '../i18n'
import en from '../locales/en.json'

const ENGLISH = en.errors as Record<string, string>

/** The reasons a file is refused for that the locales word themselves (`errorReasons.*`);
 * any other reason is shown as the platform gives it. */
const REASONS: [RegExp, string][] = [
  [/^not a readable image \(PNG, JPEG, BMP, WebP or GIF expected\)$/, 'unreadableImage'],
  [/^not a readable image/, 'damagedImage'],
  [/^not an image file$/, 'notImage'],
  [/^not a text file/, 'notText'],
  [/^an empty document/, 'emptyDocument'],
]

function reasonText(reason: string): string {
  const known = REASONS.find(([shape]) => shape.test(reason))
  return known ? i18n.global.t(`errorReasons.${known[1]}`) : reason
}

/** The values an error names, ready to show: lists joined, sizes in bytes readable, known
 * reasons in the user's language, and a suggestion (a close name) as its own sentence in
 * `hint`. */
function shownParams(params: Record<string, unknown>): Record<string, unknown> {
  const shown: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(params)) {
    if (key === 'reason' && typeof value === 'string') shown[key] = reasonText(value)
    else if (Array.isArray(value)) shown[key] = value.join(', ')
    else if (key === 'limit' && typeof value === 'number') shown[key] = bytes(value)
    else if (typeof value === 'number') shown[key] = number(value, 12)
    else shown[key] = value ?? ''
  }
  const suggestion = params.suggestion
  shown.hint = suggestion ? i18n.global.t('errorHints.didYouMean', { name: String(suggestion) }) : ''
  return shown
}

/** Whether the locales have a text for `code` whose every value `params` gives. */
export function hasErrorText(code: string, params: Record<string, unknown>): boolean {
  const text = ENGLISH[code]
  if (text === undefined) return false
  return [...text.matchAll(/\{(\w+)\}/g)].every(([, name]) => name in params)
}

/** What to show for a failure: `errors.<code>` in the user's language when the API gave a
 * code the console knows (with the values its text names), else the message (the API's
 * English `detail`). `atItsField`: shown beside the field it concerns, which it need not name. */
export function errorText(error: unknown, atItsField = false): string {
  if (error instanceof ApiError && error.code) {
    const params = { ...shownParams(error.params), detail: error.message }
    if (hasErrorText(error.code, params)) {
      const text = i18n.global.t(`errors.${error.code}`, params)
      // A request the schema refused says which value, where no form field shows it.
      if (error.code === 'invalid_request' && error.field && !atItsField) return i18n.global.t('errorHints.atField', { field: error.field, message: text })
      return text
    }
  }
  return error instanceof Error ? error.message : String(error)
}

/** The form field an error concerns, among `fields`: the one its `field` names, or the
 * nearest one above it (`config.max_batch` -> `config`); null when none of them. */
export function fieldOf(error: unknown, fields: readonly string[]): string | null {
  if (!(error instanceof ApiError) || !error.field) return null
  let path = error.field
  for (;;) {
    if (fields.includes(path)) return path
    const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['))
    if (cut <= 0) return null
    path = path.slice(0, cut)
  }
}

export interface FieldErrors {
  /** The text to show at `field`, if the failure concerns it. */
  at: (field: string) => string | null
  /** The text of a failure that concerns none of the fields (for the form's ErrorBox). */
  rest: Ref<string | null>
}

/** Route the last `failure` of a form to its fields: `at(field)` for the one it concerns,
 * `rest` for one that concerns none (both in the user's current language). */
export function useFieldErrors(failure: Ref<unknown>, fields: readonly string[]): FieldErrors {
  const routed = computed(() => fieldOf(failure.value, fields))
  const at = (field: string) => (failure.value && routed.value === field ? errorText(failure.value, true) : null)
  const rest = computed(() => (failure.value && !routed.value ? errorText(failure.value) : null))
  return { at, rest }
}
