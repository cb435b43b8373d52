/**
 * Image files → straight (not premultiplied) RGBA bytes, so that the colour stored under a fully
 * transparent pixel survives as it does in Pillow (`convert('L')` ignores alpha and keeps it).
 *
 * A 2D canvas stores premultiplied alpha: `drawImage` + `getImageData` turns every fully
 * transparent pixel black, whatever colour the file stores there. So:
 * - GIF: decoded with omggif (the browser's GIF decoder writes transparent pixels as 0); a pixel of
 *   the transparent index gets that index's palette colour, as Pillow's P → L conversion does;
 * - everything else the browser decodes (PNG RGBA/LA/palette + tRNS, WebP, JPEG, BMP, AVIF, …):
 *   `createImageBitmap(premultiplyAlpha: 'none')` uploaded to a WebGL texture with
 *   UNPACK_PREMULTIPLY_ALPHA_WEBGL off and read back with readPixels, which never premultiplies;
 * - without WebGL (or beyond its texture size): the 2D canvas, and the result says its transparent
 *   pixels may have lost their colour (`exactAlpha: false`).
 */
import { GifReader } from 'omggif';

export interface DecodedRgba {
  width: number;
  height: number;
  /** straight RGBA, row-major, 4 bytes per pixel */
  rgba: Uint8Array;
  /** how the pixels were obtained */
  decoder: 'gif' | 'webgl' | 'canvas';
  /** false when colour under fully transparent pixels may have been lost (2D-canvas fallback) */
  exactAlpha: boolean;
}

/** Refuse images whose RGBA copy would be unreasonably large. */
export const MAX_PIXELS = 64 * 1024 * 1024;

function checkSize(width: number, height: number): void {
  if (width * height > MAX_PIXELS)
    throw new Error(`${width}×${height} is too large to convert in the browser`);
}

const isGif = (bytes: Uint8Array) => bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46; // "GIF"

/**
 * The first frame of a GIF on its logical screen, as Pillow reads it: pixels of the transparent
 * index keep that index's palette colour (alpha 0); screen pixels outside the first frame take the
 * transparent colour when there is one, else palette index 0 (Pillow starts from a zero-filled P image).
 */
export function decodeGif(bytes: Uint8Array): DecodedRgba {
  const reader = new GifReader(bytes);
  const { width, height } = reader;
  checkSize(width, height);
  const info = reader.frameInfo(0);
  const rgba = new Uint8Array(width * height * 4);
  const paletteColour = (offset: number | null, index: number | null): [number, number, number] | null => {
    if (offset === null || index === null) return null;
    const o = offset + index * 3;
    return o + 2 < bytes.length ? [bytes[o], bytes[o + 1], bytes[o + 2]] : null;
  };
  const transparent = paletteColour(info.palette_offset, info.transparent_index);
  const fill = transparent ?? paletteColour(info.palette_offset, 0) ?? [0, 0, 0];
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = fill[0];
    rgba[i * 4 + 1] = fill[1];
    rgba[i * 4 + 2] = fill[2];
    rgba[i * 4 + 3] = transparent ? 0 : 255;
  }
  // omggif leaves the transparent index's pixels untouched: they keep the fill above
  reader.decodeAndBlitFrameRGBA(0, rgba);
  return { width, height, rgba, decoder: 'gif', exactAlpha: true };
}

function viaWebgl(bitmap: ImageBitmap): DecodedRgba | null {
  const { width, height } = bitmap;
  const canvas =
    typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
  const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
  if (!gl) return null;
  try {
    const max = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    if (width > max || height > max) return null;
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    const fb = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) return null;
    const rgba = new Uint8Array(width * height * 4);
    // texture row 0 is the image's top row, and readPixels returns rows from y = 0 up: no flip
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
    gl.deleteFramebuffer(fb);
    gl.deleteTexture(tex);
    if (gl.getError() !== gl.NO_ERROR) return null;
    return { width, height, rgba, decoder: 'webgl', exactAlpha: true };
  } finally {
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

function viaCanvas(source: CanvasImageSource, width: number, height: number): DecodedRgba {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas available');
  ctx.drawImage(source, 0, 0);
  const data = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  return { width, height, rgba: new Uint8Array(data.buffer), decoder: 'canvas', exactAlpha: false };
}

/** A reason a format the browser cannot decode is likely behind a decode failure, or null. */
export function undecodableFormat(bytes: Uint8Array, type: string): string | null {
  const brand = bytes.length >= 12 ? String.fromCharCode(...bytes.subarray(4, 12)) : '';
  if (/^ftyp(heic|heix|hevc|heim|heis|mif1|msf1)/.test(brand) || /image\/hei[cf]/.test(type)) {
    return 'this browser cannot decode HEIC/HEIF; export it as JPEG or PNG';
  }
  if (/image\/(tiff|x-tiff)/.test(type) || (bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2a)) {
    return 'this browser cannot decode TIFF; export it as PNG';
  }
  if (/image\/jxl/.test(type) || (bytes[0] === 0xff && bytes[1] === 0x0a)) {
    return 'this browser cannot decode JPEG XL; export it as JPEG or PNG';
  }
  return null;
}

/**
 * Decodes an image file to straight RGBA. Throws an Error whose message says what went wrong (and,
 * for formats browsers cannot decode, what to do).
 */
export async function decodeToRgba(blob: Blob): Promise<DecodedRgba> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (isGif(bytes)) return decodeGif(bytes);
  let bitmap: ImageBitmap | null = null;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (bitmapError) {
    const known = undecodableFormat(bytes, blob.type);
    if (known) throw new Error(known);
    // createImageBitmap does not take SVG: let an <img> element try (an SVG has no stored colour
    // under transparent pixels to lose)
    const url = URL.createObjectURL(blob);
    const img = new Image();
    try {
      img.src = url;
      await img.decode();
    } catch {
      URL.revokeObjectURL(url);
      throw bitmapError;
    }
    try {
      if (!img.naturalWidth || !img.naturalHeight) throw bitmapError;
      checkSize(img.naturalWidth, img.naturalHeight);
      return viaCanvas(img, img.naturalWidth, img.naturalHeight);
    } finally {
      URL.revokeObjectURL(url);
    }
  }
  try {
    checkSize(bitmap.width, bitmap.height);
    return viaWebgl(bitmap) ?? viaCanvas(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

export type Flatten = 'none' | 'white' | 'black';

export interface RgbConversion {
  rgb: Uint8Array;
  /** pixels with alpha < 255, and with alpha 0 */
  translucent: number;
  transparent: number;
}

/**
 * Straight RGBA → RGB. 'none' drops alpha as Pillow's convert('L') does (the default: the API's
 * documented conversion); 'white' / 'black' composite over that background first
 * (round(c·a/255 + bg·(1 − a/255))), as a viewer shows the image.
 */
export function rgbaToRgb(rgba: Uint8Array, flatten: Flatten = 'none'): RgbConversion {
  const n = rgba.length / 4;
  const rgb = new Uint8Array(n * 3);
  const bg = flatten === 'white' ? 255 : 0;
  let translucent = 0;
  let transparent = 0;
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3];
    if (a < 255) translucent++;
    if (a === 0) transparent++;
    for (let c = 0; c < 3; c++) {
      const v = rgba[i * 4 + c];
      rgb[i * 3 + c] = flatten === 'none' || a === 255 ? v : Math.round((v * a + bg * (255 - a)) / 255);
    }
  }
  return { rgb, translucent, transparent };
}
