// What the headless server needs from the engine: something that answers validated API calls and
// emits MamoriEvents. Declared here (not imported from the engine) so the server depends only on the
// contract in shared/api.ts; a Node EventEmitter satisfies `events` structurally.
import type { ApiMethod, MamoriEvent } from '../../../shared/api';

export interface ApiHandler {
  /** Called only with params already validated by shared/api.ts validateRequest. */
  call(method: ApiMethod, params: unknown): Promise<unknown>;
  events: {
    on(ev: 'event', fn: (e: MamoriEvent) => void): unknown;
    off(ev: 'event', fn: (e: MamoriEvent) => void): unknown;
  };
}
