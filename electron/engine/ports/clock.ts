// The clock is injected so tests control time (media age, schedules, lock staleness). This is the only
// place in the engine that reads the system time.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = {
  now: () => new Date(),
};
