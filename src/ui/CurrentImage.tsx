/** The one current image every model is asked about: preview, where it came from, true label, share. */
import { useState } from 'react';
import { CLASS_NAMES_DE, CLASS_NAMES_EN } from '../core/labels';
import { useDrawStore } from '../stores/drawStore';
import { describeSource, trueLabelOf, useImageStore } from '../stores/imageStore';
import { usePrefsStore } from '../stores/prefsStore';
import { copyText } from './clipboard';
import { Icon } from './icons';
import { PixelImage } from './PixelImage';
import { shareUrl } from './urlState';

export function CurrentImage() {
  const pixels = useImageStore((s) => s.pixels);
  const source = useImageStore((s) => s.source);
  const version = useImageStore((s) => s.version);
  const [copied, setCopied] = useState(false);
  const label = trueLabelOf(source);

  const sendToCanvas = () => {
    if (!pixels) return;
    const name =
      source?.kind === 'test'
        ? `test #${source.index}`
        : source?.kind === 'adversarial'
          ? `PGD image of test #${source.index}`
          : source?.kind === 'upload'
            ? `“${source.name}”`
            : 'shared image';
    useDrawStore
      .getState()
      .load(pixels, source?.kind === 'draw' ? useDrawStore.getState().origin : { name, label });
    usePrefsStore.getState().setInputTab('draw');
    requestAnimationFrame(() =>
      document.querySelector<HTMLCanvasElement>('[data-testid="draw-canvas"]')?.focus(),
    );
  };

  const copyLink = async () => {
    if (await copyText(shareUrl())) {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    }
  };

  return (
    <section
      className="current"
      aria-label="Current image"
      data-testid="current-image"
      data-version={version}
    >
      <PixelImage
        data={pixels}
        size={96}
        label="Current image, 28×28"
        testId="current-image-pixels"
        className="current__img"
      />
      <div className="current__meta">
        <p className="eyebrow">Current image</p>
        <p className="current__source" data-testid="current-image-source" data-kind={source?.kind ?? ''}>
          {describeSource(source)}
        </p>
        <p className="current__label" data-testid="current-image-label">
          {label === null ? (
            <span className="muted">True label unknown</span>
          ) : (
            <>
              {source?.kind === 'draw' ? 'Originally ' : 'True label: '}
              <strong data-testid="true-label" title={`API name: ${CLASS_NAMES_DE[label]}`}>
                {CLASS_NAMES_EN[label]}
              </strong>
            </>
          )}
        </p>
        <div className="button-row">
          <button
            type="button"
            className="button button--small"
            onClick={sendToCanvas}
            disabled={!pixels}
            data-testid="send-to-canvas"
          >
            <Icon name="pencil" /> Edit in canvas
          </button>
          <button
            type="button"
            className="button button--small"
            onClick={copyLink}
            disabled={!pixels}
            data-testid="copy-link"
          >
            <Icon name={copied ? 'check' : 'link'} /> {copied ? 'Link copied' : 'Copy link'}
          </button>
        </div>
      </div>
    </section>
  );
}
