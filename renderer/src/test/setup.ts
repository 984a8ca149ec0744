// vitest setup: unmount rendered trees between tests (globals are off, so Testing Library cannot
// register this itself) and start every test at the dashboard route.
import { cleanup } from '@testing-library/react';
import { afterEach, beforeEach } from 'vitest';

beforeEach(() => {
  window.location.hash = '';
});

afterEach(() => {
  cleanup();
});
