import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import {
  asOption,
  integerFrom,
  listOf,
  nameList,
  nonNegativeInt,
  nonNegativeNumber,
  number,
  numberIn,
  numberList,
  oneOf,
  positiveInt,
  positiveIntList,
  positiveNumber,
  rate,
  type Parser,
} from '../../src/cli/options.js';

function rejects<T>(parse: Parser<T>, value: string, message: RegExp): void {
  assert.throws(() => parse(value), (err: Error) => err instanceof InvalidArgumentError && message.test(err.message), `${JSON.stringify(value)} should be refused`);
}

describe('CLI option parsers', () => {
  it('never read an empty or blank value as 0', () => {
    for (const parse of [positiveInt, nonNegativeInt, number, nonNegativeNumber, positiveNumber, numberIn(0, 1), rate, numberList, positiveIntList, nameList] as Parser<unknown>[]) {
      for (const blank of ['', ' ', '\t']) assert.throws(() => parse(blank), InvalidArgumentError);
    }
  });

  it('integers: whole numbers at or above the minimum, nothing else', () => {
    assert.equal(positiveInt('3'), 3);
    assert.equal(positiveInt(' 12 '), 12);
    assert.equal(nonNegativeInt('0'), 0);
    assert.equal(integerFrom(2)('2'), 2);
    rejects(positiveInt, '0', /^Expected an integer ≥ 1\.$/);
    rejects(nonNegativeInt, '-1', /≥ 0/);
    for (const bad of ['1.5', '1e3', '0x10', 'ten', '3 4', '99999999999999999999']) rejects(positiveInt, bad, /an integer/);
  });

  it('numbers: decimals, exponents and fractions such as 8/255', () => {
    assert.equal(number('-0.5'), -0.5);
    assert.equal(number('1e-3'), 0.001);
    assert.equal(nonNegativeNumber('8/255'), 8 / 255);
    assert.equal(numberIn(0, 1)('0.25'), 0.25);
    assert.equal(rate('0.01'), 0.01);
    rejects(number, 'NaN', /a number/);
    rejects(number, 'Infinity', /a number/);
    rejects(number, '1/2/3', /a number/);
    rejects(nonNegativeNumber, '-1', /≥ 0/);
    assert.equal(positiveNumber('0.5'), 0.5);
    assert.equal(positiveNumber('1/60'), 1 / 60);
    for (const bad of ['0', '-2', '1e400', 'fast']) rejects(positiveNumber, bad, /^Expected a number > 0 /);
    rejects(numberIn(1e-9, 1), '1.5', /^Expected a number in \[1e-9, 1\]\.$/);
    rejects(rate, '0', /\(0, 1\)/);
    rejects(rate, '1', /\(0, 1\)/);
  });

  it('lists: every item parsed, no empty item, the bad item named', () => {
    assert.deepEqual(numberList('1, 10'), [1, 10]);
    assert.deepEqual(positiveIntList('16,32,64'), [16, 32, 64]);
    assert.deepEqual(nameList('fgsm,cw30'), ['fgsm', 'cw30']);
    rejects(positiveIntList, '16,,64', /no empty item/);
    rejects(numberList, '1,', /no empty item/);
    rejects(positiveIntList, '16,0', /^"0": Expected an integer ≥ 1\.$/);
    rejects(listOf(rate, '0.01,0.05'), '0.01,2', /"2": Expected a number in \(0, 1\)/);
  });

  it('choices inside a list: each item one of them, the bad item and the choices named', () => {
    const kinds = listOf(oneOf(['jpeg', 'blur', 'offset'] as const), 'jpeg,blur');
    assert.deepEqual(kinds('jpeg, offset'), ['jpeg', 'offset']);
    rejects(kinds, 'jpeg,noise', /^"noise": Expected one of jpeg, blur, offset\.$/);
    rejects(kinds, 'JPEG', /"JPEG": Expected one of/);
  });

  it('a parser from elsewhere reports its own message as a bad option value', () => {
    const parse = asOption((v: string) => {
      if (v !== 'ok') throw new Error(`"${v}" is not ok`);
      return v;
    });
    assert.equal(parse('ok'), 'ok');
    rejects(parse, 'no', /^"no" is not ok$/);
  });
});
