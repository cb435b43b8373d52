/** Small form building blocks shared by the settings panels: labelled fields, selects, options. */
import { type ReactNode, useId } from 'react';

/** A `.field` box: a <label> (above, or beside when `inline`) tied to the one control `children` renders. */
export function Field({
  label,
  inline = false,
  children,
}: {
  label: ReactNode;
  inline?: boolean;
  children: (id: string) => ReactNode;
}) {
  const id = useId();
  return (
    <div className={inline ? 'field field--inline' : 'field'}>
      <label htmlFor={id} className="field__label">
        {label}
      </label>
      {children(id)}
    </div>
  );
}

/** A `.field` that is itself the <label>: the caption in a span, then the control(s) with `id`. */
export function LabelField({
  id,
  label,
  hint,
  children,
}: {
  id: string;
  label: ReactNode;
  /** Shown on hover over the label (e.g. what an attack parameter means). */
  hint?: string;
  children: ReactNode;
}) {
  return (
    <label className="field" htmlFor={id}>
      <span className="field__label" title={hint}>
        {label}
      </span>
      {children}
    </label>
  );
}

interface SelectProps<T extends string> {
  id: string;
  value: string;
  onChange: (value: T) => void;
  testId: string;
  disabled?: boolean;
  children: ReactNode;
}

/** A <select> that reports its new value (as the union of its option values). */
export function Select<T extends string>({
  id,
  value,
  onChange,
  testId,
  disabled,
  children,
}: SelectProps<T>) {
  return (
    <select
      id={id}
      value={value}
      onChange={(e) => onChange(e.target.value as T)}
      disabled={disabled}
      data-testid={testId}
    >
      {children}
    </select>
  );
}

/** A `.field` with a label and a select. */
export function SelectField<T extends string>({
  label,
  inline,
  ...select
}: Omit<SelectProps<T>, 'id'> & { label: ReactNode; inline?: boolean }) {
  return (
    <Field label={label} inline={inline}>
      {(id) => <Select<T> id={id} {...select} />}
    </Field>
  );
}

/** One <option> per value, showing `label(value)` (the value itself by default). */
export function Options<T extends string>({
  values,
  label,
}: {
  values: readonly T[];
  label?: (value: T) => ReactNode;
}) {
  return values.map((v) => (
    <option key={v} value={v}>
      {label ? label(v) : v}
    </option>
  ));
}
