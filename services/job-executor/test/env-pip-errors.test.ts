// pip's stderr → one line naming what failed (wording of pip 23.x).
import { describe, expect, it } from 'vitest';
import { describePipFailure, MAX_DETAIL } from '../src/core/env/pip-errors.js';

describe('describePipFailure', () => {
  it.each([
    [
      'Looking in links: /w\nERROR: Could not find a version that satisfies the requirement foo==9.9 (from versions: none)\nERROR: No matching distribution found for foo==9.9\n',
      'INSTALL_FAILED',
      'requirement "foo==9.9" could not be satisfied: No matching distribution found for foo==9.9',
    ],
    [
      'ERROR: Could not find a version that satisfies the requirement bar>=2 (from versions: 1.0)\n',
      'INSTALL_FAILED',
      'requirement "bar>=2" could not be satisfied: no version found',
    ],
    [
      'ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device\n',
      'DISK_FULL',
      'no space left on device while installing requirements',
    ],
    [
      'ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n    demo from http://h/demo.whl:\n',
      'INSTALL_FAILED',
      'hash mismatch: demo from http://h/demo.whl:',
    ],
    [
      'ERROR: Cannot install a==1 and b==1 because these package versions have conflicting dependencies.\n',
      'INSTALL_FAILED',
      'conflicting dependencies between a==1 and b==1',
    ],
    ['ERROR: Failed building wheel for lxml\n', 'INSTALL_FAILED', 'requirement "lxml" failed to build'],
    [
      'ERROR: HTTP error 404 while getting http://127.0.0.1:1/x.whl\nERROR: Could not install requirement x from http://127.0.0.1:1/x.whl because of HTTP error 404 Client Error\n',
      'INSTALL_FAILED',
      'HTTP 404 while downloading http://127.0.0.1:1/x.whl',
    ],
    [
      "ERROR: Requirement '/w/nope.whl' looks like a filename, but the file does not exist\n",
      'INSTALL_FAILED',
      'requirement "/w/nope.whl": file not found',
    ],
    [
      'ERROR: x-1.0-cp39-cp39-win_amd64.whl is not a supported wheel on this platform.\n',
      'INSTALL_FAILED',
      'wheel "x-1.0-cp39-cp39-win_amd64.whl" is not supported on this platform',
    ],
    ["WARNING: x\nERROR: Invalid requirement: '%%'\n", 'INSTALL_FAILED', "Invalid requirement: '%%'"],
    [
      'Traceback (most recent call last):\nKeyError: 1\n',
      'INSTALL_FAILED',
      'pip exited with code 2: KeyError: 1',
    ],
  ])('%#', (stderr, code, detail) => {
    expect(describePipFailure(stderr, 2)).toEqual({ code, detail });
  });

  it('caps the detail and reports a signal', () => {
    expect(describePipFailure(`ERROR: ${'x'.repeat(2000)}`, 1).detail.length).toBe(MAX_DETAIL);
    expect(describePipFailure('', null).detail).toBe('pip exited with a signal');
  });
});
