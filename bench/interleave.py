#!/usr/bin/env python3
"""bench/interleave.py — runs the engines' query drivers side by side and
lets them take turns, one timed block at a time (run.sh's query step).

    interleave.py PASSES SPEC

SPEC has one driver per line, TAB-separated: name, stdout file, stderr
file, then the command and its arguments. Each driver gets
BENCH_SYNC=GO:DONE, two FIFOs made here (bench/bench_util.h): it writes
one byte to DONE when its warm-up is over, then before each timed block
(one query type, both modes, in one pass: 9 blocks a pass) reads one byte
from GO and writes one to DONE after it. Once every driver is warm, the
blocks go round: pass 1 "rare" on each driver in SPEC order, pass 1 "mid"
on each, and so on. A driver that exits early is dropped and the others go
on. Prints "name exit-status" per driver when all have ended.

Written in Python rather than bash: a `read -t` that times out can lose
the byte that arrived with the timeout (seen: a run waited forever), while
select() then os.read() cannot.
"""
import os
import select
import subprocess
import sys
import tempfile

BLOCKS_PER_PASS = 9


def wait_done(d):
    """True once d's driver has written a byte to DONE; False if it ended."""
    while True:
        r, _, _ = select.select([d["done"]], [], [], 1.0)
        if r:
            return len(os.read(d["done"], 1)) == 1
        if d["proc"].poll() is not None:
            r, _, _ = select.select([d["done"]], [], [], 0)
            return bool(r) and len(os.read(d["done"], 1)) == 1


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: interleave.py PASSES SPEC")
    passes = int(sys.argv[1])
    drivers = []
    tmp = tempfile.mkdtemp(prefix="usjbench-sync-")
    with open(sys.argv[2]) as f:
        for k, line in enumerate(f):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 4:
                continue
            name, out, err, cmd = fields[0], fields[1], fields[2], fields[3:]
            go, done = os.path.join(tmp, "%d.go" % k), os.path.join(tmp, "%d.done" % k)
            os.mkfifo(go)
            os.mkfifo(done)
            # read-write opens do not wait for the other end
            d = {"name": name, "go": os.open(go, os.O_RDWR), "done": os.open(done, os.O_RDWR)}
            env = dict(os.environ, BENCH_SYNC=go + ":" + done)
            with open(out, "w") as o, open(err, "w") as e:
                d["proc"] = subprocess.Popen(cmd, stdout=o, stderr=e, env=env,
                                             pass_fds=())
            drivers.append(d)
    live = [d for d in drivers if wait_done(d)]       # all warm first
    for _ in range(passes):
        for _ in range(BLOCKS_PER_PASS):
            still = []
            for d in live:
                try:
                    os.write(d["go"], b"x")
                except OSError:
                    continue
                if wait_done(d):
                    still.append(d)
            live = still
    for d in drivers:
        rc = d["proc"].wait()
        os.close(d["go"])
        os.close(d["done"])
        print(d["name"], rc)
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
