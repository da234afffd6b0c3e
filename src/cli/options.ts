import { InvalidArgumentError } from 'commander';

/**
 * The option parsers every `awnet` command uses, for commander's `Option.argParser` (or the
 * parser argument of `.option`). Commander reports a throw as
 * "option '--epochs <n>' argument '' is invalid. <message>", so the messages say only what
 * would be valid. An empty or blank value is never read as 0.
 */
export type Parser<T> = (value: string) => T;

function fail(expected: string): never {
  throw new InvalidArgumentError(`Expected ${expected}.`);
}

/** A finite number; a fraction such as 8/255 is accepted, as eps is usually written that way. */
function toNumber(value: string): number | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  const fraction = /^([0-9.eE+-]+)\s*\/\s*([0-9.eE+-]+)$/.exec(text);
  const n = fraction ? Number(fraction[1]) / Number(fraction[2]) : Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function toInteger(value: string): number | undefined {
  const text = value.trim();
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** An integer ≥ `min`. */
export function integerFrom(min: number): Parser<number> {
  return (value) => {
    const n = toInteger(value);
    return n !== undefined && n >= min ? n : fail(`an integer ≥ ${min}`);
  };
}

export const positiveInt: Parser<number> = integerFrom(1);
export const nonNegativeInt: Parser<number> = integerFrom(0);

/** Any finite number (a fraction such as 8/255 included). */
export const number: Parser<number> = (value) => toNumber(value) ?? fail('a number (a fraction such as 8/255 is fine)');

export const nonNegativeNumber: Parser<number> = (value) => {
  const n = toNumber(value);
  return n !== undefined && n >= 0 ? n : fail('a number ≥ 0 (a fraction such as 8/255 is fine)');
};

/** A number > 0, such as a rate or a duration. */
export const positiveNumber: Parser<number> = (value) => {
  const n = toNumber(value);
  return n !== undefined && n > 0 ? n : fail('a number > 0 (a fraction such as 8/255 is fine)');
};

/** A number in [min, max]. */
export function numberIn(min: number, max: number): Parser<number> {
  return (value) => {
    const n = toNumber(value);
    return n !== undefined && n >= min && n <= max ? n : fail(`a number in [${min}, ${max}]`);
  };
}

/** A rate strictly between 0 and 1, such as a target false-positive rate. */
export const rate: Parser<number> = (value) => {
  const n = toNumber(value);
  return n !== undefined && n > 0 && n < 1 ? n : fail('a number in (0, 1), e.g. 0.01');
};

/** A comma-separated list of at least one item, each read by `item`; empty items are an error. */
export function listOf<T>(item: Parser<T>, example: string): Parser<T[]> {
  return (value) => {
    const parts = value.split(',').map((s) => s.trim());
    if (value.trim() === '' || parts.some((p) => p === '')) fail(`a comma-separated list such as ${example}, with no empty item`);
    return parts.map((p) => {
      try {
        return item(p);
      } catch (err) {
        throw new InvalidArgumentError(`"${p}": ${(err as Error).message}`);
      }
    });
  };
}

export const numberList: Parser<number[]> = listOf(number, '1,10');
export const nonNegativeNumberList: Parser<number[]> = listOf(nonNegativeNumber, '1,10');
export const positiveIntList: Parser<number[]> = listOf(positiveInt, '16,32,64');
export const nameList: Parser<string[]> = listOf((s) => s, 'a,b');

/** One of `choices`, as a list item (commander's `.choices` checks only whole values). */
export function oneOf<T extends string>(choices: readonly T[]): Parser<T> {
  return (value) => ((choices as readonly string[]).includes(value) ? (value as T) : fail(`one of ${choices.join(', ')}`));
}

/** A parser from elsewhere that throws its own errors, made to report as a bad option value. */
export function asOption<T>(parse: Parser<T>): Parser<T> {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** A cap on the P(clean) MixBN mixes with: a number in [0, 1]. */
export const mixCap: Parser<number> = numberIn(0, 1);

/** How far ω may move from 1: a positive number, or `none` for no bound. */
export const omegaBound: Parser<number | null> = (value) => {
  if (value.trim() === 'none') return null;
  const n = toNumber(value);
  return n !== undefined && n > 0 ? n : fail('a number > 0, or none');
};

export const mixCapList: Parser<number[]> = listOf(mixCap, '1,0.5,0');
export const omegaBoundList: Parser<(number | null)[]> = listOf(omegaBound, 'none,0.5');
