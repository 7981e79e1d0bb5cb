/** Something that gets a `: ping` comment every heartbeat period. */
export interface HeartbeatTarget {
  ping(): void;
}

/** Slots of a period: each tick pings one slot, so the pings of many streams are spread over the period. */
const SLOTS = 8;

interface Ticker {
  timer: NodeJS.Timeout;
  slots: Set<HeartbeatTarget>[];
  next: number;
  size: number;
}

const tickers = new Map<number, Ticker>();

/**
 * One timer per heartbeat period for all open streams, instead of a Timeout, its callback and its closure
 * per stream (docs/performance.md "Idle memory"). A target goes into the emptiest of 8 slots; the timer ticks
 * every period / 8 and pings one slot, so each target is pinged once per period (the first ping within one
 * period of `add`), and 10,000 streams are pinged in 8 batches rather than all in one tick. The timer is
 * unref'd, and cleared when the last target leaves. Returns the function that removes the target.
 */
export function addHeartbeat(periodMs: number, target: HeartbeatTarget): () => void {
  let ticker = tickers.get(periodMs);
  if (!ticker) {
    const slots = periodMs >= SLOTS ? SLOTS : 1;
    const created: Ticker = {
      slots: Array.from({ length: slots }, () => new Set<HeartbeatTarget>()),
      next: 0,
      size: 0,
      // Rounded down: each target is pinged at most a period apart.
      timer: setInterval(() => tick(created), Math.max(1, Math.floor(periodMs / slots))),
    };
    created.timer.unref();
    tickers.set(periodMs, created);
    ticker = created;
  }
  const t = ticker;
  // The emptiest slot, so that streams opened in a burst are still pinged in batches.
  const slot = t.slots.reduce((a, b) => (b.size < a.size ? b : a));
  slot.add(target);
  t.size++;
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    slot.delete(target);
    if (--t.size > 0) return;
    clearInterval(t.timer);
    if (tickers.get(periodMs) === t) tickers.delete(periodMs);
  };
}

function tick(t: Ticker): void {
  const slot = t.slots[t.next];
  t.next = (t.next + 1) % t.slots.length;
  for (const target of slot) target.ping();
}
