/** Marks a randomized defense: its answer can change from query to query. */
import { Icon } from './icons';

export function RandomBadge() {
  return (
    <span
      className="badge badge--random"
      data-testid="random-badge"
      title="Randomized defense: fresh randomness on every query unless a seed is set"
    >
      <Icon name="dice" size={12} /> random
    </span>
  );
}
