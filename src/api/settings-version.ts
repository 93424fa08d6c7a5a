/**
 * The settings version over HTTP: GET .../balance and every settings update answer it as an
 * ETag; a settings update names the version it read in If-Match and is made only if the
 * settings are still at that version (412 otherwise).
 */

/** The settings version a client read, as its ETag. Optional. */
export const ifMatchHeaders = {
  type: 'object',
  properties: {
    'if-match': {
      type: 'string',
      pattern: '^"\\d{1,15}"$',
      description: 'the settings version read, as its ETag ("<n>")',
    },
  },
} as const;

/** The settings version after the request, to send back in If-Match. */
export const etagHeader = {
  etag: { type: 'string', description: 'the settings version ("<n>"), for If-Match' },
} as const;

/** The settings version an If-Match header names (the schema checked its form), if any. */
export const ifMatch = (header: string | string[] | undefined): number | undefined =>
  typeof header === 'string' ? Number(header.slice(1, -1)) : undefined;

export const etag = (version: number) => `"${version}"`;
