// A small CSV reader (RFC 4180): comma-separated fields, fields in double quotes may hold commas,
// newlines and doubled quotes (""). A quote inside an unquoted field is taken literally, as
// Python's csv module does, so O"Brien needs no quoting. Blank lines are skipped. Every row
// remembers the line it started on, for messages.
import { rnnlmError } from '../errors.js';

export interface CsvRow {
  fields: string[];
  /** 1-based line of the file where the row starts. */
  line: number;
}

/** Parses CSV text (LF line ends; decodeUtf8 has already turned CRLF into LF). */
export function parseCsv(text: string, source: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let i = 0;
  const n = text.length;
  // True once the current row has any content (so a blank line yields no row).
  let started = false;
  const endRow = (): void => {
    if (started) {
      fields.push(field);
      rows.push({ fields, line: rowLine });
    }
    fields = [];
    field = '';
    started = false;
  };
  while (i < n) {
    const c = text[i]!;
    if (c === '"' && field === '') {
      // A quoted field: read to the closing quote.
      started = true;
      const openLine = line;
      i++;
      let value = '';
      for (;;) {
        if (i >= n) throw rnnlmError('ERR_RNNLM_DATA', `${source}: the quoted field opened on line ${openLine} is never closed`);
        const d = text[i]!;
        if (d === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === '\n') line++;
        value += d;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n') {
        throw rnnlmError('ERR_RNNLM_DATA', `${source}: line ${line}: unexpected ${JSON.stringify(next)} after the closing quote of a field (a quote inside a quoted field is written "")`);
      }
      field = value;
      continue;
    }
    if (c === ',') {
      started = true;
      fields.push(field);
      field = '';
      i++;
      continue;
    }
    if (c === '\n') {
      endRow();
      line++;
      rowLine = line;
      i++;
      continue;
    }
    started = true;
    field += c;
    i++;
  }
  endRow();
  return rows;
}
