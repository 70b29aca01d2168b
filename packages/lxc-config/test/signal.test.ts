import { describe, expect, it } from 'vitest';
import { LxcConfigError, parseSignal } from '../src/index.js';

describe('parseSignal', () => {
  it.each([
    ['SIGTERM', 15, 'SIGTERM'],
    ['TERM', 15, 'SIGTERM'],
    ['sigusr1', 10, 'SIGUSR1'],
    ['usr2', 12, 'SIGUSR2'],
    ['SIGQUIT', 3, 'SIGQUIT'],
    ['SIGWINCH', 28, 'SIGWINCH'],
    ['SIGPWR', 30, 'SIGPWR'],
    ['SIGIOT', 6, 'SIGABRT'],
    ['SIGCLD', 17, 'SIGCHLD'],
    ['SIGPOLL', 29, 'SIGIO'],
    ['9', 9, 'SIGKILL'],
    ['15', 15, 'SIGTERM'],
    ['33', 33, '33'],
    ['SIGRTMIN', 34, '34'],
    ['RTMIN+3', 37, '37'],
    ['SIGRTMAX', 64, '64'],
    ['SIGRTMAX-2', 62, '62'],
    ['64', 64, '64'],
  ])('%s → %i (%s)', (input, num, lxc) => {
    expect(parseSignal(input)).toEqual({ number: num, lxcValue: lxc });
  });

  it.each(['', 'SIG', 'SIGFOO', 'FOO', '0', '65', '-1', ' SIGTERM', 'SIGTERM ', 'SIGRTMIN-1', 'SIGRTMAX+1', 'SIGRTMIN+31', '1.5', 'SIGRTMIN+'])(
    'rejects %j with UNKNOWN_SIGNAL',
    (input) => {
      try {
        parseSignal(input);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(LxcConfigError);
        expect((err as LxcConfigError).code).toBe('UNKNOWN_SIGNAL');
        expect((err as LxcConfigError).field).toBe('StopSignal');
      }
    },
  );
});
