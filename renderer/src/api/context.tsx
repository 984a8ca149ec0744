// Hands the chosen MamoriApi to every screen (tests pass a fake one).

import { createContext, useContext, type ReactNode } from 'react';
import type { MamoriApi } from '../../../shared/api';

const ApiContext = createContext<MamoriApi | undefined>(undefined);

export function ApiProvider({ api, children }: { api: MamoriApi; children: ReactNode }) {
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): MamoriApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiProvider');
  return api;
}
