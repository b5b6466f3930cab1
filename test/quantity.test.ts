import { parseQuantity } from '../lib/quantity';

// Kubernetes' quantity grammar: decimal and binary suffixes, and exponents.
test.each([
  ['1', 1],
  ['1.25Gi', 1.25 * 2 ** 30],
  ['.25', 0.25],
  ['500m', 0.5],
  ['1e-3', 0.001],
  ['1e10', 1e10],
  ['1E3', 1000],
  ['1k', 1e3],
  ['1M', 1e6],
  ['1E', 1e18],
  ['1Ki', 1024],
  ['1Ei', 2 ** 60],
  ['2Mi', 2 * 2 ** 20],
])('%s is %d base units', (text, value) => {
  expect(parseQuantity(text)).toBe(value);
});

test.each(['', 'Gi', '1GB', '1 Gi', '-1', '1.2.3', '1Ee', '1e', 'e3'])('%j is no quantity', (text) => {
  expect(parseQuantity(text)).toBeUndefined();
});

test('an exponent too large for a number is Infinity, which the checks refuse', () => {
  expect(parseQuantity('1e400')).toBe(Infinity);
});
