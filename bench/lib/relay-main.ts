import { startRelay } from 'bench/lib/relay';

/**
 * The relay as its own process (`node relay-main.js <upstream base>`), so that its CPU is read from /proc
 * like the service's. Sends its URL to the parent over IPC.
 */
void startRelay(process.argv[2]).then((r) => process.send?.({ url: r.url }));
