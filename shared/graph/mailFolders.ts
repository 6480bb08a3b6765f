/**
 * How a mailbox's folder setting names a folder. The name ends up in a Graph URL
 * (`/users/{id}/mailFolders/{folder}/messages`), where `..` (even percent-encoded: URL parsers decode
 * `%2E%2E` as a dot segment) would climb to `/users/{id}/messages`, the whole mailbox. So only two kinds
 * of value ever become a path segment: Graph's well-known folder names and folder ids, which hold no
 * dot. Anything else is a display name, looked up through Graph, and only the id found is used. Pure.
 */

/** Graph's well-known mail folder names that hold mail worth reading. */
export const WELL_KNOWN_FOLDERS = [
  'inbox',
  'archive',
  'junkemail',
  'deleteditems',
  'drafts',
  'sentitems',
  'outbox',
  'clutter',
  'conversationhistory',
  'msgfolderroot',
] as const;

/** A Graph folder id: base64 (either alphabet), long; never a dot, so never a dot segment. */
const FOLDER_ID = /^[A-Za-z0-9+/_-]{40,}={0,2}$/;

export type MailFolderReference =
  | { kind: 'wellKnown'; name: string }
  | { kind: 'id'; id: string }
  | { kind: 'displayName'; name: string };

export function mailFolderReference(folder: string): MailFolderReference {
  const lower = folder.toLowerCase();
  if ((WELL_KNOWN_FOLDERS as readonly string[]).includes(lower)) return { kind: 'wellKnown', name: lower };
  if (FOLDER_ID.test(folder) && folder.length <= 512) return { kind: 'id', id: folder };
  return { kind: 'displayName', name: folder };
}

/** Why a folder setting is refused, or null: dot segments and control characters never name a folder. */
export function mailFolderProblem(folder: string): string | null {
  if (folder.trim() === '') return 'must not be empty';
  if (/^\s*\.{1,2}\s*$/.test(folder)) return 'must name a folder, not a path segment like ".."';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(folder)) return 'must not contain control characters';
  return null;
}

/** A well-known name or id as it may stand in a URL or a move; null for a display name (Graph resolves it). */
export function directFolder(reference: MailFolderReference): string | null {
  if (reference.kind === 'wellKnown') return reference.name;
  if (reference.kind === 'id') return reference.id;
  return null;
}
