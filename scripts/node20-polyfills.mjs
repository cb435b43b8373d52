// vitest 5's reporter calls Map.groupBy, which Node 20 lacks: without this a failing test prints
// "Map.groupBy is not a function" instead of its assertion. Harmless on Node ≥ 21.
if (typeof Map.groupBy !== 'function') {
  Map.groupBy = (items, key) => {
    const out = new Map();
    let i = 0;
    for (const item of items) {
      const k = key(item, i++);
      if (!out.has(k)) out.set(k, []);
      out.get(k).push(item);
    }
    return out;
  };
}
if (typeof Object.groupBy !== 'function') {
  Object.groupBy = (items, key) => {
    const out = Object.create(null);
    let i = 0;
    for (const item of items) {
      const k = key(item, i++);
      if (!out[k]) out[k] = [];
      out[k].push(item);
    }
    return out;
  };
}
