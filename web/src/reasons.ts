// The reasons the platform gives for a run's status and a queued job's wait, in the user's
// language. The platform writes them in English (the CLI prints them); their shapes are few
// and fixed (see athanor/runs/lifecycle.py and athanor/jobs/placement.py), so each known
// shape is matched here and rendered from `reasons.*` in the locale. An unknown reason is
// shown as it is.
import { i18n } from './i18n'

type Render = (match: RegExpMatchArray) => string

const t = (key: string, values: Record<string, unknown> = {}) => i18n.global.t(`reasons.${key}`, values)

/** `1 GPU (0 of 1 free)`, `2 CPU slots (0 of 1 free)`, `4 GB of memory (2 of 8 GB unreserved)`. */
function need(part: string): string {
  let found = part.match(/^(\d+) GPUs? \((\d+) of (\d+) free\)$/)
  if (found) return t('gpus', { count: found[1], free: found[2], total: found[3] })
  found = part.match(/^(\d+) CPU slots? \((\d+) of (\d+) free\)$/)
  if (found) return t('cpus', { count: found[1], free: found[2], total: found[3] })
  found = part.match(/^([\d.]+) GB of memory \(([\d.]+) of ([\d.]+) GB unreserved\)$/)
  if (found) return t('memory', { count: found[1], free: found[2], total: found[3] })
  return part
}

/** `job 3 (GPU 0; 1 CPU slot, ~1:20 left)` -> what each job holds, and for how long. */
function holders(text: string): string {
  const jobs = [...text.matchAll(/job (\d+) \(([^)]*)\)/g)].map(([, id, inner]) => {
    const left = inner.match(/, ~([\d:]+) left$/)
    const held = (left ? inner.slice(0, left.index) : inner)
      .split('; ')
      .map((piece) => {
        const slots = piece.match(/^(\d+) CPU slots?$/)
        return slots ? t('slots', { count: slots[1] }) : piece
      })
      .join(t('listSeparator'))
    return t('holder', { id, held }) + (left ? t('timeLeft', { time: left[1] }) : '')
  })
  const more = text.match(/ and (\d+) more$/)
  return jobs.join(t('listSeparator')) + (more ? t('andMore', { count: more[1] }) : '')
}

const SHAPES: [RegExp, Render][] = [
  [/^submitted$/, () => t('submitted')],
  [/^started$/, () => t('started')],
  [/^starting$/, () => t('starting')],
  [/^cancelled by (\S+)$/, (m) => t('cancelledBy', { who: m[1] })],
  [/^resumed from the checkpoint at step (\d+)$/, (m) => t('resumedFrom', { step: m[1] })],
  [
    /^completed (\d+) epoch\(s\)(?:; kept the weights of epoch (\d+))?$/,
    (m) => t('completed', { epochs: m[1] }) + (m[2] ? t('keptWeights', { epoch: m[2] }) : ''),
  ],
  [/^waiting for a worker:/, () => t('waitingForWorker')],
  [
    /^waiting behind (.+), queued before it and first in line for the free resources$/,
    (m) => {
      const jobs = [...m[1].matchAll(/job (\d+) \(priority (-?\d+)\)/g)]
        .map(([, id, priority]) => t('jobPriority', { id, priority }))
        .join(t('listSeparator'))
      const more = m[1].match(/ and (\d+) more$/)
      return t('waitingBehind', { jobs: jobs + (more ? t('andMore', { count: more[1] }) : '') })
    },
  ],
  [
    /^waiting for (.+?)(?:; held by (.+))?$/,
    (m) => {
      const needs = m[1].split(' and ').map(need).join(t('listSeparator'))
      return t('waitingFor', { needs }) + (m[2] ? t('heldBy', { holders: holders(m[2]) }) : '')
    },
  ],
  [
    /^(.+): stopped at step (\d+) \((?:checkpoint [^)]+|no checkpoint)\); 'athanor runs resume \d+' continues it$/,
    (m) => t('stoppedOnRequest', { asked: reasonText(m[1]), step: m[2] }),
  ],
  [
    /^(.+) at step (\d+); continue with 'athanor runs resume \d+'$/,
    (m) => t('stoppedEarly', { why: m[1], step: m[2] }),
  ],
  [
    /^resumed by (.+); it continues from its checkpoint at step (\d+)$/,
    (m) => t('resumedBy', { who: m[1], step: m[2] }),
  ],
  [/^resumed by (.+); it continues from the start/, (m) => t('resumedByFromStart', { who: m[1] })],
  [
    /^its process \(pid (\d+) on (.+)\) ended without finishing the run$/,
    (m) => t('processEnded', { pid: m[1], host: m[2] }),
  ],
]

/** A status or wait reason in the user's language (as it is when its shape is unknown). */
export function reasonText(reason: string | null | undefined): string {
  if (!reason) return ''
  for (const [shape, render] of SHAPES) {
    const found = reason.match(shape)
    if (found) return render(found)
  }
  return reason
}
