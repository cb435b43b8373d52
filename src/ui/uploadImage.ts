/**
 * Any browser-decodable image → RGB bytes → the API's own conversion (core/image toModelInput with
 * channel 3: PIL gray, PIL bilinear resize to 28×28, /255). A file that cannot be decoded leaves the
 * current image alone and says why.
 */
import { toModelInput } from '../core/image';
import { reportError } from '../stores/errorStore';
import { inputToBytes, useImageStore } from '../stores/imageStore';
import { usePrefsStore } from '../stores/prefsStore';

/** Keep the original RGB bytes for the API console's channel-3 request up to this size. */
const KEEP_RGB_BYTES = 3 * 512 * 512;
/** Refuse images whose RGBA copy would be unreasonably large. */
const MAX_PIXELS = 64 * 1024 * 1024;

export interface DecodedImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

function rgbFrom(source: CanvasImageSource, width: number, height: number): DecodedImage {
  if (width * height > MAX_PIXELS)
    throw new Error(`${width}×${height} is too large to convert in the browser`);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas available');
  ctx.drawImage(source, 0, 0);
  const rgba = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = rgba[j];
    rgb[i + 1] = rgba[j + 1];
    rgb[i + 2] = rgba[j + 2];
  }
  return { width, height, rgb };
}

/** Decodes to RGB bytes; alpha is dropped (as PIL's convert("L") ignores it). */
export async function decodeToRgb(blob: Blob): Promise<DecodedImage> {
  try {
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    try {
      return rgbFrom(bitmap, bitmap.width, bitmap.height);
    } finally {
      bitmap.close();
    }
  } catch (bitmapError) {
    // createImageBitmap does not take SVG: let an <img> element try
    const url = URL.createObjectURL(blob);
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      if (!img.naturalWidth || !img.naturalHeight) throw bitmapError;
      return rgbFrom(img, img.naturalWidth, img.naturalHeight);
    } catch {
      throw bitmapError;
    } finally {
      URL.revokeObjectURL(url);
    }
  }
}

function describeFile(file: Blob & { name?: string }): string {
  return file.name ? `“${file.name}”` : 'the pasted image';
}

/** Decode, convert and make the file the current image; on failure keep the previous image. */
export async function openImageFile(file: Blob & { name?: string }): Promise<boolean> {
  usePrefsStore.getState().setInputTab('upload');
  const name = file.name || 'pasted image';
  try {
    if (file.size === 0) throw new Error('the file is empty');
    const { width, height, rgb } = await decodeToRgb(file);
    const input = toModelInput(rgb, width, height, 3);
    useImageStore.getState().setUpload(
      {
        name,
        type: file.type || 'unknown type',
        width,
        height,
        url: URL.createObjectURL(file),
        rgb: rgb.length <= KEEP_RGB_BYTES ? rgb : null,
        pixels: inputToBytes(input),
      },
      input,
    );
    return true;
  } catch (err) {
    const reason = err instanceof Error && err.message ? err.message : String(err);
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
