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


def cpu_seconds(pid):
    """User + system CPU seconds pid has used, its threads included."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces; the fields after it do not.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


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
        used = sum(cpu_seconds(p) for p in self.pids) - self.c0
        return used / wall if wall > 0 else 0.0


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
