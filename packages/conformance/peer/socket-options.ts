// The kernel's own view of a socket in another process (the runtime under test): which TCP options
// really reached it, whatever the runtime's API claims. A short python3 program duplicates the
// process's socket descriptors with pidfd_open + pidfd_getfd (Linux 5.6+, needs ptrace rights over the
// process: same user with ptrace_scope 0, or root), keeps the one whose local and remote ports match,
// and reads SO_KEEPALIVE, TCP_KEEPIDLE and TCP_NODELAY with getsockopt.
import { execFile } from 'node:child_process';
import type { KernelSocketOptions, SocketOptionsQuery } from '../src/peer-client.ts';

const PROBE_TIMEOUT_MS = 10_000;

const PROBE = `
import ctypes, json, os, socket, sys
pid, local_port, remote_port = (int(arg) for arg in sys.argv[1:4])
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438

def syscall(number, *args):
    result = libc.syscall(number, *args)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result

def describe(fd):
    sock = socket.socket(fileno=fd)
    try:
        if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        try:
            if (sock.getsockname()[1], sock.getpeername()[1]) != (local_port, remote_port):
                return None
        except OSError:
            return None
        return {
            'keepAlive': sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0,
            'keepIdleSeconds': sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            'noDelay': sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0,
        }
    finally:
        sock.close()

try:
    pidfd = syscall(SYS_PIDFD_OPEN, pid, 0)
except OSError as error:
    print(json.dumps({'error': 'pidfd_open(%d): %s' % (pid, error.strerror)}))
    sys.exit(0)
matches = []
for name in os.listdir('/proc/%d/fd' % pid):
    try:
        if not os.readlink('/proc/%d/fd/%s' % (pid, name)).startswith('socket:'):
            continue
        found = describe(syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0))
    except OSError:
        continue
    if found:
        matches.append(found)
os.close(pidfd)
print(json.dumps({'matches': matches}))
`;

export class SocketProbeUnavailable extends Error {}

/**
 * The options of the one TCP socket of process `pid` connected from `localPort` to `remotePort`.
 * Throws SocketProbeUnavailable when python3 is missing, and a plain Error when the socket is not
 * found or the process cannot be inspected.
 */
export function kernelSocketOptions(query: SocketOptionsQuery): Promise<KernelSocketOptions> {
  const args = ['-c', PROBE, String(query.pid), String(query.localPort), String(query.remotePort)];
  return new Promise((resolve, reject) => {
    execFile('python3', args, { timeout: PROBE_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new SocketProbeUnavailable('python3 is not installed'));
        return;
      }
      if (error) {
        reject(new Error(`the socket probe failed: ${stderr.trim() || error.message}`));
        return;
      }
      const answer = JSON.parse(stdout) as { error?: string; matches?: KernelSocketOptions[] };
      if (answer.error !== undefined) reject(new Error(`the socket probe failed: ${answer.error}`));
      else if (answer.matches?.length !== 1) {
        reject(
          new Error(
            `process ${query.pid} has ${answer.matches?.length ?? 0} TCP sockets from port ${query.localPort} to ${query.remotePort}, expected 1`,
          ),
        );
      } else resolve(answer.matches[0]!);
    });
  });
}
