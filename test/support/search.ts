/** Every event in the server's audit store, through GET /v1/events pagination. */
export async function allStoredEvents(url: string): Promise<{ id: string; [k: string]: unknown }[]> {
  const out: { id: string }[] = [];
  let cursor: string | undefined;
  for (;;) {
    const res = await fetch(`${url}/v1/events?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (!res.ok) throw new Error(`search failed: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { events: { id: string }[]; nextCursor?: string };
    out.push(...page.events);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
}

export async function emitterStatus(url: string): Promise<Record<string, { depth: number; state: string; inFlight: number; maxInFlight: number; lastError: { message: string } | null }>> {
  const res = await fetch(`${url}/v1/emitters`);
  const body = (await res.json()) as { emitters: { name: string; depth: number; state: string; inFlight: number; maxInFlight: number; lastError: { message: string } | null }[] };
  return Object.fromEntries(body.emitters.map((e) => [e.name, e]));
}
