/** A button that copies text and says so. */
import { useState } from 'react';
import { copyText } from './clipboard';
import { Icon } from './icons';

export function CopyButton({ text, label, testId }: { text: () => string; label: string; testId: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      className="button button--small"
      data-testid={testId}
      data-state={state}
      onClick={async () => {
        const ok = await copyText(text());
        setState(ok ? 'copied' : 'failed');
        setTimeout(() => setState('idle'), 1600);
      }}
    >
      <Icon name={state === 'copied' ? 'check' : 'copy'} />
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : label}
    </button>
  );
}
