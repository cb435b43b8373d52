/** A `.segmented` row of toggle buttons, one per option, the current one pressed. */
import { Icon, type IconName } from './icons';

export interface SegmentedOption<T extends string> {
  value: T;
  label: string;
  icon?: IconName;
}

/**
 * Buttons show their icon and label; with `iconsOnly` just the icon, the label becoming the accessible
 * name and tooltip. Each button's test id is `${testIdPrefix}-${value}`.
 */
export function Segmented<T extends string>({
  legend,
  options,
  value,
  onSelect,
  testIdPrefix,
  iconsOnly = false,
  testId,
}: {
  legend: string;
  options: readonly SegmentedOption<T>[];
  value: T;
  onSelect: (value: T) => void;
  testIdPrefix: string;
  iconsOnly?: boolean;
  testId?: string;
}) {
  return (
    <fieldset className={iconsOnly ? 'segmented segmented--icons' : 'segmented'} data-testid={testId}>
      <legend className="sr-only">{legend}</legend>
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          className="segmented__item"
          aria-pressed={value === o.value}
          aria-label={iconsOnly ? o.label : undefined}
          title={iconsOnly ? o.label : undefined}
          data-testid={`${testIdPrefix}-${o.value}`}
          onClick={() => onSelect(o.value)}
        >
          {o.icon && <Icon name={o.icon} />}
          {iconsOnly ? null : o.icon ? <> {o.label}</> : o.label}
        </button>
      ))}
    </fieldset>
  );
}
