/** Display helpers of the attack lab. */
import { ARCH_LABEL, DEFENSE_LABEL } from '../../core/models';
import { findModel } from '../customModels';

/** "0_3 — CNN, random resize & padding" */
export function modelTitle(id: string): string {
  const m = findModel(id);
  if (m?.custom) return `${id} — your model ${m.custom.fileName}, ${DEFENSE_LABEL[m.defense]}`;
  return m ? `${id} — ${ARCH_LABEL[m.arch]}, ${DEFENSE_LABEL[m.defense]}` : id;
}

/** "CNN · vanilla" */
export function modelShort(id: string): string {
  const m = findModel(id);
  return m ? `${ARCH_LABEL[m.arch]} · ${DEFENSE_LABEL[m.defense]}` : id;
}

export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(digits);
}

export function pct(p: number, digits = 1): string {
  return `${(p * 100).toFixed(digits)}%`;
}

export function wall(msv: number): string {
  if (!Number.isFinite(msv)) return '–';
  if (msv < 1000) return `${msv.toFixed(0)} ms`;
  return `${(msv / 1000).toFixed(2)} s`;
}
