/**
 * Any browser-decodable image → straight RGBA (decodeImage.ts) → RGB bytes → the API's own
 * conversion (core/image toModelInput with channel 3: PIL gray, PIL bilinear resize to 28×28,
 * /255). A file that cannot be decoded leaves the current image alone and says why.
 */
import { floatToGray, toModelInput } from '../core/image';
import { reportError } from '../stores/errorStore';
import { useImageStore } from '../stores/imageStore';
import { usePrefsStore } from '../stores/prefsStore';
import { type DecodedRgba, decodeToRgba, type Flatten, rgbaToRgb } from './decodeImage';

/** Keep the original RGB bytes for the API console's channel-3 request up to this size. */
const KEEP_RGB_BYTES = 3 * 512 * 512;

function describeFile(file: Blob & { name?: string }): string {
  return file.name ? `“${file.name}”` : 'the pasted image';
}

/** The last upload's decoded pixels, so that a change of the flatten option converts it again. */
let lastDecoded: { file: Blob & { name?: string }; decoded: DecodedRgba; url: string } | null = null;

function convert(
  file: Blob & { name?: string },
  decoded: DecodedRgba,
  url: string,
  flatten: Flatten,
  makeCurrent = true,
): void {
  const { width, height, rgba } = decoded;
  const { rgb, translucent, transparent } = rgbaToRgb(rgba, flatten);
  const input = toModelInput(rgb, width, height, 3);
  const store = useImageStore.getState();
  (makeCurrent ? store.setUpload : store.setUploadPreview)(
    {
      name: file.name || 'pasted image',
      type: file.type || 'unknown type',
      width,
      height,
      url,
      rgb: rgb.length <= KEEP_RGB_BYTES ? rgb : null,
      pixels: floatToGray(input),
      translucent,
      transparent,
      flatten,
      exactAlpha: decoded.exactAlpha,
    },
    input,
  );
}

/**
 * Converts the last upload again with transparency flattened onto white or black, or not ('none').
 * It stays the current image only if it was; otherwise just its preview changes.
 */
export function setUploadFlatten(flatten: Flatten): void {
  usePrefsStore.getState().setUploadFlatten(flatten);
  if (!lastDecoded) return;
  const current = useImageStore.getState().source?.kind === 'upload';
  convert(lastDecoded.file, lastDecoded.decoded, lastDecoded.url, flatten, current);
}

/** Decode, convert and make the file the current image; on failure keep the previous image. */
export async function openImageFile(file: Blob & { name?: string }): Promise<boolean> {
  usePrefsStore.getState().setInputTab('upload');
  const name = file.name || 'pasted image';
  try {
    if (file.size === 0) throw new Error('the file is empty');
    const decoded = await decodeToRgba(file);
    const url = URL.createObjectURL(file);
    try {
      convert(file, decoded, url, usePrefsStore.getState().uploadFlatten);
    } catch (e) {
      URL.revokeObjectURL(url);
      throw e;
    }
    lastDecoded = { file, decoded, url };
    return true;
  } catch (err) {
    const raw = err instanceof Error && err.message ? err.message : String(err);
    const reason = raw.replace(/[.\s]+$/, '');
    const message = `${describeFile(file)} (${file.type || 'unknown type'}, ${file.size} bytes) could not be decoded as an image: ${reason}. The previous image is still shown.`;
    useImageStore.getState().setUploadError(message);
    reportError('Upload failed', message, `upload:${name}`);
    return false;
  }
}

function isTextField(el: EventTarget | null): boolean {
  return el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA)$/.test(el.tagName));
}

function imageFileOf(
  items: DataTransferItemList | null | undefined,
  files: FileList | null | undefined,
): File | null {
  for (const f of files ?? []) return f;
  for (const it of items ?? []) {
    if (it.kind === 'file') {
      const f = it.getAsFile();
      if (f) return f;
    }
  }
  return null;
}

/** Page-wide: paste an image from the clipboard, or drop a file anywhere. */
export function installPageImageInput(): () => void {
  const onPaste = (e: ClipboardEvent) => {
    if (isTextField(e.target)) return;
    const file = imageFileOf(e.clipboardData?.items, e.clipboardData?.files);
    if (!file) return;
    e.preventDefault();
    void openImageFile(file);
  };
  const hasFiles = (e: DragEvent) => Boolean(e.dataTransfer?.types.includes('Files'));
  const onDragOver = (e: DragEvent) => {
    if (hasFiles(e)) e.preventDefault();
  };
  const onDrop = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    const file = imageFileOf(e.dataTransfer?.items, e.dataTransfer?.files);
    if (file) void openImageFile(file);
  };
  window.addEventListener('paste', onPaste);
  window.addEventListener('dragover', onDragOver);
  window.addEventListener('drop', onDrop);
  return () => {
    window.removeEventListener('paste', onPaste);
    window.removeEventListener('dragover', onDragOver);
    window.removeEventListener('drop', onDrop);
  };
}
