#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Draw CPU (steady ms per stream-second) and PSS per stream against N for
each recorder from nvrbench RESULT lines, with gnuplot (Debian gnuplot-nox)."""
import collections
import os
import subprocess
import sys
import tempfile


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            kv = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
            rows.append(kv)
    return rows


def main():
    src, out = sys.argv[1], sys.argv[2]
    # The latest run of each (recorder, N) wins.
    latest = {}
    for r in parse(src):
        try:
            key = (r.get("label") or r.get("recorder"), int(r["streams"]))
            latest[key] = (float(r["cpu_steady_ms_per_stream_s"]), float(r["pss_kb_per_stream"]) / 1024)
        except (KeyError, ValueError):
            continue
    series = collections.defaultdict(list)
    for (who, n), v in sorted(latest.items()):
        series[who].append((n, *v))
    tmp = tempfile.mkdtemp()
    plots_cpu, plots_mem = [], []
    for who, pts in series.items():
        fn = os.path.join(tmp, who + ".dat")
        with open(fn, "w") as f:
            for n, cpu, pss in pts:
                f.write(f"{n} {cpu} {pss}\n")
        plots_cpu.append(f"'{fn}' using 1:2 with linespoints lw 2 title '{who}'")
        plots_mem.append(f"'{fn}' using 1:3 with linespoints lw 2 title '{who}'")
    script = f"""
set terminal pngcairo size 1200,480 font 'DejaVu Sans,11'
set output '{out}'
set multiplot layout 1,2 title 'Recording cost per stream (720p20, 3 Mbit/s, loopback RTSP/TCP)'
set logscale x 2
set xlabel 'streams (N)'
set grid
set key top right
set ylabel 'CPU ms per stream-second (steady)'
set yrange [0:*]
plot {', '.join(plots_cpu)}
set ylabel 'PSS MiB per stream'
plot {', '.join(plots_mem)}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


if __name__ == "__main__":
    main()
