/** The playground: input on the left; model grid, comparison and API console on the right. */
import { useEffect } from 'react';
import { floatToGray } from '../core/image';
import { trueLabelOf, useImageStore } from '../stores/imageStore';
import { ApiConsole } from './ApiConsole';
import { AttackPanel } from './attack/AttackPanel';
import { ComparisonView } from './ComparisonView';
import { ErrorBanners } from './ErrorBanners';
import { useEngineBridge } from './engineBridge';
import { Header } from './Header';
import { InputPanel } from './InputPanel';
import { ModelGrid } from './ModelGrid';
import { useThemeEffect } from './ThemeToggle';
import { installPageImageInput } from './uploadImage';
import { useUrlState } from './urlState';
import { useAutoClassify } from './useAutoClassify';
import { YourModels } from './YourModels';

export function App() {
  useThemeEffect();
  useEngineBridge();
  useUrlState();
  useAutoClassify();
  useEffect(() => installPageImageInput(), []);
  const image = useImageStore((s) => s.input);
  const trueLabel = useImageStore((s) => trueLabelOf(s.source));

  return (
    <div className="app">
      <a className="skip-link" href="#comparison-heading">
        Skip to the comparison
      </a>
      <Header />
      <ErrorBanners />
      <main className="layout">
        <InputPanel />
        <div className="workspace">
          <ModelGrid />
          <YourModels />
          <ComparisonView />
          <AttackPanel
            image={image}
            trueLabel={trueLabel ?? undefined}
            onShowComparison={(adv) =>
              useImageStore
                .getState()
                .setImage(
                  floatToGray(adv),
                  { kind: 'draw', basedOn: 'adversarial example', label: trueLabel ?? null },
                  adv,
                )
            }
          />
          <ApiConsole />
        </div>
      </main>
      <footer className="app-footer muted">
        Fashion-MNIST test set (MIT licence) · models run locally in onnxruntime-web · the page answers{' '}
        <code>POST /&lt;model&gt;/decision</code> and <code>/score</code> like the thesis service did.
      </footer>
    </div>
  );
}
