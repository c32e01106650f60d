// A fingerprint of token ids, saved with a run's trainer state, so that a resumed run (of any
// model) can prove it sees the same data it was started on.

/** FNV-1a over the ids and lengths of `parts`: equal data gives an equal fingerprint. */
export function fingerprint(...parts: Int32Array[]): string {
  let hash = 0x811c9dc5;
  for (const ids of parts) {
    for (let i = 0; i < ids.length; i++) {
      hash = Math.imul(hash ^ (ids[i]! & 0xff), 0x01000193);
      hash = Math.imul(hash ^ ((ids[i]! >>> 8) & 0xffffff), 0x01000193);
    }
    hash = Math.imul(hash ^ ids.length, 0x01000193);
  }
  return `${(hash >>> 0).toString(16).padStart(8, '0')}-${parts.map((p) => p.length).join('-')}`;
}

/** Sequences as two arrays, [all ids in order, each sequence's length], for fingerprint(). */
export function concatenateSequences(sequences: readonly Int32Array[]): [Int32Array, Int32Array] {
  const total = sequences.reduce((n, s) => n + s.length, 0);
  const ids = new Int32Array(total);
  const lengths = new Int32Array(sequences.length);
  let at = 0;
  sequences.forEach((s, i) => {
    ids.set(s, at);
    at += s.length;
    lengths[i] = s.length;
  });
  return [ids, lengths];
}
