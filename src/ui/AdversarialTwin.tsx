/**
 * The current image when it comes from an adversarial set: its clean twin, the adversarial image
 * and the perturbation (amplified on a diverging scale), with the way back to the twin and on to
 * the attack lab (which attacks the current image).
 */
import { useEffect, useMemo, useState } from 'react';
import { CLASS_NAMES_EN } from '../core/labels';
import { type AdversarialSet, adversarialImageAt } from '../data/adversarial';
import { loadAdversarialSet } from '../data/adversarial-browser';
import { imageAt } from '../data/idx';
import { useGalleryStore } from '../stores/galleryStore';
import { useImageStore } from '../stores/imageStore';
import { AttackCanvas } from './attack/AttackCanvas';
import { DIVERGING_GRADIENT, grayRgba, perturbation, perturbationRgba } from './attack/perturbation';
import { describeWeights } from './targets';
import { showTestImage } from './urlState';

const SIZE = 84;

export function AdversarialTwin() {
  const source = useImageStore((s) => (s.source?.kind === 'adversarial' ? s.source : null));
  const testSet = useGalleryStore((s) => s.testSet);
  // the set the current image came from (cached by the loader), whatever the gallery shows now
  const [set, setSet] = useState<AdversarialSet | null>(null);
  const setName = source?.set ?? null;
  useEffect(() => {
    let live = true;
    setSet(null);
    if (setName)
      loadAdversarialSet(setName).then(
        (s) => live && setSet(s),
        () => {},
      );
    return () => {
      live = false;
    };
  }, [setName]);
  const view = useMemo(() => {
    if (!source || !testSet || !set || set.name !== source.set) return null;
    const clean = Float32Array.from(imageAt(testSet, source.index), (v) => v / 255);
    const adv = Float32Array.from(adversarialImageAt(set, source.index), (v) => v / 255);
    const p = perturbation(clean, adv);
    return { clean: grayRgba(clean), adv: grayRgba(adv), delta: perturbationRgba(p), p };
  }, [source, testSet, set]);
  if (!source || !view) return null;
  const levels = Math.round(view.p.absMax * 255);
  const gain = view.p.absMax > 0 ? `×${(1 / view.p.absMax).toFixed(1)}` : '(none)';
  return (
    <section
      className="adv-twin"
      data-testid="adversarial-twin"
      aria-label="Adversarial image and its clean twin"
    >
      <p className="small">
        PGD image of test #{source.index} ({CLASS_NAMES_EN[source.label]}), L∞ ε {source.eps}, crafted
        white-box on <strong>{describeWeights(source.sourceModel)}</strong>: {view.p.changed} pixels changed,
        at most {levels} gray levels.
      </p>
      <div className="adv-twin__figures">
        <figure>
          <AttackCanvas
            rgba={view.clean}
            label={`Clean twin, test #${source.index}`}
            testId="twin-clean"
            size={SIZE}
          />
          <figcaption className="eyebrow">Clean twin</figcaption>
        </figure>
        <figure>
          <AttackCanvas rgba={view.adv} label="Adversarial image" testId="twin-adversarial" size={SIZE} />
          <figcaption className="eyebrow">Adversarial</figcaption>
        </figure>
        <figure>
          <AttackCanvas
            rgba={view.delta}
            label={`Perturbation, amplified ${gain}`}
            testId="twin-perturbation"
            size={SIZE}
            data={{ levels }}
          />
          <figcaption className="eyebrow">
            Perturbation {gain}
            <span className="adv-twin__scale" style={{ background: DIVERGING_GRADIENT }} aria-hidden="true" />
          </figcaption>
        </figure>
      </div>
      <div className="button-row">
        <button
          type="button"
          className="button button--small"
          data-testid="twin-show-clean"
          onClick={() => void showTestImage(source.index)}
        >
          Show the clean twin
        </button>
        <button
          type="button"
          className="button button--small"
          data-testid="twin-attack"
          title="The attack lab attacks the current image: this adversarial image is its start"
          onClick={() => document.getElementById('attack-lab')?.scrollIntoView({ behavior: 'smooth' })}
        >
          Attack it in the lab
        </button>
      </div>
    </section>
  );
}
