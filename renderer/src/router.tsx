// A tiny hash router: "#/restore" and the like. Hash routes work unchanged from file:// (Electron) and
// from the headless server, and a reload never asks the server for a path it does not have.

import { useEffect, useState } from 'react';

export type Route = '/' | '/restore' | '/activity' | '/destinations' | '/settings' | '/setup' | '/kit';
const ROUTES: readonly Route[] = ['/', '/restore', '/activity', '/destinations', '/settings', '/setup', '/kit'];

export function currentRoute(): Route {
  const h = (typeof location !== 'undefined' ? location.hash : '').replace(/^#/, '') || '/';
  return (ROUTES as readonly string[]).includes(h) ? (h as Route) : '/';
}

export function navigate(to: Route): void {
  if (currentRoute() === to && location.hash) return;
  location.hash = `#${to}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(currentRoute);
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
