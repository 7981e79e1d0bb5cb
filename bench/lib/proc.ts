import { readFileSync } from 'node:fs';
import { execSync } from 'node:child_process';

const TICK_MS = 1000 / Number(readTicks());

function readTicks(): number {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat (fields 14 and 15, in
 * clock ticks: 10 ms resolution at 100 Hz). The command name (field 2) may hold spaces: parse after its ')'.
 */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14 → index 11, stime field 15 → index 12.
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** `uptime`'s load averages (1, 5, 15 min) and the number of CPUs, for the record of a run. */
export function load(): { loadavg: number[]; cpus: number; uptime: string } {
  const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  let uptime: string;
  try {
    uptime = execSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    uptime = `load average: ${loadavg.join(', ')}`;
  }
  return { loadavg, cpus: Number(execSync('nproc', { encoding: 'utf8' }).trim()), uptime };
}
