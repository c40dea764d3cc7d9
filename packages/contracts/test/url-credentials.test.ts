import { describe, expect, it } from 'vitest';
import { MASK, maskUrlCredentials } from '../src/url-credentials.js';

describe('maskUrlCredentials', () => {
  it.each([
    ['https://user:s3cret@index.example/simple/', `https://${MASK}@index.example/simple/`],
    ['https://tok3n@index.example/simple', `https://${MASK}@index.example/simple`],
    ['redis://:pa55@127.0.0.1:6390/0', `redis://${MASK}@127.0.0.1:6390/0`],
    ['http://u:p@ss@proxy:3128', `http://${MASK}@proxy:3128`],
    [
      'pip install --index-url https://a:b@x.example/simple --extra-index-url http://c@y.example/s -r r.txt',
      `pip install --index-url https://${MASK}@x.example/simple --extra-index-url http://${MASK}@y.example/s -r r.txt`,
    ],
    ['https://h.example/hook?token=abc&x=1', `https://h.example/hook?token=${MASK}&x=1`],
    [
      'https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA/x&X-Amz-Signature=ff&X-Amz-Date=1',
      `https://b.s3.amazonaws.com/k?X-Amz-Credential=${MASK}&X-Amz-Signature=${MASK}&X-Amz-Date=1`,
    ],
    ['https://h.example/a@b/c', 'https://h.example/a@b/c'],
    ['no url here, user@example.com', 'no url here, user@example.com'],
    ['https://plain.example/simple/', 'https://plain.example/simple/'],
  ])('%s', (input, expected) => {
    expect(maskUrlCredentials(input)).toBe(expected);
  });

  it('leaves no seeded secret in a mixed text', () => {
    const text = `$ python -m pip install --index-url http://idx:SEEDED-1@h/simple\nproxy http://p:SEEDED-2@proxy:1 ok`;
    const masked = maskUrlCredentials(text);
    expect(masked).not.toContain('SEEDED');
    expect(masked).toContain('--index-url http://***@h/simple');
  });
});
