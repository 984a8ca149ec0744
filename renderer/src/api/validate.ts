// Requests are checked against shared/api.ts's schemas before they leave the page, so a form bug
// shows as the same typed INVALID_REQUEST error the engine would give, without a round trip. The
// receiving side validates again: this check is for the user's benefit, not a security boundary.

import { validateRequest, type ApiMethod, type ApiParams } from '../../../shared/api';
import { ApiCallError } from './errors';

export function checkedParams<M extends ApiMethod>(method: M, params: ApiParams<M>): ApiParams<M> {
  const v = validateRequest(method, params);
  if (!v.ok) throw new ApiCallError(v.error);
  return v.params as ApiParams<M>;
}
