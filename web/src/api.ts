// The platform's REST API (/v1), with the token of a client beyond the platform's machine.
import { ref } from 'vue'
import { isUnreachable, markReachable, markUnreachable } from './composables/useConnection'

const TOKEN_KEY = 'athanor.token'

/** Set when the API answered 401: the console then asks for a token. */
export const tokenNeeded = ref(false)

export class ApiError extends Error {
  /** The stable name of the mistake (`errors.<code>` in the locales), when the API gave one. */
  public code: string | null
  /** The values the message names, for the translated text. */
  public params: Record<string, unknown>
  /** The request key or key path the mistake concerns (a form field), when there is one. */
  public field: string | null

  constructor(
    public status: number,
    message: string,
    /** The whole error body (some errors add fields beside `detail`). */
    public body: unknown = null,
  ) {
    super(message)
    const fields = (body ?? {}) as { code?: unknown; params?: unknown; field?: unknown }
    this.code = typeof fields.code === 'string' ? fields.code : null
    this.params =
      fields.params && typeof fields.params === 'object' ? (fields.params as Record<string, unknown>) : {}
    this.field = typeof fields.field === 'string' ? fields.field : null
  }
}

export function setToken(token: string): void {
  if (token) localStorage.setItem(TOKEN_KEY, token)
  else localStorage.removeItem(TOKEN_KEY)
  tokenNeeded.value = false
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = localStorage.getItem(TOKEN_KEY)
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra
}

/** The message of an error answer: FastAPI's `detail` (text, or a list of problems). */
function detailOf(status: number, body: unknown): string {
  const detail = (body as { detail?: unknown } | null)?.detail
  if (typeof detail === 'string') return detail
  if (Array.isArray(detail)) {
    return detail
      .map((item: { loc?: unknown[]; msg?: string }) =>
        `${(item.loc ?? []).slice(1).join('.')}: ${item.msg ?? ''}`.replace(/^: /, ''),
      )
      .join('; ')
  }
  return `HTTP ${status}`
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { raw?: boolean; contentType?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const init: RequestInit = { method, headers: headers(), signal: options.signal }
  if (body !== undefined) {
    if (options.raw) {
      init.body = body as BodyInit
      init.headers = headers(
        options.contentType ? { 'Content-Type': options.contentType } : {},
      )
    } else {
      init.body = JSON.stringify(body)
      init.headers = headers({ 'Content-Type': 'application/json' })
    }
  }
  const response = await reach(path, init)
  if (response.status === 401) tokenNeeded.value = true
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let parsed: unknown = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = text
  }
  if (!response.ok) throw new ApiError(response.status, detailOf(response.status, parsed), parsed)
  return parsed as T
}

/** `fetch`, telling the offline banner whether the platform answered. */
async function reach(path: string, init: RequestInit): Promise<Response> {
  try {
    const response = await fetch(path, init)
    markReachable()
    return response
  } catch (failure) {
    if (isUnreachable(failure)) markUnreachable()
    throw failure
  }
}

export const get = <T>(path: string, signal?: AbortSignal) =>
  request<T>('GET', path, undefined, { signal })
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {})
export const put = <T>(path: string, body?: unknown) => request<T>('PUT', path, body ?? {})
export const del = (path: string) => request<void>('DELETE', path)

/** A query string from the defined values of `params`. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const entries = Object.entries(params).filter(
    ([, value]) => value !== undefined && value !== null && value !== '',
  )
  if (!entries.length) return ''
  return '?' + new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()
}

/** Download a file the API answers with, under the name it gives. */
export async function download(path: string): Promise<string> {
  const response = await fetch(path, { headers: headers() })
  if (!response.ok) {
    let body: unknown = null
    try {
      body = await response.json()
    } catch {
      body = null
    }
    throw new ApiError(response.status, detailOf(response.status, body), body)
  }
  const disposition = response.headers.get('content-disposition') ?? ''
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition)
  const name = match ? decodeURIComponent(match[1]) : 'download'
  const url = URL.createObjectURL(await response.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return name
}

/** An object URL of an image the API answers with (an `<img>` cannot send the token);
 * revoke it when it is no longer shown. */
export async function imageUrl(path: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(path, { headers: headers(), signal })
  if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`)
  return URL.createObjectURL(await response.blob())
}
