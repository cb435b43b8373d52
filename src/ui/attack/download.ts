/** Browser side of the downloads: PNG through a canvas, and saving any bytes as a file. */
import { apiRequestJson, encodeNpy, IMAGE_SIDE, toGrayBytes } from './export';

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

/** A 28×28 grayscale PNG of x (values in [0,1], rounded to bytes as the API request does). */
export function pngBlob(x: ArrayLike<number>): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = IMAGE_SIDE;
  canvas.height = IMAGE_SIDE;
  const ctx = canvas.getContext('2d');
  if (!ctx) return Promise.reject(new Error('no 2D canvas context'));
  const bytes = toGrayBytes(x);
  const img = ctx.createImageData(IMAGE_SIDE, IMAGE_SIDE);
  for (let i = 0; i < bytes.length; i++) {
    img.data[4 * i] = bytes[i];
    img.data[4 * i + 1] = bytes[i];
    img.data[4 * i + 2] = bytes[i];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'),
  );
}

export async function downloadPng(x: ArrayLike<number>, stem: string): Promise<void> {
  saveBlob(await pngBlob(x), `${stem}.png`);
}

export function downloadJson(x: ArrayLike<number>, stem: string): void {
  saveBlob(new Blob([apiRequestJson(x)], { type: 'application/json' }), `${stem}.json`);
}

export function downloadNpy(x: ArrayLike<number>, stem: string): void {
  const bytes = encodeNpy(x, [IMAGE_SIDE, IMAGE_SIDE]);
  saveBlob(new Blob([bytes.buffer as ArrayBuffer], { type: 'application/octet-stream' }), `${stem}.npy`);
}
