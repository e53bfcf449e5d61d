// Images the vision labs send as JSON (base64 in a body of at most 1 MiB): small files go as
// they are, larger ones are first shrunk in the browser to 512 px on their longer side (the
// labs work at 256 px at most; the server decodes what arrives within its own limits).
const AS_IS_BYTES = 700_000
const SHRUNK_SIDE = 512

function readAsDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(String(reader.result))
    reader.onerror = () => reject(reader.error)
    reader.readAsDataURL(blob)
  })
}

/** `blob` as a data: URL that fits the API's request body. */
export async function labImageUrl(blob: Blob): Promise<string> {
  if (blob.size <= AS_IS_BYTES) return readAsDataUrl(blob)
  let bitmap: ImageBitmap
  try {
    bitmap = await createImageBitmap(blob)
  } catch {
    return readAsDataUrl(blob) // not an image the browser reads: the server says why
  }
  const scale = Math.min(1, SHRUNK_SIDE / Math.max(bitmap.width, bitmap.height))
  const canvas = document.createElement('canvas')
  canvas.width = Math.max(1, Math.round(bitmap.width * scale))
  canvas.height = Math.max(1, Math.round(bitmap.height * scale))
  canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height)
  bitmap.close()
  return canvas.toDataURL('image/png')
}
