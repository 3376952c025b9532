// Money on the wire is integer minor units (fen; hundredths for points). It is shown and
// read as yuan with two decimals by integer arithmetic only: never through floats.

/** Formats `minor` units (an integer) as `123.45`; '' for null. */
export function yuan(minor) {
  if (minor === null || minor === undefined) return '';
  const n = BigInt(minor);
  const negative = n < 0n;
  const abs = negative ? -n : n;
  const cents = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${abs / 100n}.${cents}`;
}

/** The largest amount the API takes (10^12 minor units). */
const AMOUNT_MAX = 1_000_000_000_000n;

/** Parses yuan text (`12`, `12.5`, `12.50`) into fen exactly; null when it is not one. */
export function fen(text) {
  const m = /^\s*(\d{1,10})(?:\.(\d{1,2}))?\s*$/.exec(String(text));
  if (!m) return null;
  const value = BigInt(m[1]) * 100n + BigInt((m[2] || '').padEnd(2, '0'));
  return value > AMOUNT_MAX ? null : Number(value);
}

/** An amount of `asset`: copies are whole units, every other asset is minor units. */
export function assetAmount(asset, amount) {
  return asset === 'copies' ? String(amount) : yuan(amount);
}
