/** Reading the service's Prometheus exposition (`GET /metrics`) from the bench. */

/** The value of one unlabelled sample `name value` (undefined: absent). */
export function sampleValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `))
      return Number(
        line
          .slice(name.length + 1)
          .trim()
          .split(' ')[0],
      );
  }
  return undefined;
}

export interface HistogramTotals {
  sum: number;
  count: number;
}

/** `GET /metrics` (with `Bearer <token>` when the service has a METRICS_TOKEN). */
export async function scrape(baseUrl: string, token?: string): Promise<string> {
  const r = await fetch(`${baseUrl}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  if (!r.ok) throw new Error(`GET /metrics → ${r.status} ${text.slice(0, 300)}`);
  return text;
}

/** Sum and count of an unlabelled histogram; zeros when the service does not expose it. */
export async function histogramTotals(baseUrl: string, name: string, token?: string): Promise<HistogramTotals> {
  const text = await scrape(baseUrl, token);
  return { sum: sampleValue(text, `${name}_sum`) ?? 0, count: sampleValue(text, `${name}_count`) ?? 0 };
}
