/** Browser side of the downloads: an 8-bit grayscale PNG, the API request, .npy; saving bytes as a file. */
import { isRandomized } from '../../core/models';
import { useAttackStore } from '../../stores/attack';
import { findModel } from '../customModels';
import { apiRequestJson, downloadSeed, encodeGrayPng, encodeNpy, IMAGE_SIDE, toGrayBytes } from './export';

/** Saves a blob under `filename` through a temporary object URL and an <a download>. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // give the browser time to start reading the URL before it is revoked
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A 28×28 8-bit grayscale PNG of x (values in [0,1], rounded to bytes as the API request does). */
export async function pngBlob(x: ArrayLike<number>): Promise<Blob> {
  const png = encodeGrayPng(toGrayBytes(x), IMAGE_SIDE, IMAGE_SIDE);
  // the view, not png.buffer: fast-png returns a view on a larger buffer
  return new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' });
}

export async function downloadPng(x: ArrayLike<number>, stem: string): Promise<void> {
  saveBlob(await pngBlob(x), `${stem}.png`);
}

/** For the JSON button's title (AttackResultView): what the download holds, and why it has a seed. */
export const JSON_DOWNLOAD_TITLE =
  'The API request body: {image: base64 of 784 bytes, image_size: [28, 28], channel: 1}; for a randomized ' +
  'defense also "seed": the run\'s seed, since its decision is one draw of random noise and the seed fixes which';

/**
 * The API request for the adversarial image; for a randomized defense it carries the run's seed
 * (`downloadSeed`), so its decision is one reproducible draw of the defense's noise.
 */
export function downloadJson(x: ArrayLike<number>, stem: string): void {
  const meta = useAttackStore.getState().meta;
  const seed = meta ? downloadSeed(meta, isRandomized(findModel(meta.model) ?? null)) : undefined;
  saveBlob(new Blob([apiRequestJson(x, seed)], { type: 'application/json' }), `${stem}.json`);
}

export function downloadNpy(x: ArrayLike<number>, stem: string): void {
  const bytes = encodeNpy(x, [IMAGE_SIDE, IMAGE_SIDE]);
  saveBlob(new Blob([bytes.buffer as ArrayBuffer], { type: 'application/octet-stream' }), `${stem}.npy`);
}
