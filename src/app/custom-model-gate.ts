/**
 * The restore of the uploaded models at start-up (src/ui/customModels.ts) as a promise the fetch
 * shim waits on before it answers `GET /` or a `/custom/…` route: a script that fetches
 * `/custom/<id>/score` right after a reload gets the restored model, not a 404.
 */
let gate: Promise<unknown> = Promise.resolve();

export function setCustomModelGate(p: Promise<unknown>): void {
  gate = p.catch(() => {});
}

export function customModelsSettled(): Promise<unknown> {
  return gate;
}
