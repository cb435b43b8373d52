/** Upload by drag-and-drop, file picker or paste; shows the original beside its 28×28 conversion. */
import { type DragEvent, useId, useRef, useState } from 'react';
import { type UploadPreview, useImageStore } from '../stores/imageStore';
import { Icon } from './icons';
import { PixelImage } from './PixelImage';
import { openImageFile, setUploadFlatten } from './uploadImage';

export function UploadPanel() {
  const inputId = useId();
  const fileRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const last = useImageStore((s) => s.lastUpload);
  const error = useImageStore((s) => s.uploadError);
  const isCurrent = useImageStore((s) => s.source?.kind === 'upload');
  const dismissError = () => useImageStore.getState().setUploadError(null);

  const handle = async (file: File | undefined | null) => {
    if (!file) return;
    setBusy(true);
    try {
      await openImageFile(file);
    } finally {
      setBusy(false);
    }
  };

  const onDrop = (e: DragEvent<HTMLElement>) => {
    e.preventDefault();
    e.stopPropagation();
    setDragging(false);
    void handle(e.dataTransfer.files[0]);
  };

  return (
    <div className="upload">
      <section
        className={`dropzone ${dragging ? 'is-dragging' : ''}`}
        aria-label="Drop an image file here"
        data-testid="upload-drop"
        onDragEnter={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragOver={(e) => e.preventDefault()}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <Icon name="upload" size={28} />
        <p className="dropzone__title">Drop an image here</p>
        <p className="dropzone__hint">
          or{' '}
          <label htmlFor={inputId} className="link-button">
            choose a file
          </label>{' '}
          · or paste with <kbd>Ctrl</kbd>+<kbd>V</kbd>
        </p>
        <p className="dropzone__hint muted">Any format the browser decodes, any size, colour or gray.</p>
        <input
          id={inputId}
          ref={fileRef}
          type="file"
          accept="image/*"
          className="visually-hidden-input"
          data-testid="upload-input"
          onChange={(e) => {
            void handle(e.target.files?.[0]);
            e.target.value = '';
          }}
        />
        {busy && <p className="dropzone__busy">Decoding…</p>}
      </section>

      {error && (
        <div className="inline-error" role="alert" data-testid="upload-error">
          <Icon name="alert" />
          <span>{error}</span>
          <button
            type="button"
            className="icon-button"
            aria-label="Dismiss upload error"
            onClick={dismissError}
          >
            <Icon name="x" />
          </button>
        </div>
      )}

      {last && (
        <figure className={`conversion ${isCurrent ? '' : 'is-inactive'}`} data-testid="upload-result">
          <div className="conversion__side">
            <div className="conversion__original checker">
              <img
                src={last.url}
                alt={`Original upload ${last.name}`}
                data-testid="upload-original"
                className={last.width <= 112 && last.height <= 112 ? 'is-small' : undefined}
              />
            </div>
            <figcaption>
              Original · {last.width}×{last.height}
            </figcaption>
          </div>
          <span className="conversion__arrow" aria-hidden="true">
            →
          </span>
          <div className="conversion__side">
            <PixelImage
              data={last.pixels}
              size={112}
              label={`${last.name} converted to 28×28 grayscale`}
              testId="upload-converted"
            />
            <figcaption>28×28 as the API sees it</figcaption>
          </div>
          <p className="conversion__info muted" data-testid="upload-info">
            {last.name} · {last.type} · {last.width}×{last.height} {last.translucent > 0 ? 'RGBA' : 'RGB'} →
            PIL gray → bilinear 28×28 → /255
            {!isCurrent && ' · (not the current image)'}
          </p>
          {(last.translucent > 0 || last.flatten !== 'none') && <TransparencyNotice preview={last} />}
          <LightBackgroundNote pixels={last.pixels} />
        </figure>
      )}
    </div>
  );
}

/** Mean gray of the Fashion-MNIST test images is about 73: light garments on a black background. */
const LIGHT_MEAN = 128;

/**
 * A mostly light image (a dark object photographed on white) is the opposite of what the models were
 * trained on; the conversion stays the API's, but the user is told why the answers may be poor.
 */
function LightBackgroundNote({ pixels }: { pixels: Uint8Array }) {
  let sum = 0;
  for (const v of pixels) sum += v;
  const mean = sum / Math.max(1, pixels.length);
  if (mean <= LIGHT_MEAN) return null;
  return (
    <p className="conversion__info small" data-testid="upload-light-background" data-mean={mean.toFixed(1)}>
      <Icon name="alert" /> Mostly light (mean gray {mean.toFixed(0)} of 255). Fashion-MNIST shows light
      garments on a black background (mean gray about 73), so the models may misread a dark object on white:
      invert the picture before uploading to match what they were trained on.
    </p>
  );
}

const FLATTEN_CHOICES = [
  { value: 'none', label: 'Ignore alpha (Pillow)' },
  { value: 'white', label: 'Flatten onto white' },
  { value: 'black', label: 'Flatten onto black' },
] as const;

/**
 * Says that the upload has transparent pixels and what the conversion did with them: Pillow's
 * convert('L') ignores alpha, so a drawing of black strokes on a transparent background becomes all
 * black. Flattening onto white or black is offered as an explicit choice; the default stays
 * Pillow-exact, which is what the API does with the same file.
 */
function TransparencyNotice({ preview }: { preview: UploadPreview }) {
  const total = preview.width * preview.height;
  const share = (n: number) => `${((100 * n) / total).toFixed(n === total ? 0 : 1)} %`;
  return (
    <div className="conversion__alpha" data-testid="upload-transparency">
      <p>
        <Icon name="alert" /> This image has transparent pixels ({share(preview.translucent)} not opaque
        {preview.transparent > 0 && `, ${share(preview.transparent)} fully transparent`}).{' '}
        {preview.flatten === 'none'
          ? 'As in Pillow’s convert("L") (the API’s conversion), alpha is ignored: transparent pixels count with the colour stored under them, which is not what a viewer shows.'
          : `They were composited onto ${preview.flatten} before the conversion, as a viewer shows them; the API, given the same file, ignores alpha.`}
        {!preview.exactAlpha &&
          ' This browser could not decode the file without premultiplying: the colour under fully transparent pixels is lost (read as black).'}
      </p>
      <fieldset className="conversion__flatten">
        <legend className="conversion__legend">Transparency:</legend>
        {FLATTEN_CHOICES.map((c) => (
          <label key={c.value}>
            <input
              type="radio"
              name="upload-flatten"
              value={c.value}
              checked={preview.flatten === c.value}
              data-testid={`upload-flatten-${c.value}`}
              onChange={() => setUploadFlatten(c.value)}
            />{' '}
            {c.label}
          </label>
        ))}
      </fieldset>
    </div>
  );
}
