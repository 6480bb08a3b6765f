/** Where the console is: `#/`, or `#/{helpdeskId}/{settings|messages|preview}[/{key}]`. */
export interface Place {
  helpdeskId: string | null;
  page: 'helpdesks' | 'settings' | 'messages' | 'preview';
  key: string | null;
}

export const HELPDESK_PAGES = ['settings', 'messages', 'preview'] as const;

export function placeOf(hash: string): Place {
  const [helpdeskId, page, key] = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const known = HELPDESK_PAGES.find((p) => p === page);
  if (!helpdeskId || !known) return { helpdeskId: null, page: 'helpdesks', key: null };
  return { helpdeskId, page: known, key: key || null };
}

export function href(helpdeskId: string, page: Place['page'], key?: string): string {
  return `#/${encodeURIComponent(helpdeskId)}/${page}${key ? `/${encodeURIComponent(key)}` : ''}`;
}
