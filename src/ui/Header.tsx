/** App header: title, inference backend, engine status, theme. */
import { BackendSwitch } from './BackendSwitch';
import { EngineStatusPopover } from './EngineStatusPopover';
import { ThemeToggle } from './ThemeToggle';

export function Header() {
  return (
    <header className="app-header" data-testid="app-header">
      <div className="brand">
        <span className="brand__mark" aria-hidden="true">
          <span />
          <span />
          <span />
          <span />
        </span>
        <div>
          <h1 className="brand__title">Robustness Playground</h1>
          <p className="brand__subtitle">
            Fashion-MNIST · 3 architectures × 5 defenses, running in your browser
          </p>
        </div>
      </div>
      <div className="app-header__tools">
        <BackendSwitch />
        <EngineStatusPopover />
        <ThemeToggle />
      </div>
    </header>
  );
}
