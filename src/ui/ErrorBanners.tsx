/** The stack of error banners: each stays until dismissed. */
import { useErrorStore } from '../stores/errorStore';
import { Icon } from './icons';

export function ErrorBanners() {
  const banners = useErrorStore((s) => s.banners);
  const dismiss = useErrorStore((s) => s.dismiss);
  const dismissAll = useErrorStore((s) => s.dismissAll);
  return (
    <section
      className="banners"
      aria-live="polite"
      aria-label="Errors and warnings"
      data-testid="error-stack"
    >
      {banners.map((b) => (
        <div
          key={b.id}
          className={`banner banner--${b.level}`}
          role={b.level === 'error' ? 'alert' : 'status'}
          data-testid="error-banner"
          data-key={b.key}
        >
          <Icon name={b.level === 'info' ? 'info' : 'alert'} size={18} />
          <div className="banner__text">
            <strong>{b.title}</strong>
            {b.count > 1 && <span className="banner__count"> ×{b.count}</span>}
            <span className="banner__message">{b.message}</span>
          </div>
          <time className="banner__time" dateTime={new Date(b.time).toISOString()}>
            {new Date(b.time).toLocaleTimeString()}
          </time>
          <button
            type="button"
            className="icon-button"
            aria-label={`Dismiss: ${b.title}`}
            data-testid="error-dismiss"
            onClick={() => dismiss(b.id)}
          >
            <Icon name="x" />
          </button>
        </div>
      ))}
      {banners.length > 1 && (
        <button
          type="button"
          className="button button--ghost banners__all"
          onClick={dismissAll}
          data-testid="error-dismiss-all"
        >
          Dismiss all ({banners.length})
        </button>
      )}
    </section>
  );
}
