"""What /proc says about a process and the machine: resident memory, CPU
time, and a description of the machine for the report."""

import os
import platform
import subprocess

TICKS = os.sysconf("SC_CLK_TCK")


def rss_bytes(pid):
    """Resident set size of pid (VmRSS), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_rss_bytes(pids):
    return sum(rss_bytes(p) for p in pids)


def cpu_seconds(pid, reaped=False):
    """User + system CPU seconds pid has used, its threads included; with
    reaped, also what its children that ended (and were waited for) used.
    0 for a process that is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name may hold spaces; the fields after it do not.
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def family_cpu_seconds(pid):
    """CPU seconds of pid and every child it has or had: the children
    alive now counted from /proc, the ended ones through the parent's
    reaped counters. The difference of two readings is what the family
    used in between, backends that came and went included (PostgreSQL's
    postmaster waits for every backend)."""
    return cpu_seconds(pid, reaped=True) + sum(cpu_seconds(c)
                                               for c in children(pid))


class CpuMeter:
    """CPU use of some processes over a window, in cores (1.0 = one core
    busy all the time)."""

    def __init__(self, pids, clock):
        self.pids = list(pids)
        self.clock = clock
        self.start()

    def start(self):
        self.t0 = self.clock()
        self.c0 = sum(cpu_seconds(p) for p in self.pids)

    def cores(self):
        wall = self.clock() - self.t0
        used = self.seconds()
        return used / wall if wall > 0 else 0.0

    def seconds(self):
        """CPU seconds used since start."""
        return sum(cpu_seconds(p) for p in self.pids) - self.c0


class Meters:
    """Several CPU readings over one window: the engine, PostgreSQL (the
    postmaster's family), the generator processes (each on its own, to
    see whether one of them, single-threaded, was the bound)."""

    def __init__(self, engine_pids, postmaster=None, generator_pids=()):
        self.engine = list(engine_pids)
        self.postmaster = postmaster
        self.generator = list(generator_pids)
        self.start()

    def _read(self):
        import resource
        return {
            "engine": sum(cpu_seconds(p) for p in self.engine),
            "postgres": (family_cpu_seconds(self.postmaster)
                         if self.postmaster else None),
            "generator": [cpu_seconds(p) for p in self.generator],
            # Generators that ran to the end inside the window (database
            # writers) count through what this process waited for.
            "children": resource.getrusage(resource.RUSAGE_CHILDREN),
        }

    def start(self):
        import time
        self.t0 = time.monotonic()
        self.r0 = self._read()

    def read(self):
        """CPU seconds of each over the window, and the wall seconds."""
        import time
        r1 = self._read()
        wall = time.monotonic() - self.t0
        gen = [b - a for a, b in zip(self.r0["generator"], r1["generator"])]
        c0, c1 = self.r0["children"], r1["children"]
        writers = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
        return {
            "wall_seconds": wall,
            "engine_cpu_seconds": r1["engine"] - self.r0["engine"],
            "postgres_cpu_seconds": (r1["postgres"] - self.r0["postgres"]
                                     if self.postmaster else None),
            "generator_cpu_seconds": sum(gen) + writers,
            # The clients alone: on loopback they may run part of the
            # engine's sends (see _cpu in scenarios.py).
            "clients_cpu_seconds": sum(gen) if gen else None,
            # The busiest generator process in cores: near 1.0 it, not the
            # system under test, set the pace.
            "generator_busiest_cores": (max(gen) / wall
                                        if gen and wall > 0 else None),
            "writer_cores": writers / wall if wall > 0 else None,
        }


def machine_us_per_delivery(step):
    """Engine + PostgreSQL + clients CPU-µs per delivery of a step, None
    when the engine's or the clients' figure is missing."""
    engine = step.get("engine_cpu_us_per_delivery")
    clients = step.get("clients_cpu_us_per_delivery")
    if engine is None or clients is None:
        return None
    return engine + (step.get("postgres_cpu_us_per_delivery") or 0) + clients


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine():
    """Facts for the report's "machine" section."""
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True,
                            text=True).stdout.strip()
    except OSError:
        pg = "?"
    try:
        node = subprocess.run(["node", "--version"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        node = "not installed"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "open_files_limit": _nofile(),
        "postgresql": pg,
        "node": node,
        "load_at_start": loadavg(),
    }


def _os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def _nofile():
    import resource
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
