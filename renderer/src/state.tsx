// The app's live picture of the engine: the Overview (loaded once, reloaded whenever the engine says
// something changed) with running jobs patched in place from progress events, so progress bars move
// without a reload per tick. Reloads are coalesced: while one is in flight, further requests only mark
// it to run once more, so a burst of events costs at most two getOverview calls.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { ApiError, MamoriEvent, Overview, RunningJob } from '../../shared/api';
import { useApi } from './api/context';
import { toApiError } from './api/errors';

export interface FinishedJob {
  jobId: number;
  kind: RunningJob['kind'];
  status: 'ok' | 'partial' | 'failed';
  summary: string;
  errors: ApiError[];
  at: string;
}

export interface AppData {
  overview?: Overview;
  loadError?: ApiError;
  /** Jobs that finished while this page was open, newest first (at most 20). */
  finished: FinishedJob[];
  refresh(): Promise<void>;
}

const AppDataContext = createContext<AppData | undefined>(undefined);

export function AppDataProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  const [overview, setOverview] = useState<Overview>();
  const [loadError, setLoadError] = useState<ApiError>();
  const [finished, setFinished] = useState<FinishedJob[]>([]);
  const inflight = useRef<Promise<void> | null>(null);
  const again = useRef(false);
  const alive = useRef(true);

  const refresh = useCallback((): Promise<void> => {
    if (inflight.current) {
      again.current = true;
      return inflight.current;
    }
    const run = async () => {
      do {
        again.current = false;
        try {
          const o = await api.call('getOverview', {});
          if (!alive.current) return;
          setOverview(o);
          setLoadError(undefined);
        } catch (e) {
          if (alive.current) setLoadError(toApiError(e));
        }
      } while (again.current && alive.current);
    };
    inflight.current = run().finally(() => {
      inflight.current = null;
    });
    return inflight.current;
  }, [api]);

  useEffect(() => {
    alive.current = true;
    void refresh();
    const onEvent = (e: MamoriEvent) => {
      switch (e.type) {
        case 'job-started':
          setOverview((o) => (o ? { ...o, running: [...o.running.filter((j) => j.jobId !== e.job.jobId), e.job] } : o));
          break;
        case 'job-progress':
          setOverview((o) => (o ? { ...o, running: o.running.map((j) => (j.jobId === e.jobId ? { ...j, progress: e.progress } : j)) } : o));
          break;
        case 'job-finished':
          setOverview((o) => (o ? { ...o, running: o.running.filter((j) => j.jobId !== e.jobId) } : o));
          setFinished((f) => [{ jobId: e.jobId, kind: e.kind, status: e.status, summary: e.summary, errors: e.errors, at: new Date().toISOString() }, ...f].slice(0, 20));
          void refresh();
          break;
        default:
          void refresh();
      }
    };
    const unsubscribe = api.subscribe(onEvent);
    return () => {
      alive.current = false;
      unsubscribe();
    };
  }, [api, refresh]);

  const value = useMemo<AppData>(() => ({ overview, loadError, finished, refresh }), [overview, loadError, finished, refresh]);
  return <AppDataContext.Provider value={value}>{children}</AppDataContext.Provider>;
}

export function useAppData(): AppData {
  const v = useContext(AppDataContext);
  if (!v) throw new Error('useAppData outside AppDataProvider');
  return v;
}
