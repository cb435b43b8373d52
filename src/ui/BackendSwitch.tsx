/** Which inference backend runs the models (WebGPU, or WASM with N threads × W workers), and a switch. */
import type { BackendChoice } from '../engine/types';
import { useEngineStore } from '../stores/engineStore';
import { switchBackend } from './engineBridge';
import { Icon } from './icons';

export function BackendSwitch() {
  const backend = useEngineStore((s) => s.backend);
  const choice = useEngineStore((s) => s.choice);
  let text = 'starting…';
  if (backend?.active === 'webgpu') text = 'WebGPU';
  else if (backend?.active === 'wasm')
    text = `WASM · ${backend.threads} thread${backend.threads === 1 ? '' : 's'}${
      (backend.workers ?? 1) > 1 ? ` × ${backend.workers} workers` : ''
    }`;
  else if (backend) {
    const want = backend.requested === 'webgpu' ? 'WebGPU' : backend.requested === 'wasm' ? 'WASM' : 'Auto';
    text = `${want} · starts with the first model`;
  }
  const detail = [backend?.adapter && `Adapter: ${backend.adapter}`, backend?.note]
    .filter(Boolean)
    .join('\n');
  return (
    <div className="backend">
      <span
        className={`chip chip--backend ${backend?.active ? `is-${backend.active}` : 'is-pending'}`}
        data-testid="backend-status"
        data-backend={backend?.active ?? ''}
        title={detail || undefined}
      >
        <Icon name="chip" />
        {text}
      </span>
      <label className="backend__select">
        <span className="sr-only">Inference backend</span>
        <select
          value={choice}
          data-testid="backend-select"
          onChange={(e) => switchBackend(e.target.value as BackendChoice)}
          title="Switching restarts the inference worker"
        >
          <option value="auto">Auto</option>
          <option value="webgpu">WebGPU</option>
          <option value="wasm">WASM</option>
        </select>
      </label>
    </div>
  );
}
